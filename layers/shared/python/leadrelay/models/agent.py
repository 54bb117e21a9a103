"""Agents (telecallers), their teams and the pools leads are distributed over."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator, model_validator


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    ON_BREAK = "on_break"
    ON_LEAVE = "on_leave"
    UNAVAILABLE = "unavailable"
    BANNED = "banned"


class Presence(StrEnum):
    """Whether an agent is at work and taking leads (check-in/out), beside their status."""

    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"


class Shift(BaseModel):
    """Working hours on some weekdays (0 = Monday), in the organisation's time zone.

    A shift whose end is before its start runs past midnight (e.g. 22:00–06:00).
    """

    days: list[int] = Field(default_factory=lambda: list(range(7)))
    start: time = time(0, 0)
    end: time = time(23, 59, 59)

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: list[int]) -> list[int]:
        if not days or any(day < 0 or day > 6 for day in days):
            raise ValueError("days are weekdays 0 (Monday) to 6 (Sunday)")
        return sorted(set(days))

    def covers(self, local: datetime) -> bool:
        """Whether `local` (already in the org time zone) falls inside this shift."""
        return self.covers_time(local.time().replace(tzinfo=None), local.weekday())

    def covers_time(self, now: time, weekday: int) -> bool:
        """`covers` for a local wall-clock time and weekday worked out once by the caller."""
        if self.start <= self.end:
            return weekday in self.days and self.start <= now <= self.end
        # Overnight: the evening part belongs to the shift's day, the morning part to the next day.
        if now >= self.start:
            return weekday in self.days
        return now <= self.end and (weekday - 1) % 7 in self.days


class Agent(BaseModel):
    """A salesperson who takes leads."""

    agent_id: str
    name: str
    team_id: str | None = None
    phone: str | None = None
    email: str | None = None
    status: AgentStatus = AgentStatus.AVAILABLE
    # When set, the status lapses back to available at this time (e.g. leave until Monday 9:00).
    status_until: datetime | None = None
    languages: list[str] = Field(default_factory=list)
    territories: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    # No shifts means always on shift.
    shifts: list[Shift] = Field(default_factory=list)
    daily_cap: int | None = Field(default=None, ge=0)
    soft_cap: int | None = Field(default=None, ge=0)
    weight: int = Field(default=1, ge=1, le=100)
    # Presence (docs/routing.md#presence): a checked-out agent is skipped like an off-shift one.
    # Agents start checked in, so an organisation that never checks in routes as before.
    presence: Presence = Presence.CHECKED_IN
    presence_reason: str | None = None
    presence_at: datetime | None = None
    # Backlog cap: with this many open leads the agent is skipped until one closes or moves.
    max_open_leads: int | None = Field(default=None, ge=0)

    def status_at(self, moment: datetime) -> AgentStatus:
        """The status in force at `moment` (a status with an `until` in the past has lapsed)."""
        if self.status_until is not None and moment >= self.status_until:
            return AgentStatus.AVAILABLE
        return self.status


class Team(BaseModel):
    team_id: str
    name: str
    manager_usernames: list[str] = Field(default_factory=list)


class Strategy(StrEnum):
    """How a pool picks one of its eligible agents (see docs/routing.md#strategies)."""

    ROUND_ROBIN = "round_robin"
    WEIGHTED_ROUND_ROBIN = "weighted_round_robin"
    LEAST_LOADED = "least_loaded"
    STICKY_OWNER = "sticky_owner"


class PerformanceWeighting(BaseModel):
    """A weighted pool's shift of shares by each agent's recent contact and conversion rates,
    above a guaranteed minimum share per agent (docs/routing.md#performance-weighting). Enabled
    only with the id of a back-test run that showed the change (`backtest_id`); `weights` are the
    ones that run computed and replayed, copied from it (read-only)."""

    days: int = Field(default=30, ge=7, le=90, description="look back this many days of dashboard counters")
    min_share: float = Field(gt=0, le=0.5, description="every member's guaranteed share of the pool's leads")
    contact_weight: float = Field(default=1.0, ge=0, le=5, description="how much the contact rate shifts a share")
    conversion_weight: float = Field(default=1.0, ge=0, le=5, description="how much the conversion rate shifts")
    backtest_id: str | None = Field(default=None, max_length=64, description="the back-test run that proved it")
    weights: dict[str, Decimal] = Field(default_factory=dict, description="read-only: per agent, percent")

    def settings(self) -> dict[str, float | int]:
        """What a back-test run must have replayed for this setting to be enabled."""
        return {"days": self.days, "min_share": self.min_share, "contact_weight": self.contact_weight,
                "conversion_weight": self.conversion_weight}  # fmt: skip


class Pool(BaseModel):
    """A set of agents a rule distributes over, with a strategy."""

    pool_id: str
    name: str
    agent_ids: list[str] = Field(default_factory=list)
    strategy: Strategy = Strategy.ROUND_ROBIN
    team_id: str | None = None
    # Accept-or-pass offers (docs/routing.md#offers): a routed lead is offered for this long first.
    offer_timeout_s: int | None = Field(default=None, ge=15, le=86_400)
    # Presence: an agent who lets this many offers from the pool expire in a row is checked out.
    checkout_after_expiries: int | None = Field(default=None, ge=1, le=100)
    # The backlog cap for members without their own `max_open_leads`.
    max_open_leads: int | None = Field(default=None, ge=0)
    # Accrued turns: see routing/accrual.py (off by default).
    accrued_turns: bool = False
    # Performance weighting (weighted round-robin only; off by default).
    performance_weighting: PerformanceWeighting | None = None

    def weight_of(self, agent: Agent) -> Decimal | int:
        """The agent's weight in this pool: the performance weight when the pool has them."""
        weighting = self.performance_weighting
        if weighting is not None and weighting.weights:
            # A member the back-test did not see gets the smallest share until the next one.
            return weighting.weights.get(agent.agent_id, min(weighting.weights.values()))
        return agent.weight

    @model_validator(mode="after")
    def _unique_members(self) -> Pool:
        self.agent_ids = list(dict.fromkeys(self.agent_ids))
        return self
