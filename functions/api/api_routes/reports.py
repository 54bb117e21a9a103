"""Reports: where leads come from (first and last touch) and how they end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from api_routes.common import BadRequest, audit_read, principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock, iso, parse_iso

router = Router()

MAX_LEADS = 20_000


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise BadRequest("invalid_time", f"{name} must be an ISO-8601 date or time, e.g. 2026-11-01") from exc


def _team_leads(team_id: str, start: datetime, end: datetime) -> tuple[list[Any], bool]:
    """`team_id`'s leads received in [start, end), newest first, at most MAX_LEADS."""
    repo = wiring.lead_repository()
    leads: list[Any] = []
    cursor: str | None = None
    while True:
        page, cursor = repo.list_leads(team_id=team_id, cursor=cursor, limit=500)
        for lead in page:
            if lead.received_at < start:
                return leads, False
            if lead.received_at >= end:
                continue
            if len(leads) == MAX_LEADS:
                return leads, True
            leads.append(lead)
        if cursor is None:
            return leads, False


@router.get(
    "/reports/attribution",
    summary="Leads by first-touch and last-touch source and campaign (admin; manager: own team)",
    tags=["reports"],
)
def attribution(
    since: Annotated[str | None, Query(max_length=40, description="from (ISO); default 30 days back")] = None,
    until: Annotated[str | None, Query(max_length=40, description="until, exclusive (ISO); default now")] = None,
    include_test: Annotated[bool, Query(description="count providers' test leads too")] = False,
) -> dict[str, Any]:
    """Leads received in the window, credited to the source that brought the person first and to
    the source of their latest arrival, with how many were won, lost or are still open."""
    from leadrelay.reports import attribution_report

    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    end = _moment(until, "until") or get_clock().now() + timedelta(milliseconds=1)  # up to now, inclusive
    start = _moment(since, "since") or end - timedelta(days=30)
    if start >= end:
        raise BadRequest("invalid_window", "since must be before until")
    if who.role is Role.MANAGER:
        # Only the team's own index: other teams' leads can neither appear nor crowd the window.
        leads, truncated = _team_leads(who.team_id, start, end) if who.team_id else ([], False)
    else:
        leads, truncated = wiring.lead_repository().received_between(start, end, MAX_LEADS)
    if not include_test:
        leads = [lead for lead in leads if not lead.test]
    kinds = {source.source_id: source.kind.value for source in wiring.org_repository().list_sources()}
    audit_read(who, "attribution report", count=len(leads))
    report = attribution_report(leads, kinds)
    report["window"] = {"since": iso(start), "until": iso(end), "truncated": truncated,
                        "team_id": who.team_id if who.role is Role.MANAGER else None}  # fmt: skip
    return report
