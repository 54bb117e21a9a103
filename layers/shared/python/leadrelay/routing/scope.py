"""A manager's view of routing: only their team's agents, pools and counters, so a simulation or a
back-test they run depends on nothing another team's leads changed (no id, count, round-robin
stamp or skip reason of theirs)."""

from __future__ import annotations

from decimal import Decimal

from leadrelay.routing.roster import Roster


def team_roster(roster: Roster, team_id: str | None) -> Roster:
    """`roster` cut down to `team_id`'s agents (none when there is no team): pools keep only
    those members, round-robin and load state only theirs, and each pool's virtual time is
    recomputed from their stamps alone."""
    agents = {a: agent for a, agent in roster.agents.items() if team_id is not None and agent.team_id == team_id}
    pools = {
        pool_id: pool.model_copy(update={"agent_ids": [a for a in pool.agent_ids if a in agents]})
        for pool_id, pool in roster.pools.items()
    }
    round_robin = {key: state for key, state in roster.round_robin.items() if key[1] in agents}
    virtual_time: dict[str, Decimal] = {}
    for (pool_id, _), state in round_robin.items():
        if state.pool_vtime > virtual_time.get(pool_id, Decimal(0)):
            virtual_time[pool_id] = state.pool_vtime
    return Roster(
        agents=agents,
        teams={t: team for t, team in roster.teams.items() if t == team_id},
        pools=pools,
        round_robin=round_robin,
        open_leads={a: n for a, n in roster.open_leads.items() if a in agents},
        virtual_time=virtual_time,
    )


def team_counts(counts: dict[str, int], roster: Roster) -> dict[str, int]:
    """Today's counters of the agents in `roster` only."""
    return {a: n for a, n in counts.items() if a in roster.agents}
