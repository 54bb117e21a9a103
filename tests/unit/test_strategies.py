"""Routing strategies: weighted round-robin, least-loaded, sticky owner, soft caps in each, and the
language-first / territory-next / round-robin-within hybrid as a rule chain."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.models import Agent, AgentStatus, Lead, Pool, Strategy
from leadrelay.routing.engine import Plan, decide
from leadrelay.routing.roster import Roster, RoundRobinState
from leadrelay.routing.rules import RuleChain

TZ = "Asia/Kolkata"
NOON_IST = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def lead(**fields: object) -> Lead:
    return Lead(lead_id="L1", source_id="website", source_kind="generic", received_at=NOON_IST, **fields)


def roster(*agents: Agent, strategy: Strategy = Strategy.ROUND_ROBIN) -> Roster:
    r = Roster(agents={a.agent_id: a for a in agents})
    r.pools["all"] = Pool(pool_id="all", name="All", agent_ids=[a.agent_id for a in agents], strategy=strategy)
    return r


def chain(**kwargs: object) -> RuleChain:
    return RuleChain.model_validate({"version": 1, "default_pool_id": "all", **kwargs})


def apply(r: Roster, plan: Plan) -> None:
    """Move the state the way the assignment transaction does (store/assignments.py)."""
    assert plan.agent_id is not None and plan.pool_id is not None
    key = (plan.pool_id, plan.agent_id)
    seen = r.rr(*key)
    newest = max((s.last_assigned_ms for s in r.round_robin.values()), default=0)
    vtime = seen.vtime if plan.vtime is None else plan.vtime
    pool_vtime = seen.pool_vtime if plan.pool_vtime is None else plan.pool_vtime
    r.round_robin[key] = RoundRobinState(newest + 1, seen.total + 1, True, vtime, pool_vtime)
    if plan.pool_vtime is not None:
        r.virtual_time[plan.pool_id] = max(r.virtual_time.get(plan.pool_id, Decimal(0)), plan.pool_vtime)
    r.open_leads[plan.agent_id] = r.open_leads.get(plan.agent_id, 0) + 1


def route(r: Roster, n: int, rules: RuleChain | None = None, **fields: object) -> list[str]:
    """Route n leads one after another, applying each decision; the winners in order."""
    winners = []
    for _ in range(n):
        plan = decide(lead(**fields), rules or chain(), r, {}, NOON_IST, TZ)
        assert plan.agent_id is not None, plan.reason
        apply(r, plan)
        winners.append(plan.agent_id)
    return winners


def longest_run(winners: list[str], agent_id: str) -> int:
    longest = run = 0
    for winner in winners:
        run = run + 1 if winner == agent_id else 0
        longest = max(longest, run)
    return longest


def weighted(*weights: int) -> Roster:
    agents = [Agent(agent_id=f"a{i:02d}", name=f"A{i}", weight=w) for i, w in enumerate(weights)]
    return roster(*agents, strategy=Strategy.WEIGHTED_ROUND_ROBIN)


# -- weighted round-robin ---------------------------------------------------------------------------


def test_weight_three_gets_three_times_the_leads_of_weight_one_interleaved() -> None:
    r = weighted(3, 1)
    winners = route(r, 40)
    assert winners.count("a00") == 30 and winners.count("a01") == 10
    assert winners[:8] == ["a00", "a00", "a01", "a00"] * 2
    # Smooth: the weight-1 agent is never kept waiting more than three leads in a row.
    assert longest_run(winners, "a00") <= 3


@settings(max_examples=120, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=10),
    leads=st.integers(min_value=1, max_value=150),
)
def test_weighted_shares_stay_within_one_of_weight_proportional_after_every_lead(
    weights: list[int], leads: int
) -> None:
    r = weighted(*weights)
    total = sum(weights)
    got = [0] * len(weights)
    for n, winner in enumerate(route(r, leads), start=1):
        got[int(winner[1:])] += 1
        for i, weight in enumerate(weights):
            assert abs(got[i] - Fraction(n * weight, total)) <= 1, (n, got, weights)


def test_the_weighted_decision_records_its_strategy_and_the_numbers_that_decided_it() -> None:
    r = weighted(3, 1)
    plan = decide(lead(), chain(), r, {}, NOON_IST, TZ)
    assert plan.strategy == "weighted_round_robin" and plan.agent_id == "a00"
    assert "weight 3" in plan.reason and "virtual finish 0.3333" in plan.reason and "total weight 4" in plan.reason
    assert plan.vtime is not None and plan.pool_vtime == Decimal("0.25")
    assert abs(plan.vtime - Decimal(1) / 3) < Decimal("1e-19")


def test_a_weighted_new_joiner_gets_at_most_one_lead_of_credit_and_no_flood() -> None:
    r = weighted(1, 1)
    route(r, 40)
    r.agents["new"] = Agent(agent_id="new", name="New", weight=1)
    r.pools["all"].agent_ids.append("new")
    winners = route(r, 9)
    assert winners[0] == "new"  # owed the next lead, like round-robin's newcomer
    assert {a: winners.count(a) for a in set(winners)} == {"a00": 3, "a01": 3, "new": 3}


def test_a_weight_change_takes_effect_without_a_reset_or_a_flood() -> None:
    r = weighted(1, 1)
    route(r, 20)
    r.agents["a00"] = r.agents["a00"].model_copy(update={"weight": 3})
    winners = route(r, 40)
    # From now on three quarters, give or take one: no catch-up for the 20 leads at weight 1.
    assert abs(winners.count("a00") - 30) <= 1
    assert longest_run(winners, "a00") <= 4


def test_an_agent_back_from_leave_is_owed_one_lead_not_the_ones_missed() -> None:
    r = weighted(1, 1, 1)
    route(r, 6)
    r.agents["a02"] = r.agents["a02"].model_copy(update={"status": AgentStatus.ON_LEAVE})
    route(r, 30)
    r.agents["a02"] = r.agents["a02"].model_copy(update={"status": AgentStatus.AVAILABLE})
    winners = route(r, 9)
    assert winners.count("a02") <= 4 and winners.count("a00") >= 2 and winners.count("a01") >= 2


# -- least-loaded -----------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    loads=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=10),
    away=st.sets(st.integers(min_value=0, max_value=9)),
    soft=st.sets(st.integers(min_value=0, max_value=9)),
    stamps=st.lists(st.integers(min_value=0, max_value=5), min_size=10, max_size=10),
)
def test_least_loaded_always_picks_a_minimal_load_eligible_agent(
    loads: list[int], away: set[int], soft: set[int], stamps: list[int]
) -> None:
    agents = [
        Agent(agent_id=f"a{i}", name=f"A{i}", soft_cap=0 if i in soft else None,
              status=AgentStatus.ON_LEAVE if i in away else AgentStatus.AVAILABLE)
        for i in range(len(loads))
    ]  # fmt: skip
    r = roster(*agents, strategy=Strategy.LEAST_LOADED)
    r.open_leads = {f"a{i}": load for i, load in enumerate(loads)}
    for i in range(len(loads)):
        if stamps[i]:
            r.round_robin[("all", f"a{i}")] = RoundRobinState(stamps[i], 1, True)
    plan = decide(lead(), chain(), r, {}, NOON_IST, TZ)
    eligible = [i for i in range(len(loads)) if i not in away]
    if not eligible:
        assert plan.agent_id is None
        return
    front = [i for i in eligible if i not in soft] or eligible
    least = min(loads[i] for i in front)
    tied = [i for i in front if loads[i] == least]
    oldest = min(stamps[i] for i in tied)
    assert plan.agent_id == f"a{next(i for i in tied if stamps[i] == oldest)}"
    assert plan.strategy == "least_loaded" and plan.load_seen == least
    assert f"fewest open leads ({least})" in plan.reason


def test_least_loaded_spreads_a_burst_evenly_from_uneven_loads() -> None:
    r = roster(*(Agent(agent_id=a, name=a) for a in "abc"), strategy=Strategy.LEAST_LOADED)
    r.open_leads = {"a": 5, "b": 2, "c": 0}
    winners = route(r, 7)
    assert r.open_leads == {"a": 5, "b": 5, "c": 4}
    assert winners[:2] == ["c", "c"]


# -- sticky owner -----------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=8),
    owner=st.integers(min_value=0, max_value=9),
    away=st.sets(st.integers(min_value=0, max_value=7)),
)
def test_sticky_returns_a_lead_to_its_owner_when_eligible_else_round_robin_says_why(
    size: int, owner: int, away: set[int]
) -> None:
    agents = [
        Agent(agent_id=f"a{i}", name=f"A{i}", status=AgentStatus.ON_LEAVE if i in away else AgentStatus.AVAILABLE)
        for i in range(size)
    ]
    r = roster(*agents, strategy=Strategy.STICKY_OWNER)
    plan = decide(lead(assigned_agent_id=f"a{owner}"), chain(), r, {}, NOON_IST, TZ)
    if owner < size and owner not in away:
        assert plan.agent_id == f"a{owner}" and plan.strategy == "sticky_owner"
        assert "previous owner" in plan.reason
    elif plan.agent_id is not None:
        assert plan.agent_id != f"a{owner}" and plan.strategy == "round_robin"
        assert "fell back to round-robin" in plan.reason
        assert ("on_leave" in plan.reason) if owner < size else ("not in pool" in plan.reason)


def test_a_new_lead_under_sticky_owner_is_round_robin_and_says_so() -> None:
    r = roster(Agent(agent_id="a", name="A"), Agent(agent_id="b", name="B"), strategy=Strategy.STICKY_OWNER)
    plan = decide(lead(), chain(), r, {}, NOON_IST, TZ)
    assert plan.agent_id == "a" and plan.strategy == "round_robin" and "no previous owner" in plan.reason


# -- every strategy -------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", list(Strategy))
def test_soft_capped_agents_go_behind_the_others_in_every_strategy(strategy: Strategy) -> None:
    # a is the previous owner, the least loaded and the heaviest: everything favours a but the soft cap.
    a = Agent(agent_id="a", name="A", soft_cap=2, weight=10)
    r = roster(a, Agent(agent_id="b", name="B"), strategy=strategy)
    r.open_leads = {"b": 9}
    plan = decide(lead(assigned_agent_id="a"), chain(), r, {"a": 2}, NOON_IST, TZ)
    assert plan.agent_id == "b" and plan.demoted == ["a"]
    # With everyone demoted, the strategy picks among them as usual.
    only_a = roster(a, strategy=strategy)
    assert decide(lead(), chain(), only_a, {"a": 5}, NOON_IST, TZ).agent_id == "a"


def test_a_rule_strategy_overrides_the_pools() -> None:
    r = roster(Agent(agent_id="a", name="A"), Agent(agent_id="b", name="B"))
    r.open_leads = {"a": 3}
    rules = chain(rules=[{"rule_id": "ll", "pool_id": "all", "strategy": "least_loaded"}])
    plan = decide(lead(), rules, r, {}, NOON_IST, TZ)
    assert plan.agent_id == "b" and plan.strategy == "least_loaded" and plan.rule_id == "ll"


# -- the hybrid: language first, territory next, round-robin within ------------------------------

HYBRID = {
    "rules": [
        {"rule_id": "language", "name": "speaks the lead's language", "pool_id": "all",
         "when": {"field": "language", "op": "exists", "value": True},
         "require_language": True, "fall_through": True},
        {"rule_id": "territory", "name": "covers the lead's city", "pool_id": "all",
         "when": {"field": "city", "op": "exists", "value": True},
         "require_territory": True, "fall_through": True},
    ],
    "default_pool_id": "all",
}  # fmt: skip


def hybrid_roster() -> Roster:
    return roster(
        Agent(agent_id="tamil-chennai", name="T", languages=["ta", "en"], territories=["Chennai"]),
        Agent(agent_id="hindi-noida", name="H", languages=["hi", "en"], territories=["Noida", "Delhi"]),
        Agent(agent_id="hindi-delhi", name="D", languages=["hi"], territories=["delhi"]),
        Agent(agent_id="kannada", name="K", languages=["kn"], territories=["Bengaluru"]),
    )


def test_language_first_then_territory_then_round_robin_within() -> None:
    r, rules = hybrid_roster(), chain(**HYBRID)
    # A Tamil lead: only the Tamil speaker, whatever the city.
    plan = decide(lead(language="ta", city="Noida"), rules, r, {}, NOON_IST, TZ)
    assert plan.agent_id == "tamil-chennai" and plan.rule_id == "language"
    assert plan.skipped == {"hindi-noida": "language", "hindi-delhi": "language", "kannada": "language"}
    # A Hindi lead from Delhi: both Hindi speakers, round-robin within them.
    assert route(r, 4, rules, language="hi", city="Delhi") == ["hindi-noida", "hindi-delhi"] * 2
    # A Marathi lead nobody speaks falls through to territory: Delhi's two agents, by round-robin.
    plan = decide(lead(language="mr", city=" DELHI "), rules, r, {}, NOON_IST, TZ)
    assert plan.rule_id == "territory" and plan.rules[0].fell_through
    assert plan.candidates == ["hindi-noida", "hindi-delhi"]
    assert plan.skipped == {"tamil-chennai": "territory", "kannada": "territory"}
    # A lead with neither a known language nor a covered city: round-robin over everyone.
    plan = decide(lead(language="mr", city="Pune"), rules, r, {}, NOON_IST, TZ)
    assert plan.rule_id == "default" and plan.strategy == "round_robin"
    assert [t.fell_through for t in plan.rules] == [True, True, False]
    assert plan.rules[1].skipped["kannada"] == "territory"


def test_a_lead_without_a_city_is_not_restricted_by_territory() -> None:
    rules = chain(rules=[{"rule_id": "t", "pool_id": "all", "require_territory": True}])
    plan = decide(lead(), rules, hybrid_roster(), {}, NOON_IST, TZ)
    assert plan.rule_id == "t" and len(plan.candidates) == 4
