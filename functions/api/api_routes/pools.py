"""Pools and teams: who a rule distributes over, edited without code (admin; managers read)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field

from api_routes import views
from api_routes.agents import ID_PATTERN
from api_routes.common import Conflict, NotFound, Unprocessable, api_error, principal, withdraw_dead_offers
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.errors import Refused
from leadrelay.models import Pool, Strategy, Team
from leadrelay.models.agent import PerformanceWeighting

router = Router()
_READ_ONLY_ID = "read-only (as GET shows it): must match the path"

PoolId = Annotated[str, Path(pattern=ID_PATTERN)]
TeamId = Annotated[str, Path(pattern=ID_PATTERN)]


class PoolBody(BaseModel):
    """A pool's members (in round-robin tie-break order) and its strategy."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1, max_length=120)
    agent_ids: list[str] = Field(default_factory=list)
    strategy: Strategy = Strategy.ROUND_ROBIN
    team_id: str | None = Field(default=None, max_length=64)
    offer_timeout_s: int | None = Field(
        default=None, ge=15, le=86_400, description="offer each lead for this long before assigning"
    )
    checkout_after_expiries: int | None = Field(
        default=None, ge=1, le=100, description="check out an agent who lets this many offers expire in a row"
    )
    max_open_leads: int | None = Field(default=None, ge=0, description="backlog cap for members without their own")
    accrued_turns: bool = Field(default=False, description="give back missed turns gradually (bounded)")
    performance_weighting: PerformanceWeighting | None = Field(
        default=None, description="shift weights by contact/conversion rates; needs a back-test run's backtest_id"
    )
    pool_id: str | None = Field(default=None, max_length=64, description=_READ_ONLY_ID)


class TeamBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1, max_length=120)
    manager_usernames: list[str] = Field(default_factory=list)
    team_id: str | None = Field(default=None, max_length=64, description=_READ_ONLY_ID)


@router.get(
    "/pools", summary="Pools and their members (admin, manager)", tags=["pools"], responses=views.ok(views.PoolPage)
)
def list_pools() -> dict[str, Any]:
    principal(router).require(Role.ADMIN, Role.MANAGER)
    pools = sorted(wiring.org_repository().load_roster().pools.values(), key=lambda pool: pool.pool_id)
    return {"items": [pool.model_dump(mode="json") for pool in pools], "next": None}


@router.put("/pools/<pool_id>", summary="Create or replace a pool (admin)", tags=["pools"])
def put_pool(pool_id: PoolId, body: PoolBody) -> dict[str, Any]:
    principal(router).require(Role.ADMIN)
    if body.pool_id not in (None, pool_id):
        raise Unprocessable("id_mismatch", f"the body is pool {body.pool_id!r}, the path pool {pool_id!r}")
    roster = wiring.org_repository().load_roster()
    unknown = [agent_id for agent_id in body.agent_ids if agent_id not in roster.agents]
    if unknown:
        raise Unprocessable("unknown_agent", f"no such agents: {', '.join(unknown)}")
    if body.team_id is not None and body.team_id not in roster.teams:
        raise Unprocessable("unknown_team", f"there is no team {body.team_id!r}")
    pool = Pool(pool_id=pool_id, **body.model_dump(exclude={"pool_id"}))
    if pool.performance_weighting is not None:  # only as a back-test run proved it
        from leadrelay.routing.performance import enable

        setting = pool.performance_weighting
        run = wiring.backtest_runs().get(setting.backtest_id) if setting.backtest_id else None
        try:
            pool = enable(pool, roster.pools.get(pool_id), run)
        except Refused as refused:
            raise api_error(refused) from refused
    wiring.org_repository().put_pool(pool)
    removed = set(roster.pools[pool_id].agent_ids) - set(pool.agent_ids) if pool_id in roster.pools else set()
    for agent_id in sorted(removed):  # their open offers from this pool go to someone else now
        withdraw_dead_offers(agent_id)
    return pool.model_dump(mode="json")


@router.delete("/pools/<pool_id>", summary="Remove a pool no rule uses (admin)", tags=["pools"])
def delete_pool(pool_id: PoolId) -> Response[None]:
    principal(router).require(Role.ADMIN)
    repo = wiring.org_repository()
    chain = repo.get_rule_chain()
    if pool_id in chain.pool_ids():
        raise Conflict("pool_in_use", f"rule chain version {chain.version} routes to pool {pool_id!r}; change it first")
    if not repo.delete_pool(pool_id):
        raise NotFound(f"there is no pool {pool_id!r}")
    withdraw_dead_offers()  # offers made from the pool cannot be accepted any more
    return Response(204)


@router.get("/teams", summary="Teams (admin, manager)", tags=["teams"], responses=views.ok(views.TeamPage))
def list_teams() -> dict[str, Any]:
    principal(router).require(Role.ADMIN, Role.MANAGER)
    teams = sorted(wiring.org_repository().load_roster().teams.values(), key=lambda team: team.team_id)
    return {"items": [team.model_dump(mode="json") for team in teams], "next": None}


@router.put("/teams/<team_id>", summary="Create or rename a team (admin)", tags=["teams"])
def put_team(team_id: TeamId, body: TeamBody) -> dict[str, Any]:
    principal(router).require(Role.ADMIN)
    if body.team_id not in (None, team_id):
        raise Unprocessable("id_mismatch", f"the body is team {body.team_id!r}, the path team {team_id!r}")
    team = Team(team_id=team_id, **body.model_dump(exclude={"team_id"}))
    wiring.org_repository().put_team(team)
    return team.model_dump(mode="json")
