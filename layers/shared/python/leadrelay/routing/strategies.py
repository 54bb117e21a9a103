"""How a pool picks one of its eligible agents: round-robin, weighted round-robin, least-loaded
and sticky owner.

Pure functions over the roster, like the engine that calls them. Whatever state a strategy reads
moves only inside the assignment transaction (`store/assignments.py`), under a condition on the
value read, so racing routers re-decide instead of skewing it.

In every strategy a soft-capped (demoted) agent is picked only when every candidate is demoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from leadrelay.models import Lead, Strategy
from leadrelay.routing.roster import NEVER_ASSIGNED, Roster

# Virtual times are Decimals kept to 20 places, in memory and in DynamoDB alike (which holds 38
# digits), so the engine decides on exactly the numbers it stores and rounding never drifts into
# a decision: comparisons look at 15 places, far below any real difference (>= 1e-8 with weights
# up to 100), far above the rounding (1e-20 per lead).
_PLACES = Decimal("1e-20")
_COMPARE = Decimal("1e-15")
# How many other candidates an explanation names beside the winner.
_NAMED = 5


@dataclass(frozen=True)
class Pick:
    """The winner, the strategy that actually picked them, and the numbers that decided it."""

    agent_id: str
    strategy: Strategy
    reason: str
    # Weighted round-robin: the winner's new virtual finish and the pool's virtual time after.
    vtime: Decimal | None = None
    pool_vtime: Decimal | None = None
    # Least-loaded: the winner's open-leads counter as read (the commit is conditional on it).
    load_seen: int | None = None


def pick(
    strategy: Strategy,
    pool_id: str,
    candidates: list[str],
    demoted: set[str],
    roster: Roster,
    lead: Lead,
    skipped: dict[str, str],
) -> Pick:
    """Pick one of `candidates` (eligible, in pool order) by `strategy`."""
    front = [agent_id for agent_id in candidates if agent_id not in demoted] or candidates
    if strategy is Strategy.WEIGHTED_ROUND_ROBIN:
        return pick_weighted(pool_id, front, roster)
    if strategy is Strategy.LEAST_LOADED:
        return pick_least_loaded(pool_id, front, roster)
    if strategy is Strategy.STICKY_OWNER:
        return pick_sticky(pool_id, front, candidates, roster, lead, skipped)
    winner = pick_round_robin(pool_id, front, set(), roster)
    return Pick(winner, Strategy.ROUND_ROBIN, f"{winner} was least recently assigned in {pool_id!r}")


def pick_round_robin(pool_id: str, candidates: list[str], demoted: set[str], roster: Roster) -> str:
    """Least recently assigned first; soft-capped agents behind the rest; pool order breaks ties.

    Every assignment stamps the winner with a strictly increasing time, so a newcomer or an agent
    back from leave gets the next lead once and then rotates: no catch-up flood, no reset.
    """
    stamps = roster.round_robin.get
    if not demoted:
        # The earliest stamp, the first in pool order among equals: a list and its index, not a
        # tuple per candidate (a default pool may have a thousand).
        last = [stamps((pool_id, agent_id), NEVER_ASSIGNED).last_assigned_ms for agent_id in candidates]
        return candidates[last.index(min(last))]
    # (demoted, stamp, position in the pool, id): positions are unique, so ids never compare.
    return min(
        (agent_id in demoted, stamps((pool_id, agent_id), NEVER_ASSIGNED).last_assigned_ms, index, agent_id)
        for index, agent_id in enumerate(candidates)
    )[3]


def _exact(value: Decimal) -> Decimal:
    # DynamoDB's 38 digits, not Decimal's default 28: room for 18 integer digits of virtual time.
    with localcontext() as context:
        context.prec = 38
        return value.quantize(_PLACES)


def _share(weight: int | Decimal) -> Decimal:
    """Virtual time one lead takes at this weight."""
    return Decimal(1) / Decimal(weight)


def pick_weighted(pool_id: str, candidates: list[str], roster: Roster) -> Pick:
    """Weighted round-robin: over time an agent of weight 3 gets three times the leads of weight 1,
    interleaved (never three in a row when others are due).

    Each agent carries a virtual finish time `F` (leads served / weight, on the pool's virtual
    clock `V`, which advances by 1 / total candidate weight per lead). An agent is due when
    `F < V + 1/W` (taking this lead would not put them past their share); among those due, the
    earliest next finish `F + 1/weight` wins, then least recently assigned, then pool order. With
    a fixed membership this is Balinski and Young's quota method: after every lead each agent's
    count is within one of its weight-proportional share.

    Change stays fair: `F` is never taken below `V - 1/weight`, so a new joiner, an agent back
    from leave or one whose weight changed is owed at most one lead; nobody is reset.
    """
    now = roster.virtual_time.get(pool_id, Decimal(0))
    pool = roster.pools.get(pool_id)  # (performance weighting: the pool's weights are input)
    weights = {a: pool.weight_of(roster.agents[a]) if pool else roster.agents[a].weight for a in candidates}
    step = _share(sum(weights.values()))
    finish = {
        agent_id: _exact(max(roster.rr(pool_id, agent_id).vtime, now - _share(weights[agent_id])))
        for agent_id in candidates
    }
    due = [agent_id for agent_id in candidates if finish[agent_id] < now + step - _COMPARE]
    if not due:  # membership changed under everyone's feet: move the clock to the earliest
        now = min(finish.values())
        due = [agent_id for agent_id in candidates if finish[agent_id] < now + step - _COMPARE]
    order = {agent_id: index for index, agent_id in enumerate(candidates)}
    nxt = {agent_id: _exact(finish[agent_id] + _share(weights[agent_id])) for agent_id in due}
    ranked = sorted(
        due,
        key=lambda a: (nxt[a].quantize(_COMPARE), roster.rr(pool_id, a).last_assigned_ms, order[a]),
    )
    winner = ranked[0]
    after = _exact(now + step)
    total = sum(weights.values())
    others = ", ".join(f"{a} {nxt[a]:.4f} (weight {weights[a]})" for a in ranked[1 : 1 + _NAMED])
    reason = (
        f"weighted round-robin in {pool_id!r}: {winner} (weight {weights[winner]}) had the earliest "
        f"virtual finish {nxt[winner]:.4f} among the {len(due)} due of {len(candidates)} "
        f"(pool virtual time {now:.4f} → {after:.4f}, total weight {total})"
    )
    if others:
        reason += f"; next: {others}"
    return Pick(winner, Strategy.WEIGHTED_ROUND_ROBIN, reason, vtime=nxt[winner], pool_vtime=after)


def pick_least_loaded(pool_id: str, candidates: list[str], roster: Roster) -> Pick:
    """Fewest open leads (assigned, not yet won or lost); ties to the least recently assigned in
    the pool, then pool order."""
    order = {agent_id: index for index, agent_id in enumerate(candidates)}
    ranked = sorted(candidates, key=lambda a: (roster.load(a), roster.rr(pool_id, a).last_assigned_ms, order[a]))
    winner = ranked[0]
    others = ", ".join(f"{a} {roster.load(a)}" for a in ranked[1 : 1 + _NAMED])
    reason = f"least-loaded in {pool_id!r}: {winner} had the fewest open leads ({roster.load(winner)})"
    if others:
        reason += f"; others: {others}"
    return Pick(winner, Strategy.LEAST_LOADED, reason, load_seen=roster.open_leads.get(winner, 0))


def pick_sticky(
    pool_id: str,
    front: list[str],
    candidates: list[str],
    roster: Roster,
    lead: Lead,
    skipped: dict[str, str],
) -> Pick:
    """A returning lead goes back to the agent who had it, when they are eligible in this pool;
    otherwise round-robin picks, and the reason says why the owner was passed over."""
    owner = lead.assigned_agent_id or lead.return_to_agent_id
    if owner is not None and owner in front:
        return Pick(owner, Strategy.STICKY_OWNER, f"sticky owner: the lead went back to its previous owner {owner}")
    if owner is None:
        why = "no previous owner"
    elif owner in candidates:
        why = f"previous owner {owner} is over their soft cap"
    elif owner in skipped:
        why = f"previous owner {owner} is not eligible ({skipped[owner]})"
    else:
        why = f"previous owner {owner} is not in pool {pool_id!r}"
    winner = pick_round_robin(pool_id, front, set(), roster)
    return Pick(
        winner,
        Strategy.ROUND_ROBIN,
        f"sticky owner: {why}; fell back to round-robin: {winner} was least recently assigned in {pool_id!r}",
    )
