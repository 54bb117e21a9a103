"""Rule chains evaluated against a lead: which rule holds, and why.

The rule chain models (conditions, rules, chains, their validation) are `leadrelay.models.rules`;
they are re-exported here, where they used to live.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from leadrelay.models import Lead
from leadrelay.models.rules import (  # noqa: F401  (re-exported: the old import path)
    AD_FIELDS,
    LEAD_FIELDS,
    NUMERIC_FIELDS,
    AllOf,
    AnyOf,
    Condition,
    FieldCondition,
    Not,
    Op,
    Rule,
    RuleChain,
    RuleChainSpec,
    unknown_pools,
)
from leadrelay.models.rules import finite_number as _number


def _norm(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def evaluate(cond: Condition, lead: Lead, local_now: datetime) -> tuple[bool, str]:
    """Whether `cond` holds for `lead`, with a short explanation of the deciding comparison."""
    if isinstance(cond, FieldCondition):
        # Read the private slot directly: pydantic's attribute fallback costs microseconds per rule.
        compiled = (cond.__pydantic_private__ or {}).get("_compiled") or _compile(cond)
        actual = compiled.value_of(lead, local_now)
        return compiled.test(actual), f"{cond.field}={actual!r}{compiled.suffix}"
    if isinstance(cond, AllOf):
        for part in cond.all:
            ok, why = evaluate(part, lead, local_now)
            if not ok:
                return False, why
        return True, "all conditions hold"
    if isinstance(cond, AnyOf):
        reasons = []
        for part in cond.any:
            ok, why = evaluate(part, lead, local_now)
            if ok:
                return True, why
            reasons.append(why)
        return False, "none of: " + "; ".join(reasons)
    ok, why = evaluate(cond.negated, lead, local_now)
    return not ok, f"not ({why})"


Predicate = Callable[[Lead, datetime], bool]


def holds(cond: Condition, lead: Lead, local_now: datetime) -> bool:
    """Whether `cond` holds for `lead`: `evaluate` without the explanation, for walking a long
    chain (the engine explains a rule that did not match only when someone asks)."""
    return predicate(cond)(lead, local_now)


def predicate(cond: Condition) -> Predicate:
    """`cond` as one closure, built on first use and kept on the condition (like `_compile`)."""
    private = cond.__pydantic_private__
    built = private.get("_predicate") if private else None
    if built is None:
        built = _predicate(cond)
        cond._predicate = built
    return built  # type: ignore[no-any-return]


def _predicate(cond: Condition) -> Predicate:
    if isinstance(cond, FieldCondition):
        compiled = (cond.__pydantic_private__ or {}).get("_compiled") or _compile(cond)
        value_of, test = compiled.value_of, compiled.test

        def field_holds(lead: Lead, local_now: datetime) -> bool:
            return bool(test(value_of(lead, local_now)))

        return field_holds
    if isinstance(cond, AllOf):
        parts = tuple(predicate(part) for part in cond.all)

        def all_hold(lead: Lead, local_now: datetime) -> bool:
            for part in parts:  # noqa: SIM110 (a generator costs more than the test, per rule)
                if not part(lead, local_now):
                    return False
            return True

        return all_hold
    if isinstance(cond, AnyOf):
        options = tuple(predicate(part) for part in cond.any)

        def any_holds(lead: Lead, local_now: datetime) -> bool:
            for option in options:  # noqa: SIM110
                if option(lead, local_now):
                    return True
            return False

        return any_holds
    negated = predicate(cond.negated)
    return lambda lead, local_now: not negated(lead, local_now)


class _Compiled:
    """A field condition turned into two closures: where to read the value, and the test."""

    __slots__ = ("suffix", "test", "value_of")

    def __init__(self, value_of: Callable[[Lead, datetime], Any], test: Callable[[Any], bool], suffix: str) -> None:
        self.value_of = value_of
        self.test = test
        self.suffix = suffix


def _reader(field: str) -> Callable[[Lead, datetime], Any]:
    if field == "hour":
        return lambda lead, local_now: local_now.hour
    if field == "weekday":
        return lambda lead, local_now: local_now.weekday()
    if field.startswith("extra."):
        key = field[6:]
        if key in AD_FIELDS or key in ("creative_id", "asset_group_id", "form_id"):
            # Google's campaign ids were once kept in extra: a rule written then still matches.
            return lambda lead, local_now: lead.extra.get(key, getattr(lead.attribution, key, None))
        return lambda lead, local_now: lead.extra.get(key)
    if field.startswith("utm_") or field in AD_FIELDS:
        return lambda lead, local_now: getattr(lead.attribution, field, None)
    return lambda lead, local_now: getattr(lead, field, None)


def _absent(value: Any) -> bool:
    # Only text and lists can be empty; comparing a number with "" and [] costs more than this.
    return value is None or (isinstance(value, str | list) and len(value) == 0)


def _as_number(value: Any) -> Decimal | None:
    """A lead's value as a number: ints and Decimals directly, text parsed, anything else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    return _number(value)


def _matcher(options: list[Any]) -> Callable[[Any], bool]:
    """Whether a lead's value equals any of `options`, as rules mean equality: text ignores case
    and outer spaces, numbers compare as numbers unless the lead's value is text, and a list
    matches when any of its items does. The options are normalised once, into sets."""
    texts = frozenset(_norm(option) for option in options if isinstance(option, str))
    numbers = frozenset(n for n in (_number(option) for option in options) if n is not None)
    others = [option for option in options if not isinstance(option, str) and _number(option) is None]

    def match(actual: Any) -> bool:
        if isinstance(actual, list):
            return any(match(item) for item in actual)
        if isinstance(actual, str):
            return actual.strip().casefold() in texts
        number = _as_number(actual)
        if number is not None:
            return number in numbers
        return any(actual == other for other in others)

    return match


def _compile(cond: FieldCondition) -> _Compiled:
    op, value = cond.op, cond.value
    test: Callable[[Any], bool]
    if op == "exists":
        wanted = bool(value)

        def test(actual: Any) -> bool:
            return (not _absent(actual)) is wanted

    elif op in ("eq", "ne", "in", "not_in"):
        match = _matcher(value if op in ("in", "not_in") else [value])
        negate = op in ("ne", "not_in")

        def test(actual: Any) -> bool:
            if _absent(actual):
                return negate
            return match(actual) is not negate

    elif op == "contains":
        needle = str(_norm(value))
        match = _matcher([value])

        def test(actual: Any) -> bool:
            if _absent(actual):
                return False
            if isinstance(actual, list):
                return match(actual)
            return needle in str(_norm(actual))

    elif op == "prefix":
        prefixes = tuple(str(_norm(option)) for option in (value if isinstance(value, list) else [value]))

        def test(actual: Any) -> bool:
            return not _absent(actual) and str(_norm(actual)).startswith(prefixes)

    else:
        if op == "between":
            low, high = (_number(v) for v in value)
        else:
            bound = _number(value)
            low = bound if op in ("gt", "gte") else None
            high = bound if op in ("lt", "lte") else None
        strict = op in ("gt", "lt")

        def test(actual: Any) -> bool:
            if _absent(actual):
                return False
            number = _as_number(actual)
            if number is None:
                return False
            if low is not None and (number < low or (strict and number == low)):
                return False
            return not (high is not None and (number > high or (strict and number == high)))

    compiled = _Compiled(_reader(cond.field), test, f" {op} {value!r}")
    cond._compiled = compiled
    return compiled


def lead_value(lead: Lead, field: str, local_now: datetime) -> Any:
    """The value of a rule field for this lead (`local_now` is in the org time zone)."""
    return _reader(field)(lead, local_now)
