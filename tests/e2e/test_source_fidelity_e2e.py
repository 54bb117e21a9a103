"""End to end over HTTP: a provider's documented sample, as the provider sends it, becomes a lead
whose `GET /leads/{id}` carries the provider's time and campaign; its replay with another event-id
header is a duplicate; a provider URL off the allow-list is refused."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def test_a_razorpay_payment_keeps_its_time_and_a_replay_with_a_new_event_id_is_a_duplicate(
    local_stack: LocalStackClient,
) -> None:
    source = local_stack.source("razorpay")
    # A payment of its own (the stack is shared by the e2e tests)
    unique = uuid.uuid4().hex[:10]
    raw = (FIXTURES / "razorpay_payment_link_paid.json").read_bytes().replace(b"pay_TEST0000000001",
                                                                              f"pay_{unique}".encode())  # fmt: skip
    raw = raw.replace(b"+919000000008", f"+9198{uuid.uuid4().int % 10**8:08d}".encode())
    raw = raw.replace(b"test.shah@example.com", f"shah.{unique}@example.com".encode())
    signature = hmac.new(source["webhook_secret"].encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Razorpay-Signature": signature, "x-razorpay-event-id": "evt_A"}
    first = local_stack.post(f"/hooks/{source['id']}", params={"key": source["key"]}, data=raw, headers=headers)
    assert first.status_code == 200 and first.json()["leads"][0]["outcome"] == "created", first.text
    lead_id = first.json()["leads"][0]["lead_id"]
    # The same signed body with another event id: a duplicate
    again = local_stack.post(f"/hooks/{source['id']}", params={"key": source["key"]}, data=raw,
                             headers={**headers, "x-razorpay-event-id": "evt_B"})  # fmt: skip
    assert again.json()["leads"] == [{"lead_id": lead_id, "outcome": "duplicate"}]
    lead = local_stack.get(f"/leads/{lead_id}", as_user="admin").json()
    assert lead["source_time"] == "2025-06-08T20:55:00.000Z" and lead["external_id"] == f"pay_{unique}"
    assert lead["touch_count"] == 1


def test_a_graph_url_that_is_not_metas_is_refused(local_stack: LocalStackClient) -> None:
    source = local_stack.source("meta_lead_ads")
    # (the demo's Meta source reads the local stack's stand-in Graph API, on loopback)
    before = local_stack.get(f"/sources/{source['id']}", as_user="admin").json()["settings"].get("graph_url")
    for url in ("file:///etc/passwd", "https://evil.example/v25.0", "http://169.254.169.254/latest/"):
        answer = local_stack.request("PATCH", f"/sources/{source['id']}", as_user="admin",
                                     json={"settings": {"graph_url": url}})  # fmt: skip
        assert (answer.status_code, answer.json()["error"]) == (422, "url_not_allowed"), answer.text
    shown = local_stack.get(f"/sources/{source['id']}", as_user="admin").json()["settings"]
    # and the refused URLs changed nothing
    assert shown.get("graph_url") == before
