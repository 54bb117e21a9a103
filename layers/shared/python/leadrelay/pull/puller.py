"""What a provider's puller is and returns: the records of one window, failures, the tally."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from leadrelay.models import Source, SourceKind
from leadrelay.pull.policy import PullPolicy, Window

MASK = "***"


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
