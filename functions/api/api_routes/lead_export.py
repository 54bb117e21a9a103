"""`GET /leads/export`: any filtered list of leads (or a search) as a CSV file for a spreadsheet.

One call answers up to `limit` rows (default 1,000, at most 5,000: a Lambda answer stays under
its 6 MB limit); when more remain, the `X-Next-Cursor` header carries the cursor of the rest,
and `leadrelay export` follows it page by page into one file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from api_routes.common import audit_read, principal, record_access
from api_routes.leads import select_leads
from leadrelay.clock import get_clock
from leadrelay.config import get_settings
from leadrelay.models import LeadStatus

router = Router()

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
    responses={200: {"description": "the CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_leads(
    status: Annotated[LeadStatus | None, Query(description="Only leads in this status")] = None,
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
) -> Response[str]:
    from leadrelay import export

    who = principal(router)
    timezone = get_settings().org_timezone
    body = export.header() if header else ""
    rows = 0
    while rows < limit:
        page, cursor = select_leads(
            who, status=status, source_id=source_id, agent_id=agent_id, cursor=cursor, q=q, team_id=team_id, tag=tag,
            received_from=received_from, received_to=received_to, limit=min(READ_PAGE, limit - rows),
        )  # fmt: skip
        body += export.rows(page, date_format, timezone)
        record_access(who, "lead export", [lead.lead_id for lead in page])
        rows += len(page)
        if cursor is None:
            break
    audit_read(who, "lead export", count=rows)
    stamp = get_clock().now().strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="leads-{stamp}.csv"', "X-Row-Count": str(rows)}
    if cursor:
        headers[NEXT_HEADER] = cursor
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=body, headers=headers)
