"""What every API route shares: the caller's identity, views of domain objects, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadrelay.auth import Principal
from leadrelay.clock import get_clock, iso
from leadrelay.errors import Refused
from leadrelay.models import Agent, Lead
from leadrelay.models.lead import Touch
from leadrelay.models.pipeline import Pipeline

logger = Logger(service="api")


class NotFound(Exception):
    """The thing does not exist, or the caller may not know that it does."""


class BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Conflict(Exception):
    """The request is well formed but clashes with the current state (409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Unprocessable(Exception):
    """The request is well formed but names things that do not fit together (422)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CaptureRefused(Exception):
    """Capture refused the entry (the raw copy is kept in quarantine): its own status and code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def withdraw_dead_offers(agent_id: str | None = None) -> None:
    """Offers a change just made unacceptable (leave, removal, out of the pool) pass on now, not at
    their timeout. The every-minute tick does the same for anything missed here, so a failure is
    logged and never the answer to the change, which is done (routing/offers.py `withdraw_dead`)."""
    from leadrelay import wiring

    try:
        wiring.offer_desk().withdraw_dead(agent_id)
    except Exception:
        logger.exception("open offers could not be withdrawn now; the tick will", extra={"agent_id": agent_id})


def api_error(refused: Refused) -> Exception:
    """The API's answer to a domain refusal: 403, 404, 422 or 409 with its code and message."""
    from leadrelay.auth import Forbidden

    if refused.status == 403:
        return Forbidden(str(refused))
    if refused.status == 404:
        return NotFound(str(refused))
    if refused.status == 422:
        return Unprocessable(refused.code, str(refused))
    return Conflict(refused.code, str(refused))


def principal(router: Router) -> Principal:
    """The caller: LeadRelay's user record for the token's `sub` (role, agent, team), resolved
    once per request by the gate (api_routes/gate.py), never from claims a user could edit."""
    from api_routes.gate import current_principal, identify_event

    who = current_principal()
    if who is None:
        who = identify_event(router.current_event.raw_event)
    return who


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def _time(value: Any) -> str | None:
    return iso(value) if value is not None else None


def lead_view(lead: Lead, pipeline: Pipeline | None = None) -> dict[str, Any]:
    """The lead as the API shows it (CONTRACT.md: Leads). Times are ISO-8601 UTC with ms.
    `status` is what is stored (a stage id, or routing's word while nobody worked the lead);
    `stage`, `stage_label` and `category` are the pipeline stage it counts as now (a retired
    stage's leads show as the stage they moved to). Pass `pipeline` when showing many leads."""
    if pipeline is None:
        from leadrelay import wiring

        pipeline = wiring.pipeline_store().get()
    stage = pipeline.stage_of(lead.status)
    return _json(
        {
            "lead_id": lead.lead_id,
            "source_id": lead.source_id,
            "source_kind": lead.source_kind,
            "status": lead.status,
            "name": lead.name,
            "phone": lead.phone,
            "phone_type": lead.phone_type,
            "alt_phone": lead.alt_phone,
            "whatsapp_user_id": lead.whatsapp_user_id,
            "whatsapp_username": lead.whatsapp_username,
            "email": lead.email,
            "city": lead.city,
            "state": lead.state,
            "state_code": lead.state_code,
            "pincode": lead.pincode,
            "language": lead.language,
            "product": lead.product,
            "budget": lead.budget,
            "message": lead.message,
            "external_id": lead.external_id,
            "consent": lead.consent,
            "consent_detail": _consent(lead),
            "do_not_call": lead.do_not_call,
            "test": lead.test,
            "tags": lead.tags,
            "attribution": lead.attribution.model_dump(exclude_none=True),
            "extra": lead.extra,
            "source_time": _time(lead.source_time),
            "received_at": _time(lead.received_at),
            "assigned_agent_id": lead.assigned_agent_id,
            "assigned_team_id": lead.assigned_team_id,
            "assigned_at": _time(lead.assigned_at),
            "first_contacted_at": _time(lead.first_contacted_at),
            "last_touch_at": _time(lead.last_touch_at),
            "touch_count": lead.touch_count,
            "first_touch": touch_view(lead.first_touch()),
            "last_touch": touch_view(lead.latest_touch()),
            "closed_at": _time(lead.closed_at),
            "close_reason": lead.close_reason,
            "value": lead.value,
            "reopened_at": _time(lead.reopened_at),
            "reopen_count": lead.reopen_count,
            "return_to_agent_id": lead.return_to_agent_id,
            "version": lead.version,
            "stage": stage.stage_id,
            "stage_label": stage.label,
            "category": stage.category.value,
            "first_connected_at": _time(lead.first_connected_at),
            "last_activity_at": _time(lead.last_activity_at),
            "open_followup_id": lead.open_followup_id,
            "sla_escalated_at": _time(lead.sla_escalated_at),
        }
    )


def touch_view(touch: Touch) -> dict[str, Any]:
    """One arrival of the person, for first- and last-touch attribution."""
    return {"source_id": touch.source_id, "source_kind": touch.source_kind, "at": _time(touch.at),
            "attribution": touch.attribution.model_dump(exclude_none=True)}  # fmt: skip


def _consent(lead: Lead) -> dict[str, Any] | None:
    detail = lead.consent_detail
    if detail is None:
        return None
    view = detail.model_dump(exclude_none=True)
    if detail.at is not None:
        view["at"] = iso(detail.at)
    return view


def _clock_time(moment: Any) -> str:
    return str(moment.isoformat(timespec="seconds" if moment.second else "minutes"))


def agent_view(agent: Agent, assigned_today: int) -> dict[str, Any]:
    """An agent as the API shows it (CONTRACT.md: Agents): the status in force now, so a break
    whose `until` has passed shows as available, exactly as routing sees it."""
    now = get_clock().now()
    lapsed = agent.status_until is not None and now >= agent.status_until
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "team_id": agent.team_id,
        "status": agent.status_at(now).value,
        "status_until": None if lapsed else _time(agent.status_until),
        "languages": agent.languages,
        "territories": agent.territories,
        "daily_cap": agent.daily_cap,
        "soft_cap": agent.soft_cap,
        "weight": agent.weight,
        "phone": agent.phone,
        "email": agent.email,
        "skills": agent.skills,
        "shifts": [{"days": s.days, "start": _clock_time(s.start), "end": _clock_time(s.end)} for s in agent.shifts],
        "assigned_today": assigned_today,
        "presence": agent.presence.value,
        "presence_reason": agent.presence_reason,
        "presence_at": _time(agent.presence_at),
        "max_open_leads": agent.max_open_leads,
    }


def record_access(who: Principal, what: str, lead_ids: Any) -> None:
    """Note that this request showed these leads' personal data to `who`. The gate writes every
    read of the request to the access log in one call once the answer is ready (never per lead);
    call this wherever a route returns lead data (one lead, a page, a timeline, an export)."""
    who.reads.append((what, tuple(str(lead_id) for lead_id in lead_ids)))


def audit_read(who: Principal, what: str, lead_id: str | None = None, count: int | None = None) -> None:
    """Every read of lead data by a person leaves an audit line (ids only, never PII); with a
    lead id it also goes to the access log (`record_access`)."""
    if lead_id is not None:
        record_access(who, what, [lead_id])
    logger.info(
        "audit: lead data read",
        extra={"audit": True, "username": who.username, "role": who.role.value, "what": what,
               "lead_id": lead_id, "count": count},
    )  # fmt: skip
