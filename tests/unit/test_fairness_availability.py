"""Eligible minutes count leave and breaks too: the fairness ledger's availability entries (what
the status became, and what it was) with check-in/out and shifts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from leadrelay.models import Agent, AgentStatus, Pool, Shift
from leadrelay.routing.fairness import StatusChange, eligible_minutes, fairness

DAY = datetime(2026, 11, 23, tzinfo=UTC) - timedelta(hours=5, minutes=30)  # Monday 00:00 in Kolkata
TZ = "Asia/Kolkata"


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def test_a_break_inside_the_shift_is_not_eligible_time() -> None:
    # Given a 09:00–17:59 shift, and a break from 13:00 to 13:30
    agent = Agent(agent_id="a", name="A", shifts=[Shift(start=time(9), end=time(17, 59))])
    changes = [StatusChange(at(13), AgentStatus.ON_BREAK), StatusChange(at(13.5), AgentStatus.AVAILABLE,
                                                                       before=AgentStatus.ON_BREAK)]  # fmt: skip
    # Then the day counts nine hours less half an hour
    assert eligible_minutes(agent, [], DAY, DAY + timedelta(days=1), TZ, changes) == 9 * 60 - 30


def test_leave_that_lapses_by_its_until_counts_from_the_moment_it_lapses() -> None:
    # Given an agent with no shifts put on leave at 06:00 until 10:00 (nobody sets them back)
    agent = Agent(agent_id="a", name="A")
    changes = [StatusChange(at(6), AgentStatus.ON_LEAVE, until=at(10))]
    # Then 06:00–10:00 is not eligible, the rest of the day is
    assert eligible_minutes(agent, [], DAY, DAY + timedelta(days=1), TZ, changes) == 20 * 60


def test_before_the_first_change_the_status_it_replaced_holds() -> None:
    # Given an agent whose leave (set before the window) ends at 12:00 by a manager's change
    agent = Agent(agent_id="a", name="A")
    changes = [StatusChange(at(12), AgentStatus.AVAILABLE, before=AgentStatus.ON_LEAVE)]
    # Then only the afternoon counts, although the agent is available now
    assert eligible_minutes(agent, [], DAY, DAY + timedelta(days=1), TZ, changes) == 12 * 60
    # And with no change in the window, the status now holds for all of it (lapsing at its until)
    on_leave = agent.model_copy(update={"status": AgentStatus.ON_LEAVE, "status_until": at(18)})
    assert eligible_minutes(on_leave, [], DAY, DAY + timedelta(days=1), TZ) == 6 * 60


def test_presence_and_availability_combine_every_unavailable_status_counts_as_away() -> None:
    # Given an agent checked out 08:00–09:00, on a break 08:30–10:00, unavailable 20:00–21:00
    agent = Agent(agent_id="a", name="A")
    presence = [(at(8), "checked_out"), (at(9), "checked_in")]
    changes = [
        StatusChange(at(8.5), AgentStatus.ON_BREAK),
        StatusChange(at(10), AgentStatus.AVAILABLE, before=AgentStatus.ON_BREAK),
        StatusChange(at(20), AgentStatus.UNAVAILABLE),
        StatusChange(at(21), AgentStatus.AVAILABLE, before=AgentStatus.UNAVAILABLE),
    ]
    # Then 08:00–10:00 and 20:00–21:00 are away: 21 hours count
    assert eligible_minutes(agent, presence, DAY, DAY + timedelta(days=1), TZ, changes) == 21 * 60


def test_the_ledger_reads_availability_entries_and_shifts_the_expected_share() -> None:
    # Given two agents of a pool; b is on leave from 12:00 until the end of the day (a ledger entry,
    # as store/presence.py writes it: datetimes as ISO strings)
    agents = {"a": Agent(agent_id="a", name="A"), "b": Agent(agent_id="b", name="B")}
    pool = Pool(pool_id="p", name="P", agent_ids=["a", "b"])
    entries = [
        {"kind": "availability", "agent_id": "b", "at": "2026-11-23T06:30:00.000Z", "status": "on_leave",
         "until": "2026-11-23T18:30:00.000Z", "from_status": "available"},
        {"kind": "assigned", "agent_id": "a", "at": at(13), "pool_id": "p", "source_kind": "generic"},
    ]  # fmt: skip
    # When the ledger is worked out for the day
    rows = {r["agent_id"]: r for r in fairness(entries, agents, pool, DAY, DAY + timedelta(days=1), TZ)["items"]}
    # Then b was eligible half the day, and is due a third of the leads
    assert rows["a"]["eligible_minutes"] == 1440 and rows["b"]["eligible_minutes"] == 720
    assert rows["b"]["expected_share"] == round(720 / 2160, 4)
