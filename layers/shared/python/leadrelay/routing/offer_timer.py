"""Offer expiry finer than the minute tick (docs/routing.md#offers): which offers get a one-time
timer, and what it says. Pure; `store/offer_timers.py` keeps them in EventBridge Scheduler and the
local stack's ticker fires them on its clock. The timer is set from the `lead.offered` timeline
entry on the stream (the events function), so routing never waits for it."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from leadrelay.definitions import OFFER_TIMERS
from leadrelay.models.offer import OfferTimer


def needs_timer(offered_at: datetime, expires_at: datetime, tick_seconds: int = OFFER_TIMERS.tick_seconds) -> bool:
    """An offer whose timeout is below the tick, or not a multiple of it, needs its own timer."""
    timeout = (expires_at - offered_at).total_seconds()
    return timeout < tick_seconds or round(timeout) % tick_seconds != 0


def timer_for(entry: dict[str, Any]) -> OfferTimer | None:
    """The timer a `lead.offered` timeline entry (as stored) asks for, or None."""
    if entry.get("kind") != "lead.offered":
        return None
    data = entry.get("data") or {}
    offer_id, agent_id, expires = data.get("offer_id"), data.get("agent_id"), data.get("expires_at")
    if not (offer_id and agent_id and expires):
        return None
    expires_at = _time(expires)
    if not needs_timer(_time(entry["at"]), expires_at):
        return None
    whole = datetime.fromtimestamp(math.ceil(expires_at.timestamp()), UTC)  # never before the expiry
    return OfferTimer(str(offer_id), str(agent_id), whole)


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
