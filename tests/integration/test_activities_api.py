"""Activities on a lead: contact stamps, the SLA clock, follow-ups from outcomes, idempotent replays."""

from __future__ import annotations

from typing import Any

from tests.integration.flow import Flow
from tests.integration.followup_helpers import routed_lead, timeline_kinds


def log(flow: Flow, lead_id: str, body: dict[str, Any], role: str = "agent", **who: Any) -> tuple[int, dict[str, Any]]:
    if role == "agent" and not who:
        who = {"agent_id": "anjali", "username": "anjali"}
    return flow.call("POST", f"/leads/{lead_id}/activities", role=role, body=body, **who)


def test_a_first_call_stamps_contact_and_schedules_the_follow_up_from_its_outcome(flow: Flow, demo, clock) -> None:
    # Given a Noida lead routed to Anjali at 12:00 IST on a Monday
    lead = routed_lead(flow, demo, "9876500101")
    assert lead["assigned_agent_id"] == "anjali" and lead["first_contacted_at"] is None
    # When Anjali logs an outbound call nobody answered
    status, body = log(flow, lead["lead_id"], {"type": "call", "direction": "outbound", "duration_s": 0,
                                               "outcome": "no_answer"})  # fmt: skip
    # Then the activity is stored, the lead is contacted (but not connected) and a follow-up is due in 2 days
    assert status == 201, body
    assert body["activity"]["by"] == "anjali" and body["activity"]["contact"] is True
    assert body["lead"]["first_contacted_at"] == "2026-11-23T06:35:00.000Z"
    assert body["lead"]["first_connected_at"] is None
    assert body["lead"]["status"] == "contacted"
    followup = body["followup"]
    assert followup["due_at"] == "2026-11-25T06:35:00.000Z" and followup["reason"] == "outcome:no_answer"
    assert followup["agent_id"] == "anjali" and followup["status"] == "open"
    assert body["lead"]["open_followup_id"] == followup["followup_id"]
    # And the timeline tells it, with the actor
    kinds = timeline_kinds(flow, lead["lead_id"])
    assert kinds[-3:] == ["activity.logged", "lead.status_changed", "followup.scheduled"]
    # And the activity is listed
    items = flow.get(f"/leads/{lead['lead_id']}/activities", role="agent", agent_id="anjali")[1]["items"]
    assert [a["outcome"] for a in items] == ["no_answer"]


def test_a_connected_call_stamps_first_connected_and_completes_the_open_follow_up(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500102")
    first = log(flow, lead["lead_id"], {"type": "call", "outcome": "busy"})[1]
    clock.advance(minutes=70)
    status, body = log(flow, lead["lead_id"], {"type": "call", "outcome": "connected", "duration_s": 240})
    assert status == 201, body
    assert body["lead"]["first_contacted_at"] == "2026-11-23T06:35:00.000Z"  # the first contact stays
    assert body["lead"]["first_connected_at"] == "2026-11-23T07:45:00.000Z"
    assert body["followup"]["reason"] == "outcome:connected"
    assert body["followup"]["due_at"] == "2026-11-24T07:45:00.000Z"
    done = flow.get("/followups", query={"status": "done"})[1]["items"]
    assert [f["followup_id"] for f in done] == [first["followup"]["followup_id"]]


def test_not_interested_schedules_nothing_and_a_callback_uses_the_asked_time(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500103")
    status, body = log(flow, lead["lead_id"], {"type": "call", "outcome": "not_interested"})
    assert status == 201 and body["followup"] is None
    lead2 = routed_lead(flow, demo, "9876500104", city="Delhi")
    status, body = log(flow, lead2["lead_id"], {"type": "call", "outcome": "callback_requested",
                                                "callback_at": "2026-11-24T05:00:00Z"},
                       agent_id=lead2["assigned_agent_id"], username=lead2["assigned_agent_id"])  # fmt: skip
    assert status == 201, body
    assert body["followup"]["due_at"] == "2026-11-24T06:30:00.000Z"  # 10:30 IST is before Rahul's 12:00 shift
    assert body["followup"]["wanted_at"] == "2026-11-24T05:00:00.000Z"


def test_a_replayed_client_id_logs_nothing_twice(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500105")
    body = {"type": "whatsapp", "direction": "outbound", "note": "sent brochure", "client_id": "phone-1-0001"}
    first = log(flow, lead["lead_id"], body)
    again = log(flow, lead["lead_id"], body)
    assert first[0] == 201 and again[0] == 200
    assert again[1]["duplicate"] is True
    assert again[1]["activity"]["activity_id"] == first[1]["activity"]["activity_id"]
    assert len(flow.get(f"/leads/{lead['lead_id']}/activities")[1]["items"]) == 1


def test_notes_and_inbound_messages_are_not_contact(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500106")
    assert (
        log(flow, lead["lead_id"], {"type": "note", "note": "asked about loans"})[1]["lead"]["first_contacted_at"]
        is None
    )
    inbound = log(flow, lead["lead_id"], {"type": "whatsapp", "direction": "inbound", "note": "hi"})[1]
    assert inbound["lead"]["first_contacted_at"] is None and inbound["lead"]["status"] == "assigned"


def test_who_may_log_and_what_is_refused(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500107")
    path = lead["lead_id"]
    # Another agent cannot see the lead; the NCR manager and an admin may log
    assert log(flow, path, {"type": "call", "outcome": "busy"}, agent_id="rahul", username="rahul")[0] == 404
    assert log(flow, path, {"type": "note", "note": "x"}, role="manager", team_id="south")[0] == 404
    assert log(flow, path, {"type": "note", "note": "checked"}, role="manager", team_id="ncr")[0] == 201
    assert log(flow, path, {"type": "note", "note": "checked"}, role="admin")[0] == 201
    # Bad input: clear 4xx, nothing stored
    status, body = log(flow, path, {"type": "fax"})
    assert status == 422 and body["error"] == "invalid_request"
    status, body = log(flow, path, {"type": "call", "at": "2026-11-24T06:30:00Z"})
    assert status == 422 and "future" in body["message"]
    status, body = log(flow, path, {"type": "call", "at": "2026-11-20T06:30:00Z"})
    assert status == 422 and "before the lead arrived" in body["message"]
    status, body = log(flow, path, {"type": "note"})
    assert status == 422
    assert len(flow.get(f"/leads/{path}/activities")[1]["items"]) == 2


def test_an_offline_call_synced_late_keeps_the_earliest_contact_time(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500108")  # routed 12:00 IST, now 12:05
    clock.advance(minutes=30)
    online = log(flow, lead["lead_id"], {"type": "call", "outcome": "connected"})[1]
    assert online["lead"]["first_contacted_at"] == "2026-11-23T07:05:00.000Z"
    # the phone that was offline reports a call made at 12:10 IST
    late = log(flow, lead["lead_id"], {"type": "call", "outcome": "no_answer", "at": "2026-11-23T06:40:00Z"})[1]
    assert late["lead"]["first_contacted_at"] == "2026-11-23T06:40:00.000Z"
    assert late["lead"]["first_connected_at"] == "2026-11-23T07:05:00.000Z"


def test_an_idempotency_key_header_stands_in_for_client_id(flow: Flow, demo, clock) -> None:
    from tests.helpers import LambdaContext, api_event, claims

    lead = routed_lead(flow, demo, "9876500109")
    path = f"/leads/{lead['lead_id']}/activities"

    def post() -> int:
        event = api_event("POST", path, body={"type": "call", "outcome": "busy"}, headers={"Idempotency-Key": "k-1"},
                          claims=claims("agent", "anjali", agent_id="anjali"))  # fmt: skip
        return int(flow.api(event, LambdaContext())["statusCode"])

    assert [post(), post()] == [201, 200]
    assert len(flow.get(f"{path}")[1]["items"]) == 1


def test_activities_come_a_page_at_a_time(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500110")
    for n in range(3):
        clock.advance(minutes=1)
        assert log(flow, lead["lead_id"], {"type": "note", "note": f"note {n}"})[0] == 201
    path = f"/leads/{lead['lead_id']}/activities"
    first = flow.get(path, query={"limit": "2"})[1]
    assert [a["note"] for a in first["items"]] == ["note 0", "note 1"] and first["next"]
    second = flow.get(path, query={"limit": "2", "cursor": first["next"]})[1]
    assert [a["note"] for a in second["items"]] == ["note 2"]
    assert flow.get(path, query={"cursor": "nonsense"})[0] == 400
