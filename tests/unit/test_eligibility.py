"""Eligibility at its edges: shift windows to the microsecond, overnight shifts, lapsing statuses,
caps and languages; and the engine's steps around them (the previous owner, the default pool)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadrelay.models import Agent, AgentStatus, Lead, Pool, Shift, SkipReason, Strategy
from leadrelay.routing.eligibility import (
    facts_of,
    hard_cap,
    is_demoted,
    moment,
    reason_for,
    skip_reason,
)
from leadrelay.routing.engine import DEFAULT_RULE_ID, RETURNING_RULE_ID, decide
from leadrelay.routing.roster import Roster
from leadrelay.routing.rules import RuleChain

TZ = "Asia/Kolkata"
IST = ZoneInfo(TZ)
MONDAY = datetime(2026, 11, 23, tzinfo=IST)  # a Monday, midnight IST


def at(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """`day` days after Monday midnight IST, at that wall-clock time."""
    return (MONDAY + timedelta(days=day)).replace(hour=hour, minute=minute, second=second, microsecond=micro)


def lead(**fields: object) -> Lead:
    return Lead(lead_id="L1", source_id="web", source_kind="generic", received_at=MONDAY, **fields)


def reason(agent: Agent, when: datetime, *, today: int = 0, require_language: bool = False,
           language: str | None = None, chain_cap: int | None = None) -> SkipReason | None:  # fmt: skip
    when_utc = when.astimezone(UTC)
    return reason_for(facts_of(agent), moment(when_utc, when), today, require_language, language, chain_cap)


def test_the_moment_is_the_local_wall_clock_in_microseconds_and_the_local_weekday():
    # Given 09:30:15.5 on a Wednesday in Kolkata (04:00:15.5 UTC)
    local = at(2, 9, 30, 15, 500_000)
    m = moment(local.astimezone(UTC), local)
    # Then the moment is counted in the org's time zone, to the microsecond
    assert m.micros == ((9 * 60 + 30) * 60 + 15) * 1_000_000 + 500_000
    assert m.weekday == 2 and m.now == local.astimezone(UTC)


def test_a_shift_becomes_a_window_in_microseconds_since_midnight():
    agent = Agent(agent_id="a", name="A", shifts=[Shift(days=[0, 2], start=time(9, 15, 30), end=time(18, 0, 0, 1))])
    (window,) = facts_of(agent).shifts
    assert window.days == frozenset({0, 2}) and not window.overnight
    assert window.start == ((9 * 60 + 15) * 60 + 30) * 1_000_000
    assert window.end == 18 * 3_600_000_000 + 1


@pytest.mark.parametrize(
    ("when", "on_shift"),
    [
        (at(0, 9), True),  # the first instant of the shift
        (at(0, 8, 59, 59, 999_999), False),  # a microsecond before
        (at(0, 18), True),  # the last instant
        (at(0, 18, 0, 0, 1), False),  # a microsecond after
        (at(1, 12), False),  # Tuesday: not one of its days
    ],
)
def test_a_day_shift_includes_its_start_and_end_and_nothing_outside(when: datetime, on_shift: bool):
    agent = Agent(agent_id="a", name="A", shifts=[Shift(days=[0], start=time(9), end=time(18))])
    assert (reason(agent, when) is None) is on_shift


@pytest.mark.parametrize(
    ("when", "on_shift"),
    [
        (at(0, 22), True),  # Monday evening: the shift's own day
        (at(0, 21, 59, 59), False),
        (at(1, 5, 59), True),  # Tuesday morning belongs to Monday's shift
        (at(1, 6), True),  # its last instant
        (at(1, 6, 0, 1), False),
        (at(0, 3), False),  # Monday morning would belong to Sunday's shift, which there is none
        (at(1, 23), False),  # Tuesday evening: Tuesday is not one of its days
    ],
)
def test_an_overnight_shift_runs_from_its_days_evening_into_the_next_morning(when: datetime, on_shift: bool):
    agent = Agent(agent_id="a", name="A", shifts=[Shift(days=[0], start=time(22), end=time(6))])
    assert facts_of(agent).shifts[0].overnight
    assert (reason(agent, when) is None) is on_shift
    if not on_shift:
        assert reason(agent, when) is SkipReason.OFF_SHIFT


def test_a_shift_that_starts_and_ends_at_the_same_minute_is_not_overnight():
    agent = Agent(agent_id="a", name="A", shifts=[Shift(days=[0], start=time(9), end=time(9))])
    assert not facts_of(agent).shifts[0].overnight
    assert reason(agent, at(0, 9)) is None
    assert reason(agent, at(0, 10)) is SkipReason.OFF_SHIFT


def test_any_one_of_several_shifts_is_enough():
    shifts = [Shift(days=[0], start=time(9), end=time(12)), Shift(days=[0], start=time(14), end=time(18))]
    agent = Agent(agent_id="a", name="A", shifts=shifts)
    assert reason(agent, at(0, 10)) is None and reason(agent, at(0, 15)) is None
    assert reason(agent, at(0, 13)) is SkipReason.OFF_SHIFT


def test_a_status_with_an_end_lapses_exactly_at_that_end():
    back = at(0, 10)
    agent = Agent(agent_id="a", name="A", status=AgentStatus.ON_LEAVE, status_until=back)
    assert reason(agent, at(0, 9, 59, 59, 999_999)) is SkipReason.ON_LEAVE
    assert reason(agent, back) is None
    for status, why in [(AgentStatus.ON_BREAK, SkipReason.ON_BREAK), (AgentStatus.BANNED, SkipReason.BANNED),
                        (AgentStatus.UNAVAILABLE, SkipReason.UNAVAILABLE)]:  # fmt: skip
        assert reason(Agent(agent_id="b", name="B", status=status), at(0, 12)) is why


@pytest.mark.parametrize(
    ("own", "chain_cap", "today", "capped"),
    [(5, None, 4, False), (5, None, 5, True), (None, 3, 3, True), (None, 3, 2, False),
     (5, 3, 3, True), (2, 3, 2, True), (None, None, 10_000, False)],
)  # fmt: skip
def test_the_lower_of_the_agents_cap_and_the_chains_holds(own, chain_cap, today, capped):
    agent = Agent(agent_id="a", name="A", daily_cap=own)
    expected = min(c for c in (own, chain_cap) if c is not None) if (own, chain_cap) != (None, None) else None
    assert hard_cap(agent, chain_cap) == expected
    assert (reason(agent, at(0, 12), today=today, chain_cap=chain_cap) is SkipReason.CAPPED) is capped


def test_a_language_counts_only_when_the_rule_asks_and_the_lead_has_one():
    agent = Agent(agent_id="a", name="A", languages=["hi", "en"])
    assert reason(agent, at(0, 12), require_language=True, language="ta") is SkipReason.LANGUAGE
    assert reason(agent, at(0, 12), require_language=True, language="hi") is None
    assert reason(agent, at(0, 12), require_language=True, language=None) is None
    assert reason(agent, at(0, 12), require_language=False, language="ta") is None


def test_skip_reason_over_an_agent_and_a_lead_agrees_with_the_prepared_check():
    agent = Agent(agent_id="a", name="A", status=AgentStatus.ON_LEAVE, status_until=at(0, 10), languages=["hi"],
                  daily_cap=2, shifts=[Shift(days=[0], start=time(9), end=time(18))])  # fmt: skip
    cases = [(at(0, 9, 30), 0, False), (at(0, 11), 0, True), (at(0, 11), 2, False), (at(0, 19), 0, False)]
    for when, today, language in cases:
        expected = reason(agent, when, today=today, require_language=language, language="ta")
        got = skip_reason(agent, lead(language="ta"), now=when.astimezone(UTC), local_now=when,
                          assigned_today=today, require_language=language)  # fmt: skip
        assert got is expected
    assert skip_reason(agent, lead(language="ta"), now=at(0, 11).astimezone(UTC), local_now=at(0, 11),
                       assigned_today=0, require_language=True) is SkipReason.LANGUAGE  # fmt: skip


def test_a_soft_cap_reached_demotes_and_territories_compare_trimmed_and_case_folded():
    agent = Agent(agent_id="a", name="A", soft_cap=3, territories=[" Noida ", "GURUGRAM"], languages=["hi"])
    assert not is_demoted(agent, 2) and is_demoted(agent, 3)
    assert not is_demoted(Agent(agent_id="b", name="B"), 1_000)
    facts = facts_of(agent)
    assert facts.territories == frozenset({"noida", "gurugram"}) and facts.languages == frozenset({"hi"})
    assert facts.soft_cap == 3 and facts.agent is agent


# -- the engine's steps around eligibility --------------------------------------------------------

NOON = at(0, 12).astimezone(UTC)


def _roster(*agents: Agent) -> Roster:
    r = Roster(agents={a.agent_id: a for a in agents})
    r.pools["all"] = Pool(pool_id="all", name="all", agent_ids=[a.agent_id for a in agents])
    return r


def test_the_default_pool_is_the_last_rule_and_matches_every_lead():
    chain = RuleChain.model_validate({"version": 1, "rules": [
        {"rule_id": "noida", "when": {"field": "city", "op": "eq", "value": "Noida"}, "pool_id": "all"}],
        "default_pool_id": "all"})  # fmt: skip
    plan = decide(lead(city="Pune"), chain, _roster(Agent(agent_id="a", name="A")), {}, NOON, TZ)
    assert plan.rule_id == DEFAULT_RULE_ID and plan.agent_id == "a"
    assert [(t.rule_id, t.matched) for t in plan.rules] == [("noida", False), (DEFAULT_RULE_ID, True)]
    assert plan.rules[1].why == "matches every lead" and plan.rules_not_matched == 1
    assert [t.rule_id for t in plan.deciding_rules] == [DEFAULT_RULE_ID]


def test_no_rule_and_no_default_pool_leaves_the_lead_unassigned_with_nothing_skipped():
    plan = decide(lead(), RuleChain(version=1), _roster(Agent(agent_id="a", name="A")), {}, NOON, TZ)
    assert plan.agent_id is None and plan.skipped == {} and plan.rules == []
    assert plan.reason == "no rule matched and there is no default pool"


def test_a_reopened_lead_goes_back_to_an_owner_whose_leave_has_lapsed_under_their_cap():
    owner = Agent(agent_id="o", name="O", status=AgentStatus.ON_LEAVE, status_until=at(0, 11), daily_cap=4)
    r = _roster(Agent(agent_id="a", name="A"), owner)
    chain = RuleChain.model_validate({"version": 1, "default_pool_id": "all", "daily_cap_per_agent": 3})
    plan = decide(lead(return_to_agent_id="o"), chain, r, {"o": 2}, NOON, TZ)
    assert plan.agent_id == "o" and plan.rule_id == RETURNING_RULE_ID and plan.pool_id is None
    assert plan.strategy == Strategy.STICKY_OWNER.value and plan.candidates == ["o"]
    assert plan.daily_cap == 3  # the lower of the owner's 4 and the chain's 3
    assert plan.rules[0].matched and "back to its previous owner o" in plan.reason


@pytest.mark.parametrize(
    ("owner_id", "counts", "exclude", "why"),
    [
        ("gone", {}, frozenset(), "previous owner gone is no longer an agent"),
        ("o", {}, frozenset({"o"}), "previous owner o already had this lead"),
        ("o", {"o": 4}, frozenset(), "previous owner o is not eligible (capped)"),
    ],
)
def test_when_the_previous_owner_cannot_take_it_the_chain_decides_and_says_why(owner_id, counts, exclude, why):
    r = _roster(Agent(agent_id="a", name="A"), Agent(agent_id="o", name="O", daily_cap=4))
    chain = RuleChain.model_validate({"version": 1, "default_pool_id": "all"})
    plan = decide(lead(return_to_agent_id=owner_id), chain, r, counts, NOON, TZ, exclude_agents=exclude)
    first = plan.rules[0]
    assert first.rule_id == RETURNING_RULE_ID and not first.matched
    assert first.why == f"reopened lead: {why}; the rule chain decides"
    assert plan.rule_id == DEFAULT_RULE_ID and plan.agent_id == "a"
    assert plan.rules_not_matched == 0 and plan.deciding_rules[0] is first


def test_a_previous_owner_gets_the_lead_back_whatever_its_language_and_with_no_count_today():
    owner = Agent(agent_id="o", name="O", languages=["hi"], daily_cap=1)
    r = _roster(Agent(agent_id="a", name="A"), owner)
    chain = RuleChain.model_validate({"version": 1, "default_pool_id": "all"})
    plan = decide(lead(return_to_agent_id="o", language="ta"), chain, r, {}, NOON, TZ)
    assert plan.agent_id == "o" and plan.daily_cap == 1


def test_a_rule_whose_pool_does_not_exist_stops_the_walk_unless_it_falls_through():
    rules = [{"rule_id": "r1", "pool_id": "nope"}]
    r = _roster(Agent(agent_id="a", name="A"))
    stop = RuleChain.model_validate({"version": 1, "rules": rules, "default_pool_id": "all"})
    plan = decide(lead(), stop, r, {}, NOON, TZ)
    assert (plan.agent_id, plan.rule_id, plan.pool_id, plan.strategy) == (None, "r1", "nope", None)
    assert plan.reason == "pool 'nope' does not exist"
    assert [(t.rule_id, t.matched, t.fell_through) for t in plan.rules] == [("r1", True, False)]
    assert plan.rules[0].why == "matches every lead; pool 'nope' does not exist"
    onward = RuleChain.model_validate({"version": 1, "rules": [{**rules[0], "fall_through": True}],
                                       "default_pool_id": "all"})  # fmt: skip
    plan = decide(lead(), onward, r, {}, NOON, TZ)
    assert plan.agent_id == "a" and plan.rule_id == DEFAULT_RULE_ID
    assert plan.rules[0].fell_through is True and plan.rules[0].why.endswith("does not exist")


def test_a_matched_rule_explains_the_comparison_that_decided_it_in_local_time():
    chain = RuleChain.model_validate({"version": 1, "rules": [
        {"rule_id": "lunch", "when": {"field": "hour", "op": "between", "value": [11, 13]}, "pool_id": "all"},
    ]})  # fmt: skip
    r = _roster(Agent(agent_id="a", name="A"))
    plan = decide(lead(), chain, r, {}, NOON, TZ)  # 12:00 IST (06:30 UTC)
    assert plan.rule_id == "lunch" and plan.rules[0].matched and plan.rules[0].why == "hour=12 between [11, 13]"
    evening = decide(lead(), chain, r, {}, at(0, 19).astimezone(UTC), TZ)
    assert evening.agent_id is None and evening.rules[0].why == "hour=19 between [11, 13]"


def test_unknown_and_excluded_agents_are_skipped_with_their_reason_and_the_pool_walk_goes_on():
    r = _roster(Agent(agent_id="x", name="X"), Agent(agent_id="a", name="A", daily_cap=1))
    r.pools["all"] = Pool(pool_id="all", name="all", agent_ids=["ghost", "x", "a"])
    chain = RuleChain.model_validate({"version": 1, "default_pool_id": "all"})
    plan = decide(lead(), chain, r, {}, NOON, TZ, exclude_agents=frozenset({"x"}))
    assert plan.skipped == {"ghost": "unknown_agent", "x": "already_had_lead"}
    assert plan.agent_id == "a" and plan.candidates == ["a"]


def test_a_sunday_night_shift_covers_monday_morning():
    agent = Agent(agent_id="a", name="A", shifts=[Shift(days=[6], start=time(22), end=time(6))])
    assert reason(agent, at(0, 3)) is None  # Monday 03:00 belongs to Sunday's shift
    assert reason(agent, at(1, 3)) is SkipReason.OFF_SHIFT


def test_skip_reason_honours_the_chains_cap():
    agent = Agent(agent_id="a", name="A")
    when = at(0, 12)
    assert skip_reason(agent, lead(), now=when.astimezone(UTC), local_now=when, assigned_today=2,
                       require_language=False, chain_cap=2) is SkipReason.CAPPED  # fmt: skip
    assert skip_reason(agent, lead(), now=when.astimezone(UTC), local_now=when, assigned_today=1,
                       require_language=False, chain_cap=2) is None  # fmt: skip


def test_the_chains_cap_holds_for_a_previous_owner_too():
    r = _roster(Agent(agent_id="a", name="A"), Agent(agent_id="o", name="O"))
    chain = RuleChain.model_validate({"version": 1, "default_pool_id": "all", "daily_cap_per_agent": 2})
    plan = decide(lead(return_to_agent_id="o"), chain, r, {"o": 2}, NOON, TZ)
    assert plan.agent_id == "a" and "not eligible (capped)" in plan.rules[0].why


def test_a_rule_that_asks_for_the_leads_language_skips_those_who_do_not_speak_it():
    r = _roster(Agent(agent_id="h", name="H", languages=["hi"]), Agent(agent_id="t", name="T", languages=["ta"]))
    chain = RuleChain.model_validate({"version": 1, "rules": [{"rule_id": "lang", "pool_id": "all",
                                                               "require_language": True}]})  # fmt: skip
    plan = decide(lead(language="ta"), chain, r, {}, NOON, TZ)
    assert plan.agent_id == "t" and plan.skipped == {"h": "language"} and plan.require_language is True


def test_a_rule_with_nobody_eligible_leaves_the_lead_unassigned_and_explains_every_rule():
    r = _roster(Agent(agent_id="a", name="A", status=AgentStatus.ON_LEAVE))
    chain = RuleChain.model_validate({"version": 1, "rules": [
        {"rule_id": "noida", "when": {"field": "city", "op": "eq", "value": "Noida"}, "pool_id": "all"},
        {"rule_id": "r1", "pool_id": "all"}, {"rule_id": "r2", "pool_id": "missing"}]})  # fmt: skip
    plan = decide(lead(city="Pune"), chain, r, {}, NOON, TZ)
    assert (plan.agent_id, plan.rule_id, plan.pool_id, plan.strategy) == (None, "r1", "all", "round_robin")
    assert plan.reason == "rule 'r1' matched but nobody in pool 'all' is eligible"
    assert plan.skipped == {"a": "on_leave"}
    assert [(t.rule_id, t.matched) for t in plan.rules] == [("noida", False), ("r1", True)]
    assert plan.rules[0].why == "city='Pune' eq 'Noida'"


def test_a_rule_that_falls_through_says_so_and_the_last_skips_are_kept():
    r = _roster(Agent(agent_id="a", name="A", status=AgentStatus.ON_LEAVE))
    chain = RuleChain.model_validate({"version": 1, "rules": [
        {"rule_id": "noida", "when": {"field": "city", "op": "eq", "value": "Noida"}, "pool_id": "all"},
        {"rule_id": "r1", "pool_id": "all", "fall_through": True}]})  # fmt: skip
    plan = decide(lead(city="Noida"), chain, r, {}, NOON, TZ)
    assert plan.rule_id == "noida" and plan.rules[0].why == "city='Noida' eq 'Noida'"
    plan = decide(lead(city="Pune"), chain, r, {}, NOON, TZ)
    assert plan.agent_id is None and plan.reason == "nobody eligible" and plan.skipped == {"a": "on_leave"}
    trace = plan.rules[1]
    assert trace.fell_through and trace.skipped == {"a": "on_leave"}
    assert trace.why == "matches every lead; nobody eligible, fell through"
    assert plan.rules[0].why == "city='Pune' eq 'Noida'"


def test_a_missing_pool_after_a_rule_that_did_not_match_still_explains_that_rule():
    chain = RuleChain.model_validate({"version": 1, "rules": [
        {"rule_id": "noida", "when": {"field": "city", "op": "eq", "value": "Noida"}, "pool_id": "all"},
        {"rule_id": "r2", "pool_id": "missing"}]})  # fmt: skip
    plan = decide(lead(city="Pune"), chain, _roster(Agent(agent_id="a", name="A")), {}, NOON, TZ)
    assert plan.reason == "pool 'missing' does not exist"
    assert [(t.rule_id, t.matched) for t in plan.rules] == [("noida", False), ("r2", True)]
