"""Pending fetches: leads a provider announced by id only (Meta), fetched again when due through
their adapter's `fetch_pending` (the provider's API is the adapter's business, not capture's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadrelay.capture.identity import enrich, store_lead
from leadrelay.models.webhook import WebhookRequest
from leadrelay.sources import FetchNotReady, PayloadError, adapter_for
from leadrelay.store.raw import RawRequest

if TYPE_CHECKING:
    from leadrelay.capture.service import CaptureService


def retry_pending_fetches(service: CaptureService, now: Any = None, limit: int = 25) -> dict[str, int]:
    """Fetch parked leads whose retry is due (the followup schedule calls this every minute)."""
    store = service.quarantine_store
    now = now or service.clock.now()
    counts = {"fetched": 0, "still_pending": 0, "refused": 0}
    for item in store.due(now, limit):
        source = service.org.get_source(str(item.get("source_id")))
        attempts = int(item.get("attempts") or 1) + 1
        if source is None:
            store.reschedule(item["pk"], attempts, "the source no longer exists", now)
            counts["still_pending"] += 1
            continue
        notice = dict(item.get("notice") or {})
        adapter = adapter_for(source.kind)
        try:
            if adapter is None:
                raise PayloadError("unsupported_source", f"source kind {source.kind.value!r} has no adapter")
            lead_input = adapter.fetch_pending(str(item["external_id"]), notice, source)
        except FetchNotReady as exc:
            store.reschedule(item["pk"], attempts, str(exc), now)
            counts["still_pending"] += 1
            continue
        except PayloadError as exc:
            store.reschedule(item["pk"], attempts, f"{exc.code}: {exc}", now)
            counts["refused"] += 1
            continue
        raw = _raw_from_item(item, now)
        request = WebhookRequest(
            source_id=source.source_id, method=raw.method, path=raw.path, headers=raw.headers, query={},
            body=raw.body.encode("utf-8"), request_id=raw.request_id,
        )  # fmt: skip
        outcome = store_lead(service.leads, service.org, service.settings, source, enrich(lead_input), raw, request, 0)
        store.resolve(item["pk"], outcome.lead_id, outcome.outcome, now)
        counts["fetched"] += 1
    return counts


def _raw_from_item(item: dict[str, Any], now: Any) -> RawRequest:
    """The raw notification kept with a pending fetch, to store beside the lead it became."""
    return RawRequest(
        request_id=str(item.get("request_id") or item["pk"]),
        source_id=str(item.get("source_id")),
        received_at=now,
        method=str(item.get("method") or "POST"),
        path=str(item.get("path") or ""),
        headers={str(k): str(v) for k, v in (item.get("headers") or {}).items()},
        query={str(k): str(v) for k, v in (item.get("query") or {}).items()},
        body=str(item.get("body") or ""),
        body_base64=bool(item.get("body_base64")),
    )
