"""Routing endpoints: the rule chain (read, publish, history), simulation ("who would get this
lead, and why?") on the live state, and the back-test of a draft chain over recent leads, both
with no side effects.

The routing engine is imported by the simulation, not with the api function: only these routes
use it (tests/unit/test_cold_imports.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api_routes import views
from api_routes.common import Conflict, NotFound, Unprocessable, principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock, iso, local_day
from leadrelay.config import get_settings
from leadrelay.errors import RuleChainConflict
from leadrelay.models import Attribution, Lead
from leadrelay.models.agent import PerformanceWeighting
from leadrelay.routing.rules import RuleChain, RuleChainSpec, unknown_pools

if TYPE_CHECKING:
    from leadrelay.routing.engine import Plan

router = Router()


class RuleChainDocument(RuleChainSpec):
    """A rule chain as `GET /routing/rules` shows it: the rules plus read-only stamps, so what a GET
    returns can be edited and sent back as it is (to PUT, or as a back-test draft)."""

    model_config = ConfigDict(defer_build=True)
    version: int | None = Field(
        default=None, ge=0, description="the version this document was read at (PUT: the optimistic lock)"
    )
    published_at: datetime | None = Field(default=None, description="read-only; ignored")
    published_by: str | None = Field(default=None, max_length=200, description="read-only; ignored")

    def spec(self) -> dict[str, Any]:
        """The rules alone, without the stamps."""
        stamps = {"version", "published_at", "published_by", "expected_version"}
        return dict(self.model_dump(by_alias=True, exclude=stamps))


class RuleChainEdit(RuleChainDocument):
    """A new rule chain to publish: the document GET returned, edited. Its `version` (or
    `expected_version`) guards against overwriting someone's edit: 409 `version_conflict`."""

    expected_version: int | None = Field(
        default=None, ge=0, description="the live version this edit started from; 409 if it moved on"
    )

    def lock(self) -> int | None:
        return self.expected_version if self.expected_version is not None else self.version


class BacktestRequest(BaseModel):
    """A draft rule chain to replay, beside the live one, over the leads of the last `days` days."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    draft: RuleChainDocument | None = Field(
        default=None,
        description="a rule chain, e.g. GET /routing/rules's document, edited (none: the live one)",
    )
    days: int = Field(default=30, ge=1, le=90, description="replay the leads received in this many days up to now")
    limit: int = Field(
        default=5000, ge=1, le=10000, description="at most this many leads, the newest; the report says if it cut"
    )
    performance_weighting: dict[str, PerformanceWeighting] | None = Field(
        default=None,
        description="admin: pool id → performance weighting to replay in the draft; its backtest_id enables it",
    )

    @model_validator(mode="after")
    def _something_to_replay(self) -> BacktestRequest:
        if self.draft is None and not self.performance_weighting:
            raise ValueError("give a draft (a rule chain), or performance_weighting to replay beside the live chain")
        return self


class SimulatedLead(BaseModel):
    """A lead as a generic source would send it, plus what only a simulation needs."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    source_id: str = Field(default="simulation", max_length=64)
    source_kind: str = Field(default="generic", max_length=32)
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40, description="accepted, not used by routing")
    email: str | None = Field(default=None, max_length=254, description="accepted, not used by routing")
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=100)
    pincode: str | int | None = None
    language: str | None = Field(default=None, max_length=40)
    product: str | None = Field(default=None, max_length=200)
    budget: str | int | Decimal | None = Field(default=None, description="rupees: 7500000, '75 lakh', '1.2 crore'")
    message: str | None = Field(default=None, max_length=2000)
    tags: list[str] = Field(default_factory=list, max_length=50)
    utm_source: str | None = Field(default=None, max_length=200)
    utm_medium: str | None = Field(default=None, max_length=200)
    utm_campaign: str | None = Field(default=None, max_length=200)
    extra: dict[str, Any] = Field(default_factory=dict)
    previous_agent_id: str | None = Field(
        default=None, max_length=64, description="the agent who had this lead before (sticky owner)"
    )
    at: datetime | None = Field(default=None, description="simulate at this moment (ISO time with zone); default now")
    draft: RuleChainDocument | None = Field(
        default=None, description="simulate with this chain (GET /routing/rules, edited) instead of the live one"
    )


def _chain_of(spec: RuleChainSpec, pools: set[str], **stamp: Any) -> RuleChain:
    """`spec` as a rule chain, refused (422 `unknown_pool`) when it names a pool that does not exist."""
    fields = spec.spec() if isinstance(spec, RuleChainDocument) else spec.model_dump(by_alias=True)
    chain = RuleChain.model_validate({**fields, **stamp})
    problems = unknown_pools(chain, pools)
    if problems:
        known = ", ".join(sorted(pools)) or "none yet"
        raise Unprocessable("unknown_pool", f"{'; '.join(problems)}, which does not exist (pools: {known})")
    return chain


def _chain_view(chain: RuleChain) -> dict[str, Any]:
    view: dict[str, Any] = chain.model_dump(mode="json", by_alias=True, exclude_none=True)
    if chain.published_at is not None:
        view["published_at"] = iso(chain.published_at)
    return view


@router.get(
    "/routing/rules",
    summary="The live rule chain (admin, manager)",
    tags=["routing"],
    responses=views.ok(views.RuleChainView),
)
def get_rules() -> dict[str, Any]:
    principal(router).require(Role.ADMIN, Role.MANAGER)
    return _chain_view(wiring.org_repository().get_rule_chain())


@router.put("/routing/rules", summary="Validate and publish a new rule chain version (admin)", tags=["routing"])
def put_rules(edit: RuleChainEdit) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN)
    org = wiring.org_repository()
    pools = set(org.load_roster().pools)
    chain = _chain_of(edit, pools, published_at=get_clock().now(), published_by=who.username)
    try:
        published = org.publish_rule_chain(chain, expected_version=edit.lock())
    except RuleChainConflict as exc:
        raise Conflict("version_conflict", str(exc)) from exc
    return _chain_view(published)


@router.get("/routing/rules/versions", summary="Every published rule chain version (admin, manager)", tags=["routing"])
def list_rule_versions() -> dict[str, Any]:
    principal(router).require(Role.ADMIN, Role.MANAGER)
    items = [
        {
            "version": chain.version,
            "published_at": iso(chain.published_at) if chain.published_at else None,
            "published_by": chain.published_by,
            "rules": len(chain.rules),
            "default_pool_id": chain.default_pool_id,
        }
        for chain in wiring.org_repository().list_rule_chain_versions()
    ]
    return {"items": items}


@router.get("/routing/rules/versions/<version>", summary="One published rule chain version", tags=["routing"])
def get_rule_version(version: Annotated[int, Path(ge=1, description="the version number")]) -> dict[str, Any]:
    principal(router).require(Role.ADMIN, Role.MANAGER)
    chain = wiring.org_repository().get_rule_chain_version(version)
    if chain is None:
        raise NotFound(f"there is no rule chain version {version}")
    return _chain_view(chain)


def _lead(body: SimulatedLead, at: datetime) -> Lead:
    """The simulated lead, normalised the way capture normalises a generic source's fields."""
    # Lazy: only simulation needs the normalisers (and their phone-number tables) in this function.
    from leadrelay.models.contact import ContactError, normalize_language, normalize_pincode, parse_budget

    try:
        pincode = normalize_pincode(body.pincode) if body.pincode not in (None, "") else None
        language = normalize_language(body.language) if body.language else None
        budget = parse_budget(body.budget) if body.budget not in (None, "") else None
    except ContactError as exc:
        raise Unprocessable("invalid_request", f"{exc.field}: {exc}") from exc
    return Lead(
        lead_id="simulation",
        source_id=body.source_id,
        source_kind=body.source_kind,
        received_at=at,
        name=body.name,
        city=body.city,
        state=body.state,
        pincode=pincode,
        language=language,
        product=body.product,
        budget=budget,
        message=body.message,
        tags=body.tags,
        attribution=Attribution(utm_source=body.utm_source, utm_medium=body.utm_medium, utm_campaign=body.utm_campaign),
        extra=body.extra,
        assigned_agent_id=body.previous_agent_id,
    )


def plan_view(
    plan: Plan, chain: RuleChain, counts: dict[str, int], at: datetime, names: dict[str, str]
) -> dict[str, Any]:
    """A plan as the API shows it: the same fields as a decision in `GET /leads/{id}/routing`."""
    return {
        "outcome": "assigned" if plan.agent_id else "unassigned",
        "agent_id": plan.agent_id,
        "agent_name": names.get(plan.agent_id or ""),
        "rule_chain_version": chain.version,
        "rule_id": plan.rule_id,
        "pool_id": plan.pool_id,
        "strategy": plan.strategy,
        "reason": plan.reason,
        "candidates": plan.candidates,
        "skipped": plan.skipped,
        "demoted": plan.demoted,
        "rules": [trace.model_dump(mode="json") for trace in plan.rules],
        "counters_today": {agent_id: counts.get(agent_id, 0) for agent_id in plan.candidates},
        "at": iso(at),
    }


def _scoped(state: Any, who: Any) -> Any:
    """The routing state as `who` may evaluate it: a manager sees their team's agents only."""
    if who.role is Role.ADMIN:
        return state
    from leadrelay.routing.scope import team_counts, team_roster

    roster = team_roster(state.roster, who.team_id)
    return type(state)(chain=state.chain, roster=roster, counts_today=team_counts(state.counts_today, roster))


@router.post("/routing/simulate", summary="Who would get this lead, and why (no side effects)", tags=["routing"])
def simulate(body: SimulatedLead) -> dict[str, Any]:
    """Admins simulate on the whole organisation; a manager on their own team's agents only."""
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    if body.at is not None and body.at.tzinfo is None:
        raise Unprocessable("invalid_request", "at needs a time zone, e.g. 2026-11-23T18:00:00+05:30")
    at = body.at or get_clock().now()
    timezone = get_settings().org_timezone
    lead = _lead(body, at)
    state = _scoped(wiring.org_repository().load_routing_state(local_day(at, timezone)), who)
    chain = _chain_of(body.draft, set(state.roster.pools), version=0) if body.draft is not None else state.chain
    from leadrelay.routing.engine import decide

    plan = decide(lead, chain, state.roster, state.counts_today, at, timezone)
    names = {agent.agent_id: agent.name for agent in state.roster.agents.values()}
    return plan_view(plan, chain, state.counts_today, at, names)


def recent_leads(since: datetime, limit: int, team_id: str | None = None) -> tuple[list[Lead], bool]:
    """Leads received since `since`, at most `limit` of them (the newest), oldest first, without
    providers' test leads; and whether `limit` cut the window short. With `team_id`, only that
    team's leads (read from the team's own index, so other teams' leads cannot crowd the window).

    One query of the `by_received` (or `by_team`) index, newest first, read page by page until a
    lead older than `since` shows up: its cost grows with the leads in the window, not with all
    leads stored.
    """
    repo = wiring.lead_repository()
    leads: list[Lead] = []
    cursor: str | None = None
    while True:
        page, cursor = repo.list_leads(cursor=cursor, limit=500, team_id=team_id)
        for lead in page:
            if lead.received_at < since:
                return leads[::-1], False
            if lead.test:
                continue
            if len(leads) == limit:
                return leads[::-1], True
            leads.append(lead)
        if cursor is None:
            return leads[::-1], False


@router.post(
    "/routing/backtest",
    summary="Replay recent leads through a draft rule chain beside the live one (no side effects)",
    tags=["routing"],
)
def backtest_draft(body: BacktestRequest) -> dict[str, Any]:
    """Admins replay every lead; a manager replays their team's leads over their team's agents
    (a manager with no team replays nothing)."""
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    # Lazy: only the back-test needs the replay, and routing's hot path never imports it.
    from leadrelay.routing.backtest import backtest

    now = get_clock().now()
    timezone = get_settings().org_timezone
    state = _scoped(wiring.org_repository().load_routing_state(), who)
    draft = _chain_of(body.draft, set(state.roster.pools), version=0) if body.draft is not None else state.chain
    draft_roster, rates = None, {}
    if body.performance_weighting:
        who.require(Role.ADMIN)  # a run that can enable weighting replays every lead
        draft_roster, rates = _weighted_roster(state.roster, body.performance_weighting, now, timezone)
    since = now - timedelta(days=body.days)
    if who.role is Role.ADMIN:
        leads, truncated = recent_leads(since, body.limit)
    elif who.team_id:
        leads, truncated = recent_leads(since, body.limit, team_id=who.team_id)
    else:
        leads, truncated = [], False
    report = backtest(
        leads, state.chain, draft, state.roster, now=now, timezone=timezone, draft_roster=draft_roster
    ).report()
    names = {agent.agent_id: agent.name for agent in state.roster.agents.values()}
    report["window"].update(days=body.days, since=iso(since), until=iso(now), limit=body.limit, truncated=truncated)
    report["agent_names"] = {agent_id: names.get(agent_id) for agent_id in sorted(report["live"]["agents"])}
    if draft_roster is not None and body.performance_weighting:
        from leadrelay.ids import new_id
        from leadrelay.routing.performance import proof

        live = {a: row["assigned"] for a, row in report["live"]["agents"].items()}
        drafted = {a: row["assigned"] for a, row in report["draft"]["agents"].items()}
        proofs = {pool_id: proof(draft_roster.pools[pool_id], live, drafted, rates[pool_id])
                  for pool_id in body.performance_weighting}  # fmt: skip
        run_id = new_id(now)
        wiring.backtest_runs().save(run_id, now, who.username, proofs)
        report["backtest_id"], report["performance_weighting"] = run_id, proofs
    return report


def _weighted_roster(roster: Any, wanted: dict[str, PerformanceWeighting], now: datetime, timezone: str) -> Any:
    """The roster with performance weighting on in the `wanted` pools, each with the weights their
    members' dashboard counters give now (per pool: the rates over its `days`), and those rates."""
    import dataclasses

    from leadrelay.models import Strategy
    from leadrelay.routing.performance import WeightingRefused, rates_from_cells, weighted_pool

    longest = max(setting.days for setting in wanted.values())
    today = local_day(now, timezone)
    cells = wiring.dashboard_store().lead_cells(local_day(now - timedelta(days=longest), timezone), today)
    pools, rates = dict(roster.pools), {}
    for pool_id, setting in wanted.items():
        pool = pools.get(pool_id)
        if pool is None:
            raise Unprocessable("unknown_pool", f"there is no pool {pool_id!r}")
        if pool.strategy is not Strategy.WEIGHTED_ROUND_ROBIN:
            raise Unprocessable("weighting_needs_weighted_round_robin",
                                f"pool {pool_id!r} is {pool.strategy.value}: performance weighting shifts the weights "
                                "of a weighted_round_robin pool")  # fmt: skip
        first = local_day(now - timedelta(days=setting.days), timezone).isoformat()
        rates[pool_id] = rates_from_cells(cell for cell in cells if str(cell.get("day", "")) >= first)
        try:
            pools[pool_id] = weighted_pool(pool, roster, rates[pool_id], setting.model_copy(update={"weights": {}}))
        except WeightingRefused as refused:
            raise Unprocessable("min_share_too_large", str(refused)) from refused
    return dataclasses.replace(roster, pools=pools), rates


@router.get(
    "/routing/overrides",
    summary="Manual reassignments, apart from automatic routing (admin; manager: own team)",
    tags=["routing"],
)
def list_overrides(
    days: Annotated[int, Query(ge=1, le=90, description="how far back")] = 7,
    limit: Annotated[int, Query(ge=1, le=500, description="how many moves to list, newest first")] = 100,
) -> dict[str, Any]:
    """Who moved which leads, how often and why — so overuse of manual overrides is visible."""
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    since = get_clock().now() - timedelta(days=days)
    # A manager's register holds their team's moves only, cut after filtering.
    team_id = (who.team_id or "-") if who.role is Role.MANAGER else None
    moves = wiring.lead_repository().overrides_since(since, team_id=team_id)
    by_person: dict[str, int] = {}
    for move in moves:
        by_person[move.get("by") or "unknown"] = by_person.get(move.get("by") or "unknown", 0) + 1
    items = [
        {
            key: move.get(key)
            for key in ("at", "lead_id", "by", "from_agent_id", "agent_id", "team_id", "reason", "forced")
        }
        for move in moves[:limit]
    ]
    return {
        "since": iso(since),
        "total": len(moves),
        "forced": sum(1 for move in moves if move.get("forced")),
        "by": dict(sorted(by_person.items(), key=lambda pair: (-pair[1], pair[0]))),
        "items": items,
    }
