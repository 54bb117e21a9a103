"""Which stream records are domain events, and the EventBridge entry each one becomes.

Pure: no I/O. The events function calls `entry_for` on every record the stream filter
(`definitions.EVENT_FILTER_PATTERNS`) lets through; the local stack runs the same function.
"""

from __future__ import annotations

import json
from typing import Any

from leadrelay import definitions

# Event details carry ids and facts, never the person: these keys are dropped wherever they appear
# in a timeline entry's data (a touchpoint keeps the person's message, a notice their number).
PII_KEYS = frozenset(
    {
        "name", "first_name", "last_name", "phone", "alternate_phone", "phones", "email", "emails",
        "message", "note", "body", "text", "address", "fields", "whatsapp", "wa_id", "profile",
    }
)  # fmt: skip
# PutEvents takes at most 256 KB per entry; a detail stays well below.
MAX_DETAIL_BYTES = 64 * 1024


class NotAnEvent(ValueError):
    """A record the filter let through that carries no event (it should not happen)."""


def _without_pii(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _without_pii(v) for k, v in value.items() if str(k).lower() not in PII_KEYS}
    if isinstance(value, list):
        return [_without_pii(v) for v in value]
    return value


def detail_types(kind: str) -> tuple[str, ...]:
    """The detail-types an event of this timeline kind is published under (usually just `kind`)."""
    return definitions.EVENT_DETAIL_TYPES.get(kind, (kind,))


def event_detail(item: dict[str, Any]) -> tuple[tuple[str, ...], str, dict[str, Any]]:
    """(detail-types, time, detail) for a new item of the leads table (plain Python values).

    A timeline entry (`sk` starting `TL#`) gives `{event_id, lead_id, kind, at, actor, data}`;
    a quarantined request gives `{event_id: request id, request_id, source_id, error, at}`.
    """
    pk, sk = str(item.get("pk", "")), str(item.get("sk", ""))
    if sk.startswith("TL#"):
        kind = str(item.get("kind") or "")
        if not kind or not item.get("event_id"):
            raise NotAnEvent(f"timeline item {pk}/{sk} has no kind or event id")
        at = str(item.get("at") or "")
        detail = {
            "event_id": str(item["event_id"]),
            "lead_id": str(item.get("lead_id") or pk.removeprefix("LEAD#")),
            "kind": kind,
            "at": at,
            "actor": str(item.get("actor") or "system"),
            "data": _without_pii(item.get("data") or {}),
        }
        return detail_types(kind), at, detail
    if pk.startswith("QUARANTINE#"):
        request_id = str(item.get("request_id") or pk.removeprefix("QUARANTINE#"))
        at = str(item.get("received_at") or "")
        detail = {
            "event_id": request_id,
            "request_id": request_id,
            "source_id": item.get("source_id"),
            "error": item.get("error"),
            "at": at,
        }
        return (definitions.QUARANTINED_DETAIL_TYPE,), at, detail
    raise NotAnEvent(f"item {pk}/{sk} is not a domain event")


def entries_for(item: dict[str, Any], bus_name: str) -> list[dict[str, Any]]:
    """The PutEvents entries for a new item of the leads table: one per detail-type.

    `detail.event_id` is unique per entry and the same on every redelivery: the timeline entry's id
    for its first detail-type, `<id>#<detail-type>` for the others (so a consumer of both types that
    drops duplicates by id keeps both). `detail.timeline_event_id` is always the entry's id.
    """
    types, at, detail = event_detail(item)
    base_id = str(detail["event_id"])
    entries = []
    for position, name in enumerate(types):
        one = {**detail, "timeline_event_id": base_id, "event_id": base_id if position == 0 else f"{base_id}#{name}"}
        body = _dumps(one)
        if len(body.encode("utf-8")) > MAX_DETAIL_BYTES:
            # Keep the event (ids and kind) rather than fail its delivery for ever.
            body = _dumps({**one, "data": {"truncated": True}})
        entry: dict[str, Any] = {
            "EventBusName": bus_name,
            "Source": definitions.EVENT_SOURCE,
            "DetailType": name,
            "Detail": body,
        }
        if at:
            entry["Time"] = at
        entries.append(entry)
    return entries


def _dumps(detail: dict[str, Any]) -> str:
    return json.dumps(detail, default=str, separators=(",", ":"), sort_keys=True)
