"""Rule chains are validated when they are saved: every mistake is refused with a reason that
names it, so a bad chain never reaches the router."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from leadrelay.models import Lead
from leadrelay.routing.rules import RuleChain, RuleChainSpec, evaluate, unknown_pools

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 12:00 in Kolkata, a Monday


def spec(when: Any = None, **rule: Any) -> dict[str, Any]:
    return {"rules": [{"rule_id": "r", "pool_id": "p", **({"when": when} if when is not None else {}), **rule}]}


def error_text(body: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        RuleChainSpec.model_validate(body)
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (spec({"field": "colour", "op": "eq", "value": "red"}), "unknown field 'colour'"),
        (spec({"field": "city", "op": "like", "value": "Noi%"}), "rules.0.when.field.op"),
        (spec({"field": "budget", "op": "between", "value": [5, 1]}), "is empty (low > high)"),
        (
            spec(
                {
                    "all": [
                        {"field": "budget", "op": "gte", "value": 200},
                        {"field": "budget", "op": "lte", "value": 100},
                    ]
                }
            ),
            "budget: the range conditions in this 'all' can never hold together",
        ),
        (
            spec(
                {
                    "all": [
                        {"field": "pincode", "op": "gt", "value": 201310},
                        {"field": "pincode", "op": "between", "value": [201301, 201310]},
                    ]
                }
            ),
            "can never hold together",
        ),
        (spec({"field": "hour", "op": "between", "value": [20, 25]}), "hour: 25 is outside 0–23"),
        (spec({"field": "weekday", "op": "eq", "value": 7}), "weekday: 7 is outside 0–6"),
        (spec({"city": "Noida"}), "a condition is"),
        ({"rules": [{"rule_id": "a", "pool_id": "p"}, {"rule_id": "a", "pool_id": "q"}]}, "rule_id 'a' appears twice"),
        ({"rules": [{"rule_id": "default", "pool_id": "p"}]}, "reserved for the default pool"),
        (spec(None, strategy="random"), "rules.0.strategy"),
        (spec(None, pool="p"), "rules.0.pool: Extra inputs are not permitted"),
        ({"rules": [], "default_pool": "everyone"}, "default_pool: Extra inputs are not permitted"),
        ({"rules": [], "daily_cap_per_agent": -1}, "daily_cap_per_agent"),
    ],
)
def test_a_bad_chain_is_refused_with_a_reason_that_names_the_mistake(body: dict[str, Any], expected: str) -> None:
    # Given a chain with one mistake, When it is validated, Then the error names that mistake
    assert expected in error_text(body)


def test_an_unknown_op_is_reported_against_the_field_condition_only() -> None:
    # Given a field condition with a made-up op
    text = error_text(spec({"field": "city", "op": "like", "value": "x"}))
    # Then the error is about `op`, not a list of failed matches against all/any/not
    assert "'all'" not in text and "Field required" not in text


def test_ranges_that_touch_are_satisfiable_and_kept() -> None:
    # Given gte 100 and lte 100 on the same field (one value fits)
    chain = RuleChainSpec.model_validate(
        spec({"all": [{"field": "budget", "op": "gte", "value": 100}, {"field": "budget", "op": "lte", "value": 100}]})
    )
    # Then the chain is accepted
    assert len(chain.rules) == 1


def test_unknown_pools_names_each_rule_and_the_default() -> None:
    chain = RuleChain.model_validate({**spec(None), "default_pool_id": "nobody"})
    assert unknown_pools(chain, {"x"}) == ["rule 'r' names pool 'p'", "default_pool_id names pool 'nobody'"]
    assert unknown_pools(chain, {"p", "nobody"}) == []


@pytest.mark.parametrize(
    ("op", "value", "budget", "expected"),
    [
        ("gt", 10_000_000, "10000000", False),
        ("gt", 10_000_000, "10000001", True),
        ("lt", 5, "4.99", True),
        ("lt", 5, "5", False),
    ],
)
def test_strict_comparisons(op: str, value: int, budget: str, expected: bool) -> None:
    cond = RuleChain.model_validate(spec({"field": "budget", "op": op, "value": value})).rules[0].when
    lead = Lead(lead_id="L", source_id="s", source_kind="generic", received_at=NOW, budget=Decimal(budget))
    assert cond is not None and evaluate(cond, lead, NOW)[0] is expected


def test_a_chain_round_trips_through_its_stored_json() -> None:
    # Given a chain with every kind of condition (including `not`, stored by its alias)
    chain = RuleChain.model_validate(
        spec({"all": [{"not": {"field": "city", "op": "eq", "value": "Pune"}},
                      {"any": [{"field": "hour", "op": "between", "value": [9, 18]}]}]},
             strategy="round_robin")
    )  # fmt: skip
    # When it is stored as JSON and read back, Then nothing changed
    again = RuleChain.model_validate_json(chain.model_dump_json(by_alias=True, exclude_none=True))
    assert again == chain
