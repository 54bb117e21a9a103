"""End to end over HTTP on its own local stack: an organisation switches to the real-estate
preset and an agent works a lead through it — first call, site visit, booked with its value —
while routing, follow-ups, the list filter and the dashboard go by the stages' categories."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


def _wait(stack: LocalStackClient, lead_id: str, status: str, within: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        lead = stack.get(f"/leads/{lead_id}", as_user="admin").json()
        if lead["status"] == status or time.monotonic() > deadline:
            return lead
        time.sleep(0.05)


def test_a_real_estate_pipeline_end_to_end(own_stack: LocalStackClient) -> None:
    stack = own_stack
    # Given the real-estate preset
    applied = stack.post("/pipeline/presets/real_estate", as_user="admin")
    assert applied.status_code == 200, applied.text
    assert [s["stage_id"] for s in applied.json()["stages"]] == [
        "new", "contacted", "site_visit", "negotiation", "booked", "lost"]  # fmt: skip
    # And a website lead routed to an agent
    website = stack.source("generic")
    posted = stack.post(f"/hooks/{website['id']}", headers={"X-Api-Key": website["key"]},
                        json={"phone": "9" + str(uuid.uuid4().int)[:9], "name": "Priya Nair"})  # fmt: skip
    assert posted.status_code == 202, posted.text
    lead_id = posted.json()["lead_id"]
    lead = _wait(stack, lead_id, "assigned")
    assert (lead["stage"], lead["stage_label"], lead["category"]) == ("new", "New enquiry", "open")
    owner = next(u["username"] for u in stack.users if u.get("agent_id") == lead["assigned_agent_id"])
    # When the agent's first call reaches the person: the lead moves to the preset's contact stage
    call = stack.post(f"/leads/{lead_id}/activities", as_user=owner,
                      json={"type": "call", "direction": "outbound", "duration_s": 95, "outcome": "interested"})  # fmt: skip
    assert call.status_code == 201, call.text
    assert call.json()["lead"]["status"] == "contacted" and call.json()["lead"]["stage_label"] == "Contacted"
    # Then a site visit, and booked: refused without the deal value, closed with it
    visit = stack.put(f"/leads/{lead_id}/status", as_user=owner, json={"status": "site_visit"})
    assert visit.status_code == 200 and visit.json()["lead"]["category"] == "open", visit.text
    refused = stack.put(f"/leads/{lead_id}/status", as_user=owner, json={"status": "booked"})
    assert refused.status_code == 422 and refused.json()["error"] == "value_required", refused.text
    booked = stack.put(f"/leads/{lead_id}/status", as_user=owner, json={"status": "booked", "value": 8500000})
    assert booked.status_code == 200, booked.text
    closed = booked.json()["lead"]
    assert (closed["status"], closed["category"], closed["value"]) == ("booked", "won", 8500000)
    assert closed["closed_at"]
    # And the list filter, the timeline and the dashboard go by the stage
    listed = stack.get("/leads", as_user="admin", params={"status": "booked"}).json()["items"]
    assert [item["lead_id"] for item in listed] == [lead_id]
    timeline = stack.get(f"/leads/{lead_id}/timeline", as_user="admin").json()["items"]
    moves = [(e["data"]["to"], e["data"].get("to_label")) for e in timeline if e["kind"] == "lead.status_changed"]
    assert moves == [("contacted", "Contacted"), ("site_visit", "Site visit"), ("booked", "Booked")]
    for _ in range(100):  # the dashboard's own stream consumer counts it
        dashboard = stack.get("/dashboard", as_user="admin").json()
        if dashboard["by_status"].get("booked"):
            break
        time.sleep(0.1)
    assert dashboard["by_status"]["booked"] == 1 and dashboard["status_labels"]["booked"] == "Booked"
    assert dashboard["won"] >= 1
