"""Agent endpoints: the roster with today's load, and availability changes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api_routes.common import NotFound, agent_view, principal
from leadrelay import wiring
from leadrelay.auth import Forbidden, Role
from leadrelay.clock import get_clock, local_day
from leadrelay.config import get_settings
from leadrelay.models import AgentStatus

router = Router()

AgentId = Annotated[str, Path(min_length=1, max_length=64)]


class AvailabilityChange(BaseModel):
    """A new status for an agent, optionally lapsing back to available at `until`."""

    model_config = ConfigDict(extra="forbid")

    status: AgentStatus
    until: datetime | None = Field(default=None, description="ISO time when the status lapses")


def _today_counts() -> dict[str, int]:
    day = local_day(get_clock().now(), get_settings().org_timezone)
    return wiring.org_repository().day_counts(day)


@router.get("/agents", summary="Agents with today's load (manager: own team; admin: all)", tags=["agents"])
def list_agents(
    team_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    roster = wiring.org_repository().load_roster()
    counts = _today_counts()
    agents = [a for a in roster.agents.values() if who.can_see_agent(a) and (team_id is None or a.team_id == team_id)]
    agents.sort(key=lambda a: (a.team_id or "", a.name, a.agent_id))
    return {"items": [agent_view(a, counts.get(a.agent_id, 0)) for a in agents], "next": None}


@router.get("/agents/<agent_id>", summary="One agent", tags=["agents"])
def get_agent(agent_id: AgentId) -> dict[str, Any]:
    who = principal(router)
    agent = wiring.org_repository().get_agent(agent_id)
    if agent is None or not who.can_see_agent(agent):
        raise NotFound(f"there is no agent {agent_id!r} you can see")
    return agent_view(agent, _today_counts().get(agent_id, 0))


@router.put("/agents/<agent_id>/availability", summary="Change an agent's availability", tags=["agents"])
def set_availability(agent_id: AgentId, change: AvailabilityChange) -> dict[str, Any]:
    who = principal(router)
    repo = wiring.org_repository()
    agent = repo.get_agent(agent_id)
    if agent is None or not who.can_see_agent(agent):
        raise NotFound(f"there is no agent {agent_id!r} you can see")
    if who.role is Role.AGENT and change.status is AgentStatus.BANNED:
        raise Forbidden("agents cannot ban themselves; ask a manager")
    until = change.until
    if until is not None:
        if until.tzinfo is None:
            raise BadUntil()
        if until <= get_clock().now():
            raise BadUntil("until must be in the future")
    updated = repo.set_availability(agent_id, change.status.value, until)
    if updated is None:
        raise NotFound(f"there is no agent {agent_id!r}")
    return agent_view(updated, _today_counts().get(agent_id, 0))


class BadUntil(ValueError):
    def __init__(self, message: str = "until needs a time zone, e.g. 2026-11-23T18:00:00+05:30") -> None:
        super().__init__(message)
