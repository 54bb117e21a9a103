"""The pull schedule's work: claim each due pull source, fetch its next window, capture every record.

See `leadrelay.pull` for the whole picture. The rules that matter, each with a test:
- at most one call per source inside the provider's minimum interval, however many pollers run
  (the claim is a conditional write; `PollStateStore.claim`);
- the window never moves past data that was not fetched and stored: a failed call, or a failure
  while storing its records, leaves `window_end` where it was;
- a long gap is caught up one window (at most the provider's maximum) per allowed call;
- after a failure the next call waits: the minimum interval doubled per consecutive failure (up
  to `max_backoff`), at least 15 minutes after "too many calls", at least an hour after refused
  credentials (they will not heal by themselves; the last result says so until someone fixes them).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from leadrelay.clock import Clock, iso
from leadrelay.models import Source
from leadrelay.pull import Puller, PullFailure, PullPolicy, Tally, Window, puller_for
from leadrelay.pull.state import PollState, PollStateStore

if TYPE_CHECKING:
    from leadrelay.capture import CaptureResult, CaptureService
    from leadrelay.store.org import OrgRepository

logger = logging.getLogger(__name__)

# The provider's own clock may run a little ahead of ours: stay this far inside its 365 days.
LOOKBACK_MARGIN = timedelta(minutes=10)
# A claim holds the provider at least this long, so a poll still storing records (the Lambda's
# 60 s) is never overtaken by the next tick's poll of the same source.
MIN_HOLD = timedelta(minutes=2)


def next_window(window_end: datetime | None, now: datetime, policy: PullPolicy) -> Window:
    """The window the next call asks for: from the last successful end (less the overlap), or the
    first lookback on a first run; never older than the provider keeps; at most `max_window` long;
    never past now."""
    oldest = now - policy.max_lookback + LOOKBACK_MARGIN
    start = window_end - policy.overlap if window_end is not None else now - policy.first_lookback
    start = min(max(start, oldest), now)
    return Window(start, min(start + policy.max_window, now))


def retry_wait(failures: int, failure: PullFailure, policy: PullPolicy) -> timedelta:
    """How long to wait after the `failures`-th consecutive failed call."""
    wait = min(policy.min_interval * (2 ** min(max(failures - 1, 0), 16)), policy.max_backoff)
    if failure.kind == "rate_limited":
        wait = max(wait, policy.rate_limited_wait)
    elif failure.kind in ("auth", "config"):  # a refused key or a pull_url not allowed: fixed by a person
        wait = max(wait, policy.auth_wait)
    if failure.retry_after is not None:
        wait = max(wait, failure.retry_after)
    return max(wait, policy.min_interval)


# Time kept back, beyond a call's own timeout, for storing its records and recording the result.
DEADLINE_MARGIN_S = 10.0


@dataclass
class PollOutcome:
    """What one source's poll did: `polled`, `failed`, `not_due`, `skipped` (not configured) or
    `deferred` (too little time left in this run: the next tick polls it)."""

    source_id: str
    status: str
    code: str = ""
    message: str = ""
    window: Window | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    next_call_at: datetime | None = None


def tally(result: CaptureResult, counts: Tally) -> None:
    """Count what capture did with one record from its answer (an adapter's answer shape)."""
    body = result.body
    if not isinstance(body, dict):
        counts.add("created" if result.headers.get("X-Lead-Id") else "other")
        return
    for lead in body.get("leads") or []:
        counts.add(str(lead.get("outcome", "stored")))
    if body.get("outcome"):
        counts.add(str(body["outcome"]))
    quarantined = body.get("quarantined")
    if isinstance(quarantined, list):
        counts.add("quarantined", len(quarantined))
    elif body.get("error") or body.get("status") == "quarantined":
        counts.add("quarantined")
    if body.get("pending_fetch"):
        counts.add("pending_fetch", len(body["pending_fetch"]))


class SourcePoller:
    """Polls the organisation's pull sources (the `PullSources` schedule calls `poll_all`)."""

    def __init__(self, *, org: OrgRepository, capture: Callable[[], CaptureService], clock: Clock,
                 states: PollStateStore | None = None) -> None:  # fmt: skip
        self.org = org
        # A factory: the capture path (phone parsing, adapters) loads only when a record arrives.
        self._capture_factory = capture
        self._capture_service: CaptureService | None = None
        self.clock = clock
        self.states = states or PollStateStore(org.table)

    @property
    def capture(self) -> CaptureService:
        if self._capture_service is None:
            self._capture_service = self._capture_factory()
        return self._capture_service

    def poll_all(self, remaining_s: Callable[[], float] | None = None) -> list[PollOutcome]:
        """One poll of every active source whose provider credentials are configured. A source that
        fails (even with a bug) is recorded and logged; the others are still polled.

        `remaining_s` (the Lambda's time left) stops the round before a source whose call could
        outlive the function; those sources are polled on the next tick (`deferred`)."""
        outcomes = []
        for source in self.org.list_sources():
            puller = puller_for(source.kind)
            if not source.active or puller is None or not puller.configured(source):
                continue  # no credentials: a push-only source, nothing to say
            if remaining_s is not None and remaining_s() < puller.policy(source).timeout_s + DEADLINE_MARGIN_S:
                outcomes.append(PollOutcome(source.source_id, "deferred", message="too little time left in this run"))
                continue
            try:
                outcomes.append(self.poll(source, puller))
            except Exception:
                logger.exception("poll of source %s failed", source.source_id)
                outcomes.append(PollOutcome(source.source_id, "failed", "internal_error", "see the logs"))
        return outcomes

    def poll(self, source: Source, puller: Puller | None = None) -> PollOutcome:
        """Poll one source if it is due: claim, fetch one window, capture each record, record the result."""
        puller = puller or puller_for(source.kind)
        if puller is None or not puller.configured(source):
            return PollOutcome(source.source_id, "skipped")
        now = self.clock.now()
        state = self.states.get(source.source_id)
        if state is not None and not state.due(now):  # a cheap read first: most ticks find nothing due
            return PollOutcome(source.source_id, "not_due", next_call_at=state.next_call_at)
        policy = puller.policy(source)
        claim_id = str(uuid.uuid4())
        claimed = self.states.claim(source.source_id, source.kind.value, claim_id, now, max(policy.min_interval,
                                                                                          MIN_HOLD))  # fmt: skip
        if claimed is None:
            return PollOutcome(source.source_id, "not_due")
        window = next_window(claimed.window_end, now, policy)
        try:
            pulled = puller.fetch(source, window, now)
        except PullFailure as failure:
            return self._failed(source, claimed, claim_id, policy, window, now, failure, Tally())
        counts = Tally(records=len(pulled.records))
        try:
            for body in pulled.records:
                tally(self._capture(source, pulled.url, pulled.content_type, body), counts)
        except Exception as exc:  # storage failed mid-way: what was stored dedupes on the next try
            logger.exception("storing pulled records of source %s failed", source.source_id)
            stored = PullFailure("unavailable", "store_failed", f"storing the records failed ({type(exc).__name__})",
                                 url=pulled.url)  # fmt: skip
            return self._failed(source, claimed, claim_id, policy, window, now, stored, counts)
        next_call = now + policy.min_interval
        result = self._result(True, pulled.code, pulled.message, now, window, pulled.url, counts)
        if not self.states.settle(source.source_id, claim_id, next_call=next_call, failures=0, result=result,
                                  window_end=window.end, success=True):  # fmt: skip
            logger.warning("poll of source %s outlived its claim; its result was not recorded", source.source_id)
        logger.info("pulled", extra={"source_id": source.source_id, "code": pulled.code, **counts.as_dict()})
        return PollOutcome(source.source_id, "polled", pulled.code, pulled.message, window, counts.as_dict(),
                           next_call)  # fmt: skip

    def _capture(self, source: Source, url: str, content_type: str, body: bytes) -> CaptureResult:
        """One record as one synthetic request: deduped, stored raw beside its lead, or quarantined."""
        from leadrelay.capture import WebhookRequest

        request = WebhookRequest(
            source_id=source.source_id, method="PULL", path=url, headers={"content-type": content_type},
            query={}, body=body, request_id=str(uuid.uuid4()),
        )  # fmt: skip
        return self.capture.capture_trusted(source, request)

    def _failed(self, source: Source, claimed: PollState, claim_id: str, policy: PullPolicy, window: Window,
                now: datetime, failure: PullFailure, counts: Tally) -> PollOutcome:  # fmt: skip
        failures = claimed.failures + 1
        next_call = now + retry_wait(failures, failure, policy)
        result = self._result(False, failure.code, failure.message, now, window, failure.url, counts)
        result["failure"] = failure.kind
        # A failed first call pins where polling starts: a retry 15 minutes later must not begin its
        # lookback 15 minutes later and skip those leads. Later failures leave the window alone.
        pinned = window.start if claimed.window_end is None else None
        self.states.settle(source.source_id, claim_id, next_call=next_call, failures=failures, result=result,
                           window_end=pinned)  # fmt: skip
        logger.warning("pull failed", extra={"source_id": source.source_id, "code": failure.code,
                                             "failure": failure.kind, "failures": failures,
                                             "next_call_at": iso(next_call)})  # fmt: skip
        return PollOutcome(source.source_id, "failed", failure.code, failure.message, window, counts.as_dict(),
                           next_call)  # fmt: skip

    @staticmethod
    def _result(ok: bool, code: str, message: str, now: datetime, window: Window, url: str,
                counts: Tally) -> dict[str, Any]:  # fmt: skip
        return {"ok": ok, "code": code, "message": message, "at": iso(now), "window_start": iso(window.start),
                "window_end": iso(window.end), "url": url, **counts.as_dict()}  # fmt: skip
