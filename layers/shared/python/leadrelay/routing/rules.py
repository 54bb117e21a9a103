"""Rule chains as data: ordered rules with conditions on lead fields and a target pool.

A condition is one of:
- `{"field": "city", "op": "in", "value": ["Noida", "Greater Noida"]}`
- `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`

Fields: `source_id`, `source_kind`, `city`, `state`, `pincode`, `language`, `product`, `budget`,
`tags`, `name`, `message`, `utm_source`, `utm_medium`, `utm_campaign`, `hour` and `weekday`
(0 = Monday) in the org time zone, and `extra.<key>` for anything a source sent beyond those.
String comparisons ignore case.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadrelay.models import Lead

LEAD_FIELDS = frozenset(
    {
        "source_id", "source_kind", "city", "state", "pincode", "language", "product", "budget",
        "tags", "name", "message", "utm_source", "utm_medium", "utm_campaign", "hour", "weekday",
    }
)  # fmt: skip
NUMERIC_FIELDS = frozenset({"budget", "pincode", "hour", "weekday"})

Op = Literal["eq", "ne", "in", "not_in", "prefix", "between", "gte", "lte", "exists", "contains"]


class FieldCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    op: Op = "eq"
    value: Any = None

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
        if self.op in ("gte", "lte") and _number(self.value) is None:
            raise ValueError(f"{self.field}: op {self.op!r} takes a number")
        if self.op == "exists" and not isinstance(self.value, bool):
            raise ValueError(f"{self.field}: op 'exists' takes true or false")
        return self


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: list[Condition] = Field(min_length=1)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    any: list[Condition] = Field(min_length=1)


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    negated: Condition = Field(alias="not")


Condition = FieldCondition | AllOf | AnyOf | Not
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


class RuleChain(BaseModel):
    """An ordered rule list; the first matching rule wins, the default pool catches the rest."""

    model_config = ConfigDict(extra="ignore")

    version: int = 0
    rules: list[Rule] = Field(default_factory=list)
    default_pool_id: str | None = None
    published_at: datetime | None = None
    published_by: str | None = None

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> RuleChain:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.rule_id in seen:
                raise ValueError(f"rule_id {rule.rule_id!r} appears twice")
            seen.add(rule.rule_id)
        return self

    def pool_ids(self) -> set[str]:
        ids = {rule.pool_id for rule in self.rules}
        if self.default_pool_id:
            ids.add(self.default_pool_id)
        return ids


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def lead_value(lead: Lead, field: str, local_now: datetime) -> Any:
    """The value of a rule field for this lead (`local_now` is in the org time zone)."""
    if field == "hour":
        return local_now.hour
    if field == "weekday":
        return local_now.weekday()
    if field.startswith("extra."):
        return lead.extra.get(field[6:])
    if field.startswith("utm_"):
        return getattr(lead.attribution, field, None)
    return getattr(lead, field, None)


def _norm(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):
        return any(_equal(item, expected) for item in actual)
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None and not isinstance(actual, str):
        return left == right
    return bool(_norm(actual) == _norm(expected))


def _describe(cond: FieldCondition, actual: Any) -> str:
    return f"{cond.field}={actual!r} {cond.op} {cond.value!r}"


def evaluate(cond: Condition, lead: Lead, local_now: datetime) -> tuple[bool, str]:
    """Whether `cond` holds for `lead`, with a short explanation of the deciding comparison."""
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
    if isinstance(cond, Not):
        ok, why = evaluate(cond.negated, lead, local_now)
        return not ok, f"not ({why})"
    actual = lead_value(lead, cond.field, local_now)
    return _compare(cond, actual), _describe(cond, actual)


def _compare(cond: FieldCondition, actual: Any) -> bool:
    op = cond.op
    if op == "exists":
        present = actual not in (None, "", [])
        return present is cond.value
    if actual in (None, "", []):
        return op in ("ne", "not_in")
    if op == "eq":
        return _equal(actual, cond.value)
    if op == "ne":
        return not _equal(actual, cond.value)
    if op == "in":
        return any(_equal(actual, option) for option in cond.value)
    if op == "not_in":
        return not any(_equal(actual, option) for option in cond.value)
    if op == "contains":
        if isinstance(actual, list):
            return any(_equal(item, cond.value) for item in actual)
        return str(_norm(cond.value)) in str(_norm(actual))
    if op == "prefix":
        options = cond.value if isinstance(cond.value, list) else [cond.value]
        return any(str(_norm(actual)).startswith(str(_norm(option))) for option in options)
    number = _number(actual)
    if number is None:
        return False
    if op == "between":
        low, high = (_number(v) for v in cond.value)
        return low is not None and high is not None and low <= number <= high
    bound = _number(cond.value)
    if bound is None:
        return False
    return number >= bound if op == "gte" else number <= bound
