"""Fires `definitions.SCHEDULES` on the stack's clock, as EventBridge schedules would on AWS.

Each schedule fires at every `rate_minutes` boundary of the clock (minute 0, 1, 2, … for a rate of
one minute), with a Scheduled Event envelope whose `time` is the boundary. A background thread looks
roughly once a second of real time; `advance()` moves the clock and runs every tick that became due,
one by one, with the clock set to each tick's time. At most `max_ticks_per_advance` ticks per
schedule run in one advance (the latest ones): moving the clock by days must not hang the stack.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from leadrelay import definitions
from leadrelay.clock import OffsetClock
from leadrelay.local.aws import ACCOUNT_ID, REGION

log = logging.getLogger("leadrelay.local.ticker")

# One day of one-minute ticks.
MAX_TICKS_PER_ADVANCE = 1440

TickInvoker = Callable[[definitions.Schedule, dict[str, Any]], Any]


def scheduled_event(schedule: definitions.Schedule, at: datetime) -> dict[str, Any]:
    """The envelope EventBridge hands a target for a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{schedule.name}"],
        "detail": schedule.event_detail(),
    }


def _boundary_at_or_before(moment: datetime, rate_minutes: int) -> datetime:
    step = rate_minutes * 60
    return datetime.fromtimestamp(int(moment.timestamp()) // step * step, UTC)


class Ticker:
    """Runs the schedules on an `OffsetClock`; `invoke(schedule, event)` calls the followup handler."""

    def __init__(
        self,
        *,
        clock: OffsetClock,
        invoke: TickInvoker,
        schedules: tuple[definitions.Schedule, ...] = definitions.SCHEDULES,
        check_every_s: float = 1.0,
        max_ticks_per_advance: int = MAX_TICKS_PER_ADVANCE,
        timers: Callable[[datetime], list[tuple[datetime, Callable[[], Any]]]] | None = None,
    ) -> None:
        self._clock = clock
        self._invoke = invoke
        self._schedules = schedules
        self._check_every_s = check_every_s
        self._max_ticks = max_ticks_per_advance
        # One-time timers (offer expiry, local/offer_timers.py): `timers(until)` lists those due.
        self._timers = timers
        now = clock.now()
        # The first tick of each schedule is the first boundary after the stack starts.
        self._last_fired = {s.name: _boundary_at_or_before(now, s.rate_minutes) for s in schedules}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks_fired = 0
        self.ticks_failed = 0
        self.ticks_skipped = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="leadrelay-ticker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._check_every_s):
            try:
                self.fire_due()
            except Exception:
                log.exception("ticker: firing schedules failed")

    def fire_due(self) -> int:
        """Fire every tick due at the clock's current time; returns how many fired."""
        with self._lock:
            return self._fire_until(self._clock.now(), move_clock=False)

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta`, running each tick due on the way at its own time."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            target = self._clock.now() + delta
            self._fire_until(target, move_clock=True)
            remaining = target - self._clock.now()
            if remaining > timedelta(0):
                self._clock.advance(remaining)
            return self._clock.now()

    def _due(self, until: datetime) -> list[tuple[datetime, definitions.Schedule]]:
        due: list[tuple[datetime, definitions.Schedule]] = []
        for schedule in self._schedules:
            step = timedelta(minutes=schedule.rate_minutes)
            last = self._last_fired[schedule.name]
            latest = _boundary_at_or_before(until, schedule.rate_minutes)
            count = int((latest - last) / step)
            if count <= 0:
                continue
            if count > self._max_ticks:
                skipped = count - self._max_ticks
                self.ticks_skipped += skipped
                log.warning("ticker: %d ticks of %s due; running the last %d", count, schedule.name, self._max_ticks)
                last += step * skipped
                count = self._max_ticks
            due.extend((last + step * n, schedule) for n in range(1, count + 1))
        due.sort(key=lambda item: item[0])
        return due

    def _fire_until(self, until: datetime, *, move_clock: bool) -> int:
        fired = 0
        if self._timers is not None:
            fired += self._fire_timers(min(until, self._clock.now()))
        for at, schedule in self._due(until):
            if move_clock and self._timers is not None:  # one-time timers due before this tick first
                fired += self._fire_timers(at, move_clock=True)
            if move_clock:
                behind = at - self._clock.now()
                if behind > timedelta(0):
                    self._clock.advance(behind)
            self._last_fired[schedule.name] = at
            fired += 1
            self.ticks_fired += 1
            try:
                self._invoke(schedule, scheduled_event(schedule, at))
            except Exception:
                # EventBridge would retry the async invoke; the next tick picks up the same due work.
                self.ticks_failed += 1
                log.exception("ticker: %s at %s failed", schedule.name, at.isoformat())
        if move_clock and self._timers is not None:
            fired += self._fire_timers(until, move_clock=True)
        return fired

    def _fire_timers(self, until: datetime, *, move_clock: bool = False) -> int:
        """Fire the one-time timers due by `until`, oldest first, each at its own time."""
        assert self._timers is not None
        try:
            due = sorted(self._timers(until), key=lambda item: item[0])
        except Exception:
            log.exception("ticker: looking for due timers failed")
            return 0
        for at, fire in due:
            if move_clock:
                behind = at - self._clock.now()
                if behind > timedelta(0):
                    self._clock.advance(behind)
            try:
                fire()
            except Exception:
                self.ticks_failed += 1
                log.exception("ticker: a timer due at %s failed", at.isoformat())
        return len(due)
