"""Reports: where leads come from (first and last touch) and how they end."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from api_routes.common import BadRequest, audit_read, principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock, iso, local_day, parse_iso

router = Router()

MAX_LEADS = 20_000
MAX_DAYS = 366  # the counters' window, as the dashboard's


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise BadRequest("invalid_time", f"{name} must be an ISO-8601 date or time, e.g. 2026-11-01") from exc


@router.get(
    "/reports/attribution",
    summary="Leads by first-touch and last-touch source and campaign (admin; manager: own team)",
    tags=["reports"],
)
def attribution(
    since: Annotated[str | None, Query(max_length=40, description="from (ISO); default 30 days back")] = None,
    until: Annotated[str | None, Query(max_length=40, description="until, exclusive (ISO); default now")] = None,
    include_test: Annotated[bool, Query(description="count providers' test leads too (reads the leads)")] = False,
) -> dict[str, Any]:
    """Leads received in the window (whole org-local days), credited to the source that brought the
    person first and to the source of their latest arrival, with how many were won, lost or are
    still open. Read from the dashboard's counters; `include_test` reads the leads instead."""
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    end = _moment(until, "until") or get_clock().now() + timedelta(milliseconds=1)  # up to now, inclusive
    start = _moment(since, "since") or end - timedelta(days=30)
    if start >= end:
        raise BadRequest("invalid_window", "since must be before until")
    team_id = (who.team_id or "-") if who.role is Role.MANAGER else None
    kinds = {source.source_id: source.kind.value for source in wiring.org_repository().list_sources()}
    if include_test:
        report, truncated = _from_leads(start, end, team_id, kinds)
    else:
        report, truncated, start, end = _from_counters(start, end, team_id, kinds)
    audit_read(who, "attribution report", count=report["leads"])
    report["window"] = {"since": iso(start), "until": iso(end), "truncated": truncated, "team_id": team_id}
    return report


def _from_counters(
    start: datetime, end: datetime, team_id: str | None, kinds: dict[str, str]
) -> tuple[dict[str, Any], bool, datetime, datetime]:
    """The report from the dashboard's counters: one Query per month; the window widens to whole
    org-local days and narrows to the last MAX_DAYS of them."""
    from zoneinfo import ZoneInfo

    from leadrelay.config import get_settings
    from leadrelay.dashboard.view import Window, attribution

    zone = ZoneInfo(get_settings().org_timezone)
    first, last = local_day(start, zone.key), local_day(end - timedelta(milliseconds=1), zone.key)
    truncated = (last - first).days >= MAX_DAYS
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    window = Window(first, last, team_id=team_id)
    report = attribution(wiring.dashboard_store().lead_cells(first, last, team_id), window=window, kinds=kinds)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    return report, truncated, start, end


def _from_leads(
    start: datetime, end: datetime, team_id: str | None, kinds: dict[str, str]
) -> tuple[dict[str, Any], bool]:
    """The report read from the leads of the window (providers' test leads too; up to MAX_LEADS)."""
    from leadrelay.reports import attribution_report

    if team_id is not None:
        # Only the team's own index: other teams' leads can neither appear nor crowd the window.
        leads, truncated = _team_leads(team_id, start, end)
    else:
        leads, truncated = wiring.lead_repository().received_between(start, end, MAX_LEADS)
    return attribution_report(leads, kinds), truncated


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
