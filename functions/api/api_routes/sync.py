"""Offline sync: a phone that was out of coverage sends what it did, in order, in one batch.

Each item carries the client's own `client_id`; a replay of the batch (the answer was lost on the
way back) applies nothing twice. Per item the answer is `applied`, `duplicate` (already applied
earlier), `conflict` (the lead moved on meanwhile: it was closed later, reassigned away, or the
follow-up was replaced) or `rejected` (the item is not valid, or names a lead the caller cannot see).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api_routes.activities import ActivityRequest, _utc, log_activity
from api_routes.common import principal
from leadrelay import wiring
from leadrelay.auth import Principal
from leadrelay.clock import get_clock, iso
from leadrelay.errors import Refused
from leadrelay.models import Lead
from leadrelay.models.followup import FollowupStatus

router = Router()

MAX_ITEMS = 100


class SyncItem(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    client_id: str = Field(min_length=1, max_length=128)
    op: Literal["activity", "status", "note", "followup_done"]
    lead_id: str = Field(min_length=1, max_length=64)
    at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    items: list[SyncItem] = Field(min_length=1, max_length=MAX_ITEMS)


class StatusData(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    status: str = Field(min_length=1, max_length=48, description="a stage id of the pipeline")
    reason: str | None = Field(default=None, max_length=500)
    value: Decimal | None = Field(default=None, ge=0, le=10**12, decimal_places=2)


class FollowupDoneData(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    followup_id: str = Field(min_length=1, max_length=64)


class _Outcome(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _result(item: SyncItem, status: str, message: str) -> dict[str, Any]:
    return {"client_id": item.client_id, "lead_id": item.lead_id, "op": item.op, "status": status, "message": message}


def _lead(who: Principal, lead_id: str) -> Lead:
    lead = wiring.lead_repository().get(lead_id, consistent=True)
    if lead is None:
        raise _Outcome("rejected", f"there is no lead {lead_id!r}")
    if not who.can_see_lead(lead):
        # It was this caller's (or never was): either way the lead is no longer theirs to change.
        raise _Outcome("conflict", "the lead is no longer yours (reassigned meanwhile?); nothing was applied")
    return lead


def _mark(item: SyncItem, who: Principal) -> bool:
    """Record that a non-activity item was applied; False if it was already."""
    return wiring.followup_store().mark_applied(item.lead_id, item.client_id, item.op, who.username,
                                                get_clock().now())  # fmt: skip


def _apply(who: Principal, item: SyncItem) -> dict[str, Any]:
    lead = _lead(who, item.lead_id)
    if item.op in ("activity", "note"):
        data = dict(item.data)
        if item.op == "note":
            data = {"type": "note", "direction": "outbound", **data}
        data.update(client_id=item.client_id)
        if item.at is not None:
            data["at"] = item.at.isoformat()
        try:
            request = ActivityRequest.model_validate(data)
        except ValidationError as exc:
            raise _Outcome("rejected", "; ".join(e["msg"] for e in exc.errors()[:3])) from exc
        logged = log_activity(who, lead, request)
        if logged.duplicate:
            return _result(item, "duplicate", f"already logged as activity {logged.activity.activity_id}")
        return _result(item, "applied", f"logged as activity {logged.activity.activity_id}")
    store = wiring.followup_store()
    marker = store.client_record(item.lead_id, item.client_id)
    if marker is not None:
        if marker.get("op") != item.op:
            raise _Outcome("rejected", f"client_id {item.client_id!r} was already used for a {marker.get('op')}")
        return _result(item, "duplicate", "already applied")
    if item.op == "status":
        return _status(who, item, lead)
    return _followup_done(who, item, lead)


def _status(who: Principal, item: SyncItem, lead: Lead) -> dict[str, Any]:
    from leadrelay.models.lifecycle import StatusChange

    try:
        data = StatusData.model_validate(item.data)
    except ValidationError as exc:
        raise _Outcome("rejected", "; ".join(e["msg"] for e in exc.errors()[:3])) from exc
    at = _utc(item.at)
    if lead.status != data.status and lead.closed_at is not None and at is not None and lead.closed_at > at:
        # Someone closed the lead after the phone's change was made: the later word stands.
        raise _Outcome("conflict", f"the lead was marked {lead.status} at {iso(lead.closed_at)}, after this change")
    lifecycle = wiring.lead_lifecycle()
    _, changed = lifecycle.change(lead, StatusChange(data.status, who.username, data.reason, data.value))
    _mark(item, who)
    return _result(item, "applied", f"status {data.status}" + ("" if changed else " (it already was)"))


def _followup_done(who: Principal, item: SyncItem, lead: Lead) -> dict[str, Any]:
    try:
        data = FollowupDoneData.model_validate(item.data)
    except ValidationError as exc:
        raise _Outcome("rejected", "; ".join(e["msg"] for e in exc.errors()[:3])) from exc
    followup = wiring.followup_store().get(data.followup_id)
    if followup is None or followup.lead_id != lead.lead_id:
        raise _Outcome("rejected", f"there is no follow-up {data.followup_id!r} on this lead")
    if followup.status is FollowupStatus.DONE:
        _mark(item, who)
        return _result(item, "duplicate", "the follow-up was already done")
    if followup.status is FollowupStatus.CANCELLED:
        raise _Outcome("conflict", f"the follow-up was cancelled ({followup.cancelled_reason or 'no reason given'})")
    wiring.activity_log().finish(followup, lead, status=FollowupStatus.DONE, by=who.username, reason="done offline")
    _mark(item, who)
    return _result(item, "applied", "follow-up done")


@router.post("/sync", summary="Apply an offline phone's queued changes, each once", tags=["activities"])
def sync(body: SyncRequest) -> dict[str, Any]:
    """Items are applied in order; one item's failure does not stop the others."""
    who = principal(router)
    results = []
    for item in body.items:
        try:
            results.append(_apply(who, item))
        except _Outcome as outcome:
            results.append(_result(item, outcome.status, str(outcome)))
        except Refused as refused:
            status = "rejected" if refused.status in (404, 422) else "conflict"
            results.append(_result(item, status, str(refused)))
    return {"results": results}
