"""The routing state a decision reads: the people, their pools and round-robin stamps."""

from __future__ import annotations

from dataclasses import dataclass, field

from leadrelay.models import Agent, Pool, Team


@dataclass(frozen=True)
class RoundRobinState:
    """When an agent last got a lead from a pool (a strictly increasing stamp, ms) and how many."""

    last_assigned_ms: int = 0
    total: int = 0
    exists: bool = False


NEVER_ASSIGNED = RoundRobinState()


@dataclass
class Roster:
    """Everything about the people a routing decision needs, read in one query."""

    agents: dict[str, Agent] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    round_robin: dict[tuple[str, str], RoundRobinState] = field(default_factory=dict)

    def rr(self, pool_id: str, agent_id: str) -> RoundRobinState:
        return self.round_robin.get((pool_id, agent_id), NEVER_ASSIGNED)
