"""End to end over HTTP: a lost lead's person comes back through another source, the lead is
reopened and lands on its previous agent's phone again, and the attribution report credits both
the first and the last touch."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


def _wait(stack: LocalStackClient, lead_id: str, status: str, within: float = 3.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        lead = stack.get(f"/leads/{lead_id}", as_user="admin").json()
        if lead["status"] == status or time.monotonic() > deadline:
            return lead
        time.sleep(0.02)


def test_a_lost_lead_that_comes_back_is_reopened_for_its_previous_agent(local_stack: LocalStackClient) -> None:
    mobile = "9" + str(uuid.uuid4().int)[:9]
    website = local_stack.source("generic")
    campaign = f"e2e-{uuid.uuid4().hex[:8]}"
    first = local_stack.post(f"/hooks/{website['id']}", headers={"X-Api-Key": website["key"]},
                             json={"phone": mobile, "name": "Test Menon", "utm_source": "google",
                                   "utm_campaign": campaign, "consent": "yes",
                                   "consent_purpose": "calls about this enquiry"})  # fmt: skip
    assert first.status_code == 202, first.text
    lead_id = first.json()["lead_id"]
    lead = _wait(local_stack, lead_id, "assigned")
    owner = lead["assigned_agent_id"]
    assert owner and lead["consent_detail"]["purpose"] == "calls about this enquiry"
    # The agent closes it as lost, with a reason
    agent = next(u for u in local_stack.info["users"] if u.get("agent_id") == owner)
    closed = local_stack.put(f"/leads/{lead_id}/status", as_user=agent["username"],
                             json={"status": "lost", "reason": "not ready to buy"})  # fmt: skip
    assert closed.status_code == 200 and closed.json()["lead"]["status"] == "lost", closed.text
    # An hour later the same person enquires through JustDial
    local_stack.post("/_local/clock", as_user="admin", json={"advance_minutes": 60}, timeout=60)
    justdial = local_stack.source("justdial")
    again = local_stack.get(f"/hooks/{justdial['id']}",
                            params={"key": justdial["key"], "leadid": f"JD-{uuid.uuid4().hex[:10]}",
                                    "mobile": mobile, "name": "Test Menon"})  # fmt: skip
    assert again.status_code == 200 and again.headers["X-Lead-Id"] == lead_id
    lead = _wait(local_stack, lead_id, "assigned")
    assert lead["status"] == "assigned" and lead["reopen_count"] == 1
    trail = local_stack.get(f"/leads/{lead_id}/routing", as_user="admin").json()["items"]
    if lead["assigned_agent_id"] == owner:
        assert trail[-1]["rule_id"] == "returning_owner"
    else:  # the owner went off shift in that hour: the trace says so
        assert trail[-1]["rules"][0]["rule_id"] == "returning_owner" and not trail[-1]["rules"][0]["matched"]
    assert lead["first_touch"]["source_id"] == website["id"]
    assert lead["last_touch"]["source_id"] == justdial["id"]
    kinds = [e["kind"] for e in local_stack.get(f"/leads/{lead_id}/timeline", as_user="admin").json()["items"]]
    assert kinds[-3:] == ["lead.status_changed", "lead.reopened", "lead.assigned"]
    # The report reads the dashboard's counters, which their own stream consumer keeps: give it a moment
    for _ in range(50):
        report = local_stack.get("/reports/attribution", as_user="admin", params={"since": "2000-01-01"}).json()
        if any(p["last_source_id"] == justdial["id"] for p in report["journeys"]["paths"]):
            break
        time.sleep(0.2)
    campaigns = {row["utm_campaign"]: row for row in report["first_touch"]["by_campaign"]}
    assert campaigns[campaign]["leads"] == 1
    assert any(p["first_source_id"] == website["id"] and p["last_source_id"] == justdial["id"]
               for p in report["journeys"]["paths"])  # fmt: skip
