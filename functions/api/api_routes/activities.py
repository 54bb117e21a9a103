"""Activities on a lead: calls (direction, duration, outcome), notes, WhatsApp, SMS, email,
meetings. Logging one stamps first contact, completes the due follow-up and schedules the next."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api_routes.common import BadRequest, NotFound, Unprocessable, api_error, audit_read, lead_view, principal
from leadrelay import wiring
from leadrelay.auth import Principal
from leadrelay.clock import iso
from leadrelay.errors import Refused
from leadrelay.models import Lead
from leadrelay.models.followup import Activity, ActivityInput, Followup, Logged
from leadrelay.models.followup_settings import ActivityType, Outcome

router = Router()

LeadId = Annotated[str, Path(min_length=1, max_length=64, description="The lead's id")]


def _utc(moment: datetime | None) -> datetime | None:
    """A time without an offset is taken as UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ActivityRequest(BaseModel):
    """One thing done with the lead. `at` defaults to now (earlier for an offline log);
    `client_id` makes a retry or an offline replay log nothing twice."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: ActivityType
    direction: Literal["outbound", "inbound"] = "outbound"
    duration_s: int | None = Field(default=None, ge=0, le=24 * 3600)
    outcome: Outcome | None = Field(default=None, description="a call's outcome; it schedules the next follow-up")
    callback_at: datetime | None = Field(default=None, description="when the person asked to be called back")
    note: str | None = Field(default=None, max_length=4000)
    recording_url: str | None = Field(default=None, max_length=2048)
    at: datetime | None = None
    client_id: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _consistent(self) -> ActivityRequest:
        if self.type is ActivityType.NOTE and not (self.note and self.note.strip()):
            raise ValueError("a note needs its text in 'note'")
        if self.callback_at is not None and self.outcome is not Outcome.CALLBACK_REQUESTED:
            raise ValueError("callback_at goes with outcome 'callback_requested'")
        return self

    def as_input(self) -> ActivityInput:
        return ActivityInput(
            type=self.type,
            direction=self.direction,
            duration_s=self.duration_s,
            outcome=self.outcome,
            callback_at=_utc(self.callback_at),
            note=self.note,
            recording_url=self.recording_url,
            at=_utc(self.at),
            client_id=self.client_id,
        )


def activity_view(activity: Activity) -> dict[str, Any]:
    view = activity.model_dump(mode="json", exclude_none=True)
    for name in ("at", "logged_at", "callback_at"):
        value = getattr(activity, name)
        if value is not None:
            view[name] = iso(value)
    return view


def followup_view(followup: Followup | None) -> dict[str, Any] | None:
    if followup is None:
        return None
    view = followup.model_dump(mode="json", exclude_none=True, exclude={"extra"})
    for name in ("due_at", "created_at", "wanted_at", "notified_at", "missed_at", "done_at"):
        value = getattr(followup, name)
        if value is not None:
            view[name] = iso(value)
    return view


def visible_lead(who: Principal, lead_id: str) -> Lead:
    lead = wiring.lead_repository().get(lead_id, consistent=True)
    if lead is None or not who.can_see_lead(lead):
        raise NotFound(f"there is no lead {lead_id!r} you can see")
    return lead


def log_activity(who: Principal, lead: Lead, request: ActivityRequest) -> Logged:
    """Log on behalf of `who` (the owner agent, their manager or an admin: whoever sees the lead)."""
    entry = request.as_input()
    if entry.at is not None and entry.at < lead.received_at:
        raise Refused(
            "invalid_request", f"'at' {iso(entry.at)} is before the lead arrived ({iso(lead.received_at)})", 422
        )
    store = wiring.followup_store()
    owner = wiring.org_repository().get_agent(lead.assigned_agent_id) if lead.assigned_agent_id else None
    return wiring.activity_log().log(
        lead, entry, by=who.username, agent_id=who.agent_id, settings=store.get_settings(), owner=owner
    )


def _idempotency_key() -> str | None:
    """An `Idempotency-Key` header stands in for `client_id` (as on every creating POST)."""
    headers = router.current_event.headers or {}
    key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
    if key is not None and not 1 <= len(key.strip()) <= 128:
        raise Unprocessable("invalid_request", "Idempotency-Key must be 1 to 128 characters")
    return key.strip() if key else None


@router.post(
    "/leads/<lead_id>/activities", summary="Log a call, note, message or meeting on a lead", tags=["activities"]
)
def post_activity(lead_id: LeadId, body: ActivityRequest) -> Response[dict[str, Any]]:
    """201 with the activity, the lead as it now stands and the follow-up the outcome scheduled
    (or null); 200 with the same for a replay of an earlier `client_id` (or `Idempotency-Key`)."""
    who = principal(router)
    lead = visible_lead(who, lead_id)
    key = _idempotency_key()
    if body.client_id is None and key:
        body = body.model_copy(update={"client_id": key})
    try:
        logged = log_activity(who, lead, body)
    except Refused as refused:
        raise api_error(refused) from refused
    answer = {
        "activity": activity_view(logged.activity),
        "lead": lead_view(logged.lead),
        "followup": followup_view(logged.followup),
        "duplicate": logged.duplicate,
    }
    return Response(status_code=200 if logged.duplicate else 201, content_type="application/json", body=answer)


@router.get("/leads/<lead_id>/activities", summary="The lead's activities, oldest first", tags=["activities"])
def get_activities(
    lead_id: LeadId,
    cursor: Annotated[str | None, Query(max_length=2048, description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> dict[str, Any]:
    who = principal(router)
    visible_lead(who, lead_id)
    try:
        found, next_cursor = wiring.activity_log().activities(lead_id, limit=limit, cursor=cursor)
    except ValueError as exc:
        raise BadRequest("invalid_cursor", str(exc)) from exc
    audit_read(who, "activities", lead_id, count=len(found))
    return {"lead_id": lead_id, "items": [activity_view(a) for a in found], "next": next_cursor}
