"""Performance weighting (routing/performance.py), figure by figure: the rates read from the
dashboard cells, the exact weights they give, what a back-test run keeps as its proof, and what
enabling refuses and why (tests/unit/test_performance_weighting.py holds the properties)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from leadrelay.errors import Refused
from leadrelay.models import Agent, Pool, Strategy
from leadrelay.models.agent import PerformanceWeighting
from leadrelay.routing.performance import Rates, enable, performance_weights, proof, rates_from_cells, shift


def agents(*ids: str) -> list[Agent]:
    return [Agent(agent_id=a, name=a) for a in ids]


def weighted(setting: PerformanceWeighting | None, agent_ids: list[str] | None = None, **kw: Any) -> Pool:
    return Pool(pool_id="p", name="P", agent_ids=agent_ids or ["a", "b"], performance_weighting=setting,
                strategy=kw.pop("strategy", Strategy.WEIGHTED_ROUND_ROBIN), **kw)  # fmt: skip


def test_an_agents_rates_are_shown_as_counts_and_rates_to_four_places() -> None:
    assert Rates(3, 2, 1).view() == {
        "assigned": 3, "contacted": 2, "won": 1, "contact_rate": 0.6667, "conversion_rate": 0.3333,
    }  # fmt: skip
    assert Rates().view() == {"assigned": 0, "contacted": 0, "won": 0, "contact_rate": 0.0, "conversion_rate": 0.0}


def test_cells_without_an_agent_or_a_counter_count_as_nothing() -> None:
    # Given cells of the unassigned column, cells with no agent at all, and counters left out
    cells = [
        {"agent_id": "-", "assigned": 5, "contacted": 5, "won": 5},
        {"assigned": 9, "contacted": 9, "won": 9},
        {"agent_id": None, "assigned": 9},
        {"agent_id": "a", "assigned": 4, "contacted": 2},
        {"agent_id": "a", "assigned": 1, "contacted": None, "won": 1},
        {"agent_id": "b", "won": 0},
    ]
    # Then only the agents' own cells count, a missing or empty counter as 0
    assert rates_from_cells(cells) == {"a": Rates(5, 2, 1), "b": Rates(0, 0, 0)}


def test_the_weights_for_a_known_pool_are_exactly_the_documented_formula() -> None:
    # Given a converts best, b contacts half and wins none, c has a row but no leads yet
    rates = {"a": Rates(10, 10, 5), "b": Rates(10, 5, 0), "c": Rates(0, 0, 0)}
    setting = PerformanceWeighting(min_share=0.1, contact_weight=1, conversion_weight=2)
    # When the weights are computed
    weights = performance_weights(agents("a", "b", "c"), rates, setting)
    # Then scores are a 1+1+1 = 3, b 1+0.5 = 1.5, c at the pool's means 1+0.75+0.5 = 2.25 (of 6.75),
    # and each share is 10 % plus its part of the other 70 %, rounded down to 0.01
    assert weights == {"a": Decimal("41.11"), "b": Decimal("25.55"), "c": Decimal("33.33")}


def test_one_assigned_lead_is_data_and_an_agents_weight_scales_its_score() -> None:
    rates = {"a": Rates(1, 1, 0), "b": Rates(2, 0, 0)}
    setting = PerformanceWeighting(min_share=0.2, contact_weight=1, conversion_weight=0)
    heavy = [Agent(agent_id="a", name="a", weight=1), Agent(agent_id="b", name="b", weight=3)]
    # a: 1 × (1 + 1) = 2, b: 3 × 1 = 3, of 5; 20 % each plus 60 % shared 2:3
    assert performance_weights(heavy, rates, setting) == {"a": Decimal("44.00"), "b": Decimal("56.00")}


def test_a_pool_with_no_data_at_all_shares_by_weight_alone() -> None:
    setting = PerformanceWeighting(min_share=0.1, contact_weight=5, conversion_weight=5)
    assert performance_weights(agents("a", "b"), {}, setting) == {"a": Decimal("50.00"), "b": Decimal("50.00")}
    assert performance_weights([], {}, setting) == {}


def test_the_shift_is_per_member_and_a_member_missing_from_a_side_counts_zero_there() -> None:
    assert shift({"a": 3, "b": 1}, {"a": 1, "c": 4}, ["a", "b", "c", "d"]) == {"a": -2, "b": -1, "c": 4, "d": 0}


def test_a_proof_keeps_the_setting_members_weights_rates_and_both_runs() -> None:
    # Given a weighted pool whose member c has no rates and got no lead in either run
    setting = PerformanceWeighting(min_share=0.2, backtest_id="R", weights={"a": Decimal("60.5"), "b": Decimal(20)})
    pool = weighted(setting, ["a", "b", "c"])
    rates = {"a": Rates(4, 2, 1), "b": Rates(2, 1, 0), "x": Rates(9, 9, 9)}
    # When the run's proof is kept
    kept = proof(pool, {"a": 3, "b": 3}, {"a": 5, "b": 1}, rates)
    # Then it holds exactly what enabling compares and people read
    assert kept == {
        "settings": {"days": 30, "min_share": 0.2, "contact_weight": 1.0, "conversion_weight": 1.0},
        "agent_ids": ["a", "b", "c"],
        "weights": {"a": "60.5", "b": "20"},
        "rates": {"a": Rates(4, 2, 1).view(), "b": Rates(2, 1, 0).view()},
        "live": {"a": 3, "b": 3, "c": 0},
        "draft": {"a": 5, "b": 1, "c": 0},
        "shift": {"a": 2, "b": -2, "c": 0},
        "shifted": True,
    }
    assert proof(pool, {"a": 1}, {"a": 1}, {})["shifted"] is False


def test_weighting_a_pool_that_is_not_weighted_round_robin_is_a_422_saying_so() -> None:
    pool = weighted(PerformanceWeighting(min_share=0.2, backtest_id="R"), strategy=Strategy.ROUND_ROBIN)
    with pytest.raises(Refused) as refused:
        enable(pool, None, None)
    assert (refused.value.code, refused.value.status) == ("weighting_needs_weighted_round_robin", 422)
    assert str(refused.value).startswith("performance weighting shifts the weights of a weighted_round_robin pool")
    # And a pool without weighting is stored as it is, whatever its strategy
    plain = weighted(None, strategy=Strategy.ROUND_ROBIN)
    assert enable(plain, None, None) is plain


def test_every_refusal_says_why_and_how_to_get_a_run_for_this_pool() -> None:
    run_of = {"pools": {"p": {"settings": {"days": 30, "min_share": 0.2, "contact_weight": 1.0,
                                           "conversion_weight": 1.0}, "agent_ids": ["a", "b"],
                              "weights": {"a": "55", "b": "45"}, "shifted": True}}}  # fmt: skip
    cases: list[tuple[Pool, dict[str, Any] | None, str, str]] = [
        (weighted(PerformanceWeighting(min_share=0.2)), None, "backtest_required", "only after a back-test"),
        (weighted(PerformanceWeighting(min_share=0.2, backtest_id="R9")), None, "backtest_not_found", "'R9'"),
        (weighted(PerformanceWeighting(min_share=0.2, backtest_id="R9")), {"pools": {}}, "backtest_mismatch",
         "did not replay weighting in pool 'p'"),
        (weighted(PerformanceWeighting(min_share=0.3, backtest_id="R9")), run_of, "backtest_mismatch", "replayed {"),
        (weighted(PerformanceWeighting(min_share=0.2, backtest_id="R9"), ["b", "a"]), run_of, "backtest_mismatch",
         "replayed members ['a', 'b']"),
    ]  # fmt: skip
    for pool, run, code, words in cases:
        with pytest.raises(Refused) as refused:
            enable(pool, None, run)
        message = str(refused.value)
        assert refused.value.code == code and refused.value.status == 409, (code, message)
        assert words in message, (words, message)
        how = 'run POST /routing/backtest with "performance_weighting": {"p": {…}} and send the backtest_id it answers'
        assert message.endswith(how), message
    unchanged = {"pools": {"p": {**run_of["pools"]["p"], "shifted": False}}}
    with pytest.raises(Refused) as refused:
        enable(weighted(PerformanceWeighting(min_share=0.2, backtest_id="R9")), None, unchanged)
    assert refused.value.code == "backtest_shows_no_change" and "would move no lead" in str(refused.value)


def test_a_stored_pool_sent_back_keeps_its_proved_weights_and_a_changed_one_needs_a_run() -> None:
    stored = weighted(
        PerformanceWeighting(min_share=0.2, backtest_id="R", weights={"a": Decimal(55), "b": Decimal(45)})
    )
    # When the same setting comes back with other weights, the stored (proved) weights stay
    sent = weighted(PerformanceWeighting(min_share=0.2, backtest_id="R", weights={"a": Decimal(99)}))
    kept = enable(sent, stored, None)
    assert kept.performance_weighting is not None
    assert kept.performance_weighting.weights == {"a": Decimal(55), "b": Decimal(45)}
    assert kept.performance_weighting.min_share == 0.2 and kept.agent_ids == ["a", "b"]
    # But a changed setting, other members, or a pool that had no weighting needs a run again
    for changed, before in [
        (weighted(PerformanceWeighting(min_share=0.25, backtest_id="R")), stored),
        (weighted(PerformanceWeighting(min_share=0.2, backtest_id="R"), ["a", "b", "c"]), stored),
        (weighted(PerformanceWeighting(min_share=0.2, backtest_id="R")), weighted(None)),
    ]:
        with pytest.raises(Refused) as refused:
            enable(changed, before, None)
        assert refused.value.code == "backtest_not_found"
