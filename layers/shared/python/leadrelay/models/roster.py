"""The routing state a decision reads: the people, their pools, round-robin stamps and loads.

Shared by the router (`routing/`) and the stores that read and write it (`store/org.py`,
`store/assignments.py`, `store/offers.py`), with what the router hands a store to commit
(`Assignment`, `OfferTerms`) and what it gets back (`CommitResult`). The router reaches the stores
through the ports of `routing/ports.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from leadrelay.ids import new_id
from leadrelay.models.agent import Agent, Pool, Team
from leadrelay.models.rules import RuleChain


@dataclass(frozen=True)
class RoundRobinState:
    """When an agent last got a lead from a pool (a strictly increasing stamp, ms) and how many.

    `vtime` is weighted round-robin's virtual finish time of the agent's last lead from the pool
    (leads served divided by weight, on the pool's virtual clock); `pool_vtime` the pool's virtual
    time just after that lead. Both are 0 until weighted round-robin picks the agent.
    """

    last_assigned_ms: int = 0
    total: int = 0
    exists: bool = False
    vtime: Decimal = Decimal(0)
    pool_vtime: Decimal = Decimal(0)
    # Accrued turns (routing/accrual.py): turns of this pool the agent missed while away, and
    # when they last took an extra turn (a pool stamp; their place in the rotation stays).
    missed: int = 0
    last_extra_ms: int = 0


NEVER_ASSIGNED = RoundRobinState()


@dataclass
class Roster:
    """Everything about the people a routing decision needs, read in one query."""

    agents: dict[str, Agent] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    round_robin: dict[tuple[str, str], RoundRobinState] = field(default_factory=dict)
    # Open leads per agent (assigned, not yet won or lost), as stored: read for least-loaded.
    open_leads: dict[str, int] = field(default_factory=dict)
    # Each pool's weighted round-robin virtual time: the newest `pool_vtime` among its members.
    virtual_time: dict[str, Decimal] = field(default_factory=dict)
    # Each agent's eligibility facts, prepared on first use and kept while the roster is (a warm
    # router reuses its roster): keyed by agent id, valid while it holds the same Agent object.
    # `routing.eligibility.facts_for` fills it (the facts are the router's, the cache rides here).
    _facts: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def prepared_facts(self) -> dict[str, Any]:
        """The facts prepared so far, by agent id (check `.agent` against `agents` before use)."""
        return self._facts

    def rr(self, pool_id: str, agent_id: str) -> RoundRobinState:
        return self.round_robin.get((pool_id, agent_id), NEVER_ASSIGNED)

    def load(self, agent_id: str) -> int:
        """Open leads of `agent_id` (never below zero, whatever a counter says)."""
        return max(0, self.open_leads.get(agent_id, 0))


def next_round_robin_stamp(roster: Roster, pool_id: str, at_ms: int) -> int:
    """The stamp an assignment from `pool_id` at `at_ms` writes: strictly after every stamp the
    pool has, so a stamp orders assignments even when clocks tie."""
    newest = max((s.last_assigned_ms for (p, _), s in roster.round_robin.items() if p == pool_id), default=0)
    return max(at_ms, newest + 1)


@dataclass
class RoutingState:
    """Everything one routing decision reads: rules, roster and today's counters."""

    chain: RuleChain
    roster: Roster
    counts_today: dict[str, int] = field(default_factory=dict)
    # The roster version read just before this state (`OrgRepository.roster_version`), when the
    # reader commits under its check (tick/base.py); None when nobody read it.
    roster_version: int | None = None


class CommitResult(Enum):
    COMMITTED = "committed"
    LEAD_CHANGED = "lead_changed"  # routed by someone else, or changed since read
    STATE_CHANGED = "state_changed"  # a counter or round-robin stamp moved: read again
    # The roster version moved since the state was read (agents, pools, rules): read again, decide again.
    ROSTER_MOVED = "roster_moved"


@dataclass
class Assignment:
    agent_id: str
    pool_id: str | None
    team_id: str | None
    daily_cap: int | None
    # Weighted round-robin: the winner's new virtual finish and the pool's virtual time after.
    vtime: Decimal | None = None
    pool_vtime: Decimal | None = None
    # Least-loaded: the winner's open-leads counter as read; the commit holds only if unchanged.
    load_seen: int | None = None
    # Backlog cap: the open-leads counter must be below it (docs/routing.md#backlog-caps).
    max_open_leads: int | None = None
    # Accrued turns (routing/accrual.py): pool members who missed this turn while away, and the
    # winner's turns still owed after it (None: the pool keeps no accrued turns).
    away: tuple[str, ...] = ()
    owed_after: int | None = None
    extra_turn: bool = False


@dataclass(frozen=True)
class OfferTerms:
    """An offer about to be made: its id and when it lapses."""

    offer_id: str
    expires_at: datetime


def new_offer(now: datetime, timeout_s: int) -> OfferTerms:
    return OfferTerms(offer_id=new_id(now), expires_at=now + timedelta(seconds=timeout_s))
