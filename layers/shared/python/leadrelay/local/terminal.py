"""What `leadrelay local` prints while it runs: one line per HTTP request, and a line for a
schedule only when it did something. Handler logs below WARNING and CloudWatch metrics stay out
of the terminal (set POWERTOOLS_LOG_LEVEL=INFO or POWERTOOLS_METRICS_DISABLED=false to see them).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from datetime import UTC
from typing import Any, TextIO

from leadrelay.clock import Clock
from leadrelay.local.gateway import RequestLog

# Keys of a tick's answer that report a state rather than work done (at any depth).
_REPORT_ONLY = frozenset({"at", "task", "event_time", "unassigned", "unassigned_waiting"})
_NOTHING: tuple[Any, ...] = (None, 0, "", [], {})


def quiet_environment() -> None:
    """Defaults for the handlers' Powertools, before they are imported; the caller's values win."""
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # With metrics off, Powertools still warns on every call of a handler that added none.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("botocore", "urllib3", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)


def request_line(entry: RequestLog, clock: Clock) -> str:
    """`12:50:57Z POST /hooks/website 202 ingest 41 ms` (query strings left out: keys live there)."""
    path = entry.path.split("?", 1)[0]
    at = clock.now().astimezone(UTC).strftime("%H:%M:%SZ")
    via = f" {entry.function}" if entry.function else ""
    return f"{at} {entry.method} {path} {entry.status}{via} {entry.duration_s * 1000:.0f} ms"


def work_done(result: Any) -> dict[str, Any]:
    """What a schedule's answer says it did: every non-empty, non-zero entry but the reports, at
    any depth (`{"work": {"followups_due": 0}}` did nothing)."""
    if not isinstance(result, dict):
        return {}
    done: dict[str, Any] = {}
    for key, value in result.items():
        if key in _REPORT_ONLY:
            continue
        if isinstance(value, dict):
            value = work_done(value)
        if isinstance(value, bool) or value not in _NOTHING:
            done[key] = value
    return done


def schedule_line(schedule: Any, event: dict[str, Any], result: Any) -> str | None:
    """A line for a tick that did something (fetched a pending lead, pulled a source…), else None."""
    done = work_done(result)
    if not done:
        return None
    name = getattr(schedule, "name", str(schedule))
    at = str(event.get("time", ""))[11:19]
    return f"{at}Z schedule {name}: {json.dumps(done, default=str, separators=(', ', ': '))}"


class Terminal:
    """Prints request and schedule lines to `out` as the stack reports them."""

    def __init__(self, clock: Clock, out: TextIO = sys.stdout) -> None:
        self.clock = clock
        self.out = out

    def on_request(self, entry: RequestLog) -> None:
        print(request_line(entry, self.clock), file=self.out, flush=True)

    def on_tick(self, schedule: Any, event: dict[str, Any], result: Any) -> None:
        line = schedule_line(schedule, event, result)
        if line is not None:
            print(line, file=self.out, flush=True)
