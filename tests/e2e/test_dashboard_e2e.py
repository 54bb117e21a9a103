"""The dashboard end to end: webhooks and status changes on the running stack show up in
`GET /dashboard` (through the stack's second stream poller), and `leadrelay report` and
`leadrelay dashboard rebuild` work against it."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


def _dashboard(stack: LocalStackClient, as_user: str = "admin") -> dict[str, Any]:
    response = stack.get("/dashboard", as_user=as_user)
    assert response.status_code == 200, response.text
    return response.json()


def _until(stack: LocalStackClient, check: Any, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = _dashboard(stack)
        if check(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_leads_and_deals_appear_on_the_dashboard_and_in_the_report(local_stack: LocalStackClient, tmp_path) -> None:
    # Given the dashboard as it stands, once the leads earlier tests posted are counted
    local_stack.settle()
    before = _dashboard(local_stack)
    website = local_stack.source("generic")
    # When three leads arrive and one of them is won for ₹2,50,000
    ids = []
    for _ in range(3):
        phone = f"9{random.randrange(10**8, 10**9)}"
        answer = local_stack.post(f"/hooks/{website['id']}", headers={"X-Api-Key": website["key"]},
                                  json={"name": "Dash Board", "phone": phone, "city": "Noida"})  # fmt: skip
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["lead_id"])
    after = _until(local_stack, lambda a: a["assigned"] >= before["assigned"] + 3)
    assert after["received"] == before["received"] + 3
    for status, extra in (("contacted", {}), ("won", {"value": 250000})):
        put = local_stack.put(f"/leads/{ids[0]}/status", as_user="admin", json={"status": status, **extra})
        assert put.status_code == 200, put.text
    won = _until(local_stack, lambda a: a["won"] == before["won"] + 1)
    # Then the dashboard counts them, and the won link lists the lead
    assert won["won"] == before["won"] + 1
    assert won["won_value"] == before["won_value"] + 250000
    listed = local_stack.get(won["links"]["won"], as_user="admin").json()["items"]
    assert ids[0] in [item["lead_id"] for item in listed]
    # And the CLI prints it and draws the charts
    report = subprocess.run(
        [sys.executable, "-m", "leadrelay.cli", "report", "--json", "--out", str(tmp_path),
         "--state-dir", str(local_stack.state_dir)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["won"] == won["won"]
    assert (tmp_path / "dashboard.png").read_bytes()[:4] == b"\x89PNG"
    rebuild = subprocess.run(
        [sys.executable, "-m", "leadrelay.cli", "dashboard", "rebuild", "--state-dir", str(local_stack.state_dir)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert rebuild.returncode == 0, rebuild.stderr
    assert "0 changed" in rebuild.stdout.splitlines()[-1]
    assert _dashboard(local_stack)["won"] == won["won"]
