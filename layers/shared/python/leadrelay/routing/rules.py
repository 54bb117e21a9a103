"""Rule chains as data: ordered rules with conditions on lead fields and a target pool.

A condition is one of:
- `{"field": "city", "op": "in", "value": ["Noida", "Greater Noida"]}`
- `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`

Fields: `source_id`, `source_kind`, `city`, `state`, `pincode`, `language`, `product`, `budget`,
`tags`, `name`, `message`, `utm_source`, `utm_medium`, `utm_campaign`, the ad platform's
`campaign_id`, `campaign_name`, `adgroup_id`, `adgroup_name`, `ad_id` and `platform`, `hour` and
`weekday` (0 = Monday) in the org time zone, and `extra.<key>` for anything a source sent beyond those.
String comparisons ignore case.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, model_validator

from leadrelay.models import Lead, Strategy

LEAD_FIELDS = frozenset(
    {
        "source_id", "source_kind", "city", "state", "pincode", "language", "product", "budget",
        "tags", "name", "message", "utm_source", "utm_medium", "utm_campaign", "hour", "weekday",
    }
)  # fmt: skip
# The ad platform's campaign, from the lead's attribution (Google Ads, Meta Lead Ads): route Instagram
# leads or one campaign's leads to a pool.
AD_FIELDS = frozenset({"campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_id", "platform"})
LEAD_FIELDS = LEAD_FIELDS | AD_FIELDS
NUMERIC_FIELDS = frozenset({"budget", "pincode", "hour", "weekday"})

Op = Literal["eq", "ne", "in", "not_in", "prefix", "between", "gt", "gte", "lt", "lte", "exists", "contains"]
# Fields whose values only make sense inside a known range.
_FIELD_RANGES = {"hour": (0, 23), "weekday": (0, 6)}


class FieldCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    op: Op = "eq"
    value: Any = None
    # The condition compiled to a predicate on first use (see `_compile`); rule chains are read
    # once per routing decision and walked whole, so the per-lead work must be small.
    _compiled: Any = PrivateAttr(default=None)
    _predicate: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> FieldCondition:
        if self.field not in LEAD_FIELDS and not (self.field.startswith("extra.") and len(self.field) > 6):
            raise ValueError(f"unknown field {self.field!r}; use one of {sorted(LEAD_FIELDS)} or extra.<key>")
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"{self.field}: op {self.op!r} takes a list of values")
        if self.op == "between":
            if not (isinstance(self.value, list) and len(self.value) == 2):
                raise ValueError(f"{self.field}: op 'between' takes [low, high]")
            low, high = (_number(v) for v in self.value)
            if low is None or high is None:
                raise ValueError(f"{self.field}: 'between' bounds must be numbers")
            if low > high:
                raise ValueError(f"{self.field}: 'between' range {self.value} is empty (low > high)")
        if self.op in ("gt", "gte", "lt", "lte") and _number(self.value) is None:
            raise ValueError(f"{self.field}: op {self.op!r} takes a number")
        if self.op == "exists" and not isinstance(self.value, bool):
            raise ValueError(f"{self.field}: op 'exists' takes true or false")
        if self.field in _FIELD_RANGES and self.op in ("eq", "ne", "in", "not_in", "between", "gt", "gte", "lt", "lte"):
            lowest, highest = _FIELD_RANGES[self.field]
            values = self.value if isinstance(self.value, list) else [self.value]
            for value in values:
                number = _number(value)
                if number is None or not lowest <= number <= highest:
                    raise ValueError(f"{self.field}: {value!r} is outside {lowest}–{highest}")
        return self

    def bounds(self) -> tuple[Decimal | None, bool, Decimal | None, bool] | None:
        """`(low, low inclusive, high, high inclusive)` for a numeric range condition, else None."""
        if self.op == "between":
            low, high = (_number(v) for v in self.value)
            return low, True, high, True
        number = _number(self.value)
        return {
            "gt": (number, False, None, True),
            "gte": (number, True, None, True),
            "lt": (None, True, number, False),
            "lte": (None, True, number, True),
        }.get(self.op)


def _contradictions(parts: list[Any]) -> str | None:
    """Why the range conditions on one field inside an `all` can never hold together, or None."""
    ranges: dict[str, list[tuple[Decimal | None, bool, Decimal | None, bool]]] = {}
    for part in parts:
        if isinstance(part, FieldCondition) and (bounds := part.bounds()) is not None:
            ranges.setdefault(part.field, []).append(bounds)
    for field, found in ranges.items():
        lows = [(low, inclusive) for low, inclusive, _, _ in found if low is not None]
        highs = [(high, inclusive) for _, _, high, inclusive in found if high is not None]
        if not lows or not highs:
            continue
        low, low_inclusive = max(lows, key=lambda bound: (bound[0], not bound[1]))
        high, high_inclusive = min(highs, key=lambda bound: (bound[0], bound[1]))
        if low > high or (low == high and not (low_inclusive and high_inclusive)):
            return f"{field}: the range conditions in this 'all' can never hold together (empty range)"
    return None


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: list[Condition] = Field(min_length=1)
    _predicate: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _satisfiable(self) -> AllOf:
        problem = _contradictions(self.all)
        if problem:
            raise ValueError(problem)
        return self


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    any: list[Condition] = Field(min_length=1)
    _predicate: Any = PrivateAttr(default=None)


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    negated: Condition = Field(alias="not")
    _predicate: Any = PrivateAttr(default=None)


def _condition_kind(value: Any) -> str | None:
    """Which kind of condition `value` is, from its keys, so that a mistake is reported against
    that kind only (not as a failed match against every kind)."""
    if isinstance(value, dict):
        return next((key for key in ("field", "all", "any", "not") if key in value), None)
    kinds: dict[type, str] = {FieldCondition: "field", AllOf: "all", AnyOf: "any", Not: "not"}
    return kinds.get(type(value))


Condition = Annotated[
    Annotated[FieldCondition, Tag("field")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")],
    Discriminator(
        _condition_kind,
        custom_error_type="invalid_condition",
        custom_error_message='a condition is {"field", "op", "value"}, {"all": [...]}, {"any": [...]} '
        'or {"not": {...}}',
    ),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


class Rule(BaseModel):
    """One rule: when the condition holds, the lead goes to `pool_id`."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str = Field(min_length=1, max_length=64)
    name: str = ""
    when: Condition | None = None  # None matches every lead
    pool_id: str
    # When nobody in the pool is eligible, try the next rule instead of leaving the lead unassigned.
    fall_through: bool = False
    # Only agents who speak the lead's language (when the lead has one).
    require_language: bool = False
    # How the pool picks an agent for leads of this rule; None means the pool's own strategy.
    strategy: Strategy | None = None
    # Only agents whose territories include the lead's city (when the lead has one).
    require_territory: bool = False


class RuleChainSpec(BaseModel):
    """A rule chain as people write it: ordered rules, a default pool, an optional cap per agent."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list, max_length=1000)
    default_pool_id: str | None = None
    # A hard cap on leads per agent per org-local day for every rule, on top of each agent's own
    # `daily_cap` (the lower of the two holds).
    daily_cap_per_agent: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> RuleChainSpec:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.rule_id in seen:
                raise ValueError(f"rule_id {rule.rule_id!r} appears twice")
            if rule.rule_id == "default":
                raise ValueError("rule_id 'default' is reserved for the default pool")
            seen.add(rule.rule_id)
        return self


class RuleChain(RuleChainSpec):
    """An ordered rule list; the first matching rule wins, the default pool catches the rest."""

    model_config = ConfigDict(extra="ignore")

    version: int = 0
    published_at: datetime | None = None
    published_by: str | None = None

    def pool_ids(self) -> set[str]:
        ids = {rule.pool_id for rule in self.rules}
        if self.default_pool_id:
            ids.add(self.default_pool_id)
        return ids


def unknown_pools(chain: RuleChain, pool_ids: set[str]) -> list[str]:
    """Pools the chain names that do not exist, each with the rule that names it."""
    problems = [
        f"rule {rule.rule_id!r} names pool {rule.pool_id!r}" for rule in chain.rules if rule.pool_id not in pool_ids
    ]
    if chain.default_pool_id and chain.default_pool_id not in pool_ids:
        problems.append(f"default_pool_id names pool {chain.default_pool_id!r}")
    return problems


def _number(value: Any) -> Decimal | None:
    """A finite number, or None: `NaN` and `Infinity` (as numbers or as text) are no number, so a
    rule cannot be bounded by them and a lead's `"nan"` compares as no value."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


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
