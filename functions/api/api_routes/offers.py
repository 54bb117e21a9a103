"""Accept-or-pass offers and presence (CONTRACT.md "Offers and presence"; docs/routing.md#offers).

An agent sees their open offers, accepts or declines each; admins and managers see everyone's
they may see. Agents check themselves in and out; routing skips a checked-out agent.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api_routes.agents import ID_PATTERN, _today_counts
from api_routes.common import BadRequest, NotFound, agent_view, api_error, lead_view, principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock, local_day
from leadrelay.config import get_settings
from leadrelay.errors import Refused
from leadrelay.models.agent import Presence

router = Router()

OfferId = Annotated[str, Path(pattern=ID_PATTERN)]


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    note: str | None = Field(default=None, max_length=280, description="why, for the audit trail")


class PresenceChange(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    note: str | None = Field(default=None, max_length=280, description="e.g. lunch, client visit")


def _own_agent() -> str:
    who = principal(router)
    if who.agent_id is None:
        raise BadRequest("not_an_agent", "only an agent has offers and presence; sign in as the agent")
    return who.agent_id


@router.get("/offers", summary="Open offers (agent: own; manager: team; admin: all)", tags=["offers"])
def list_offers(
    agent_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> dict[str, Any]:
    who = principal(router)
    store = wiring.offer_store()
    if who.role is Role.AGENT:
        offers = store.for_agent(_own_agent())
    else:
        roster = wiring.org_repository().load_roster()
        offers = [
            offer
            for offer in store.open_offers()
            if (agent_id is None or offer.agent_id == agent_id)
            and offer.agent_id in roster.agents
            and who.can_see_agent(roster.agents[offer.agent_id])
        ]
    return {"items": [offer.view() for offer in offers], "next": None}


@router.post("/offers/<offer_id>/accept", summary="Accept an offer: the lead is yours (agent)", tags=["offers"])
def accept_offer(offer_id: OfferId) -> dict[str, Any]:
    agent_id = _own_agent()
    try:
        lead = wiring.offer_desk().accept(agent_id, offer_id)
    except Refused as refused:
        raise api_error(refused) from refused
    return lead_view(lead)


@router.post("/offers/<offer_id>/decline", summary="Pass on an offer: it goes to someone else (agent)", tags=["offers"])
def decline_offer(offer_id: OfferId, body: Decline | None = None) -> dict[str, Any]:
    agent_id = _own_agent()
    try:
        lead = wiring.offer_desk().decline(agent_id, offer_id, body.note if body else None)
    except Refused as refused:
        raise api_error(refused) from refused
    return {"offer_id": offer_id, "lead_id": lead.lead_id, "status": "declined"}


def _set_presence(presence: Presence, body: PresenceChange | None) -> dict[str, Any]:
    agent_id = _own_agent()
    now = get_clock().now()
    reason = (body.note if body and body.note else None) or f"{presence.value.replace('_', ' ')} by {agent_id}"
    agent = wiring.presence_store().set(agent_id, presence, reason, now, local_day(now, get_settings().org_timezone))
    if agent is None:
        raise NotFound(f"there is no agent {agent_id!r}")
    return agent_view(agent, _today_counts().get(agent_id, 0))


@router.post("/agents/me/check-in", summary="Start taking leads (agent)", tags=["agents"])
def check_in(body: PresenceChange | None = None) -> dict[str, Any]:
    return _set_presence(Presence.CHECKED_IN, body)


@router.post("/agents/me/check-out", summary="Stop taking leads for now (agent)", tags=["agents"])
def check_out(body: PresenceChange | None = None) -> dict[str, Any]:
    return _set_presence(Presence.CHECKED_OUT, body)
