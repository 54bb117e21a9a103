"""Replaying a quarantined request through capture again, after a mapping or secret fix."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from leadrelay.capture.parsing import raw_copy
from leadrelay.errors import Refused
from leadrelay.models.webhook import KEY_PARAM, CaptureResult, WebhookRequest

if TYPE_CHECKING:
    from leadrelay.capture.service import CaptureService


class ReplayError(Refused):
    """A quarantined request that cannot be replayed; `status` and `code` say why."""


def replay(service: CaptureService, request_id: str) -> tuple[CaptureResult, dict[str, Any]]:
    """Run a quarantined request through capture again (after a mapping or secret fix).

    The source key is not checked again (it was right the first time, and an admin asks);
    the provider's verification is. Idempotent: a request already replayed into leads answers
    with the same leads, and the leads' dedupe keys make a second run a duplicate anyway.
    Returns the capture answer and the quarantined item as it now stands.
    """
    store = service.quarantine_store
    item = store.get(request_id)
    if item is None:
        raise ReplayError("not_found", f"there is no quarantined request {request_id!r}", 404)
    if item.get("replayed_lead_ids"):
        ids = list(item["replayed_lead_ids"])
        return CaptureResult(200, {"lead_ids": ids, "outcome": "already_replayed"}), item
    if item.get("body_truncated"):
        raise ReplayError("body_truncated", "the kept body was truncated, so it cannot be replayed")
    source = service.org.get_source(str(item["source_id"]))
    if source is None:
        raise ReplayError("unknown_source", f"source {item['source_id']!r} no longer exists")
    body_text = str(item.get("body") or "")
    body = base64.b64decode(body_text) if item.get("body_base64") else body_text.encode("utf-8")
    query = {k: [str(v)] for k, v in (item.get("query") or {}).items() if k != KEY_PARAM}
    request = WebhookRequest(
        source_id=source.source_id, method=str(item.get("method") or "POST"), path=str(item.get("path") or ""),
        headers={str(k): str(v) for k, v in (item.get("headers") or {}).items()}, query=query, body=body,
        request_id=request_id,
    )  # fmt: skip
    raw = raw_copy(request, service.clock.now())
    raw.headers, raw.query = dict(request.headers), {k: ",".join(v) for k, v in request.query.items()}
    # A replay that fails again rewrites the quarantined copy: it keeps its place in the list.
    raw.received_at = _received_at(item, raw.received_at)
    result = service.process(source, request, raw)
    lead_ids = _lead_ids(result)
    answer = result.body if isinstance(result.body, dict) else {}
    now = service.clock.now()
    if answer.get("error") or answer.get("quarantined") or (not lead_ids and not answer.get("pending_fetch")):
        store.record_failed_replay(request_id, item, str(answer.get("error") or "quarantined"), now)
    elif lead_ids:
        store.mark_replayed(request_id, "replayed", lead_ids, now)
    else:  # Meta's lead announced again, its details still to fetch: parked, not lost
        store.mark_replayed(request_id, "pending_fetch", [], now)
    return result, store.get(request_id) or item


def _received_at(item: dict[str, Any], default: Any) -> Any:
    from leadrelay.clock import parse_iso

    try:
        return parse_iso(str(item["received_at"]))
    except (KeyError, ValueError):
        return default


def _lead_ids(result: CaptureResult) -> list[str]:
    header = result.headers.get("X-Lead-Id", "")
    return [i for i in header.split(",") if i]
