"""Who may take a lead right now, and why the others may not.

A routing decision checks every agent of a pool, and a default pool may hold a thousand: what an
agent's check reads is prepared once per agent (`AgentFacts`: shifts as microsecond windows,
languages and territories as sets) and the moment once per decision (`Moment`), so the check
itself is a few comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from leadrelay.models import Agent, AgentStatus, Lead, SkipReason
from leadrelay.models.agent import Presence

_STATUS_REASONS = {
    AgentStatus.ON_BREAK: SkipReason.ON_BREAK,
    AgentStatus.ON_LEAVE: SkipReason.ON_LEAVE,
    AgentStatus.UNAVAILABLE: SkipReason.UNAVAILABLE,
    AgentStatus.BANNED: SkipReason.BANNED,
}


def _micros(clock: time) -> int:
    """A wall-clock time as microseconds since midnight."""
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * 1_000_000 + clock.microsecond


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """A shift as microseconds since local midnight; `overnight` when it ends the next day."""

    days: frozenset[int]
    start: int
    end: int
    overnight: bool

    def covers(self, micros: int, weekday: int) -> bool:
        if not self.overnight:
            return weekday in self.days and self.start <= micros <= self.end
        # Overnight: the evening part belongs to the shift's day, the morning part to the next day.
        if micros >= self.start:
            return weekday in self.days
        return micros <= self.end and (weekday - 1) % 7 in self.days


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """What eligibility reads of one agent, prepared once (see `facts_of`)."""

    agent: Agent
    status: AgentStatus
    until: datetime | None
    shifts: tuple[ShiftWindow, ...]
    daily_cap: int | None
    soft_cap: int | None
    languages: frozenset[str]
    # Territories as the engine compares them: stripped, case-folded.
    territories: frozenset[str]
    # Presence: checked out is skipped like off shift.
    checked_out: bool = False
    # The agent's own backlog cap (a pool's default applies when None).
    max_open_leads: int | None = None


def facts_of(agent: Agent) -> AgentFacts:
    windows = tuple(
        ShiftWindow(frozenset(shift.days), _micros(shift.start), _micros(shift.end), shift.start > shift.end)
        for shift in agent.shifts
    )
    return AgentFacts(
        agent=agent,
        status=agent.status,
        until=agent.status_until,
        shifts=windows,
        daily_cap=agent.daily_cap,
        soft_cap=agent.soft_cap,
        languages=frozenset(agent.languages),
        territories=frozenset(territory.strip().casefold() for territory in agent.territories),
        checked_out=agent.presence is Presence.CHECKED_OUT,
        max_open_leads=agent.max_open_leads,
    )


@dataclass(frozen=True, slots=True)
class Moment:
    """`now`, and its wall-clock time and weekday in the org time zone, worked out once."""

    now: datetime
    micros: int
    weekday: int


def moment(now: datetime, local_now: datetime) -> Moment:
    """`local_now` is `now` in the org time zone: shifts are local hours, caps local days."""
    return Moment(now, _micros(local_now.time()), local_now.weekday())


def reason_for(
    facts: AgentFacts,
    at: Moment,
    assigned_today: int,
    require_language: bool,
    language: str | None,
    chain_cap: int | None,
) -> SkipReason | None:
    """`skip_reason` over prepared facts: why the agent cannot take a lead in `language` now."""
    status = facts.status if facts.until is None or at.now < facts.until else AgentStatus.AVAILABLE
    if status is not AgentStatus.AVAILABLE:
        return _STATUS_REASONS[status]
    if facts.checked_out:
        return SkipReason.CHECKED_OUT
    if facts.shifts and not any(window.covers(at.micros, at.weekday) for window in facts.shifts):
        return SkipReason.OFF_SHIFT
    cap = _lower(facts.daily_cap, chain_cap)
    if cap is not None and assigned_today >= cap:
        return SkipReason.CAPPED
    if require_language and language and language not in facts.languages:
        return SkipReason.LANGUAGE
    return None


def skip_reason(
    agent: Agent,
    lead: Lead,
    *,
    now: datetime,
    local_now: datetime,
    assigned_today: int,
    require_language: bool,
    chain_cap: int | None = None,
) -> SkipReason | None:
    """Why `agent` cannot take `lead` now, or None when they can.

    `local_now` is `now` in the org time zone: shifts are local hours, caps local days.
    `chain_cap` is the rule chain's cap per agent per day, if any.
    """
    return reason_for(facts_of(agent), moment(now, local_now), assigned_today, require_language, lead.language,
                      chain_cap)  # fmt: skip


def _lower(own: int | None, chain_cap: int | None) -> int | None:
    if own is None:
        return chain_cap
    if chain_cap is None:
        return own
    return min(own, chain_cap)


def hard_cap(agent: Agent, chain_cap: int | None) -> int | None:
    """The daily cap in force for `agent`: the lower of their own and the rule chain's."""
    return _lower(agent.daily_cap, chain_cap)


def is_demoted(agent: Agent, assigned_today: int) -> bool:
    """A soft cap lowers priority instead of excluding: such agents go behind everyone else."""
    return agent.soft_cap is not None and assigned_today >= agent.soft_cap


def backlog_cap(agent_cap: int | None, pool_cap: int | None) -> int | None:
    """The backlog cap in force: the agent's own `max_open_leads`, else the pool's default."""
    return agent_cap if agent_cap is not None else pool_cap
