"""Quarantine endpoints (admin): the webhook requests that could not become leads, kept raw with
the reason, and a replay that runs one through capture again once its mapping or secret is fixed."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from api_routes.common import BadRequest, _json, api_error, audit_read, principal
from leadrelay import wiring
from leadrelay.auth import Role

router = Router()

RequestId = Annotated[str, Path(min_length=1, max_length=128, description="The quarantined request's id")]


def quarantine_view(item: dict[str, Any]) -> dict[str, Any]:
    """A quarantined request as the API shows it: the reason, and the raw request (secrets were
    masked when it was kept)."""
    return _json(
        {
            "request_id": item.get("request_id"),
            "source_id": item.get("source_id"),
            "received_at": item.get("received_at"),  # stored as ISO-8601 text
            "error": item.get("error"),
            "reason": item.get("reason"),
            "method": item.get("method"),
            "path": item.get("path"),
            "headers": item.get("headers") or {},
            "query": item.get("query") or {},
            "body": item.get("body"),
            "body_base64": bool(item.get("body_base64")),
            "body_truncated": bool(item.get("body_truncated")),
            "replayed_at": item.get("replayed_at"),
            "replay_outcome": item.get("replay_outcome"),
            "replayed_lead_ids": item.get("replayed_lead_ids") or [],
        }
    )


@router.get("/quarantine", summary="Webhook requests kept in quarantine, newest first (admin)", tags=["sources"])
def list_quarantine(
    cursor: Annotated[str | None, Query(max_length=2048, description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN)
    try:
        items, next_cursor = wiring.quarantine_store().page(cursor, limit)
    except ValueError as exc:
        raise BadRequest("invalid_cursor", str(exc)) from exc
    audit_read(who, "quarantine list", count=len(items))
    return {"items": [quarantine_view(item) for item in items], "next": next_cursor}


@router.post(
    "/quarantine/<request_id>/replay",
    summary="Run a quarantined request through capture again (admin; idempotent)",
    tags=["sources"],
)
def replay(request_id: RequestId) -> Response[dict[str, Any]]:
    who = principal(router)
    who.require(Role.ADMIN)
    from leadrelay.capture import ReplayError

    try:
        result, item = wiring.capture_service().replay(request_id)
    except ReplayError as exc:
        raise api_error(exc) from exc
    audit_read(who, "quarantine replay")
    lead_ids = list(item.get("replayed_lead_ids") or [])
    answer = {
        "request_id": request_id,
        "replayed": bool(lead_ids),
        "lead_ids": lead_ids,
        "capture": {"status": result.status, "body": result.body},
        "quarantine": quarantine_view(item),
    }
    # 200 when the request became leads; otherwise the capture's own refusal status (still kept).
    status = 200 if lead_ids else (result.status if result.status >= 400 else 422)
    return Response(status_code=status, content_type="application/json", body=_json(answer))
