"""An open offer and how settling one went (docs/routing.md#offers).

Shared by the offer desk (`routing/offers.py`, which reaches storage through the ports of
`routing/ports.py`) and the store that keeps offers (`store/offers.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from leadrelay.clock import iso
from leadrelay.definitions import OFFER_TIMERS

# The routing trail's trigger for an accepted offer.
ACCEPTED_TRIGGER = "offer_accepted"


@dataclass(frozen=True)
class Offer:
    """An open offer as stored."""

    offer_id: str
    lead_id: str
    agent_id: str
    pool_id: str | None
    team_id: str | None
    rule_id: str | None
    offered_at: datetime
    expires_at: datetime
    day: date
    decision_id: str
    chain_version: int = 0

    def view(self) -> dict[str, Any]:
        """CONTRACT.md "Offers and presence": what GET /offers shows."""
        return {"offer_id": self.offer_id, "lead_id": self.lead_id, "agent_id": self.agent_id,
                "expires_at": iso(self.expires_at)}  # fmt: skip


class Settled(Enum):
    DONE = "done"
    # The lead no longer holds this offer: accepted, declined or expired by someone else first.
    OFFER_CLOSED = "offer_closed"
    # The expiry streak moved under us (another expiry of the same agent): read it and try again.
    STREAK_MOVED = "streak_moved"
    # The roster version moved since the agent was read (accept): read the agent again.
    ROSTER_MOVED = "roster_moved"


@dataclass(frozen=True)
class Pass:
    """An offer passing on: declined or expired, and whether the agent is checked out for it."""

    kind: str  # "declined" | "expired" | "withdrawn"
    streak_seen: int
    check_out_reason: str | None = None


@dataclass(frozen=True)
class OfferTimer:
    """A one-time timer: at `fires_at` (a whole second, never before the expiry), expire this offer."""

    offer_id: str
    agent_id: str
    fires_at: datetime

    @property
    def name(self) -> str:
        return f"offer-{self.offer_id}"

    @property
    def expression(self) -> str:
        """EventBridge Scheduler's one-time expression, in UTC."""
        return f"at({self.fires_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"

    def detail(self) -> dict[str, Any]:
        return {"task": OFFER_TIMERS.task, "offer_id": self.offer_id, "agent_id": self.agent_id}
