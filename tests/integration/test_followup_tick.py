"""The followup tick on moto: due and missed follow-ups, SLA re-distribution and escalation,
night leads, stuck leads, nurture — each idempotent under double ticks."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.followup.settings import FollowupSettings
from tests.integration.flow import Flow
from tests.integration.followup_helpers import routed_lead, tick, timeline_kinds


@pytest.fixture(autouse=True)
def every_step_every_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests tick at any minute: the every-fifth-minute steps (missed, nurture, lost) run on
    every tick here; `test_missed_follow_ups_are_looked_at_every_fifth_minute` checks the cadence."""
    monkeypatch.setattr("leadrelay.tick.runner.SLOW_STEPS_EVERY_MINUTES", 1)


def put_settings(flow: Flow, document: dict[str, Any]) -> dict[str, Any]:
    status, body = flow.call("PUT", "/settings/followups", body=document)
    assert status == 200, body
    return body


def call(flow: Flow, lead: dict[str, Any], outcome: str = "no_answer", **extra: Any) -> dict[str, Any]:
    agent = lead["assigned_agent_id"]
    status, body = flow.call("POST", f"/leads/{lead['lead_id']}/activities", role="agent", agent_id=agent,
                             username=agent, body={"type": "call", "outcome": outcome, **extra})  # fmt: skip
    assert status == 201, body
    return body


def test_a_due_follow_up_reminds_once_then_is_missed_once_and_the_manager_sees_it(flow: Flow, demo, clock) -> None:
    # Given a busy call (follow-up in 1 hour) on a lead of Anjali's
    lead = routed_lead(flow, demo, "9876500201")
    followup = call(flow, lead, "busy")["followup"]
    # When the tick runs before it is due, nothing happens
    assert tick()["work"].get("followups_due", 0) == 0
    # When it falls due: one reminder, however many ticks run
    clock.advance(minutes=61)
    assert tick()["work"]["followups_due"] == 1
    assert tick()["work"].get("followups_due", 0) == 0
    assert timeline_kinds(flow, lead["lead_id"]).count("followup.due") == 1
    # When nobody acts within 24 hours: missed, once
    clock.advance(hours=24)
    assert tick()["work"]["followups_missed"] == 1
    assert tick()["work"].get("followups_missed", 0) == 0
    kinds = timeline_kinds(flow, lead["lead_id"])
    assert kinds.count("followup.missed") == 1
    # And the NCR manager sees it as missed; the south manager does not
    missed = flow.get("/followups", role="manager", team_id="ncr", query={"status": "missed"})[1]["items"]
    assert [f["followup_id"] for f in missed] == [followup["followup_id"]]
    assert flow.get("/followups", role="manager", team_id="south", query={"status": "missed"})[1]["items"] == []
    # Until the lead is touched: a call completes it (late) and it leaves the missed list
    call(flow, lead, "connected")
    assert flow.get("/followups", role="manager", team_id="ncr", query={"status": "missed"})[1]["items"] == []


def test_a_lead_nobody_calls_within_the_sla_moves_to_another_agent_and_keeps_its_history(
    flow: Flow, demo, clock
) -> None:
    # Given an SLA of 120 minutes and a Noida lead routed to Anjali at 12:00 IST
    put_settings(flow, {"sla": {"first_contact_minutes": 120}})
    lead = routed_lead(flow, demo, "9876500202")
    lead_id = lead["lead_id"]
    assert lead["assigned_agent_id"] == "anjali"
    flow.call("POST", f"/leads/{lead_id}/activities", role="agent", agent_id="anjali", username="anjali",
              body={"type": "note", "note": "will call after lunch"})  # fmt: skip
    tick()
    # When 2 hours pass with no contact
    clock.advance(minutes=100)
    assert tick()["work"].get("sla_redistributed", 0) == 0
    clock.advance(minutes=16)
    work = tick()["work"]
    # Then it moves, through the engine, to an NCR agent who never had it
    assert work["sla_redistributed"] == 1
    moved = flow.get(f"/leads/{lead_id}")[1]
    assert moved["assigned_agent_id"] == "rahul"
    routing = flow.get(f"/leads/{lead_id}/routing")[1]
    assert routing["triggers"] == {"auto": 1, "sla": 1}
    sla = routing["items"][-1]
    assert sla["trigger"] == "sla" and sla["previous_agent_id"] == "anjali"
    assert sla["skipped"]["anjali"] == "already_had_lead"
    # And Rahul sees every earlier event, the note included
    kinds = [e["kind"] for e in flow.get(f"/leads/{lead_id}/timeline", role="agent", agent_id="rahul")[1]["items"]]
    assert "activity.logged" in kinds and kinds[-2:] in (["lead.reassigned", "lead.sla_breached"],
                                                         ["lead.sla_breached", "lead.reassigned"])  # fmt: skip
    # And the counters are right: Rahul got one lead today, Anjali's open leads went down
    agents = {a["agent_id"]: a for a in flow.get("/agents")[1]["items"]}
    assert agents["rahul"]["assigned_today"] == 1
    roster = wiring.org_repository().load_roster()
    assert roster.load("anjali") == 0 and roster.load("rahul") == 1
    # And a second tick moves nothing
    assert tick()["work"].get("sla_redistributed", 0) == 0


def test_after_max_redistributions_the_lead_escalates_to_the_manager(flow: Flow, demo, clock) -> None:
    put_settings(flow, {"sla": {"first_contact_minutes": 30, "max_redistributions": 1}})
    lead = routed_lead(flow, demo, "9876500203")
    tick()
    clock.advance(minutes=31)
    assert tick()["work"]["sla_redistributed"] == 1
    clock.advance(minutes=31)
    work = tick()["work"]
    assert work.get("sla_redistributed", 0) == 0 and work["sla_escalated"] == 1
    assert tick()["work"].get("sla_escalated", 0) == 0
    body = flow.get(f"/leads/{lead['lead_id']}")[1]
    assert body["assigned_agent_id"] == "rahul" and body["sla_escalated_at"] is not None
    breach = [e for e in flow.get(f"/leads/{lead['lead_id']}/timeline")[1]["items"] if e["kind"] == "lead.sla_breached"]
    assert breach[-1]["data"]["action"] == "escalated" and breach[-1]["data"]["escalated_to"] == ["manager-ncr"]


def test_contact_before_the_deadline_stops_the_sla_clock(flow: Flow, demo, clock) -> None:
    put_settings(flow, {"sla": {"first_contact_minutes": 60}})
    lead = routed_lead(flow, demo, "9876500204")
    tick()
    clock.advance(minutes=30)
    call(flow, lead, "switched_off")
    clock.advance(hours=3)
    assert tick()["work"].get("sla_redistributed", 0) == 0
    assert flow.get(f"/leads/{lead['lead_id']}")[1]["assigned_agent_id"] == "anjali"


def test_a_backup_pool_named_by_the_rule_is_preferred(flow: Flow, demo, clock) -> None:
    put_settings(flow, {"sla": {"first_contact_minutes": 60, "backup_pool_by_rule": {"ncr": "south"}}})
    lead = routed_lead(flow, demo, "9876500205")
    clock.advance(minutes=61)
    tick()
    moved = flow.get(f"/leads/{lead['lead_id']}")[1]
    assert moved["assigned_team_id"] == "south"


def test_sla_counted_in_shift_hours_waits_for_the_owner_s_next_shift(flow: Flow, demo, clock) -> None:
    # Given Anjali (09:00–18:00 IST) gets a lead at 17:30 IST with a 90-minute SLA in shift hours
    put_settings(flow, {"sla": {"first_contact_minutes": 90, "shift_hours_only": True}})
    clock.advance(hours=5, minutes=25)  # 17:25 IST, Monday
    lead = routed_lead(flow, demo, "9876500206")
    assert lead["assigned_agent_id"] == "anjali"
    tick()
    # When the evening passes, it stays (30 shift minutes used of 90)
    clock.advance(hours=15)  # 08:30 IST Tuesday
    assert tick()["work"].get("sla_redistributed", 0) == 0
    # Then at 10:00 IST Tuesday (the 90th shift minute) it moves
    clock.advance(minutes=91)
    assert tick()["work"]["sla_redistributed"] == 1


def test_a_night_lead_is_assigned_oldest_first_when_the_first_shift_starts(flow: Flow, demo, clock) -> None:
    # Given everyone is off shift or on leave at night (Deepa and the night shifts on leave)
    org = wiring.org_repository()
    from datetime import UTC, datetime

    back = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 09:30 IST Tuesday
    for agent_id in ("deepa", "meera", "arjun"):
        org.set_availability(agent_id, "on_leave", back)
    clock.advance(hours=14)  # 02:00 IST Tuesday
    first = routed_lead(flow, demo, "9876500207")
    second = routed_lead(flow, demo, "9876500208", city="Delhi")
    assert first["status"] == "unassigned" and second["status"] == "unassigned"
    assert tick()["work"].get("unassigned_assigned", 0) == 0
    # When Anjali's shift starts at 09:00 IST (the night shift's leave lasts until 09:30)
    clock.advance(hours=6, minutes=55)  # 09:00 IST
    work = tick()["work"]
    # Then both are assigned at once, the older first
    assert work["unassigned_assigned"] == 2
    one, two = (flow.get(f"/leads/{lead['lead_id']}")[1] for lead in (first, second))
    assert one["status"] == "assigned" and two["status"] == "assigned"
    first_move, second_move = (
        flow.get(f"/leads/{lead['lead_id']}/routing")[1]["items"][-1] for lead in (first, second)
    )
    assert first_move["trigger"] == "queue" and second_move["trigger"] == "queue"
    assert first_move["decision_id"] < second_move["decision_id"]  # ids sort by creation
    assert tick()["work"].get("unassigned_assigned", 0) == 0


def test_a_stuck_pending_lead_is_re_driven_and_counted(flow: Flow, demo, clock) -> None:
    # Given a lead the router never saw (its stream record lost)
    _, body = flow.post("website", {"phone": "9876500209", "city": "Noida"}, demo["website"]["key"])
    flow.new_records()  # the records are consumed without routing
    assert flow.get(f"/leads/{body['lead_id']}")[1]["status"] == "new"
    assert tick()["work"].get("stuck_found", 0) == 0
    # When it has waited past `stuck_after_minutes`
    clock.advance(minutes=6)
    work = tick()["work"]
    # Then the tick routes it and says so
    assert work["stuck_found"] == 1 and work["stuck_redriven"] == 1
    lead = flow.get(f"/leads/{body['lead_id']}")[1]
    assert lead["status"] == "assigned"
    assert flow.get(f"/leads/{body['lead_id']}/routing")[1]["items"][-1]["trigger"] == "redrive"
    assert tick()["work"].get("stuck_found", 0) == 0


def test_a_nurture_cadence_becomes_follow_ups_step_by_step_and_skips_calls_for_do_not_call(
    flow: Flow, demo, clock
) -> None:
    lead = routed_lead(flow, demo, "9876500210")
    status, body = flow.call("POST", f"/leads/{lead['lead_id']}/nurture", body={"cadence_id": "standard"})
    assert status == 201, body
    clock.advance(days=2, minutes=1)
    assert tick()["work"]["nurture_steps"] == 1
    assert tick()["work"].get("nurture_steps", 0) == 0
    items = flow.get("/followups", query={"status": "open"})[1]["items"]
    assert [(f["lead_id"], f["reason"]) for f in items] == [(lead["lead_id"], "nurture:standard#1")]


def test_a_lead_who_withdrew_consent_gets_no_cadence(flow: Flow, demo, clock) -> None:
    lead = routed_lead(flow, demo, "9876500211", consent=False)
    status, body = flow.call("POST", f"/leads/{lead['lead_id']}/nurture", body={"cadence_id": "standard"})
    assert status == 422 and body["error"] == "no_consent"


def test_a_lost_lead_re_surfaces_into_the_long_tail_cadence_after_the_configured_days(flow: Flow, demo, clock) -> None:
    put_settings(flow, {"nurture": {"lost_resurface_days": 30}})
    lead = routed_lead(flow, demo, "9876500212")
    status, _ = flow.call("PUT", f"/leads/{lead['lead_id']}/status", body={"status": "lost", "reason": "budget"})
    assert status == 200
    clock.advance(days=29)
    assert tick()["work"].get("lost_resurfaced", 0) == 0
    clock.advance(days=1, minutes=1)
    assert tick()["work"]["lost_resurfaced"] == 1
    assert tick()["work"]["nurture_steps"] == 1  # the long tail's first step is due at once
    items = flow.get("/followups", query={"status": "open"})[1]["items"]
    assert [f["reason"] for f in items] == ["nurture:long-tail#1"]


def test_settings_round_trip_and_refuse_bad_documents(flow: Flow, demo, clock) -> None:
    body = flow.get("/settings/followups")[1]
    assert body["rules"]["no_answer"] == {"after_minutes": 2880, "use_callback_at": False}
    assert body == FollowupSettings().model_dump(mode="json")
    assert flow.call("PUT", "/settings/followups", body=body)[0] == 200
    status, error = flow.call("PUT", "/settings/followups", body={"rules": {"busy": {"after_minutes": 0}}})
    assert status == 422 and error["error"] == "invalid_request"
    status, error = flow.call("PUT", "/settings/followups", body={"nurture": {"by_rule": {"ncr": "nope"}}})
    assert status == 422 and "unknown cadence" in error["message"]
    assert flow.call("PUT", "/settings/followups", role="manager", team_id="ncr", body=body)[0] == 403


def test_a_lead_of_the_default_pool_moves_within_it(flow: Flow, demo, clock) -> None:
    # Given a lead with no city, routed by the default rule into the "everyone" pool
    put_settings(flow, {"sla": {"first_contact_minutes": 90}})
    _, body = flow.post("website", {"phone": "9876500213"}, demo["website"]["key"])
    flow.run_router()
    lead = flow.get(f"/leads/{body['lead_id']}")[1]
    first = flow.get(f"/leads/{body['lead_id']}/routing")[1]["items"][0]
    assert first["rule_id"] == "default"
    # When nobody calls it for 90 minutes, it moves to someone else in that pool
    clock.advance(minutes=91)
    assert tick()["work"]["sla_redistributed"] == 1
    moved = flow.get(f"/leads/{lead['lead_id']}/routing")[1]["items"][-1]
    assert moved["trigger"] == "sla" and moved["pool_id"] == "everyone"
    assert moved["agent_id"] != lead["assigned_agent_id"]


def test_a_lead_left_unassigned_by_caps_is_assigned_after_org_local_midnight(flow: Flow, demo, clock) -> None:
    # Given every agent at their cap for today (a cap of 0 for the day; Deepa is the only one on
    # shift round the clock, and she is at hers too)
    org = wiring.org_repository()
    from leadrelay.clock import local_day
    from leadrelay.store.dynamo import client, to_item
    from leadrelay.store.org import ROSTER, counter_expiry, day_sk

    today = local_day(clock.now(), "Asia/Kolkata")
    for agent in org.load_roster().agents.values():
        cap = agent.daily_cap or 0
        client().put_item(TableName=org.table, Item=to_item({"pk": ROSTER, "sk": day_sk(today, agent.agent_id),
                                                             "assigned": cap, "expires_at": counter_expiry(today)}))  # fmt: skip
    lead = routed_lead(flow, demo, "9876500214", city="Noida")
    assert lead["status"] == "unassigned"
    routing = flow.get(f"/leads/{lead['lead_id']}/routing")[1]["items"][0]
    assert set(routing["skipped"].values()) <= {"capped", "off_shift"}
    assert tick()["work"].get("unassigned_assigned", 0) == 0
    # When the org-local day turns (00:00 IST Tuesday), the caps reset and the night shift takes it
    clock.advance(hours=11, minutes=54)  # 23:59 IST
    assert tick()["work"].get("unassigned_assigned", 0) == 0
    clock.advance(minutes=2)
    assert tick()["work"]["unassigned_assigned"] == 1
    assert flow.get(f"/leads/{lead['lead_id']}")[1]["status"] == "assigned"


def test_missed_follow_ups_are_looked_at_every_fifth_minute(flow: Flow, demo, clock, monkeypatch) -> None:
    monkeypatch.setattr("leadrelay.tick.runner.SLOW_STEPS_EVERY_MINUTES", 5)
    lead = routed_lead(flow, demo, "9876500215")  # 12:05 IST
    call(flow, lead, "busy")  # due 13:05 IST
    clock.advance(hours=25, minutes=1)  # 13:06 IST the next day: missed since 13:05
    assert tick()["work"]["followups_due"] == 1
    assert tick()["work"].get("followups_missed", 0) == 0  # minute 36 (UTC): not a fifth minute
    clock.advance(minutes=4)
    assert tick()["work"]["followups_missed"] == 1  # minute 40


def test_a_cadence_named_by_the_rule_is_attached_to_the_leads_it_routes(flow: Flow, demo, clock) -> None:
    # Given the ncr rule attaches the standard cadence (and no SLA is set anywhere)
    put_settings(flow, {"nurture": {"by_rule": {"ncr": "standard"}}})
    lead = routed_lead(flow, demo, "9876500216")
    chennai = routed_lead(flow, demo, "9876500217", city="Chennai")
    # When the tick sees the new assignments
    assert tick()["work"]["nurture_attached"] == 1
    assert tick()["work"].get("nurture_attached", 0) == 0
    # Then the Noida lead's first step becomes a follow-up two days later; the Chennai lead gets none
    clock.advance(days=2, minutes=1)
    tick()
    reasons = {f["lead_id"]: f["reason"] for f in flow.get("/followups")[1]["items"]}
    assert reasons == {lead["lead_id"]: "nurture:standard#1"}
    assert "nurture.started" in timeline_kinds(flow, lead["lead_id"])
    assert "nurture.started" not in timeline_kinds(flow, chennai["lead_id"])


def test_a_batch_with_stale_items_writes_the_fresh_one_and_nothing_twice(flow: Flow, demo, clock, monkeypatch) -> None:
    from leadrelay.store.followups import FollowupStore

    # Given two due follow-ups that a tick already reminded, as a slow tick still holds them
    first = [routed_lead(flow, demo, f"98765003{n:02d}") for n in range(2)]
    for lead in first:
        call(flow, lead, "busy")
    clock.advance(minutes=61)
    held, _ = wiring.followup_store().due("FU_DUE", clock.now(), 10)
    assert len(held) == 2 and tick()["work"]["followups_due"] == 2
    # And a third that fell due since
    third = routed_lead(flow, demo, "9876500399")
    call(flow, third, "busy")
    clock.advance(minutes=61)
    fresh, _ = wiring.followup_store().due("FU_DUE", clock.now(), 10)
    assert len(fresh) == 1
    # When the slow tick writes all three in one batch
    monkeypatch.setattr(FollowupStore, "due", lambda self, queue, until, limit, start=None: (
        (held + fresh, None) if queue == "FU_DUE" else ([], None)))  # fmt: skip
    # Then the stale two are dropped from the batch, the fresh one is written, nothing twice
    assert tick()["work"]["followups_due"] == 1
    for lead in [*first, third]:
        assert timeline_kinds(flow, lead["lead_id"]).count("followup.due") == 1
