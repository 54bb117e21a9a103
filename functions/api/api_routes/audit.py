"""The access log: who read which leads' personal data (admin: everyone; manager: own team).

Routes that show lead data call `record_access(who, what, lead_ids)` (also importable from here);
the gate writes the request's reads in one call once the answer is ready.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from api_routes.common import BadRequest, principal, record_access
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock, iso, parse_iso
from leadrelay.models.access import MAX_DAYS

router = Router()

__all__ = ["record_access", "router"]


@router.get(
    "/audit/access",
    summary="Who read which leads, newest first (admin; manager: reads by people of their team)",
    tags=["audit"],
)
def access_log(
    lead_id: Annotated[str | None, Query(max_length=64, description="only reads that showed this lead")] = None,
    user_id: Annotated[str | None, Query(max_length=64, description="only reads by this person")] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="ISO; default 7 days back")] = None,
    to: Annotated[str | None, Query(max_length=40, description="ISO, exclusive; default now")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    try:
        until = parse_iso(to) if to else get_clock().now() + timedelta(milliseconds=1)
        since = parse_iso(from_) if from_ else until - timedelta(days=7)
    except ValueError as exc:
        raise BadRequest("invalid_time", "from and to must be ISO-8601 dates or times, e.g. 2026-11-01") from exc
    if since >= until:
        raise BadRequest("invalid_window", "from must be before to")
    if until - since > timedelta(days=MAX_DAYS):
        raise BadRequest("invalid_window", f"the window may span at most {MAX_DAYS} days")
    team_id = None
    if who.role is Role.MANAGER:
        # A manager answers for their team's people; with no team there is nothing to show.
        team_id = who.team_id or "-"
    items, truncated = wiring.access_log().search(
        since, until, lead_id=lead_id, user_id=user_id, team_id=team_id, limit=limit
    )
    return {"items": items, "truncated": truncated, "from": iso(since), "to": iso(until)}
