"""Availability changes (leave, break) are fairness-ledger entries written with the change, and
GET /routing/fairness counts them out of eligible minutes."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.clock import local_day
from leadrelay.models import Agent
from tests.helpers import ManualClock
from tests.integration.flow import Flow
from tests.integration.test_offers import org_with


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    return Flow(aws["LEADS_TABLE"])


def availability(flow: Flow, agent: str, body: dict[str, Any], **who: Any) -> tuple[int, dict[str, Any]]:
    return flow.call("PUT", f"/agents/{agent}/availability", body=body, **who)


def test_leave_and_a_break_are_on_the_ledger_and_out_of_eligible_minutes(flow: Flow, clock: ManualClock) -> None:
    # Given two agents of a pool at 12:00; asha takes a 30-minute break, bala goes on leave at 13:00
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"))
    status, body = availability(flow, "asha", {"status": "on_break"}, role="agent", agent_id="asha", username="asha")
    assert status == 200 and body["status"] == "on_break", body
    clock.advance(minutes=30)
    assert availability(flow, "asha", {"status": "available"}, role="agent", agent_id="asha", username="asha")[0] == 200
    clock.advance(minutes=30)
    assert availability(flow, "bala", {"status": "on_leave"})[0] == 200
    clock.advance(minutes=60)
    # Then each change is a ledger entry saying what the status was and what it became
    day = local_day(clock.now(), "Asia/Kolkata")
    entries = [e for e in wiring.offer_store().ledger(day) if e["kind"] == "availability"]
    assert [(e["agent_id"], e["from_status"], e["status"]) for e in entries] == [
        ("asha", "available", "on_break"), ("asha", "on_break", "available"), ("bala", "available", "on_leave"),
    ]  # fmt: skip
    assert entries[0]["note"] == "set by asha"
    # And the ledger counts the day up to 14:00: asha missed 30 minutes, bala the last hour
    status, body = flow.get("/routing/fairness", query={"pool_id": "sales"})
    assert status == 200, body
    rows = {row["agent_id"]: row for row in body["items"]}
    assert rows["asha"]["eligible_minutes"] == 14 * 60 - 30
    assert rows["bala"]["eligible_minutes"] == 13 * 60


def test_a_status_changed_meanwhile_is_read_again_so_the_history_has_no_gap(flow: Flow, clock: ManualClock) -> None:
    # Given an agent put on leave by someone else after the API read them (a stale read)
    org_with(Agent(agent_id="asha", name="Asha"))
    stale = wiring.org_repository().get_agent("asha")
    assert stale is not None
    wiring.org_repository().set_availability("asha", "on_leave", None)
    presence = wiring.presence_store()
    # When the write built on the stale read is tried, it is refused (None), nothing written
    assert presence.set_availability(stale, stale.status, None, clock.now(), local_day(clock.now(), "Asia/Kolkata"),
                                     "x") is None  # fmt: skip
    # And through the API the change reads the agent again: its entry names the real previous status
    assert availability(flow, "asha", {"status": "available"})[0] == 200
    day = local_day(clock.now(), "Asia/Kolkata")
    entries = [e for e in wiring.offer_store().ledger(day) if e["kind"] == "availability"]
    assert [(e["from_status"], e["status"]) for e in entries] == [("on_leave", "available")]
