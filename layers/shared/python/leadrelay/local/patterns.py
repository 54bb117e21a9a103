"""EventBridge-style event patterns, as Lambda's event source mapping filters stream records.

The local stream poller uses this to apply `definitions.ROUTE_STREAM.filter_patterns` exactly as
the mapping on AWS would: a record reaches the router only when one of the patterns matches it.

Supported: nested objects, arrays of exact values (strings, numbers, booleans, null; numbers compare
numerically), and the operators `exists`, `prefix`, `suffix`, `equals-ignore-case`,
`anything-but` (values, or a `prefix`/`suffix`), `numeric` and `wildcard`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

_MISSING = object()

_NUMERIC_OPS = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class PatternError(ValueError):
    """A pattern that EventBridge (and Lambda's filter criteria) would refuse."""


def matches_any(patterns: Iterable[Mapping[str, Any]], event: Mapping[str, Any]) -> bool:
    """True when `event` matches at least one pattern (filter criteria are OR-ed)."""
    return any(matches(pattern, event) for pattern in patterns)


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """True when every field the pattern names matches the event (fields are AND-ed)."""
    if not isinstance(pattern, Mapping):
        raise PatternError("a pattern must be a JSON object")
    for key, rule in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(rule, Mapping):
            if value is _MISSING:
                # Only a nested pattern that accepts absent fields (exists: false) can match.
                if not matches(rule, {}):
                    return False
            elif not isinstance(value, Mapping) or not matches(rule, value):
                return False
        elif isinstance(rule, list):
            if not _match_field(rule, value):
                return False
        else:
            raise PatternError(f"the pattern for {key!r} must be an object or an array")
    return True


def _match_field(matchers: Sequence[Any], value: Any) -> bool:
    present = value is not _MISSING
    values = (value if isinstance(value, list) else [value]) if present else []
    for matcher in matchers:
        if isinstance(matcher, Mapping):
            if "exists" in matcher:
                if bool(matcher["exists"]) == present:
                    return True
            elif any(_match_operator(matcher, candidate) for candidate in values):
                return True
        elif isinstance(matcher, list):
            raise PatternError("arrays cannot nest inside a pattern's array")
        elif any(_equal(matcher, candidate) for candidate in values):
            return True
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(expected: Any, actual: Any) -> bool:
    if _is_number(expected) and _is_number(actual):
        return float(expected) == float(actual)
    return type(expected) is type(actual) and expected == actual


def _match_operator(matcher: Mapping[str, Any], value: Any) -> bool:
    if len(matcher) != 1:
        raise PatternError(f"one operator per object, got {sorted(matcher)}")
    ((operator, operand),) = matcher.items()
    if operator == "prefix":
        return _match_affix(operand, value, str.startswith)
    if operator == "suffix":
        return _match_affix(operand, value, str.endswith)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and isinstance(operand, str) and value.casefold() == operand.casefold()
    if operator == "anything-but":
        return _match_anything_but(operand, value)
    if operator == "numeric":
        return _match_numeric(operand, value)
    if operator == "wildcard":
        return isinstance(value, str) and _wildcard(operand).fullmatch(value) is not None
    raise PatternError(f"unsupported operator {operator!r}")


def _match_affix(operand: Any, value: Any, test: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(operand, Mapping) and set(operand) == {"equals-ignore-case"}:
        return bool(test(value.casefold(), str(operand["equals-ignore-case"]).casefold()))
    if not isinstance(operand, str):
        raise PatternError("prefix/suffix takes a string")
    return bool(test(value, operand))


def _match_anything_but(operand: Any, value: Any) -> bool:
    if isinstance(operand, Mapping):
        if "prefix" in operand:
            return isinstance(value, str) and not value.startswith(operand["prefix"])
        if "suffix" in operand:
            return isinstance(value, str) and not value.endswith(operand["suffix"])
        if "equals-ignore-case" in operand:
            banned = operand["equals-ignore-case"]
            banned = banned if isinstance(banned, list) else [banned]
            return isinstance(value, str) and value.casefold() not in {b.casefold() for b in banned}
        raise PatternError(f"unsupported anything-but operand {sorted(operand)}")
    banned = operand if isinstance(operand, list) else [operand]
    return not any(_equal(item, value) for item in banned)


def _match_numeric(operand: Any, value: Any) -> bool:
    if not isinstance(operand, list) or not operand or len(operand) % 2:
        raise PatternError("numeric takes [op, number, ...] pairs")
    if not _is_number(value):
        return False
    for index in range(0, len(operand), 2):
        op, bound = operand[index], operand[index + 1]
        if op not in _NUMERIC_OPS or not _is_number(bound):
            raise PatternError(f"bad numeric comparison {op!r} {bound!r}")
        if not _NUMERIC_OPS[op](float(value), float(bound)):
            return False
    return True


@lru_cache(maxsize=256)
def _wildcard(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)
