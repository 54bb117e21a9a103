"""`GET /leads/export`: any filtered list of leads (or a search) as a CSV file for a spreadsheet.

One call answers up to `limit` rows (default 1,000, at most 5,000: a Lambda answer stays under
its 6 MB limit); when more remain, the `X-Next-Cursor` header carries the cursor of the rest,
and `leadrelay export` follows it page by page into one file.

A selection of more than `definitions.EXPORTS.sync_max_rows` rows (found on the first call, the one
without a cursor), or any export the client asks to run in the background (`?async=true`, or
`Prefer: respond-async`), is answered 202 with an export id instead: the export function writes the
file to the exports bucket (`leadrelay.export_job`) and `GET /exports/{export_id}` hands out a
short-lived presigned URL once it is done.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from api_routes.common import Unprocessable, audit_read, principal, record_access
from api_routes.exports import status_body
from api_routes.leads import STATUS_PATTERN, select_leads
from leadrelay import wiring
from leadrelay.auth import Principal
from leadrelay.clock import get_clock, iso
from leadrelay.config import get_settings
from leadrelay.definitions import EXPORTS

router = Router()
logger = Logger(service="api")

NEXT_HEADER = "X-Next-Cursor"
# Lists are read from the index in pages of at most this many leads.
READ_PAGE = 200


@router.get(
    "/leads/export",
    summary="Leads as CSV (UTF-8 with BOM), with the same filters and search as GET /leads",
    description="Columns are the lead fields' own names, so the file imports back without a mapping. Cells that "
    "start with = + - @ are prefixed with ' (formula injection). `date_format=indian` writes `23-11-2026 18:05` "
    "in the organisation's time zone instead of ISO UTC. When more rows remain than `limit`, the answer carries "
    "`X-Next-Cursor`: pass it as `cursor` (and `header=false`) for the next part.",
    tags=["leads"],
    responses={
        200: {"description": "the CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}},
        202: {
            "description": "a large selection (or `async=true`): exported in the background; poll `status_url`",
            "content": {"application/json": {"examples": {"queued": {"value": {
                "export_id": "01KB2C3D4E5F6G7H8J9K0M1N2P", "status": "queued",
                "status_url": "/exports/01KB2C3D4E5F6G7H8J9K0M1N2P",
            }}}}},
        },
    },
)  # fmt: skip
def export_leads(
    status: Annotated[
        str | None,
        Query(
            pattern=STATUS_PATTERN,
            description="Only leads in this status: a pipeline stage id, or new/offered/assigned/unassigned",
        ),
    ] = None,
    source_id: Annotated[str | None, Query(max_length=64)] = None,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    team_id: Annotated[str | None, Query(max_length=64)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    received_from: Annotated[datetime | None, Query(description="received at or after (ISO time with zone)")] = None,
    received_to: Annotated[datetime | None, Query(description="received before (ISO time with zone)")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="phone, email or name prefix")] = None,
    date_format: Annotated[Literal["iso", "indian"], Query(description="iso (UTC) or indian (dd-mm-yyyy)")] = "iso",
    header: Annotated[bool, Query(description="false for a part after the first (no BOM and header)")] = True,
    cursor: Annotated[str | None, Query(max_length=2048, description="`X-Next-Cursor` of the previous part")] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="rows in this answer")] = 1000,
    run_async: Annotated[
        bool, Query(alias="async", description="true: always export in the background (202), whatever the size")
    ] = False,
) -> Response[str]:
    from leadrelay import export

    who = principal(router)
    timezone = get_settings().org_timezone
    filters = {"status": status, "source_id": source_id, "agent_id": agent_id, "team_id": team_id, "tag": tag,
               "received_from": received_from, "received_to": received_to, "q": q}  # fmt: skip
    first_call = cursor is None
    if run_async or _prefers_async():
        if not first_call:
            raise Unprocessable("invalid_request", "a background export starts from the beginning: drop `cursor`")
        select_leads(who, cursor=None, limit=1, **filters)  # a bad filter or scope is a 4xx now, not a failed job
        return _in_background(who, filters, date_format)
    body = export.header() if header else ""
    rows = 0
    shown: list[str] = []
    while rows < limit:
        page, cursor = select_leads(who, cursor=cursor, limit=min(READ_PAGE, limit - rows), **filters)
        body += export.rows(page, date_format, timezone)
        shown += [lead.lead_id for lead in page]
        rows += len(page)
        if cursor is None:
            break
        if len(body) * 3 >= EXPORTS.sync_max_bytes and len(body.encode("utf-8")) >= EXPORTS.sync_max_bytes:
            if first_call:  # long rows: more than one answer may carry, so the background it is
                return _in_background(who, filters, date_format)
            break  # the rest follows X-Next-Cursor
    if first_call and _too_large(who, filters, rows, cursor):
        return _in_background(who, filters, date_format)
    record_access(who, "lead export", shown)
    audit_read(who, "lead export", count=rows)
    stamp = get_clock().now().strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="leads-{stamp}.csv"', "X-Row-Count": str(rows)}
    if cursor:
        headers[NEXT_HEADER] = cursor
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=body, headers=headers)


def _prefers_async() -> bool:
    """RFC 7240: `Prefer: respond-async` asks for a 202 and a status to poll."""
    headers = router.current_event.headers or {}
    prefer = next((str(v) for k, v in headers.items() if k.lower() == "prefer"), "")
    return any(part.strip().lower() == "respond-async" for part in prefer.split(","))


def _too_large(who: Principal, filters: dict[str, Any], rows: int, cursor: str | None) -> bool:
    """Whether the whole selection holds more than `sync_max_rows` rows, `rows` of them read already."""
    room = EXPORTS.sync_max_rows - rows
    return room < 0 or (cursor is not None and _larger_than(who, filters, cursor, room))


def _larger_than(who: Principal, filters: dict[str, Any], cursor: str, room: int) -> bool:
    """Whether more than `room` further rows follow `cursor` (reads at most `room` + 1 of them)."""
    counted = 0
    while True:
        page, next_cursor = select_leads(who, cursor=cursor, limit=min(READ_PAGE, room - counted + 1), **filters)
        counted += len(page)
        if counted > room:
            return True
        if next_cursor is None:
            return False
        cursor = next_cursor


def _in_background(who: Principal, filters: dict[str, Any], date_format: str) -> Response[str]:
    """Queue the export job and start its runner: 202 with where to poll."""
    from leadrelay.export_job import new_job
    from leadrelay.ids import new_id

    now = get_clock().now()
    query: dict[str, Any] = {name: _plain(value) for name, value in filters.items()}
    query["date_format"] = date_format
    export_id = new_id(now)
    job = new_job(export_id, who, query, now, timedelta(days=EXPORTS.retention_days), now.strftime("%Y%m%d-%H%M"))
    wiring.export_records().create(job)
    audit_read(who, "lead export (background) requested")
    try:
        wiring.launch_export(export_id)
    except Exception:  # the job is queued: the first status read finds it stalled and launches it again
        logger.exception("could not launch the export runner", extra={"export_id": export_id})
    body = status_body(export_id)
    return Response(status_code=202, content_type="application/json", body=json.dumps(body),
                    headers={"Location": body["status_url"], "Retry-After": "2"})  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if hasattr(value, "value"):
        return value.value
    return value
