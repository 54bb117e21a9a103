"""Who may take a lead right now, and why the others may not."""

from __future__ import annotations

from datetime import datetime, time

from leadrelay.models import Agent, AgentStatus, Lead, SkipReason

_STATUS_REASONS = {
    AgentStatus.ON_BREAK: SkipReason.ON_BREAK,
    AgentStatus.ON_LEAVE: SkipReason.ON_LEAVE,
    AgentStatus.UNAVAILABLE: SkipReason.UNAVAILABLE,
    AgentStatus.BANNED: SkipReason.BANNED,
}


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
    status = agent.status_at(now)
    if status is not AgentStatus.AVAILABLE:
        return _STATUS_REASONS[status]
    if agent.shifts and not _on_shift(agent, local_now.time().replace(tzinfo=None), local_now.weekday()):
        return SkipReason.OFF_SHIFT
    cap = hard_cap(agent, chain_cap)
    if cap is not None and assigned_today >= cap:
        return SkipReason.CAPPED
    if require_language and lead.language and lead.language not in agent.languages:
        return SkipReason.LANGUAGE
    return None


def _on_shift(agent: Agent, clock: time, weekday: int) -> bool:
    return any(shift.covers_time(clock, weekday) for shift in agent.shifts)


def hard_cap(agent: Agent, chain_cap: int | None) -> int | None:
    """The daily cap in force for `agent`: the lower of their own and the rule chain's."""
    caps = [cap for cap in (agent.daily_cap, chain_cap) if cap is not None]
    return min(caps) if caps else None


def is_demoted(agent: Agent, assigned_today: int) -> bool:
    """A soft cap lowers priority instead of excluding: such agents go behind everyone else."""
    return agent.soft_cap is not None and assigned_today >= agent.soft_cap
