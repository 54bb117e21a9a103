"""The glue between the leads stream and the dashboard store (the only part here that does I/O,
through the store it is handed): what a stream record means for the counters and the feed."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from leadrelay.dashboard_counts import Definitions
from leadrelay.store.dashboard import FEED_SKIPPED_KINDS, DashboardStore
from leadrelay.store.dynamo import from_item

# Timeline data worth showing on a console; anything else (notes, names, numbers) stays on the lead.
FEED_DATA_KEYS = (
    "status", "from", "to", "from_status", "to_status", "previous_status", "outcome", "type", "direction", "duration_s",
    "agent_id", "previous_agent_id", "from_agent_id", "rule_id", "reason", "due_at",
)  # fmt: skip


def handle_record(record: Mapping[str, Any], store: DashboardStore, definitions: Callable[[], Definitions]) -> str:
    """Apply one stream record (Lambda's shape): a lead's or follow-up's change moves the counters,
    a new timeline entry joins the feed. Returns what happened, for logs and metrics."""
    stream = record.get("dynamodb") or {}
    keys = from_item(stream.get("Keys") or {})
    new = from_item(stream["NewImage"]) if stream.get("NewImage") else None
    old = from_item(stream["OldImage"]) if stream.get("OldImage") else None
    sort_key = str(keys.get("sk", ""))
    sequence = str(stream.get("SequenceNumber") or "") or None
    if sort_key == "LEAD":
        lead_id = str((new or old or {}).get("lead_id") or str(keys.get("pk", "")).removeprefix("LEAD#"))
        return store.apply("lead", lead_id, new, definitions(), sequence).outcome
    image = new or old or {}
    if image.get("followup_id"):
        return store.apply("followup", str(image["followup_id"]), new, definitions(), sequence).outcome
    if sort_key.startswith("TL#") and record.get("eventName") == "INSERT" and new is not None:
        if str(new.get("kind")) in FEED_SKIPPED_KINDS:
            return "skipped"
        lead_id = str(new.get("lead_id", ""))
        scope = store.lead_scope(lead_id)
        entry = feed_entry(new, scope)
        store.add_to_feed(entry, scope.get("assigned_team_id"), scope.get("assigned_agent_id"))
        return "fed"
    return "ignored"


def feed_entry(event: Mapping[str, Any], lead: Mapping[str, Any]) -> dict[str, Any]:
    """A timeline event as the feed carries it: small, no personal data, self-describing."""
    data = event.get("data") or {}
    return {
        "id": str(event["event_id"]),
        "at": str(event["at"]),
        "kind": str(event.get("kind", "")),
        "lead_id": str(event.get("lead_id", "")),
        "actor": str(event.get("actor", "system")),
        "summary": str(event.get("summary", ""))[:300],
        "source_id": lead.get("source_id"),
        "agent_id": lead.get("assigned_agent_id"),
        "team_id": lead.get("assigned_team_id"),
        "status": lead.get("status"),
        "data": {key: data[key] for key in FEED_DATA_KEYS if isinstance(data, Mapping) and data.get(key) is not None},
    }


class CachedDefinitions:
    """The organisation's definitions, read again at most once a minute (a warm container keeps them)."""

    def __init__(self, load: Callable[[], Definitions], ttl_s: float = 60.0) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._value: Definitions | None = None
        self._at = 0.0

    def __call__(self) -> Definitions:
        if self._value is None or time.monotonic() - self._at > self._ttl_s:
            self._value, self._at = self._load(), time.monotonic()
        return self._value
