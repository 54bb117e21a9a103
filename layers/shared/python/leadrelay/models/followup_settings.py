"""The follow-up rules as data: what each call outcome schedules, when a follow-up counts as
missed, the first-contact SLA and the nurture cadences. Stored as one document in org settings
(`GET/PUT /settings/followups`); every field has a default, so an org that never set it works."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ActivityType(StrEnum):
    CALL = "call"
    NOTE = "note"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    EMAIL = "email"
    MEETING = "meeting"


class Outcome(StrEnum):
    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    SWITCHED_OFF = "switched_off"
    WRONG_NUMBER = "wrong_number"
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    CALLBACK_REQUESTED = "callback_requested"


class OutcomeRule(BaseModel):
    """What one outcome schedules: a follow-up `after_minutes` later, at the callback time the
    person asked for (`use_callback_at`), or nothing (both unset)."""

    model_config = ConfigDict(extra="forbid")

    after_minutes: int | None = Field(default=None, ge=1, le=366 * 24 * 60)
    use_callback_at: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> OutcomeRule:
        if self.use_callback_at and self.after_minutes is not None:
            raise ValueError("give after_minutes or use_callback_at, not both")
        return self

    @property
    def schedules_nothing(self) -> bool:
        return self.after_minutes is None and not self.use_callback_at


DAY = 24 * 60

DEFAULT_OUTCOME_RULES: dict[Outcome, OutcomeRule] = {
    Outcome.NO_ANSWER: OutcomeRule(after_minutes=2 * DAY),
    Outcome.SWITCHED_OFF: OutcomeRule(after_minutes=2 * DAY),
    Outcome.BUSY: OutcomeRule(after_minutes=60),
    Outcome.INTERESTED: OutcomeRule(after_minutes=4 * 60),
    Outcome.CALLBACK_REQUESTED: OutcomeRule(use_callback_at=True),
    Outcome.CONNECTED: OutcomeRule(after_minutes=DAY),
    Outcome.NOT_INTERESTED: OutcomeRule(),
    Outcome.WRONG_NUMBER: OutcomeRule(),
}


class SlaSettings(BaseModel):
    """The first-contact SLA: a lead nobody contacted within it moves to another agent."""

    model_config = ConfigDict(extra="forbid")

    # None: the organisation's `first_contact_sla_minutes`; with neither there is no SLA.
    first_contact_minutes: int | None = Field(default=None, ge=1, le=30 * DAY)
    # Per rule (the rule that routed the lead) and per pool; a rule's wins over its pool's.
    by_rule: dict[str, int] = Field(default_factory=dict)
    by_pool: dict[str, int] = Field(default_factory=dict)
    # Where a breached lead of a rule goes first; the rule's own pool when unset or nobody there.
    backup_pool_by_rule: dict[str, str] = Field(default_factory=dict)
    # Count only the minutes the owner is on shift (a lead assigned at 17:50 to a 9–18 agent
    # with a 90-minute SLA is due at 10:20 the next working day).
    shift_hours_only: bool = False
    # After this many SLA moves the lead stays and the team's manager is told instead.
    max_redistributions: int = Field(default=2, ge=0, le=10)
    # Per-source clocks (docs/routing.md#per-source-sla-clocks): minutes per source id, or per
    # source kind ("indiamart": 10); the tighter of the source's and the rule/pool/org SLA holds,
    # so the sources that rate a seller on response time are protected first.
    by_source: dict[str, int] = Field(default_factory=dict)
    by_source_kind: dict[str, int] = Field(default_factory=dict)
    # Warn the owner this many minutes before the deadline (a lead.sla_warning timeline entry);
    # per source id or kind, else `warning_minutes`; none: no warning.
    warning_minutes: int | None = Field(default=None, ge=1, le=30 * DAY)
    warning_by_source: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _positive(self) -> SlaSettings:
        every = {**self.by_rule, **self.by_pool, **self.by_source, **self.by_source_kind, **self.warning_by_source}
        for name, minutes in every.items():
            if minutes < 1:
                raise ValueError(f"SLA for {name!r} must be at least 1 minute")
        return self


class CadenceStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ActivityType = ActivityType.CALL
    # Days after the cadence started (not after the previous step).
    after_days: int = Field(ge=0, le=3650)


class Cadence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[CadenceStep] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _ordered(self) -> Cadence:
        days = [step.after_days for step in self.steps]
        if days != sorted(days):
            raise ValueError("cadence steps must be in order of after_days")
        return self


DEFAULT_CADENCES: dict[str, Cadence] = {
    "standard": Cadence(
        steps=[
            CadenceStep(type=ActivityType.CALL, after_days=2),
            CadenceStep(type=ActivityType.WHATSAPP, after_days=7),
            CadenceStep(type=ActivityType.EMAIL, after_days=14),
        ]
    ),
    "long-tail": Cadence(
        steps=[
            CadenceStep(type=ActivityType.CALL, after_days=0),
            CadenceStep(type=ActivityType.WHATSAPP, after_days=30),
            CadenceStep(type=ActivityType.EMAIL, after_days=90),
        ]
    ),
}


class NurtureSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cadences: dict[str, Cadence] = Field(default_factory=lambda: dict(DEFAULT_CADENCES))
    # A cadence attached automatically to every lead routed by this rule.
    by_rule: dict[str, str] = Field(default_factory=dict)
    # A lost lead re-surfaces into `lost_cadence` this many days after it was closed (None: never).
    lost_resurface_days: int | None = Field(default=90, ge=1, le=3650)
    lost_cadence: str = "long-tail"

    @model_validator(mode="after")
    def _known_cadences(self) -> NurtureSettings:
        named = set(self.by_rule.values())
        if self.lost_resurface_days is not None:
            named.add(self.lost_cadence)
        unknown = sorted(named - set(self.cadences))
        if unknown:
            raise ValueError(f"unknown cadence(s) {unknown}; define them under cadences")
        return self


class FollowupSettings(BaseModel):
    """`CONFIG` / `FOLLOWUPS` in the org table."""

    model_config = ConfigDict(extra="forbid")

    rules: dict[Outcome, OutcomeRule] = Field(default_factory=lambda: dict(DEFAULT_OUTCOME_RULES))
    # A follow-up not done this long after its due time becomes `missed` (and the manager sees it).
    missed_after_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Follow-ups that fall outside the owner's shift or on their leave move to their next shift.
    shift_aware: bool = True
    sla: SlaSettings = Field(default_factory=SlaSettings)
    nurture: NurtureSettings = Field(default_factory=NurtureSettings)
    # A lead still waiting for the router this long after it arrived is routed again by the tick.
    stuck_after_minutes: int = Field(default=5, ge=1, le=24 * 60)

    @model_validator(mode="after")
    def _every_outcome(self) -> FollowupSettings:
        # A partial `rules` map keeps the defaults for the outcomes it does not name.
        self.rules = {**DEFAULT_OUTCOME_RULES, **self.rules}
        return self
