"""The routing state a decision reads (`leadrelay.models.roster`, re-exported from its old home)."""

from __future__ import annotations

from leadrelay.models.roster import NEVER_ASSIGNED, Roster, RoundRobinState, next_round_robin_stamp

__all__ = ["NEVER_ASSIGNED", "Roster", "RoundRobinState", "next_round_robin_stamp"]
