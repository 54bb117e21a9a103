"""Accrued turns (docs/routing.md#accrued-turns): an agent who missed turns of a round-robin pool
while on leave, on a break or checked out gets them back gradually when they return.

Off by default (a pool's `accrued_turns`). Plain round-robin gives a returning agent the next
lead once and then rotates: fair from now on, but a week's leave is a week's share lost. With
accrued turns, every lead a pool assigns while a member is away adds one to that member's
`missed` count (`RR#<pool>#<agent>`, in the assignment transaction). When they are back, they
take an **extra turn** ahead of the rotation, bounded twice:

- at most `MAX_CREDIT` turns are ever owed, however long the absence;
- an extra turn only when at least `SPACING` leads of the pool went to others since their last
  extra turn, and never right after their own lead: at most one extra lead in three
  (`SPACING + 1`), so the others keep working.

Pure functions over the roster, like the strategies; the decision says when it gave an extra
turn and why, in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadrelay.models import SkipReason
from leadrelay.routing.roster import Roster

# Away, for accrued turns: not off shift (a shift is the agent's normal share) nor capped.
AWAY = frozenset({SkipReason.ON_LEAVE.value, SkipReason.ON_BREAK.value, SkipReason.CHECKED_OUT.value})
MAX_CREDIT = 10
SPACING = 2


@dataclass(frozen=True)
class ExtraTurn:
    agent_id: str
    owed: int  # turns owed before this one
    reason: str


def owed(roster: Roster, pool_id: str, agent_id: str) -> int:
    """Turns owed to `agent_id` in `pool_id` (bounded by MAX_CREDIT)."""
    return min(max(roster.rr(pool_id, agent_id).missed, 0), MAX_CREDIT)


def away(skipped: dict[str, str]) -> list[str]:
    """The pool members this assignment passes over because they are away: each misses a turn."""
    return sorted(agent_id for agent_id, reason in skipped.items() if reason in AWAY)


def extra_turn(pool_id: str, candidates: list[str], roster: Roster) -> ExtraTurn | None:
    """The candidate owed the most turns who may take an extra one now, or None.

    An extra turn keeps the agent's place in the rotation (their round-robin stamp moves by one
    millisecond only), so it is a turn given back, not a regular turn taken early."""
    stamps = {(agent_id): s.last_assigned_ms for (p, agent_id), s in roster.round_robin.items() if p == pool_id}
    best: ExtraTurn | None = None
    for agent_id in candidates:
        credit = owed(roster, pool_id, agent_id)
        if credit == 0:
            continue
        state = roster.rr(pool_id, agent_id)
        latest = max(state.last_assigned_ms, state.last_extra_ms)
        others = [stamp for other, stamp in stamps.items() if other != agent_id]
        # Never two in a row, and at least SPACING leads to others since the last extra turn.
        if not any(stamp > latest for stamp in others):
            continue
        if sum(1 for stamp in others if stamp > state.last_extra_ms) < SPACING:
            continue
        if best is None or credit > best.owed or (credit == best.owed and latest < _latest(roster, pool_id, best)):
            reason = (f"accrued turn: {agent_id} missed turns in {pool_id!r} while away and is owed {credit} "
                      f"(at most {MAX_CREDIT}); an extra turn, at most one lead in {SPACING + 1}")  # fmt: skip
            best = ExtraTurn(agent_id, credit, reason)
    return best


def _latest(roster: Roster, pool_id: str, turn: ExtraTurn) -> int:
    state = roster.rr(pool_id, turn.agent_id)
    return max(state.last_assigned_ms, state.last_extra_ms)


def owed_after(roster: Roster, pool_id: str, agent_id: str, extra: bool) -> int:
    """What the winner's `missed` becomes: bounded, and one less for an extra turn taken."""
    return max(owed(roster, pool_id, agent_id) - (1 if extra else 0), 0)
