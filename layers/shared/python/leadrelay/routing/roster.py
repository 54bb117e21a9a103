"""The routing state a decision reads: the people, their pools, round-robin stamps and loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from leadrelay.models import Agent, Pool, Team
from leadrelay.routing.eligibility import AgentFacts, facts_of


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
    _facts: dict[str, AgentFacts] = field(default_factory=dict, repr=False, compare=False)

    def prepared_facts(self) -> dict[str, AgentFacts]:
        """The facts prepared so far, by agent id (check `.agent` against `agents` before use)."""
        return self._facts

    def facts(self, agent_id: str) -> AgentFacts | None:
        """The eligibility facts of `agent_id`, or None when there is no such agent."""
        agent = self.agents.get(agent_id)
        if agent is None:
            return None
        held = self._facts.get(agent_id)
        if held is None or held.agent is not agent:
            held = self._facts[agent_id] = facts_of(agent)
        return held

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
