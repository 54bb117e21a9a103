"""Agent endpoints: the roster with today's load, profiles (create, edit, remove) and availability."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api_routes import views
from api_routes.common import Conflict, NotFound, Unprocessable, agent_view, principal, withdraw_dead_offers
from api_routes.idempotency import idempotent
from leadrelay import wiring
from leadrelay.auth import Forbidden, Role
from leadrelay.clock import get_clock, local_day
from leadrelay.config import get_settings
from leadrelay.models import Agent, AgentStatus, Shift

router = Router()

AgentId = Annotated[str, Path(min_length=1, max_length=64)]
# Ids become parts of DynamoDB keys joined with '#': keep them to a safe alphabet.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


class AgentProfile(BaseModel):
    """An agent's profile as an admin or their manager edits it (availability has its own endpoint)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1, max_length=120)
    team_id: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    languages: list[str] = Field(default_factory=list, description="ISO 639-1 codes, e.g. hi, ta")
    territories: list[str] = Field(default_factory=list, description="cities or areas, as leads name them")
    skills: list[str] = Field(default_factory=list)
    shifts: list[Shift] = Field(default_factory=list, description="none means always on shift")
    daily_cap: int | None = Field(default=None, ge=0, description="hard cap per org-local day")
    soft_cap: int | None = Field(default=None, ge=0, description="after this many a day, behind the others")
    weight: int = Field(default=1, ge=1, le=100, description="for weighted round-robin")
    max_open_leads: int | None = Field(default=None, ge=0, description="backlog cap: skipped with this many open")


class NewAgent(AgentProfile):
    agent_id: str = Field(pattern=ID_PATTERN)


class AgentDocument(AgentProfile):
    """An agent as GET shows it, to send back edited: the read-only fields are accepted and ignored
    (status has its own endpoint; today's count is routing's)."""

    agent_id: str | None = Field(default=None, max_length=64, description="read-only: must match the path")
    status: str | None = Field(default=None, max_length=32, description="read-only; see PUT …/availability")
    status_until: str | None = Field(default=None, max_length=40, description="read-only")
    assigned_today: int | None = Field(default=None, description="read-only")
    presence: str | None = Field(default=None, max_length=32, description="read-only; see …/check-in")
    presence_reason: str | None = Field(default=None, max_length=200, description="read-only")
    presence_at: str | None = Field(default=None, max_length=40, description="read-only")


_READ_ONLY = {"agent_id", "status", "status_until", "assigned_today", "presence", "presence_reason", "presence_at"}


class AvailabilityChange(BaseModel):
    """A new status for an agent, optionally lapsing back to available at `until`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    status: AgentStatus
    until: datetime | None = Field(default=None, description="ISO time when the status lapses")


def _today_counts() -> dict[str, int]:
    day = local_day(get_clock().now(), get_settings().org_timezone)
    return wiring.org_repository().day_counts(day)


@router.get(
    "/agents",
    summary="Agents with today's load (manager: own team; admin: all)",
    tags=["agents"],
    responses=views.ok(views.AgentPage),
)
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


@router.get("/agents/<agent_id>", summary="One agent", tags=["agents"], responses=views.ok(views.AgentView))
def get_agent(agent_id: AgentId) -> dict[str, Any]:
    who = principal(router)
    agent = wiring.org_repository().get_agent(agent_id)
    if agent is None or not who.can_see_agent(agent):
        raise NotFound(f"there is no agent {agent_id!r} you can see")
    return agent_view(agent, _today_counts().get(agent_id, 0))


def _check_team(who: Any, team_id: str | None) -> None:
    """Managers manage their own team; the team must exist."""
    if who.role is Role.MANAGER and team_id != who.team_id:
        raise Forbidden("managers add and edit agents of their own team only")
    if team_id is not None and team_id not in wiring.org_repository().load_roster().teams:
        raise Unprocessable("unknown_team", f"there is no team {team_id!r}")


@router.post("/agents", summary="Add an agent (admin; manager: own team)", tags=["agents"], middlewares=[idempotent])
def create_agent(new: NewAgent) -> Response[dict[str, Any]]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    _check_team(who, new.team_id)
    agent = Agent.model_validate(new.model_dump())
    if not wiring.org_repository().create_agent(agent):
        raise Conflict("agent_exists", f"there is already an agent {new.agent_id!r}")
    return Response(201, content_type="application/json", body=agent_view(agent, 0))


@router.put("/agents/<agent_id>", summary="Edit an agent's profile (admin; manager: own team)", tags=["agents"])
def replace_agent(agent_id: AgentId, profile: AgentDocument) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    if profile.agent_id not in (None, agent_id):
        raise Unprocessable("id_mismatch", f"the body is agent {profile.agent_id!r}, the path agent {agent_id!r}")
    repo = wiring.org_repository()
    current = repo.get_agent(agent_id)
    if current is None or not who.can_see_agent(current):
        raise NotFound(f"there is no agent {agent_id!r} you can see")
    _check_team(who, profile.team_id)
    # Status and its end time belong to the availability endpoint: a profile edit keeps them.
    agent = Agent.model_validate(
        {
            **profile.model_dump(exclude=_READ_ONLY),
            "agent_id": agent_id,
            "status": current.status,
            "status_until": current.status_until,
            "presence": current.presence,
            "presence_reason": current.presence_reason,
            "presence_at": current.presence_at,
        }
    )
    if not repo.replace_agent(agent):
        raise NotFound(f"there is no agent {agent_id!r}")
    if current.team_id != agent.team_id:
        # The person who signs in as this agent moves too: their scope changes on their next request.
        users = wiring.user_store()
        for user in users.for_agent(agent_id):
            users.update(user.user_id, {"team_id": agent.team_id, "updated_at": get_clock().now(),
                                        "updated_by": who.username})  # fmt: skip
    return agent_view(agent, _today_counts().get(agent_id, 0))


@router.delete("/agents/<agent_id>", summary="Remove an agent (admin); their leads keep their history", tags=["agents"])
def delete_agent(
    agent_id: AgentId,
    pool_id: Annotated[str | None, Query(max_length=64, description="send their open leads to this pool")] = None,
) -> Response[None]:
    """The agent's sign-ins are removed (refused from the next request, signed out of Cognito)
    and their open leads go back to routing (or to `pool_id`), each timeline saying why."""
    from api_routes.users import remove_agent_people

    who = principal(router)
    who.require(Role.ADMIN)
    if wiring.org_repository().get_agent(agent_id) is None:
        raise NotFound(f"there is no agent {agent_id!r}")
    if pool_id is not None and pool_id not in wiring.org_repository().load_roster().pools:
        raise Unprocessable("unknown_pool", f"there is no pool {pool_id!r}")
    remove_agent_people(agent_id, who, pool_id)
    if not wiring.org_repository().delete_agent(agent_id):
        raise NotFound(f"there is no agent {agent_id!r}")
    withdraw_dead_offers(agent_id)
    return Response(204)


@router.get("/agents/<agent_id>/history", summary="An agent's history: refused status changes", tags=["agents"])
def agent_history(agent_id: AgentId) -> dict[str, Any]:
    """What was tried on the agent that a manager's decision stood against, oldest first
    (admin; manager: own team; agent: themselves)."""
    who = principal(router)
    agent = wiring.org_repository().get_agent(agent_id)
    if agent is None or not who.can_see_agent(agent):
        raise NotFound(f"there is no agent {agent_id!r} you can see")
    return {"agent_id": agent_id, "items": wiring.org_repository().agent_history(agent_id)}


@router.put("/agents/<agent_id>/availability", summary="Change an agent's availability", tags=["agents"])
def set_availability(agent_id: AgentId, change: AvailabilityChange) -> dict[str, Any]:
    who = principal(router)
    repo = wiring.org_repository()
    agent = repo.get_agent(agent_id)
    if agent is None or not who.can_see_agent(agent):
        raise NotFound(f"there is no agent {agent_id!r} you can see")
    if who.role is Role.AGENT:
        _agent_may_change(agent, change.status, who.username)
    until = change.until
    if until is not None:
        if until.tzinfo is None:
            raise BadUntil()
        if until <= get_clock().now():
            raise BadUntil("until must be in the future")
    # With its fairness-ledger entry (the ledger's eligible minutes count leave and breaks), on
    # condition that the status is still the one read: read again if it moved meanwhile.
    now = get_clock().now()
    day = local_day(now, get_settings().org_timezone)
    presence = wiring.presence_store()
    for _ in range(5):
        updated = presence.set_availability(agent, change.status, until, now, day, who.username)
        if updated is not None:
            break
        agent = repo.get_agent(agent_id)
        if agent is None:
            raise NotFound(f"there is no agent {agent_id!r}")
    else:
        raise Conflict("availability_changed", "the agent's availability changed meanwhile; try again")
    withdraw_dead_offers(agent_id)  # a leave or a ban: their open offers go to someone else now
    return agent_view(updated, _today_counts().get(agent_id, 0))


# An agent starts or ends their own break; a ban, a leave or being made unavailable is a
# manager's or admin's call, and only they lift it.
AGENT_STATUSES = frozenset({AgentStatus.AVAILABLE, AgentStatus.ON_BREAK})


def _agent_may_change(agent: Agent, wanted: AgentStatus, username: str) -> None:
    now = get_clock().now()
    current = agent.status_at(now)
    if wanted in AGENT_STATUSES and current in AGENT_STATUSES:
        return
    what = f"{current.value} to {wanted.value}"
    wiring.org_repository().note_agent_history(
        agent.agent_id, now, "availability.refused", by=username, summary=f"tried to change {what}"
    )
    if current not in AGENT_STATUSES:
        raise Forbidden(f"you are {current.value} by a manager's decision; only a manager or admin can change that")
    raise Forbidden("agents may only start or end their own break; ask a manager for leave or anything else")


class BadUntil(Unprocessable):
    def __init__(self, message: str = "until needs a time zone, e.g. 2026-11-23T18:00:00+05:30") -> None:
        super().__init__("invalid_request", message)
