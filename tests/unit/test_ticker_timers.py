"""The local ticker fires one-time timers (offer expiry) at their own second on the stack's clock,
between the minute ticks, as EventBridge Scheduler fires `at(...)` schedules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadrelay import definitions
from leadrelay.clock import OffsetClock
from leadrelay.local.offer_timers import fires_at
from leadrelay.local.ticker import Ticker


class Timers:
    """A timer source: each timer fires once, when asked at or after its time."""

    def __init__(self, clock: OffsetClock, *offsets_s: float) -> None:
        self.clock = clock
        start = clock.now()
        self.pending = [start + timedelta(seconds=s) for s in offsets_s]
        self.fired: list[tuple[datetime, datetime]] = []  # (due, clock when fired)

    def due(self, until: datetime) -> list[tuple[datetime, Any]]:
        ready = [at for at in self.pending if at <= until]
        self.pending = [at for at in self.pending if at > until]
        return [(at, lambda at=at: self.fired.append((at, self.clock.now()))) for at in ready]


def test_an_advance_fires_each_timer_at_its_own_second_between_the_ticks() -> None:
    # Given timers 20 s and 95 s from now, and the minute tick
    clock = OffsetClock()
    timers = Timers(clock, 20, 95)
    expected = list(timers.pending)
    ticks: list[datetime] = []
    ticker = Ticker(clock=clock, invoke=lambda schedule, event: ticks.append(clock.now()),
                    schedules=definitions.SCHEDULES[:1], timers=timers.due)  # fmt: skip
    # When the clock moves three minutes
    ticker.advance(timedelta(minutes=3))
    # Then each timer fired once, with the clock at its time (not at a minute boundary)
    assert [due for due, _ in timers.fired] == expected
    assert all(timedelta(0) <= when - due < timedelta(seconds=1) for due, when in timers.fired)
    # And the ticks and timers ran in time order
    assert ticks and timers.fired[0][1] < ticks[-1]


def test_the_background_check_fires_a_timer_once_when_its_time_has_come() -> None:
    clock = OffsetClock()
    timers = Timers(clock, 20)
    ticker = Ticker(clock=clock, invoke=lambda schedule, event: None, schedules=(), timers=timers.due)
    ticker.fire_due()
    assert timers.fired == []
    clock.advance(timedelta(seconds=20))
    ticker.fire_due()
    ticker.fire_due()
    assert len(timers.fired) == 1


def test_an_at_expression_is_read_in_utc_and_others_are_not_timers() -> None:
    assert fires_at("at(2026-11-23T06:30:21)") == datetime.fromisoformat("2026-11-23T06:30:21+00:00")
    assert fires_at("rate(1 minute)") is None
