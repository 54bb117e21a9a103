"""End-to-end: `leadrelay quarantine list` and `replay` against `leadrelay local --demo`, plus the
WhatsApp and Razorpay demo sources taking their providers' signed samples over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leadrelay.sources.meta import signature_of
from leadrelay.sources.razorpay import signature_of as razorpay_signature

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def leadrelay(*argv: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "leadrelay"), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_a_quarantined_request_is_listed_and_replayed_from_the_cli(local_stack: Any) -> None:
    # Given a Razorpay event whose payer has no phone or email: signed, so Razorpay hears 200, but quarantined
    source = local_stack.source("razorpay")
    body = json.loads((FIXTURES / "razorpay_payment_link_paid.json").read_text())
    body["payload"]["payment_link"]["entity"]["customer"] = {"name": "Test Quarantine"}
    body["payload"]["payment"]["entity"].update(contact=None, email=None)
    raw = json.dumps(body).encode()
    headers = {"X-Api-Key": source["key"], "Content-Type": "application/json", "x-razorpay-event-id": "evt_E2EQ",
               "X-Razorpay-Signature": razorpay_signature(raw, source["webhook_secret"])}  # fmt: skip
    answer = local_stack.post(f"/hooks/{source['id']}", data=raw, headers=headers)
    assert answer.status_code == 200 and answer.json()["status"] == "quarantined"
    request_id = answer.json()["request_id"]
    # When the CLI lists the quarantine, Then the request is there with its reason
    listed = leadrelay("quarantine", "list", "--state-dir", str(local_stack.state_dir))
    assert listed.returncode == 0, listed.stderr
    assert request_id in listed.stdout and "missing_contact" in listed.stdout
    # When it is replayed unchanged, Then it still fails and stays in quarantine (exit 1)
    replay = leadrelay("quarantine", "replay", request_id, "--state-dir", str(local_stack.state_dir))
    assert replay.returncode == 1 and "still in quarantine" in replay.stderr
    # And the JSON listing is the API's answer
    as_json = leadrelay("quarantine", "list", "--json", "--state-dir", str(local_stack.state_dir))
    assert any(item["request_id"] == request_id for item in json.loads(as_json.stdout)["items"])


def test_whatsapp_and_razorpay_samples_become_leads_on_the_demo_stack(local_stack: Any) -> None:
    wa = local_stack.source("whatsapp")
    raw = (FIXTURES / "whatsapp_message.json").read_bytes()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature_of(raw, wa["app_secret"])}
    answer = local_stack.post(f"/hooks/{wa['id']}?key={wa['key']}", data=raw, headers=headers)
    assert answer.status_code == 200 and answer.headers["X-Lead-Id"]
    lead = local_stack.get(f"/leads/{answer.headers['X-Lead-Id']}", as_user="admin").json()
    assert (lead["phone"], lead["name"], lead["message"]) == ("+919000000007", "Test Nair", "Price for 2BHK?")

    rzp = local_stack.source("razorpay")
    raw = (FIXTURES / "razorpay_payment_link_paid.json").read_bytes()
    headers = {"Content-Type": "application/json", "x-razorpay-event-id": "evt_E2E1",
               "X-Razorpay-Signature": razorpay_signature(raw, rzp["webhook_secret"])}  # fmt: skip
    answer = local_stack.post(f"/hooks/{rzp['id']}?key={rzp['key']}", data=raw, headers=headers)
    assert answer.status_code == 200
    lead = local_stack.get(f"/leads/{answer.headers['X-Lead-Id']}", as_user="admin").json()
    assert lead["extra"]["amount_paise"] == 150000 and lead["phone"] == "+919000000008"
