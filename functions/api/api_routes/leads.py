"""Lead endpoints: one lead, its routing audit trail, its timeline, and role-scoped lists."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api_routes import views
from api_routes.common import (
    BadRequest,
    NotFound,
    api_error,
    audit_read,
    lead_view,
    principal,
    record_access,
)
from api_routes.idempotency import idempotent
from leadrelay import wiring
from leadrelay.auth import Principal, Role
from leadrelay.clock import iso
from leadrelay.dashboard_counts import STAGES
from leadrelay.models import Lead

router = Router()

STATUS_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,47}$"
DashboardStage = StrEnum("DashboardStage", {stage: stage for stage in STAGES})  # type: ignore[misc]

LeadId = Annotated[str, Path(min_length=1, max_length=64, description="The lead's id")]


def _visible_lead(who: Principal, lead_id: str) -> Lead:
    lead = wiring.lead_repository().get(lead_id)
    if lead is None or not who.can_see_lead(lead):
        raise NotFound(f"there is no lead {lead_id!r} you can see")
    return lead


@router.get("/leads/<lead_id>", summary="One lead", tags=["leads"], responses=views.ok(views.LeadView))
def get_lead(lead_id: LeadId) -> dict[str, Any]:
    who = principal(router)
    lead = _visible_lead(who, lead_id)
    audit_read(who, "lead", lead_id)
    return lead_view(lead)


@router.get(
    "/leads/<lead_id>/routing",
    summary="The lead's distribution audit trail",
    tags=["leads"],
    responses=views.ok(views.RoutingTrail),
)
def get_routing(lead_id: LeadId) -> dict[str, Any]:
    who = principal(router)
    _visible_lead(who, lead_id)
    decisions = wiring.lead_repository().routing_decisions(lead_id)
    # Other teams' load is theirs: a manager sees who was considered and why, but the day
    # counters of their own team's agents only (an agent: their own).
    own = None
    if who.role is Role.MANAGER:
        own = {a for a, agent in wiring.org_repository().load_roster().agents.items() if agent.team_id == who.team_id}
    elif who.role is Role.AGENT:
        own = {who.agent_id}
    items = []
    for decision in decisions:
        entry = decision.model_dump(mode="json")
        entry["at"] = iso(decision.at)
        if own is not None:
            for key in ("counters_before", "counters_after"):
                entry[key] = {a: n for a, n in (entry.get(key) or {}).items() if a in own}
        items.append(entry)
    audit_read(who, "routing", lead_id)
    triggers: dict[str, int] = {}
    for decision in decisions:
        triggers[decision.trigger] = triggers.get(decision.trigger, 0) + 1
    return {"lead_id": lead_id, "items": items, "triggers": triggers}


@router.get(
    "/leads/<lead_id>/timeline",
    summary="Every event on the lead, oldest first",
    tags=["leads"],
    responses=views.ok(views.Timeline),
)
def get_timeline(lead_id: LeadId) -> dict[str, Any]:
    who = principal(router)
    _visible_lead(who, lead_id)
    items = []
    for event in wiring.lead_repository().timeline(lead_id):
        entry = event.model_dump(mode="json")
        entry["at"] = iso(event.at)
        items.append(entry)
    audit_read(who, "timeline", lead_id)
    return {"lead_id": lead_id, "items": items}


@router.get(
    "/leads",
    summary="Leads newest first, scoped by role; `q` searches by phone, email or name",
    description="`q`: a phone in any Indian spelling (`98765 43210`, `+91-98765-43210`, `098765…`), an email, or "
    "the start of a name in any script (each word a prefix: `asha ver`, `आशा`, `ஆஷா`). Combines with every filter; "
    "`next` pages on. Received times are a half-open range [from, to).",
    tags=["leads"],
    responses=views.ok(views.LeadPage),
)
def list_leads(
    status: Annotated[
        str | None,
        Query(
            pattern=STATUS_PATTERN,
            description="Only leads in this status: a pipeline "
            "stage id (with the retired stages moved into it), or new/offered/"
            "assigned/unassigned",
        ),
    ] = None,
    source_id: Annotated[str | None, Query(max_length=64)] = None,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=2048, description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="phone, email or name prefix")] = None,
    team_id: Annotated[str | None, Query(max_length=64, description="only this team's leads")] = None,
    tag: Annotated[str | None, Query(max_length=64, description="only leads with this tag")] = None,
    received_from: Annotated[datetime | None, Query(description="received at or after (ISO time with zone)")] = None,
    received_to: Annotated[datetime | None, Query(description="received before (ISO time with zone)")] = None,
    stage: Annotated[DashboardStage | None, Query(description="the leads a dashboard number counts")] = None,
) -> dict[str, Any]:
    who = principal(router)
    if stage or ((received_from or received_to or team_id) and q is None and tag is None):
        # The dashboard's links: exactly the leads behind a number (api_routes/dashboard.py).
        from api_routes.dashboard import list_counted

        return list_counted(who, received_from=received_from, received_to=received_to, team_id=team_id,
                            agent_id=agent_id, source_id=source_id, status=status,
                            stage=stage.value if stage else None, cursor=cursor, limit=limit)  # fmt: skip
    leads, next_cursor = select_leads(who, status=status, source_id=source_id, agent_id=agent_id, cursor=cursor,
                                      limit=limit, q=q, team_id=team_id, tag=tag, received_from=received_from,
                                      received_to=received_to)  # fmt: skip
    audit_read(who, "lead search" if q else "lead list", count=len(leads))
    record_access(who, "lead search" if q else "lead list", [lead.lead_id for lead in leads])
    pipeline = wiring.pipeline_store().get()
    return {"items": [lead_view(lead, pipeline) for lead in leads], "next": next_cursor}


def select_leads(
    who: Principal,
    *,
    status: str | None,
    source_id: str | None,
    agent_id: str | None,
    cursor: str | None,
    limit: int,
    q: str | None,
    team_id: str | None,
    tag: str | None,
    received_from: datetime | None,
    received_to: datetime | None,
) -> tuple[list[Lead], str | None]:
    """One page of the leads `who` may see that pass the list filters (or the search `q`), and the
    cursor of the next page (GET /leads, the CSV export; `leadrelay.lead_selection`, which the
    background export job reads through too)."""
    from leadrelay.errors import Refused
    from leadrelay.lead_selection import select_leads as select

    try:
        return select(
            who, status=status, source_id=source_id, agent_id=agent_id, cursor=cursor, limit=limit, q=q,
            team_id=team_id, tag=tag, received_from=received_from, received_to=received_to,
            leads=wiring.lead_repository(), agents=wiring.org_repository(), search=wiring.lead_search,
            pipeline=lambda: wiring.pipeline_store().get(),
        )  # fmt: skip
    except Refused as refused:
        if refused.status == 400:
            raise BadRequest(refused.code, str(refused)) from refused
        raise api_error(refused) from refused


class ReassignRequest(BaseModel):
    """Move a lead to one agent, or to a pool whose strategy picks the agent. A reason is required."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    agent_id: str | None = Field(default=None, min_length=1, max_length=64)
    pool_id: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str = Field(min_length=3, max_length=500, description="why; shown in the timeline and the audit trail")
    force: bool = Field(
        default=False,
        description="assign even over a hard cap, or to an agent on leave/unavailable; past a backlog cap: admins only",
    )

    @model_validator(mode="after")
    def _one_target(self) -> ReassignRequest:
        if (self.agent_id is None) == (self.pool_id is None):
            raise ValueError("give exactly one of agent_id or pool_id")
        if not self.reason.strip():
            raise ValueError("reason must say why")
        return self


@router.post(
    "/leads/<lead_id>/reassign",
    summary="Move a lead to an agent or a pool (manager, admin)",
    tags=["leads"],
    middlewares=[idempotent],
)
def reassign(lead_id: LeadId, move: ReassignRequest) -> dict[str, Any]:
    from leadrelay.routing.reassign import Reassignment, ReassignRefused

    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    lead = wiring.lead_repository().get(lead_id, consistent=True)
    if lead is None or not who.can_see_lead(lead):
        raise NotFound(f"there is no lead {lead_id!r} you can see")
    reassigner = wiring.reassigner()
    request = Reassignment(
        lead_id=lead_id,
        agent_id=move.agent_id,
        pool_id=move.pool_id,
        reason=move.reason.strip(),
        force=move.force,
        by=who.username,
        team_scope=(who.team_id or "-") if who.role is Role.MANAGER else None,
        force_backlog=who.role is Role.ADMIN,  # only an admin forces past a backlog cap
    )
    try:
        decision = reassigner.reassign(lead, request)
    except ReassignRefused as refused:
        raise api_error(refused) from refused
    moved = wiring.lead_repository().get(lead_id, consistent=True)
    record_access(who, "lead reassignment", [lead_id])
    entry = decision.model_dump(mode="json")
    entry["at"] = iso(decision.at)
    return {"lead": lead_view(moved or lead), "decision": entry}


def status_change(status: str, by: str, reason: str | None, value: Decimal | None) -> Any:
    """A status change for the lifecycle (`PATCH /leads/{id}` sets a status too)."""
    from leadrelay.models.lifecycle import StatusChange

    return StatusChange(status, by, reason, value)


class StatusRequest(BaseModel):
    """A lead's sales status: a stage of the organisation's pipeline (`GET /pipeline`). A stage's
    required fields must come with it (the default pipeline: `lost` needs a reason)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    status: str = Field(
        min_length=1,
        max_length=48,
        pattern=STATUS_PATTERN,
        description="a stage id of the pipeline: contacted, qualified, won or lost by default",
    )
    reason: str | None = Field(default=None, max_length=500, description="why; required for lost")
    value: Decimal | None = Field(default=None, ge=0, le=10**12, decimal_places=2, description="won: deal value, ₹")


@router.put("/leads/<lead_id>/status", summary="Move a lead to a pipeline stage (default: contacted, qualified, "
            "won, lost)", tags=["leads"])  # fmt: skip
def set_status(lead_id: LeadId, body: StatusRequest) -> dict[str, Any]:
    """Agents on their own leads, managers on their team's, admins on all. Setting the status the
    lead already has changes nothing (`changed: false`), so an offline phone may replay it."""
    from leadrelay.errors import StatusRefused
    from leadrelay.models.lifecycle import StatusChange

    who = principal(router)
    lead = wiring.lead_repository().get(lead_id, consistent=True)
    if lead is None or not who.can_see_lead(lead):
        raise NotFound(f"there is no lead {lead_id!r} you can see")
    record_access(who, "lead status change", [lead_id])
    lifecycle = wiring.lead_lifecycle()
    try:
        updated, changed = lifecycle.change(lead, StatusChange(body.status, who.username, body.reason, body.value))
    except StatusRefused as refused:
        raise api_error(refused) from refused
    return {"lead": lead_view(updated), "changed": changed}
