"""Performance weighting (routing/performance.py): weights from contact and conversion rates, only
above a guaranteed minimum share per agent, enabled only as a back-test run proved it."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.errors import Refused
from leadrelay.models import Agent, Lead, Pool, Strategy
from leadrelay.models.agent import PerformanceWeighting
from leadrelay.routing.backtest import backtest, replay
from leadrelay.routing.performance import (
    Rates,
    WeightingRefused,
    enable,
    performance_weights,
    proof,
    rates_from_cells,
    weighted_pool,
)
from leadrelay.routing.roster import Roster
from leadrelay.routing.rules import RuleChain

TZ = "Asia/Kolkata"
NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
START = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)
CHAIN = RuleChain.model_validate({"default_pool_id": "p", "version": 1})


def roster_of(weights: dict[str, int], weighting: PerformanceWeighting | None = None) -> Roster:
    roster = Roster(agents={a: Agent(agent_id=a, name=a, weight=w) for a, w in weights.items()})
    roster.pools["p"] = Pool(pool_id="p", name="P", agent_ids=list(weights), strategy=Strategy.WEIGHTED_ROUND_ROBIN,
                             performance_weighting=weighting)  # fmt: skip
    return roster


def leads(n: int) -> list[Lead]:
    return [Lead(lead_id=f"L{i:05}", source_id="web", source_kind="generic", received_at=START + timedelta(minutes=i))
            for i in range(n)]  # fmt: skip


rates_st = st.builds(
    lambda assigned, contacted, won: Rates(assigned, min(contacted, assigned), min(won, contacted, assigned)),
    st.integers(0, 200), st.integers(0, 200), st.integers(0, 200),
)  # fmt: skip


@st.composite
def pools(draw: Any) -> tuple[dict[str, int], dict[str, Rates], PerformanceWeighting]:
    n = draw(st.integers(2, 7))
    weights = {f"a{i}": draw(st.integers(1, 10)) for i in range(n)}
    rates = {a: draw(rates_st) for a in weights}
    min_share = draw(st.floats(0.01, 1 / n))
    # Rounded down to the 4 places a setting keeps: rounding 1/7 up to 0.1429 would ask for more than all
    setting = PerformanceWeighting(min_share=math.floor(min_share * 10_000) / 10_000 or 0.01, contact_weight=draw(st.floats(0, 5)),
                                   conversion_weight=draw(st.floats(0, 5)))  # fmt: skip
    return weights, rates, setting


@settings(max_examples=200, deadline=None)
@given(pools())
def test_every_weight_is_at_least_the_guaranteed_share_and_they_add_up_to_the_whole(case: Any) -> None:
    weights, rates, setting = case
    agents = [Agent(agent_id=a, name=a, weight=w) for a, w in weights.items()]
    result = performance_weights(agents, rates, setting)
    floor = Decimal(str(setting.min_share)) * 100
    assert all(weight >= floor for weight in result.values()), (result, floor)
    assert Decimal(100) - Decimal("0.01") * len(agents) <= sum(result.values()) <= 100


@settings(max_examples=25, deadline=None)
@given(pools(), st.integers(150, 500))
def test_over_a_long_run_every_agent_gets_at_least_the_guaranteed_share_less_one_lead(case: Any, n: int) -> None:
    # Given any pool, rates and minimum share, with the weights they give
    weights, rates, setting = case
    roster = roster_of(weights)
    roster.pools["p"] = weighted_pool(roster.pools["p"], roster, rates, setting)
    # When n leads are routed through it (the replay moves the state as commits do)
    result = replay(leads(n), CHAIN, roster, now=NOW, timezone=TZ)
    got = Counter(o.agent_id for o in result.outcomes)
    # Then every member got at least their guaranteed share, less one lead
    for agent_id in weights:
        assert got[agent_id] >= setting.min_share * n - 1, (agent_id, got, setting.min_share, n)


def test_rates_come_from_the_dashboard_cells_and_no_data_scores_at_the_pool_average() -> None:
    cells = [
        {"day": "2026-11-20", "agent_id": "a", "assigned": 10, "contacted": 9, "won": 3},
        {"day": "2026-11-21", "agent_id": "a", "assigned": 10, "contacted": 7, "won": 1},
        {"day": "2026-11-21", "agent_id": "b", "assigned": 20, "contacted": 10, "won": 0},
        {"day": "2026-11-21", "agent_id": "-", "assigned": 0, "received": 5},
    ]
    rates = rates_from_cells(cells)
    assert rates == {"a": Rates(20, 16, 4), "b": Rates(20, 10, 0)}
    setting = PerformanceWeighting(min_share=0.1)
    agents = [Agent(agent_id=a, name=a) for a in ("a", "b", "new")]
    weights = performance_weights(agents, rates, setting)
    # a contacts and converts more than b; the newcomer is scored at the average of the two
    assert weights["a"] > weights["new"] > weights["b"] >= Decimal(10)


def test_minimum_shares_that_add_up_to_more_than_everything_are_refused() -> None:
    agents = [Agent(agent_id=a, name=a) for a in ("a", "b", "c")]
    with pytest.raises(WeightingRefused, match=r"at most 0\.3333"):
        performance_weights(agents, {}, PerformanceWeighting(min_share=0.4))


# -- the back-test shows the shift, and only a run that showed it enables weighting --------------


def _proved() -> tuple[Pool, dict[str, Any]]:
    setting = PerformanceWeighting(min_share=0.15, contact_weight=1, conversion_weight=3, backtest_id="RUN1")
    rates = {"a": Rates(50, 45, 20), "b": Rates(50, 25, 2), "c": Rates(50, 30, 5)}
    roster = roster_of({"a": 1, "b": 1, "c": 1})
    draft = Roster(agents=roster.agents, pools={"p": weighted_pool(roster.pools["p"], roster, rates, setting)})
    report = backtest(leads(90), CHAIN, CHAIN, roster, now=NOW, timezone=TZ, draft_roster=draft).report()
    live = {a: row["assigned"] for a, row in report["live"]["agents"].items()}
    drafted = {a: row["assigned"] for a, row in report["draft"]["agents"].items()}
    return draft.pools["p"], proof(draft.pools["p"], live, drafted, rates)


def test_the_back_test_shows_the_shift_towards_the_agents_who_contact_and_convert() -> None:
    _, shown = _proved()
    # Live (plain weights 1:1:1) gives 30 each; the draft moves leads to a, away from b
    assert shown["live"] == {"a": 30, "b": 30, "c": 30}
    assert shown["draft"]["a"] > 30 > shown["draft"]["b"] >= 0.15 * 90 - 1
    assert shown["shifted"] is True and sum(shown["shift"].values()) == 0
    assert shown["settings"] == {"days": 30, "min_share": 0.15, "contact_weight": 1.0, "conversion_weight": 3.0}


def test_enabling_needs_a_run_that_replayed_the_same_setting_and_members_and_showed_a_change() -> None:
    proved_pool, shown = _proved()
    run = {"run_id": "RUN1", "pools": {"p": shown}}
    asked = proved_pool.model_copy(update={"performance_weighting": proved_pool.performance_weighting.model_copy(  # type: ignore[union-attr]
        update={"weights": {"a": Decimal(99)}})})  # fmt: skip
    # Without a run id, or with an unknown run: refused
    no_id = asked.model_copy(
        update={"performance_weighting": PerformanceWeighting(min_share=0.15, conversion_weight=3)}
    )
    with pytest.raises(Refused) as refused:
        enable(no_id, None, None)
    assert refused.value.code == "backtest_required"
    with pytest.raises(Refused) as refused:
        enable(asked, None, None)
    assert refused.value.code == "backtest_not_found"
    # A different setting or other members than the run replayed: refused
    other = asked.model_copy(update={"performance_weighting": asked.performance_weighting.model_copy(  # type: ignore[union-attr]
        update={"min_share": 0.2})})  # fmt: skip
    with pytest.raises(Refused) as refused:
        enable(other, None, run)
    assert refused.value.code == "backtest_mismatch"
    with pytest.raises(Refused) as refused:
        enable(asked.model_copy(update={"agent_ids": ["a", "b"]}), None, run)
    assert refused.value.code == "backtest_mismatch"
    # A run that moved no lead: refused
    with pytest.raises(Refused) as refused:
        enable(asked, None, {"pools": {"p": {**shown, "shifted": False}}})
    assert refused.value.code == "backtest_shows_no_change"
    # The matching run: enabled with the run's weights, whatever weights the request carried
    enabled = enable(asked, None, run)
    assert enabled.performance_weighting is not None
    assert enabled.performance_weighting.weights == {a: Decimal(w) for a, w in shown["weights"].items()}
    # And sending the stored pool back unchanged (a GET → PUT round trip) needs no run
    assert enable(enabled, enabled, None) == enabled
