"""Follow-ups: the agent's list of who to call when, set by hand, moved or cancelled; and
nurture cadences attached to a lead by hand."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api_routes.activities import _utc, followup_view, visible_lead
from api_routes.common import BadRequest, NotFound, Unprocessable, api_error, audit_read, principal
from api_routes.idempotency import idempotent
from leadrelay import wiring
from leadrelay.auth import Forbidden, Principal, Role
from leadrelay.clock import get_clock
from leadrelay.config import get_settings
from leadrelay.errors import Refused
from leadrelay.models.followup import Followup, FollowupStatus
from leadrelay.models.followup_settings import ActivityType

router = Router()

FollowupId = Annotated[str, Path(min_length=1, max_length=64, description="The follow-up's id")]


def _scope(who: Principal, agent_id: str | None) -> tuple[str | None, str | None]:
    """(agent_id, team_id) the caller may list: agents their own, managers their team's."""
    if who.role is Role.AGENT:
        if agent_id and agent_id != who.agent_id:
            raise Forbidden("agents see only their own follow-ups")
        return who.agent_id or "-", None
    if who.role is Role.MANAGER:
        if agent_id:
            agent = wiring.org_repository().get_agent(agent_id)
            if agent is None or agent.team_id != who.team_id:
                raise Forbidden(f"{agent_id} is not in your team")
            return agent_id, None
        return None, who.team_id or "-"
    return agent_id, None


def _window(due: str | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    if due is None:
        return None, None
    if due == "overdue":
        return None, now
    if due == "upcoming":
        return now, None
    zone = ZoneInfo(get_settings().org_timezone)
    start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


@router.get("/followups", summary="Follow-ups by due time, scoped by role", tags=["followups"])
def list_followups(
    due: Annotated[Literal["today", "overdue", "upcoming"] | None, Query(description="org-local today")] = None,
    status: Annotated[FollowupStatus | None, Query(description="open, done, missed or cancelled")] = None,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=2048, description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """`overdue` lists open follow-ups past their due time unless `status` says otherwise."""
    who = principal(router)
    scoped_agent, team_id = _scope(who, agent_id)
    since, until = _window(due, get_clock().now())
    if due == "overdue" and status is None:
        status = FollowupStatus.OPEN
    try:
        page = wiring.followup_store().list(agent_id=scoped_agent, team_id=team_id, status=status, since=since,
                                            until=until, cursor=cursor, limit=limit)  # fmt: skip
    except ValueError as exc:
        raise BadRequest("invalid_cursor", str(exc)) from exc
    audit_read(who, "followup list", count=len(page.items))
    return {"items": [followup_view(f) for f in page.items], "next": page.next}


class NewFollowup(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    lead_id: str = Field(min_length=1, max_length=64)
    due_at: datetime
    type: ActivityType = ActivityType.CALL
    note: str | None = Field(default=None, max_length=2000)


@router.post(
    "/followups",
    summary="Set a lead's follow-up by hand (replaces its open one)",
    tags=["followups"],
    middlewares=[idempotent],
)
def post_followup(body: NewFollowup) -> Response[dict[str, Any]]:
    who = principal(router)
    lead = visible_lead(who, body.lead_id)
    due_at = _utc(body.due_at)
    assert due_at is not None
    owner = wiring.org_repository().get_agent(lead.assigned_agent_id) if lead.assigned_agent_id else None
    try:
        followup = wiring.activity_log().set_followup(
            lead, due_at=due_at, by=who.username, note=body.note, kind=body.type,
            settings=wiring.followup_store().get_settings(), owner=owner,
        )  # fmt: skip
    except Refused as refused:
        raise api_error(refused) from refused
    return Response(status_code=201, content_type="application/json", body={"followup": followup_view(followup)})


class FollowupChange(BaseModel):
    """Move (`due_at`) or close (`status`: cancelled or done) a follow-up."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    due_at: datetime | None = None
    status: Literal["cancelled", "done"] | None = None
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_change(self) -> FollowupChange:
        if (self.due_at is None) == (self.status is None):
            raise ValueError("give exactly one of due_at (move) or status (cancelled or done)")
        return self


def visible_followup(who: Principal, followup_id: str) -> Followup:
    followup = wiring.followup_store().get(followup_id)
    if followup is None:
        raise NotFound(f"there is no follow-up {followup_id!r} you can see")
    visible_lead(who, followup.lead_id)
    if who.role is Role.AGENT and followup.agent_id != who.agent_id:
        raise NotFound(f"there is no follow-up {followup_id!r} you can see")
    return followup


@router.patch("/followups/<followup_id>", summary="Move or cancel a follow-up", tags=["followups"])
def patch_followup(followup_id: FollowupId, body: FollowupChange) -> dict[str, Any]:
    who = principal(router)
    followup = visible_followup(who, followup_id)
    lead = visible_lead(who, followup.lead_id)
    log = wiring.activity_log()
    try:
        if body.due_at is not None:
            owner = wiring.org_repository().get_agent(followup.agent_id) if followup.agent_id else None
            due_at = _utc(body.due_at)
            assert due_at is not None
            changed = log.move(followup, lead, due_at=due_at, by=who.username,
                               settings=wiring.followup_store().get_settings(), owner=owner)  # fmt: skip
        else:
            changed = log.finish(
                followup, lead, status=FollowupStatus(body.status), by=who.username, reason=body.reason
            )
    except Refused as refused:
        raise api_error(refused) from refused
    return {"followup": followup_view(changed)}


class NurtureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    cadence_id: str = Field(min_length=1, max_length=64)


@router.post(
    "/leads/<lead_id>/nurture",
    summary="Attach a nurture cadence to a lead",
    tags=["followups"],
    middlewares=[idempotent],
)
def post_nurture(
    lead_id: Annotated[str, Path(min_length=1, max_length=64)], body: NurtureRequest
) -> Response[dict[str, Any]]:
    """Each step of the cadence becomes a follow-up for the lead's owner in turn. Refused for a
    person who withdrew consent; call steps are skipped for a do-not-call number."""
    who = principal(router)
    lead = visible_lead(who, lead_id)
    settings = wiring.followup_store().get_settings()
    if body.cadence_id not in settings.nurture.cadences:
        known = ", ".join(sorted(settings.nurture.cadences))
        raise Unprocessable("unknown_cadence", f"there is no cadence {body.cadence_id!r}; known: {known}")
    from leadrelay.followup.nurture import may_nurture

    why_not = may_nurture(lead)
    if why_not:
        raise Unprocessable("no_consent", why_not)
    wiring.followup_tick().start_cadence(lead, body.cadence_id, settings, get_clock().now(), by=who.username)
    return Response(status_code=201, content_type="application/json",
                    body={"lead_id": lead_id, "cadence_id": body.cadence_id})  # fmt: skip
