"""Rule chains evaluated against a lead: which rule holds, and why.

The rule chain models (conditions, rules, chains, their validation) are `leadrelay.models.rules`;
they are re-exported here, where they used to live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


# --- The chain index: which rules a lead could match, without walking them all -----------------
#
# A rule's condition is reduced to necessary conditions (its "guard"): clauses that must each
# hold whenever the condition does, a clause being a list of atoms of which at least one holds.
# An atom tests one field of the lead and is answered for every rule at once by a dict or set
# lookup, so a lead's candidate rules come from a few lookups per field instead of a walk over the
# chain. A guard may say "maybe" where the rule does not hold (the rule is then evaluated as
# before); it never says "no" where the rule holds, so the first rule that matches, in chain order,
# is the same. A condition with no cheap guard (exists, contains, a negated group, ...) is
# evaluated for every lead.

_EQ, _NE, _PREFIX, _RANGE = "eq", "ne", "prefix", "range"
# How much an atom kind narrows the candidates, for picking one clause of an `all` inside an
# `any`: equality and prefixes select a few rules, ranges many, inequality most.
_NARROWS = {_EQ: 0, _PREFIX: 0, _RANGE: 1, _NE: 2}
_NO_RULES: frozenset[int] = frozenset()

Atom = tuple[Any, ...]
Clause = list[Atom]


def guard(cond: Condition | None) -> list[Clause] | None:
    """Necessary conditions for `cond`: clauses that all hold whenever `cond` holds (a clause
    holds when one of its atoms does), or None when there is no cheap one (the rule is evaluated
    for every lead). An empty clause never holds."""
    if cond is None:
        return None
    if isinstance(cond, FieldCondition):
        atom = _field_atom(cond, negated=False)
        return None if atom is None else [[atom]]
    if isinstance(cond, AllOf):
        # Every part must hold: every part's clauses must.
        clauses = [clause for part in cond.all for clause in (guard(part) or [])]
        return clauses or None
    if isinstance(cond, AnyOf):
        # One part must hold: one clause of the atoms of all parts, if every part has a guard.
        atoms: Clause = []
        for part in cond.any:
            found = guard(part)
            if found is None:
                return None
            atoms.extend(min(found, key=_breadth))
        return [atoms]
    if isinstance(cond.negated, FieldCondition):
        atom = _field_atom(cond.negated, negated=True)
        return None if atom is None else [[atom]]
    return None


def _breadth(clause: Iterable[Atom]) -> tuple[int, int]:
    atoms = list(clause)
    return max((_NARROWS[atom[0]] for atom in atoms), default=0), len(atoms)


def _field_atom(cond: FieldCondition, *, negated: bool) -> Atom | None:
    op, value, field = cond.op, cond.value, cond.field
    if op in ("eq", "ne", "in", "not_in"):
        # For a lead whose value is non-empty text, equality holds exactly when the value, as
        # `_matcher` normalises it, is one of the text options (numbers and others never match
        # text); `ne`, `not_in` and a negated `eq`/`in` hold exactly when it is not.
        options = value if op in ("in", "not_in") else [value]
        texts = frozenset(_norm(option) for option in options if isinstance(option, str))
        equal = (op in ("eq", "in")) is not negated
        return (_EQ if equal else _NE, field, texts)
    if negated:
        return None
    if op == "prefix":
        prefixes = tuple(str(_norm(option)) for option in (value if isinstance(value, list) else [value]))
        return (_PREFIX, field, prefixes)
    if op in ("between", "gt", "gte", "lt", "lte"):
        if op == "between":
            low, high = (_number(v) for v in value)
        else:
            bound = _number(value)
            low = bound if op in ("gt", "gte") else None
            high = bound if op in ("lt", "lte") else None
        return (_RANGE, field, low, high)
    return None


class _FieldIndex:
    """The atoms on one lead field, by what a lead's value looks them up with."""

    __slots__ = ("eq", "eq_all", "ne", "ne_all", "prefix", "prefix_all", "prefix_longest", "ranges", "reader")

    def __init__(self, field: str) -> None:
        self.reader = _reader(field)
        self.eq: dict[Any, set[int]] = {}  # normalised text -> rules it may match
        self.eq_all: set[int] = set()
        self.ne: dict[Any, set[int]] = {}  # normalised text -> rules it cannot match
        self.ne_all: set[int] = set()
        self.prefix: dict[str, set[int]] = {}
        self.prefix_all: set[int] = set()
        self.prefix_longest = 0
        self.ranges: list[tuple[Decimal | None, Decimal | None, int]] = []

    def add(self, atom: Atom, rule: int) -> None:
        kind = atom[0]
        if kind == _EQ:
            self.eq_all.add(rule)
            for text in atom[2]:
                self.eq.setdefault(text, set()).add(rule)
        elif kind == _NE:
            self.ne_all.add(rule)
            for text in atom[2]:
                self.ne.setdefault(text, set()).add(rule)
        elif kind == _PREFIX:
            self.prefix_all.add(rule)
            for prefix in atom[2]:
                self.prefix.setdefault(prefix, set()).add(rule)
                self.prefix_longest = max(self.prefix_longest, len(prefix))
        else:
            self.ranges.append((atom[2], atom[3], rule))

    def maybe(self, lead: Lead, local_now: datetime, found: set[int]) -> None:
        """Add to `found` the rules whose atoms on this field may hold for `lead`."""
        actual = self.reader(lead, local_now)
        if _absent(actual):
            # Equality, prefixes and ranges never hold for a missing value; inequality always does.
            found |= self.ne_all
            return
        text = isinstance(actual, str)
        key = actual.strip().casefold() if text else None
        if self.eq_all:
            if text:
                found |= self.eq.get(key, _NO_RULES)
            else:  # a number, a list, ...: evaluated as before
                found |= self.eq_all
        if self.ne_all:
            found |= self.ne_all.difference(self.ne.get(key, _NO_RULES)) if text else self.ne_all
        if self.prefix_all:
            normal = str(_norm(actual))
            prefixes = self.prefix.get
            for length in range(min(len(normal), self.prefix_longest) + 1):
                hit = prefixes(normal[:length])
                if hit:
                    found |= hit
        if self.ranges:
            number = _as_number(actual)
            if number is not None:
                found.update(
                    rule
                    for low, high, rule in self.ranges
                    if (low is None or low <= number) and (high is None or number <= high)
                )


class ChainIndex:
    """A rule chain's rules (the default pool's rule last) indexed by the lead fields they test."""

    __slots__ = ("always", "fields", "more", "rules")

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.always: list[int] = []  # rules with no cheap guard: evaluated for every lead
        self.fields: dict[str, _FieldIndex] = {}
        # A rule's first clause is numbered by the rule's position; its other clauses after the
        # last rule, listed here by rule: the rule is a candidate when all its clauses may hold.
        self.more: dict[int, frozenset[int]] = {}
        number = len(rules)
        for position, rule in enumerate(rules):
            clauses = guard(rule.when)
            if clauses is None:
                self.always.append(position)
                continue
            numbers = [position]
            for _ in clauses[1:]:
                numbers.append(number)
                number += 1
            if len(numbers) > 1:
                self.more[position] = frozenset(numbers[1:])
            for clause_number, clause in zip(numbers, clauses, strict=True):
                for atom in clause:
                    field = atom[1]
                    index = self.fields.get(field)
                    if index is None:
                        index = self.fields[field] = _FieldIndex(field)
                    index.add(atom, clause_number)

    def candidates(self, lead: Lead, local_now: datetime) -> list[int]:
        """Positions of the rules that may match `lead`, in chain order; every rule that matches
        is among them (the others cannot)."""
        found = set(self.always)
        for index in self.fields.values():
            index.maybe(lead, local_now, found)
        rules, more = len(self.rules), self.more.get
        return sorted(
            position
            for position in found
            if position < rules and ((others := more(position)) is None or others <= found)
        )
