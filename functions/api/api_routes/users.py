"""People admin: invite (Cognito sends the temporary password), list, change, disable and enable
the persons who sign in; `GET /me` for the caller. Admins manage everyone; managers invite,
disable and enable agents of their own team."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api_routes.agents import NewAgent
from api_routes.common import Conflict, NotFound, Unprocessable, api_error, principal, withdraw_dead_offers
from leadrelay import wiring
from leadrelay.auth import Forbidden, Principal, Role
from leadrelay.clock import get_clock, iso
from leadrelay.errors import Refused
from leadrelay.models import Agent
from leadrelay.models.user import User, UserStatus

router = Router()

UserId = Annotated[str, Path(min_length=1, max_length=64, description="The user's id (the Cognito sub)")]
E164 = r"^\+[1-9][0-9]{7,14}$"


class Invite(BaseModel):
    """A person to invite by email or phone (E.164). An agent is tied to an agent profile: an
    existing one (`agent_id`) or a new one (`agent`)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, pattern=E164, description="E.164, e.g. +919812345678")
    name: str = Field(min_length=1, max_length=120)
    role: Literal["admin", "manager", "agent"]
    team_id: str | None = Field(default=None, max_length=64)
    agent_id: str | None = Field(default=None, max_length=64, description="an existing agent profile")
    agent: NewAgent | None = Field(default=None, description="a new agent profile to create")

    @model_validator(mode="after")
    def _consistent(self) -> Invite:
        if not self.email and not self.phone:
            raise ValueError("give an email or a phone number")
        if self.role == "agent" and (self.agent_id is None) == (self.agent is None):
            raise ValueError("an agent needs exactly one of agent_id (existing profile) or agent (new profile)")
        if self.role != "agent" and (self.agent_id or self.agent):
            raise ValueError("only agents have an agent profile")
        if self.role == "manager" and not self.team_id:
            raise ValueError("a manager needs a team_id")
        return self


class UserChange(BaseModel):
    """What an admin may change about a person (a manager: the name of their team's agents)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str | None = Field(default=None, min_length=1, max_length=120)
    role: Literal["admin", "manager", "agent"] | None = None
    team_id: str | None = Field(default=None, max_length=64, description="moves an agent's profile too")
    agent_id: str | None = Field(default=None, max_length=64)


class Disable(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    reason: str = Field(min_length=3, max_length=500, description="why; shown on each re-routed lead's timeline")
    pool_id: str | None = Field(default=None, max_length=64, description="send their open leads here instead")


def user_view(user: User) -> dict[str, Any]:
    view = user.model_dump(mode="json", exclude_none=True)
    for key in ("mfa_checked_at", "created_at", "updated_at", "disabled_at"):
        moment = getattr(user, key)
        if moment is not None:
            view[key] = iso(moment)
    return view


def _people() -> Any:
    from leadrelay.config import get_settings
    from leadrelay.people import People

    settings = get_settings()
    reassigner = wiring.reassigner()
    return People(users=wiring.user_store(), directory=wiring.user_directory, org=wiring.org_repository(),
                  leads=wiring.lead_repository(), reassigner=reassigner, clock=get_clock(),
                  timezone=settings.org_timezone, presence=wiring.presence_store())  # fmt: skip


def can_manage(who: Principal, user: User) -> bool:
    """Admins manage everyone; managers the agents of their own team."""
    if who.role is Role.ADMIN:
        return True
    return who.role is Role.MANAGER and user.role == "agent" and who.team_id is not None and user.team_id == who.team_id


def _visible_user(who: Principal, user_id: str) -> User:
    user = wiring.user_store().get(user_id)
    if user is None or not can_manage(who, user):
        raise NotFound(f"there is no user {user_id!r} you can see")
    return user


@router.get("/me", summary="Who you are to LeadRelay (reachable before MFA enrolment)", tags=["users"])
def me() -> dict[str, Any]:
    who = principal(router)
    user = wiring.user_store().get(who.user_id or "")
    if user is None:
        raise NotFound("you have no user record")
    return user_view(user)


@router.get("/users", summary="People who sign in (admin; manager: own team's agents)", tags=["users"])
def list_users() -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    users = [user for user in wiring.user_store().list() if can_manage(who, user)]
    return {"items": [user_view(user) for user in users], "next": None}


@router.get("/users/<user_id>", summary="One person", tags=["users"])
def get_user(user_id: UserId) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    return user_view(_visible_user(who, user_id))


def _team_exists(team_id: str | None) -> None:
    if team_id is not None and team_id not in wiring.org_repository().load_roster().teams:
        raise Unprocessable("unknown_team", f"there is no team {team_id!r}")


@router.post("/users", summary="Invite a person (admin; manager: agents of own team)", tags=["users"])
def invite(body: Invite) -> Response[dict[str, Any]]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    org = wiring.org_repository()
    team_id = body.agent.team_id if body.agent and body.agent.team_id else body.team_id
    agent_id = body.agent_id
    if agent_id is not None:
        existing = org.get_agent(agent_id)
        if existing is None:
            raise Unprocessable("unknown_agent", f"there is no agent {agent_id!r}")
        team_id = existing.team_id
    if who.role is Role.MANAGER and (body.role != "agent" or team_id is None or team_id != who.team_id):
        raise Forbidden("managers invite agents of their own team only")
    _team_exists(team_id)
    if body.agent is not None:
        agent = Agent.model_validate({**body.agent.model_dump(), "team_id": team_id})
        if not org.create_agent(agent):
            raise Conflict("agent_exists", f"there is already an agent {agent.agent_id!r}")
        agent_id = agent.agent_id
    if agent_id and any(u.active for u in wiring.user_store().for_agent(agent_id)):
        raise Conflict("agent_taken", f"agent {agent_id!r} already has an active sign-in")
    try:
        invited = wiring.user_directory().invite(email=body.email, phone=body.phone, name=body.name)
    except Refused as refused:
        if refused.status == 503:  # a deployment without a user pool: not the caller's mistake
            return Response(503, content_type="application/json", body={"error": refused.code, "message": str(refused)})
        raise api_error(refused) from refused
    now = get_clock().now()
    user = User(user_id=invited.user_id, username=invited.username, role=body.role, name=body.name,
                email=body.email, phone=body.phone, agent_id=agent_id, team_id=team_id,
                created_at=now, created_by=who.username, updated_at=now, updated_by=who.username)  # fmt: skip
    if not wiring.user_store().create(user):
        raise Conflict("user_exists", f"{invited.username} already has a LeadRelay user")
    return Response(201, content_type="application/json", body=user_view(user))


@router.patch("/users/<user_id>", summary="Change a person's name, role, team or agent profile", tags=["users"])
def change_user(user_id: UserId, body: UserChange) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    user = _visible_user(who, user_id)
    changes = body.model_dump(exclude_unset=True)
    if who.role is Role.MANAGER and set(changes) - {"name"}:
        raise Forbidden("managers may change the name of their team's agents; ask an admin for the rest")
    if user.user_id == who.user_id and "role" in changes:
        raise Conflict("cannot_change_own_role", "ask another admin to change your role")
    role = changes.get("role", user.role)
    team_id = changes.get("team_id", user.team_id)
    agent_id = changes.get("agent_id", user.agent_id) if role == "agent" else None
    _team_exists(team_id)
    if role == "agent" and not agent_id:
        raise Unprocessable("agent_required", "an agent needs an agent profile (agent_id)")
    org = wiring.org_repository()
    if agent_id:
        agent = org.get_agent(agent_id)
        if agent is None:
            raise Unprocessable("unknown_agent", f"there is no agent {agent_id!r}")
        if "team_id" in changes and agent.team_id != team_id:
            # The person and their agent profile move together: routing and scope agree.
            org.replace_agent(agent.model_copy(update={"team_id": team_id}))
        elif "team_id" not in changes:
            team_id = agent.team_id
    now = get_clock().now()
    updated = wiring.user_store().update(
        user_id, {**{k: v for k, v in changes.items() if k == "name"}, "role": role, "team_id": team_id,
                  "agent_id": agent_id, "updated_at": now, "updated_by": who.username},
    )  # fmt: skip
    if updated is None:
        raise NotFound(f"there is no user {user_id!r}")
    return user_view(updated)


def _last_admin(user: User) -> bool:
    return user.role == "admin" and not any(
        u.active and u.role == "admin" and u.user_id != user.user_id for u in wiring.user_store().list()
    )


@router.post(
    "/users/<user_id>/disable",
    summary="Disable a person: signed out everywhere, refused from the next request, open leads re-routed",
    tags=["users"],
)
def disable_user(user_id: UserId, body: Disable) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    user = _visible_user(who, user_id)
    if user.user_id == who.user_id:
        raise Conflict("cannot_disable_self", "you cannot disable yourself")
    if user.status is UserStatus.REMOVED:
        raise Conflict("user_removed", "this person was removed already")
    if user.active and _last_admin(user):
        raise Conflict("last_admin", "this is the last active admin; make someone else admin first")
    if body.pool_id is not None and body.pool_id not in wiring.org_repository().load_roster().pools:
        raise Unprocessable("unknown_pool", f"there is no pool {body.pool_id!r}")
    try:
        updated, rerouted = _people().disable(user, by=who.username, reason=body.reason.strip(), pool_id=body.pool_id)
    except Refused as refused:
        raise api_error(refused) from refused
    if user.agent_id:
        withdraw_dead_offers(user.agent_id)  # made unavailable: their open offers go to someone else now
    return {"user": user_view(updated), "leads": rerouted.view()}


@router.post("/users/<user_id>/enable", summary="Let a disabled person sign in again", tags=["users"])
def enable_user(user_id: UserId) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    user = _visible_user(who, user_id)
    try:
        updated = _people().enable(user, by=who.username)
    except Refused as refused:
        raise api_error(refused) from refused
    return user_view(updated)


def remove_agent_people(agent_id: str, who: Principal, pool_id: str | None = None) -> dict[str, Any]:
    """`DELETE /agents/{id}`: the people who signed in as that agent are removed (refused from
    the next request, signed out) and the agent's open leads re-routed."""
    people = _people()
    rerouted: dict[str, Any] = {"moved": {}, "not_moved": {}}
    for user in wiring.user_store().for_agent(agent_id):
        if user.status is UserStatus.REMOVED:
            continue
        _, result = people.disable(
            user, by=who.username, reason="agent removed", pool_id=pool_id, status=UserStatus.REMOVED
        )
        rerouted = result.view()
    if not rerouted["moved"] and not rerouted["not_moved"]:
        rerouted = people.reroute_open_leads(agent_id, by=who.username, why="agent removed", pool_id=pool_id).view()
    return rerouted
