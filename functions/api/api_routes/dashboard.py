"""The live dashboard, its funnel and trends, its CSV, and the activity feed — read from the
counters the stream keeps (`leadrelay.store.dashboard`), never from the leads themselves."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from api_routes.common import BadRequest, audit_read, principal, record_access
from leadrelay import wiring
from leadrelay.auth import Forbidden, Principal, Role
from leadrelay.clock import get_clock, local_day
from leadrelay.config import get_settings
from leadrelay.models.pipeline import Pipeline

if TYPE_CHECKING:  # the view's arithmetic is imported by the dashboard routes, not at the api's cold start
    from leadrelay.dashboard.view import Window

router = Router()

MAX_DAYS = 366
Day = Annotated[str | None, Query(max_length=10, description="org-local day, YYYY-MM-DD; default today")]
TeamId = Annotated[str | None, Query(max_length=64, description="one team (admin); a manager sees their own")]
SourceId = Annotated[str | None, Query(max_length=64, description="one source")]


def _day(value: str | None, name: str, default: date) -> date:
    if value is None or value == "":
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest("invalid_date", f"{name} must be an org-local day as YYYY-MM-DD, e.g. 2026-11-01") from exc


def today() -> date:
    return local_day(get_clock().now(), get_settings().org_timezone)


def window_for(who: Principal, first: str | None, last: str | None, team_id: str | None,
               source_id: str | None) -> Window:  # fmt: skip
    """The days and scope a caller asked for, as far as they may see: a manager sees their own team."""
    who.require(Role.ADMIN, Role.MANAGER)
    now = today()
    end = _day(last, "to", now)
    start = _day(first, "from", end if last else now)
    if start > end:
        raise BadRequest("invalid_window", "from must be on or before to")
    if (end - start).days >= MAX_DAYS:
        raise BadRequest("invalid_window", f"a window spans at most {MAX_DAYS} days")
    if who.role is Role.MANAGER:
        if team_id is not None and team_id != who.team_id:
            raise Forbidden("managers see their own team's dashboard only")
        team_id = who.team_id or "-"
    from leadrelay.dashboard.view import Window

    return Window(start, end, team_id=team_id, source_id=source_id, timezone=get_settings().org_timezone)


def _team_agents(team_id: str | None) -> set[str] | None:
    if team_id is None:
        return None
    roster = wiring.org_repository().load_roster()
    return {agent_id for agent_id, agent in roster.agents.items() if agent.team_id == team_id}


def dashboard_for(window: Window) -> dict[str, Any]:
    """The dashboard of a window: one Query per month of lead counters, one per month of follow-ups."""
    store = wiring.dashboard_store()
    now = today()
    cells = store.lead_cells(window.first, window.last, window.team_id)
    followups = store.followup_cells(min(window.first, now), max(window.last, now))
    definitions, pipeline = store.definitions_and_pipeline(get_settings().org_timezone)
    from leadrelay.dashboard.view import build_dashboard

    answer = build_dashboard(cells, followups, window=window, today=now, definitions=definitions,
                             agents=_team_agents(window.team_id))  # fmt: skip
    return _pipeline_statuses(answer, window, pipeline)


def _pipeline_statuses(answer: dict[str, Any], window: Window, pipeline: Pipeline) -> dict[str, Any]:
    """`by_status` as the pipeline shows it now: a retired stage's leads under the stage they moved
    to, and `status_labels` (counters keep the stable ids, so a rename changes only the label)."""
    by_status: dict[str, int] = {}
    for status, count in answer.get("by_status", {}).items():
        stage = pipeline.get(status)
        shown = pipeline.stage_of(status).stage_id if stage is not None and stage.retired else status
        by_status[shown] = by_status.get(shown, 0) + count
    answer["by_status"] = by_status
    answer["status_labels"] = {status: pipeline.label(status) for status in by_status}
    if isinstance(answer.get("links"), dict):
        answer["links"]["by_status"] = {status: window.lead_link(status=status, stage="received")
                                        for status in by_status}  # fmt: skip
    return answer


@router.get(
    "/dashboard",
    summary="Speed-to-lead, leakage and conversion by source, status and agent (manager: own team; admin: all)",
    tags=["dashboard"],
)
def get_dashboard(
    from_: Annotated[str | None, Query(alias="from", max_length=10, description="first org-local day")] = None,
    to: Day = None,
    team_id: TeamId = None,
    source_id: SourceId = None,
) -> dict[str, Any]:
    """Leads received on the org-local days `from`..`to` (both included; default today): how many
    were assigned, contacted (within the SLA), won and lost, the value won, by source and by agent,
    how fast they were assigned and contacted, and where they leaked. `links` gives, for each
    number, the `GET /leads` query that lists exactly the leads behind it."""
    who = principal(router)
    return dashboard_for(window_for(who, from_, to, team_id, source_id))


@router.get("/dashboard/csv", summary="The dashboard as CSV (UTF-8 with BOM)", tags=["dashboard"])
def get_dashboard_csv(
    from_: Annotated[str | None, Query(alias="from", max_length=10, description="first org-local day")] = None,
    to: Day = None,
    team_id: TeamId = None,
    source_id: SourceId = None,
) -> Response[str]:
    who = principal(router)
    window = window_for(who, from_, to, team_id, source_id)
    out = io.StringIO()
    from leadrelay.dashboard.view import dashboard_csv_rows

    csv.writer(out).writerows(dashboard_csv_rows(dashboard_for(window)))
    name = f"dashboard-{window.first.isoformat()}-{window.last.isoformat()}.csv"
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body="\ufeff" + out.getvalue(),
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get(
    "/dashboard/trends",
    summary="The funnel received → contacted → qualified → won per day or week, by source",
    tags=["dashboard"],
)
def get_trends(
    from_: Annotated[str | None, Query(alias="from", max_length=10, description="first org-local day")] = None,
    to: Day = None,
    team_id: TeamId = None,
    source_id: SourceId = None,
    period: Annotated[str, Query(pattern="^(day|week)$", description="day or week (weeks start on Monday)")] = "day",
) -> dict[str, Any]:
    who = principal(router)
    window = window_for(who, from_, to, team_id, source_id)
    cells = wiring.dashboard_store().lead_cells(window.first, window.last, window.team_id)
    from leadrelay.dashboard.view import trends

    return trends(cells, window=window, period=period)


@router.get(
    "/activity",
    summary="What just happened in the caller's scope: assignments, calls, status changes, SLA breaches",
    tags=["dashboard"],
)
def get_activity(
    since: Annotated[str | None, Query(max_length=200, description="`next` from the previous poll")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> dict[str, Any]:
    """Entries oldest first after `since` (default: the last 24 hours). Poll with the `next` it
    returns; entries of the last few seconds may come again on the next poll (drop repeats by `id`),
    so none is missed while slower stream consumers catch up. Agents see their own leads' activity,
    managers their team's and the unassigned queue's, admins everything."""
    who = principal(router)
    if who.role is Role.ADMIN:
        scopes = ["ALL"]
    elif who.role is Role.MANAGER:
        scopes = [f"T#{who.team_id or '-'}", "T#-"]
    else:
        scopes = [f"A#{who.agent_id or '-'}"]
    try:
        page = wiring.dashboard_store().feed(scopes, since, get_clock().now(), limit)
    except ValueError as exc:
        raise BadRequest("invalid_cursor", str(exc)) from exc
    audit_read(who, "activity feed", count=len(page["items"]))
    return page


class RebuildRequest(BaseModel):
    """Re-count the leads received from `since` on (all by default), continuing from `cursor`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    since: str | None = Field(default=None, max_length=10, description="org-local day, YYYY-MM-DD")
    cursor: str | None = Field(default=None, max_length=2048, description="`next` from the previous call")


REBUILD_BUDGET_S = 8.0  # the api function has 15 s; leave room to answer


@router.post("/dashboard/rebuild", summary="Re-count the dashboard from the leads (admin), a slice per call",
             tags=["dashboard"])  # fmt: skip
def rebuild(body: RebuildRequest) -> dict[str, Any]:
    """After a definition changes (SLA, a status's category): every lead's counters are moved to
    what it counts as now, in slices of about eight seconds; call again with `next` until it is null.
    Safe while leads keep arriving, and to repeat (a lead already counted right is left alone)."""
    import time as clock_time

    who = principal(router)
    who.require(Role.ADMIN)
    since = None
    if body.since:
        since = received_range(_day(body.since, "since", today()), None)[0]
    deadline = clock_time.monotonic() + REBUILD_BUDGET_S
    try:
        return wiring.dashboard_store().rebuild(wiring.dashboard_definitions(), since=since, cursor=body.cursor,
                                                keep_going=lambda: clock_time.monotonic() < deadline)  # fmt: skip
    except ValueError as exc:
        raise BadRequest("invalid_cursor", str(exc)) from exc


def received_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The instants [start, end) of org-local days `first`..`last`."""
    zone = ZoneInfo(get_settings().org_timezone)
    start = datetime.combine(first, time(0), zone) if first else None
    end = datetime.combine(last + timedelta(days=1), time(0), zone) if last else None
    return start, end


def list_counted(
    who: Principal,
    *,
    received_from: datetime | None,
    received_to: datetime | None,
    team_id: str | None,
    agent_id: str | None,
    source_id: str | None,
    status: str | None,
    stage: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """`GET /leads?stage=`: exactly the leads a dashboard number counts (the same `in_stage` answers
    both), received in [received_from, received_to), newest first. `agent_id=-`/`team_id=-` mean
    nobody/no team."""
    from api_routes.common import NotFound, Unprocessable, lead_view
    from leadrelay.dashboard_counts import in_stage, lead_facts

    if who.role is Role.AGENT:
        if agent_id and agent_id != who.agent_id:
            raise NotFound("agents see only their own leads")
        agent_id = who.agent_id or "-"
    elif who.role is Role.MANAGER:
        if team_id is not None and team_id != who.team_id:
            raise NotFound("managers see their own team's leads")
        team_id = who.team_id or "-"
    for name, moment in (("received_from", received_from), ("received_to", received_to)):
        if moment is not None and moment.tzinfo is None:
            raise Unprocessable("invalid_request", f"{name} needs a time zone, e.g. 2026-11-23T00:00:00+05:30")
    start, end = received_from, received_to
    definitions = wiring.dashboard_definitions()
    pipeline = wiring.pipeline_store().get()
    # A stage's number counts the retired stages whose leads moved to it too.
    statuses = set(pipeline.ids_counting_as(status)) | {status} if status is not None else None

    def keep(item: dict[str, Any]) -> bool:
        if not (
            (team_id is None or (item.get("assigned_team_id") or "-") == team_id)
            and (agent_id is None or (item.get("assigned_agent_id") or "-") == agent_id)
            and (source_id is None or item.get("source_id") == source_id)
            and (statuses is None or item.get("status") in statuses)
        ):
            return False
        if stage is None:
            return True
        facts = lead_facts(item)  # None for what no number counts (a provider's test lead)
        return facts is not None and in_stage(facts, stage, definitions)

    try:
        items, next_cursor = wiring.dashboard_store().leads_received(start, end, keep, cursor, limit)
    except ValueError as exc:
        raise BadRequest("invalid_cursor", str(exc)) from exc
    leads = [lead for lead in (wiring.lead_from_item(item) for item in items) if who.can_see_lead(lead)]
    audit_read(who, "lead list", count=len(leads))
    record_access(who, "lead list", [lead.lead_id for lead in leads])
    return {"items": [lead_view(lead, pipeline) for lead in leads], "next": next_cursor}
