"""Follow-up lists by role and due window, set by hand, moved, cancelled; offline sync."""

from __future__ import annotations

from typing import Any

from tests.integration.flow import Flow
from tests.integration.followup_helpers import routed_lead, timeline_kinds


def as_agent(agent: str) -> dict[str, Any]:
    return {"role": "agent", "agent_id": agent, "username": agent}


def set_followup(flow: Flow, lead_id: str, due_at: str, **who: Any) -> tuple[int, dict[str, Any]]:
    return flow.call("POST", "/followups", body={"lead_id": lead_id, "due_at": due_at, "note": "send price"}, **who)


def test_lists_are_scoped_by_role_and_windowed_by_due_time(flow: Flow, demo, clock) -> None:
    noida = routed_lead(flow, demo, "9876500301")  # anjali (ncr)
    chennai = routed_lead(flow, demo, "9876500302", city="Chennai")  # south
    south_agent = chennai["assigned_agent_id"]
    assert set_followup(flow, noida["lead_id"], "2026-11-23T08:00:00Z", **as_agent("anjali"))[0] == 201
    assert set_followup(flow, chennai["lead_id"], "2026-11-26T08:00:00Z", **as_agent(south_agent))[0] == 201
    # The agent sees their own only; asking for another's is refused
    mine = flow.get("/followups", **as_agent("anjali"))[1]["items"]
    assert [f["lead_id"] for f in mine] == [noida["lead_id"]]
    assert set(mine[0]) >= {"followup_id", "lead_id", "agent_id", "due_at", "status", "reason"}
    assert flow.get("/followups", query={"agent_id": south_agent}, **as_agent("anjali"))[0] == 403
    # The manager sees the team's; the admin everything, earliest first
    assert [f["lead_id"] for f in flow.get("/followups", role="manager", team_id="south")[1]["items"]] == [
        chennai["lead_id"]
    ]
    assert flow.get("/followups", role="manager", team_id="south", query={"agent_id": "anjali"})[0] == 403
    everything = flow.get("/followups")[1]["items"]
    assert [f["lead_id"] for f in everything] == [noida["lead_id"], chennai["lead_id"]]
    # today (IST) / upcoming / overdue
    assert [f["lead_id"] for f in flow.get("/followups", query={"due": "today"})[1]["items"]] == [noida["lead_id"]]
    assert [f["lead_id"] for f in flow.get("/followups", query={"due": "upcoming"})[1]["items"]] == [
        noida["lead_id"],
        chennai["lead_id"],
    ]
    clock.advance(hours=2)
    assert [f["lead_id"] for f in flow.get("/followups", query={"due": "overdue"})[1]["items"]] == [noida["lead_id"]]
    # Pages follow the cursor
    first = flow.get("/followups", query={"limit": "1"})[1]
    assert len(first["items"]) == 1 and first["next"]
    second = flow.get("/followups", query={"limit": "1", "cursor": first["next"]})[1]
    assert [f["lead_id"] for f in second["items"]] == [chennai["lead_id"]]
    assert flow.get("/followups", query={"cursor": "garbage"})[0] == 400
    assert flow.get("/followups", query={"due": "someday"})[0] == 422


def test_one_open_follow_up_per_lead_and_moving_or_cancelling_it(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500303")
    first = set_followup(flow, lead["lead_id"], "2026-11-24T05:00:00Z", **as_agent("anjali"))[1]["followup"]
    second = set_followup(flow, lead["lead_id"], "2026-11-24T06:00:00Z", **as_agent("anjali"))[1]["followup"]
    statuses = {f["followup_id"]: f["status"] for f in flow.get("/followups")[1]["items"]}
    assert statuses == {first["followup_id"]: "cancelled", second["followup_id"]: "open"}
    # Move it: 21:00 IST is after Anjali's shift, so it lands at her next shift start
    status, body = flow.call("PATCH", f"/followups/{second['followup_id']}", body={"due_at": "2026-11-24T15:30:00Z"},
                             **as_agent("anjali"))  # fmt: skip
    assert status == 200, body
    assert body["followup"]["due_at"] == "2026-11-25T03:30:00.000Z"
    # Another agent cannot touch it; a bad change is a 422
    assert flow.call("PATCH", f"/followups/{second['followup_id']}", body={"status": "cancelled"},
                     **as_agent("rahul"))[0] == 404  # fmt: skip
    assert flow.call("PATCH", f"/followups/{second['followup_id']}", body={})[0] == 422
    status, body = flow.call("PATCH", f"/followups/{second['followup_id']}",
                             body={"status": "cancelled", "reason": "customer travelling"})  # fmt: skip
    assert status == 200 and body["followup"]["status"] == "cancelled"
    assert flow.call("PATCH", f"/followups/{second['followup_id']}", body={"due_at": "2026-11-26T06:00:00Z"})[0] == 409
    assert "followup.cancelled" in timeline_kinds(flow, lead["lead_id"])
    assert flow.call("POST", "/followups", body={"lead_id": "nope", "due_at": "2026-11-24T06:00:00Z"})[0] == 404


def test_offline_sync_applies_each_item_once_and_reports_every_one(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500304")
    other = routed_lead(flow, demo, "9876500305", city="Chennai")
    lead_id = lead["lead_id"]
    followup = set_followup(flow, lead_id, "2026-11-23T09:00:00Z", **as_agent("anjali"))[1]["followup"]
    batch = {"items": [
        {"client_id": "c1", "op": "activity", "lead_id": lead_id, "at": "2026-11-23T06:40:00Z",
         "data": {"type": "call", "outcome": "interested", "duration_s": 95}},
        {"client_id": "c2", "op": "note", "lead_id": lead_id, "data": {"note": "wants 3BHK"}},
        {"client_id": "c3", "op": "status", "lead_id": lead_id, "data": {"status": "qualified"}},
        {"client_id": "c4", "op": "followup_done", "lead_id": lead_id, "data": {"followup_id": followup["followup_id"]}},
        {"client_id": "c5", "op": "activity", "lead_id": other["lead_id"], "data": {"type": "call"}},
        {"client_id": "c6", "op": "activity", "lead_id": lead_id, "data": {"type": "telegram"}},
        {"client_id": "c7", "op": "status", "lead_id": "missing", "data": {"status": "won"}},
    ]}  # fmt: skip
    status, body = flow.call("POST", "/sync", body=batch, **as_agent("anjali"))
    assert status == 200, body
    assert [(r["client_id"], r["status"]) for r in body["results"]] == [
        ("c1", "applied"), ("c2", "applied"), ("c3", "applied"),
        ("c4", "duplicate"),  # the offline call (c1) already completed that follow-up
        ("c5", "conflict"), ("c6", "rejected"), ("c7", "rejected"),
    ]  # fmt: skip
    state = flow.get(f"/leads/{lead_id}")[1]
    assert state["status"] == "qualified" and state["first_contacted_at"] == "2026-11-23T06:40:00.000Z"
    assert state["first_connected_at"] == "2026-11-23T06:40:00.000Z"
    # The answer was lost: the phone sends the same batch again; nothing is applied twice
    status, again = flow.call("POST", "/sync", body=batch, **as_agent("anjali"))
    assert [r["status"] for r in again["results"][:3]] == ["duplicate", "duplicate", "duplicate"]
    assert len(flow.get(f"/leads/{lead_id}/activities")[1]["items"]) == 2
    # A follow-up done offline is applied once
    open_one = flow.get(f"/leads/{lead_id}")[1]["open_followup_id"]
    done = {"items": [{"client_id": "c8", "op": "followup_done", "lead_id": lead_id,
                       "data": {"followup_id": open_one}}]}  # fmt: skip
    assert flow.call("POST", "/sync", body=done, **as_agent("anjali"))[1]["results"][0]["status"] == "applied"
    assert flow.call("POST", "/sync", body=done, **as_agent("anjali"))[1]["results"][0]["status"] == "duplicate"
    # A status older than a later close is a conflict
    assert flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "lost", "reason": "bought elsewhere"})[0] == 200
    old = {"items": [{"client_id": "c9", "op": "status", "lead_id": lead_id, "at": "2026-11-23T06:36:00Z",
                      "data": {"status": "contacted"}}]}  # fmt: skip
    assert flow.call("POST", "/sync", body=old, **as_agent("anjali"))[1]["results"][0]["status"] == "conflict"
    # Bad batches are a 422
    assert flow.call("POST", "/sync", body={"items": []})[0] == 422
    assert flow.call("POST", "/sync", body={"items": [{"op": "activity"}]})[0] == 422


def test_the_demo_org_s_first_contact_sla_is_90_minutes_or_less_and_applies_by_default(flow: Flow, demo) -> None:
    # CONTRACT.md: the demo's SLA for first contact is 90 minutes or less
    org = flow.get("/settings")[1]
    assert org["first_contact_sla_minutes"] is not None and org["first_contact_sla_minutes"] <= 90
    # and the follow-up settings defer to it until an admin sets one of their own
    assert flow.get("/settings/followups")[1]["sla"]["first_contact_minutes"] is None


def test_a_reassigned_lead_takes_its_open_follow_up_to_the_new_owner(flow: Flow, demo, clock) -> None:
    # Given Anjali's lead with an open follow-up
    lead = routed_lead(flow, demo, "9876500306")
    followup = set_followup(flow, lead["lead_id"], "2026-11-24T06:00:00Z", **as_agent("anjali"))[1]["followup"]
    # When the manager moves the lead to Rahul
    status, _ = flow.call("POST", f"/leads/{lead['lead_id']}/reassign", role="manager", team_id="ncr",
                          body={"agent_id": "rahul", "reason": "Anjali is on leave tomorrow"})  # fmt: skip
    assert status == 200
    # Then the follow-up is Rahul's now, and no longer on Anjali's list
    assert [f["followup_id"] for f in flow.get("/followups", **as_agent("rahul"))[1]["items"]] == [
        followup["followup_id"]
    ]
    assert flow.get("/followups", **as_agent("anjali"))[1]["items"] == []
