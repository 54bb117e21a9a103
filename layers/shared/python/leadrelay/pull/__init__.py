"""Pull sources: providers whose leads we fetch on a schedule instead of waiting for a webhook.

IndiaMART (CRM API v2), 99acres, MagicBricks and Housing.com offer a pull API. The `PullSources`
schedule calls `SourcePoller.poll_all()` every minute (`leadrelay.pull.poller`); for each active
source whose credentials are configured it

1. claims the source's poll with a conditional write on its poll state (`leadrelay.pull.state`),
   so two overlapping ticks or two Lambda instances never call a provider inside its rate limit;
2. asks the provider (`Puller.fetch`) for the next time window: from where the last successful
   call ended (less a small overlap) up to now, at most the provider's maximum window;
3. hands every record to capture as one synthetic request of its own (`CaptureService.
   capture_trusted`), so each is deduped on the provider's id, stored raw beside its lead, or
   quarantined with the reason: nothing is lost;
4. records the result: on success the window end moves on; on a failure it stays where it was
   (nothing is skipped) and the next call waits, longer after each consecutive failure.

A `Puller` knows one provider: whether a source is configured for it, its limits (`PullPolicy`)
and how to ask for one window. Provider secrets live in the source's `settings`; they are never
logged, and are masked (`***`) in the URL kept with each record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from leadrelay.models import Source, SourceKind

IST = ZoneInfo("Asia/Kolkata")
MASK = "***"


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


@dataclass
class Pulled:
    """What one successful call brought: each record's bytes, as capture will keep them."""

    records: list[bytes]
    content_type: str
    url: str  # credentials masked
    code: str = "200"
    message: str = ""


class PullFailure(Exception):
    """A call that brought nothing usable. `kind` decides the wait before the next call:
    `rate_limited`, `auth`, `config`, `bad_request`, `provider_error`, `unavailable`, `invalid_answer`."""

    def __init__(self, kind: str, code: str, message: str, *, url: str = "",
                 retry_after: timedelta | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.url = url
        self.retry_after = retry_after


class Puller(Protocol):
    """One provider's pull API."""

    kind: SourceKind

    def configured(self, source: Source) -> bool:
        """Does the source carry this provider's credentials? Without them it is not polled."""
        ...

    def policy(self, source: Source) -> PullPolicy: ...

    def fetch(self, source: Source, window: Window, now: datetime) -> Pulled:
        """Ask the provider for `window`; `PullFailure` when it did not answer with leads / no data."""
        ...


@dataclass
class Tally:
    """What capture did with the records of one call."""

    records: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str, count: int = 1) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, **self.outcomes}


def puller_for(kind: SourceKind) -> Puller | None:
    """The pull client for a source kind, or None when the provider has no pull API here."""
    from leadrelay.pull.housing import HousingPuller
    from leadrelay.pull.indiamart import IndiaMartPuller
    from leadrelay.pull.magicbricks import MagicBricksPuller
    from leadrelay.pull.ninety_nine_acres import NinetyNineAcresPuller

    pullers: dict[SourceKind, Puller] = {
        SourceKind.INDIAMART: IndiaMartPuller(),
        SourceKind.NINETY_NINE_ACRES: NinetyNineAcresPuller(),
        SourceKind.MAGICBRICKS: MagicBricksPuller(),
        SourceKind.HOUSING: HousingPuller(),
    }
    return pullers.get(kind)


def pull_url(source: Source, default: str) -> str:
    """The provider URL to poll: the source's `pull_url` when set (https on the provider's own hosts
    only, `sources/urls.py`), else the documented one. A URL not allowed fails the poll, uncalled."""
    from leadrelay.sources.urls import UrlNotAllowed, provider_url

    try:
        return provider_url(source, "pull_url", default)
    except UrlNotAllowed as exc:
        raise PullFailure("config", UrlNotAllowed.code, str(exc)) from exc


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
