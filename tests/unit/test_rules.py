"""Rule chains as data: validation on save and evaluation against leads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from leadrelay.models import Lead
from leadrelay.routing.rules import RuleChain, evaluate

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def lead(**fields: object) -> Lead:
    return Lead(lead_id="L1", source_id="website", source_kind="generic", received_at=NOW, **fields)


def condition(spec: dict[str, object]):  # type: ignore[no-untyped-def]
    return RuleChain.model_validate({"rules": [{"rule_id": "r", "pool_id": "p", "when": spec}]}).rules[0].when


@pytest.mark.parametrize(
    ("spec", "fields", "expected"),
    [
        ({"field": "city", "op": "eq", "value": "noida"}, {"city": "Noida"}, True),
        ({"field": "city", "op": "in", "value": ["Delhi", "Gurugram"]}, {"city": "Noida"}, False),
        ({"field": "pincode", "op": "between", "value": [201301, 201310]}, {"pincode": "201305"}, True),
        ({"field": "pincode", "op": "prefix", "value": ["2013"]}, {"pincode": "201305"}, True),
        ({"field": "budget", "op": "gte", "value": 10_000_000}, {"budget": Decimal("12000000")}, True),
        ({"field": "budget", "op": "gte", "value": 10_000_000}, {}, False),
        ({"field": "tags", "op": "contains", "value": "vip"}, {"tags": ["VIP", "loan"]}, True),
        ({"field": "extra.project", "op": "eq", "value": "Sky Towers"}, {"extra": {"project": "sky towers"}}, True),
        ({"field": "language", "op": "exists", "value": False}, {}, True),
        ({"not": {"field": "city", "op": "eq", "value": "Noida"}}, {"city": "Pune"}, True),
        ({"all": [{"field": "city", "op": "eq", "value": "Noida"}, {"field": "language", "op": "eq", "value": "hi"}]},
         {"city": "Noida", "language": "ta"}, False),
        ({"any": [{"field": "city", "op": "eq", "value": "Noida"}, {"field": "language", "op": "eq", "value": "hi"}]},
         {"city": "Pune", "language": "hi"}, True),
    ],
)  # fmt: skip
def test_conditions_evaluate_against_lead_fields(
    spec: dict[str, object], fields: dict[str, object], expected: bool
) -> None:
    ok, why = evaluate(condition(spec), lead(**fields), NOW)
    assert ok is expected
    assert why


def test_time_of_day_is_read_in_the_org_time_zone() -> None:
    from zoneinfo import ZoneInfo

    local = NOW.astimezone(ZoneInfo("Asia/Kolkata"))  # 16:30 in Kolkata
    ok, _ = evaluate(condition({"field": "hour", "op": "between", "value": [16, 17]}), lead(), local)
    assert ok


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"field": "colour", "op": "eq", "value": "red"}, "unknown field"),
        ({"field": "pincode", "op": "between", "value": [201310, 201301]}, "empty"),
        ({"field": "city", "op": "in", "value": "Noida"}, "list"),
        ({"field": "budget", "op": "gte", "value": "lots"}, "number"),
    ],
)
def test_bad_rules_are_refused_on_save_with_a_reason(spec: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        condition(spec)
    assert problem in str(caught.value)


def test_rule_ids_must_be_unique() -> None:
    with pytest.raises(ValidationError):
        RuleChain.model_validate({"rules": [{"rule_id": "a", "pool_id": "p"}, {"rule_id": "a", "pool_id": "q"}]})
