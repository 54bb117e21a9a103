"""Time for the domain: injected, never read from `datetime.now()` inside business logic.

On Lambda the clock is the system clock. The local stack installs an `OffsetClock` that
`POST /_local/clock` moves forward, so every component of the stack reads one time.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Something that tells the current time (timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """Real time plus an offset that only grows: the local stack's one clock.

    `start_at` makes the clock read that time now (and run on from there), so a walkthrough taken
    at 18:20 IST reads 18:20 IST whenever it is replayed; it may lie in the past or the future.
    """

    def __init__(self, start_at: datetime | None = None) -> None:
        self._offset = timedelta(0)
        if start_at is not None:
            if start_at.tzinfo is None:
                raise ValueError("start_at needs a time zone offset, e.g. 2026-11-23T18:20+05:30")
            self._offset = start_at - datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward by `delta` (never backwards) and return the new now."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    """The process-wide clock handlers pass into the domain."""
    return _clock


def set_clock(clock: Clock) -> None:
    """Install a clock for the whole process (the local stack and tests do this)."""
    global _clock
    _clock = clock


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, e.g. `2026-11-23T06:30:00.123Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 time; a naive time is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_day(moment: datetime, timezone: str) -> date:
    """The organisation's calendar day for `moment` (caps reset at local midnight)."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
