"""The routing engine: eligibility, round-robin fairness, fall-through and explanations."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.models import Agent, AgentStatus, Lead, Pool, Shift
from leadrelay.routing.engine import decide
from leadrelay.routing.roster import Roster, RoundRobinState
from leadrelay.routing.rules import RuleChain

TZ = "Asia/Kolkata"
MONDAY_NOON_IST = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def lead(**fields: object) -> Lead:
    return Lead(lead_id="L1", source_id="website", source_kind="generic", received_at=MONDAY_NOON_IST, **fields)


def roster(*agents: Agent, pool_id: str = "all") -> Roster:
    r = Roster(agents={a.agent_id: a for a in agents})
    r.pools[pool_id] = Pool(pool_id=pool_id, name=pool_id, agent_ids=[a.agent_id for a in agents])
    return r


def chain(**kwargs: object) -> RuleChain:
    return RuleChain.model_validate({"version": 3, "default_pool_id": "all", **kwargs})


def assign_many(r: Roster, n: int, counts: dict[str, int] | None = None) -> dict[str, int]:
    """Route n leads, applying each decision to the round-robin state like the router does."""
    counts = dict(counts or {})
    got: dict[str, int] = {}
    stamp = max((state.last_assigned_ms for state in r.round_robin.values()), default=0)
    for _ in range(n):
        plan = decide(lead(), chain(), r, counts, MONDAY_NOON_IST, TZ)
        if plan.agent_id is None:
            break
        stamp += 1
        state = r.rr("all", plan.agent_id)
        r.round_robin[("all", plan.agent_id)] = RoundRobinState(stamp, state.total + 1, True)
        counts[plan.agent_id] = counts.get(plan.agent_id, 0) + 1
        got[plan.agent_id] = got.get(plan.agent_id, 0) + 1
    return got


def test_an_unavailable_agent_gets_none_of_five_leads() -> None:
    r = roster(Agent(agent_id="a", name="A"), Agent(agent_id="b", name="B", status=AgentStatus.UNAVAILABLE),
               Agent(agent_id="c", name="C"))  # fmt: skip
    got = assign_many(r, 5)
    assert "b" not in got and sum(got.values()) == 5
    plan = decide(lead(), chain(), r, {}, MONDAY_NOON_IST, TZ)
    assert plan.skipped == {"b": "unavailable"}


def test_capped_agent_is_skipped_and_the_sixth_lead_goes_elsewhere() -> None:
    r = roster(Agent(agent_id="a", name="A", daily_cap=5), Agent(agent_id="b", name="B"))
    plan = decide(lead(), chain(), r, {"a": 5, "b": 9}, MONDAY_NOON_IST, TZ)
    assert plan.agent_id == "b" and plan.skipped == {"a": "capped"}


def test_off_shift_agents_are_skipped_in_the_org_time_zone() -> None:
    # 12:00 in Kolkata is 06:30 UTC: a 09:00–18:00 IST shift is on, a 14:00–22:00 one is off.
    day = Agent(agent_id="day", name="Day", shifts=[Shift(start=time(9), end=time(18))])
    late = Agent(agent_id="late", name="Late", shifts=[Shift(start=time(14), end=time(22))])
    plan = decide(lead(), chain(), roster(day, late), {}, MONDAY_NOON_IST, TZ)
    assert plan.agent_id == "day" and plan.skipped == {"late": "off_shift"}


def test_an_overnight_shift_covers_the_small_hours_of_the_next_day() -> None:
    night = Shift(days=[0], start=time(21), end=time(6))  # Monday night into Tuesday morning
    tuesday_2am = datetime(2026, 11, 24, 2, 0)
    assert night.covers(tuesday_2am)
    assert not night.covers(datetime(2026, 11, 23, 2, 0))  # Monday 02:00 belongs to Sunday's shift


def test_leave_with_an_end_time_lapses_by_itself() -> None:
    back = MONDAY_NOON_IST - timedelta(minutes=1)
    agent = Agent(agent_id="a", name="A", status=AgentStatus.ON_LEAVE, status_until=back)
    assert decide(lead(), chain(), roster(agent), {}, MONDAY_NOON_IST, TZ).agent_id == "a"


def test_language_rule_needs_a_speaker_and_falls_through_when_none_is_eligible() -> None:
    r = roster(Agent(agent_id="hi", name="Hindi", languages=["hi"]), pool_id="all")
    r.pools["tamil"] = Pool(pool_id="tamil", name="Tamil", agent_ids=["hi"])
    rules = chain(rules=[{"rule_id": "ta", "pool_id": "tamil", "require_language": True, "fall_through": True,
                          "when": {"field": "language", "op": "eq", "value": "ta"}}])  # fmt: skip
    plan = decide(lead(language="ta"), rules, r, {}, MONDAY_NOON_IST, TZ)
    assert plan.agent_id == "hi" and plan.rule_id == "default"
    assert plan.rules[0].fell_through and plan.rules[0].rule_id == "ta"


def test_a_lead_nobody_can_take_is_left_unassigned_with_the_reason() -> None:
    r = roster(Agent(agent_id="a", name="A", status=AgentStatus.ON_LEAVE))
    plan = decide(lead(), chain(), r, {}, MONDAY_NOON_IST, TZ)
    assert plan.agent_id is None and "nobody" in plan.reason and plan.skipped == {"a": "on_leave"}


def test_soft_capped_agents_go_behind_the_others_instead_of_being_excluded() -> None:
    r = roster(Agent(agent_id="a", name="A", soft_cap=2), Agent(agent_id="b", name="B"))
    plan = decide(lead(), chain(), r, {"a": 2, "b": 7}, MONDAY_NOON_IST, TZ)
    assert plan.agent_id == "b" and plan.demoted == ["a"]


def test_a_new_joiner_gets_one_lead_then_rotates_without_a_catch_up_flood() -> None:
    a, b = Agent(agent_id="a", name="A"), Agent(agent_id="b", name="B")
    r = roster(a, b)
    assign_many(r, 10)
    r.agents["c"] = Agent(agent_id="c", name="C")
    r.pools["all"].agent_ids.append("c")
    got = assign_many(r, 6)
    assert got == {"a": 2, "b": 2, "c": 2}


@settings(max_examples=60, deadline=None)
@given(agents=st.integers(min_value=1, max_value=12), leads=st.integers(min_value=0, max_value=80))
def test_round_robin_counts_differ_by_at_most_one_when_everyone_is_eligible(agents: int, leads: int) -> None:
    r = roster(*(Agent(agent_id=f"a{i:02d}", name=f"A{i}") for i in range(agents)))
    got = assign_many(r, leads)
    counts = [got.get(f"a{i:02d}", 0) for i in range(agents)]
    assert sum(counts) == leads
    assert max(counts) - min(counts) <= 1
