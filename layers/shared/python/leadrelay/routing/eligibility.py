"""Who may take a lead right now, and why the others may not.

A routing decision checks every agent of a pool, and a default pool may hold a thousand: what an
agent's check reads is prepared once per agent (`AgentFacts`: shifts as microsecond windows,
languages and territories as sets) and the moment once per decision (`Moment`), so the check
itself is a few comparisons.
"""

from __future__ import annotations

import weakref
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, time

from leadrelay.models import Agent, AgentStatus, Lead, SkipReason
from leadrelay.models.agent import Pool, Presence
from leadrelay.models.roster import Roster

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


def facts_for(roster: Roster, agent_id: str) -> AgentFacts | None:
    """The eligibility facts of `agent_id` in `roster`, or None when there is no such agent;
    prepared once and kept in the roster while it holds the same Agent object."""
    agent = roster.agents.get(agent_id)
    if agent is None:
        return None
    prepared = roster.prepared_facts()
    held: AgentFacts | None = prepared.get(agent_id)
    if held is None or held.agent is not agent:
        held = prepared[agent_id] = facts_of(agent)
    return held


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


def away_reason(facts: AgentFacts, at: Moment) -> SkipReason | None:
    """Why the agent cannot take any lead at `at`, whatever the lead and today's counts: their
    status (while it lasts), checked out, or off shift. None when they are at work."""
    status = facts.status if facts.until is None or at.now < facts.until else AgentStatus.AVAILABLE
    if status is not AgentStatus.AVAILABLE:
        return _STATUS_REASONS[status]
    if facts.checked_out:
        return SkipReason.CHECKED_OUT
    if facts.shifts and not any(window.covers(at.micros, at.weekday) for window in facts.shifts):
        return SkipReason.OFF_SHIFT
    return None


def reason_for(
    facts: AgentFacts,
    at: Moment,
    assigned_today: int,
    require_language: bool,
    language: str | None,
    chain_cap: int | None,
) -> SkipReason | None:
    """`skip_reason` over prepared facts: why the agent cannot take a lead in `language` now."""
    away = away_reason(facts, at)
    if away is not None:
        return away
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


# --- The roster index: a whole pool screened at once ----------------------------------------------
#
# A default pool may hold a thousand agents. Checking them one by one costs a few Python steps
# each; instead, what does not change from lead to lead is worked out once per roster (the
# router's warm snapshot keeps the roster, so once per roster version): who speaks which language,
# who covers which city, each pool's caps, and who is away (status, checked out, off shift) for
# each stretch of the week in which nobody's shift starts or ends and nobody's leave lapses. A
# decision then screens a pool with set operations and one pass over its members, giving each
# skipped agent the reason the one-by-one check gives: the first that applies, in its order.

_DAY_US = 86_400_000_000
_NOBODY: frozenset[str] = frozenset()
_UNKNOWN_AGENT = SkipReason.UNKNOWN_AGENT.value
_ALREADY_HAD_LEAD = SkipReason.ALREADY_HAD_LEAD.value
_PASSED_ON_OFFER = SkipReason.PASSED_ON_OFFER.value
_CAPPED = SkipReason.CAPPED.value
_LANGUAGE = SkipReason.LANGUAGE.value
_BACKLOG_FULL = SkipReason.BACKLOG_FULL.value
_TERRITORY = SkipReason.TERRITORY.value
# How many stretches of the week (and leave ends) one roster keeps the away reasons for.
_AWAY_KEPT = 64


class _PoolIndex:
    """One pool's members as the screening reads them, valid while the pool lists the same ids
    (its own caps are read per decision)."""

    __slots__ = ("_backlogs", "_caps", "_known", "ids", "members", "soft", "unknown")

    def __init__(self, pool: Pool, facts: dict[str, AgentFacts]) -> None:
        self.ids = list(pool.agent_ids)
        self.members = frozenset(self.ids)
        self.unknown = [agent_id for agent_id in self.ids if agent_id not in facts]
        known = [(agent_id, facts[agent_id]) for agent_id in dict.fromkeys(self.ids) if agent_id in facts]
        self.soft = [(agent_id, f.soft_cap) for agent_id, f in known if f.soft_cap is not None]
        self._caps: dict[int | None, list[tuple[str, int]]] = {}
        self._backlogs: dict[int | None, list[tuple[str, int]]] = {}
        self._known = known

    def caps(self, chain_cap: int | None) -> list[tuple[str, int]]:
        """Members with a hard daily cap in force (their own or the chain's, the lower)."""
        held = self._caps.get(chain_cap)
        if held is None:
            pairs = ((agent_id, _lower(f.daily_cap, chain_cap)) for agent_id, f in self._known)
            held = self._caps[chain_cap] = [(agent_id, cap) for agent_id, cap in pairs if cap is not None]
        return held

    def backlogs(self, pool_cap: int | None) -> list[tuple[str, int]]:
        """Members with a backlog cap in force (their own, else the pool's)."""
        held = self._backlogs.get(pool_cap)
        if held is None:
            pairs = ((agent_id, backlog_cap(f.max_open_leads, pool_cap)) for agent_id, f in self._known)
            held = self._backlogs[pool_cap] = [(agent_id, cap) for agent_id, cap in pairs if cap is not None]
        return held


class RosterIndex:
    """What screening reads of a roster, prepared once (see `roster_index`)."""

    def __init__(self, roster: Roster) -> None:
        # Valid while the roster holds these same agents (compared on every use).
        self.agents = dict(roster.agents)
        facts = {agent_id: f for agent_id in self.agents if (f := facts_for(roster, agent_id)) is not None}
        self.facts = facts
        self.speakers: dict[str, set[str]] = {}
        self.covering: dict[str, set[str]] = {}
        for agent_id, f in facts.items():
            for language in f.languages:
                self.speakers.setdefault(language, set()).add(agent_id)
            for territory in f.territories:
                self.covering.setdefault(territory, set()).add(agent_id)
        # Away reasons change only when a status with an end lapses, at midnight, and where a
        # shift starts or ends: between two such points they are the same for every moment.
        self.ends = sorted(
            {f.until for f in facts.values() if f.until is not None and f.status is not AgentStatus.AVAILABLE}
        )
        points = {0} | {window.start for f in facts.values() for window in f.shifts}
        points |= {window.end + 1 for f in facts.values() for window in f.shifts}
        self.week = sorted({day * _DAY_US + point for day in range(7) for point in points})
        self._away: dict[tuple[int, int], dict[str, str]] = {}
        self._pools: dict[str, _PoolIndex] = {}

    def away(self, at: Moment) -> dict[str, str]:
        """Every agent who cannot take any lead at `at`, with the reason (`away_reason`)."""
        key = (bisect_right(self.ends, at.now), bisect_right(self.week, at.weekday * _DAY_US + at.micros))
        held = self._away.get(key)
        if held is None:
            if len(self._away) >= _AWAY_KEPT:
                self._away.clear()
            pairs = ((agent_id, away_reason(f, at)) for agent_id, f in self.facts.items())
            held = self._away[key] = {agent_id: reason.value for agent_id, reason in pairs if reason is not None}
        return held

    def pool(self, pool: Pool) -> _PoolIndex:
        held = self._pools.get(pool.pool_id)
        if held is None or held.ids != pool.agent_ids:
            held = self._pools[pool.pool_id] = _PoolIndex(pool, self.facts)
        return held

    def screen(
        self,
        roster: Roster,
        pool: Pool,
        at: Moment,
        counts_today: dict[str, int],
        chain_cap: int | None,
        language: str | None,
        territory: str | None,
        excluded: frozenset[str],
        passed: frozenset[str],
    ) -> tuple[list[str], dict[str, str], set[str]]:
        """`pool`'s eligible members in pool order, the skipped ones with the reason the
        one-by-one check (`reason_for` and the engine's own checks) gives, and the eligible ones
        over their soft cap. `language` only when the rule requires it; `territory` likewise."""
        held = self.pool(pool)
        ids = pool.agent_ids
        # Least important reason first: a later update overrides, as an earlier check would.
        why: dict[str, str] = {}
        if territory is not None:
            why = dict.fromkeys(held.members.difference(self.covering.get(territory, _NOBODY)), _TERRITORY)
        loads = roster.open_leads.get
        full = [agent_id for agent_id, cap in held.backlogs(pool.max_open_leads) if max(0, loads(agent_id, 0)) >= cap]
        if full:
            why.update(dict.fromkeys(full, _BACKLOG_FULL))
        if language is not None:
            why.update(dict.fromkeys(held.members.difference(self.speakers.get(language, _NOBODY)), _LANGUAGE))
        today = counts_today.get
        capped = [agent_id for agent_id, cap in held.caps(chain_cap) if today(agent_id, 0) >= cap]
        if capped:
            why.update(dict.fromkeys(capped, _CAPPED))
        why.update(self.away(at))  # every agent away, in the pool or not: only members are read
        if passed:
            why.update(dict.fromkeys(passed, _PASSED_ON_OFFER))
        if excluded:
            why.update(dict.fromkeys(excluded, _ALREADY_HAD_LEAD))
        if held.unknown:
            why.update(dict.fromkeys(held.unknown, _UNKNOWN_AGENT))
        if not why:
            candidates, skipped = list(ids), {}
        else:
            candidates = [agent_id for agent_id in ids if agent_id not in why]
            skipped = {agent_id: why[agent_id] for agent_id in ids if agent_id in why}
        demoted = {agent_id for agent_id, soft in held.soft if agent_id not in why and today(agent_id, 0) >= soft}
        return candidates, skipped, demoted


# Each roster's index while the roster lives (a warm router keeps its roster between leads).
_INDEXES: dict[int, tuple[weakref.ref[Roster], RosterIndex]] = {}


def roster_index(roster: Roster) -> RosterIndex:
    """The screening index of `roster`, built on first use and kept while the roster holds the
    same agents (an Agent is replaced, not changed in place, as `facts_for` assumes)."""
    key = id(roster)
    held = _INDEXES.get(key)
    if held is not None and held[0]() is roster and held[1].agents == roster.agents:
        return held[1]
    index = RosterIndex(roster)
    _INDEXES[key] = (weakref.ref(roster, lambda _, key=key: _INDEXES.pop(key, None)), index)  # type: ignore[misc]
    return index
