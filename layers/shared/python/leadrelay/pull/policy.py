"""How often and how far back a pull source is asked: windows, limits, backoff, and the settings
that tune them per source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leadrelay.models import Source

IST = ZoneInfo("Asia/Kolkata")


@dataclass(frozen=True)
class Window:
    """The time range one call asks for (aware datetimes; the provider's format is its own)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class PullPolicy:
    """A provider's limits, and how we pace ourselves within them."""

    # Between two calls, whatever their result (IndiaMART: one call per 5 minutes).
    min_interval: timedelta
    # The longest window one call may ask for (IndiaMART: 7 days).
    max_window: timedelta
    # How far back the provider keeps leads (IndiaMART: 365 days).
    max_lookback: timedelta
    # Where the first poll of a source starts.
    first_lookback: timedelta
    # Each window starts this much before the last one ended: a lead the provider indexed late is
    # still seen, and a repeat is a `duplicate` (dedupe on the provider's id), never a second lead.
    overlap: timedelta
    # The least wait after the provider said "too many calls" (IndiaMART blocks a key for 15 min).
    rate_limited_wait: timedelta = timedelta(minutes=15)
    # The least wait after the provider refused the credentials: they will not heal by themselves,
    # so keep failing visibly (last result) without hammering the provider.
    auth_wait: timedelta = timedelta(hours=1)
    # The longest wait between retries after consecutive failures.
    max_backoff: timedelta = timedelta(hours=2)
    # Per call; the schedule's Lambda has 60 s for every source together.
    timeout_s: float = 20.0


# The property portals publish no limits: call at most every 10 minutes, a day at a time, never
# further back than 90 days.
PORTAL_POLICY = PullPolicy(
    min_interval=timedelta(minutes=10),
    max_window=timedelta(days=1),
    max_lookback=timedelta(days=90),
    first_lookback=timedelta(hours=24),
    overlap=timedelta(minutes=10),
)


def setting_str(source: Source, name: str) -> str | None:
    """A non-empty text setting of the source, else None."""
    value = source.settings.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def setting_number(source: Source, name: str, default: float, low: float, high: float) -> float:
    """A numeric setting, clamped to [low, high]: a typo must not make us hammer a provider."""
    value = source.settings.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        number = float(value)
    except ValueError:
        return default
    if number != number:  # NaN
        return default
    return min(max(number, low), high)


def policy_from_settings(source: Source, base: PullPolicy) -> PullPolicy:
    """`base` with the source's own pacing: `pull_interval_minutes` (never below the provider's
    floor), `pull_lookback_hours` (first run), `pull_overlap_minutes`, `pull_window_hours` (never
    above the provider's maximum), `pull_timeout_s`."""
    floor = base.min_interval.total_seconds() / 60
    interval = setting_number(source, "pull_interval_minutes", floor, floor, 24 * 60)
    most_back = base.max_lookback.total_seconds() / 3600
    lookback = setting_number(source, "pull_lookback_hours", base.first_lookback.total_seconds() / 3600, 0.1,
                              most_back)  # fmt: skip
    widest = base.max_window.total_seconds() / 3600
    window = setting_number(source, "pull_window_hours", widest, 0.1, widest)
    overlap = setting_number(source, "pull_overlap_minutes", base.overlap.total_seconds() / 60, 0, 24 * 60)
    timeout = setting_number(source, "pull_timeout_s", base.timeout_s, 1, 50)
    return PullPolicy(
        min_interval=timedelta(minutes=interval),
        max_window=timedelta(hours=window),
        max_lookback=base.max_lookback,
        first_lookback=timedelta(hours=lookback),
        # The overlap must leave each window some new time, or the poll would never move on.
        overlap=min(timedelta(minutes=overlap), timedelta(hours=window) / 2),
        rate_limited_wait=base.rate_limited_wait,
        auth_wait=base.auth_wait,
        max_backoff=base.max_backoff,
        timeout_s=timeout,
    )
