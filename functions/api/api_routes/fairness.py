"""The fairness ledger: GET /routing/fairness?from=&to=&pool_id= (docs/routing.md#fairness-ledger)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from api_routes.agents import ID_PATTERN
from api_routes.common import BadRequest, NotFound, principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock, iso, local_day
from leadrelay.config import get_settings

router = Router()

MAX_DAYS = 31
_DAY = r"^\d{4}-\d{2}-\d{2}$"


@router.get("/routing/fairness", summary="Who could take leads and who got them (admin, manager)", tags=["routing"])
def fairness_ledger(
    from_: Annotated[str | None, Query(alias="from", pattern=_DAY, description="first org-local day")] = None,
    to: Annotated[str | None, Query(pattern=_DAY, description="last org-local day (inclusive)")] = None,
    pool_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER)
    timezone = get_settings().org_timezone
    now = get_clock().now()
    try:
        last = date.fromisoformat(to) if to else local_day(now, timezone)
        first = date.fromisoformat(from_) if from_ else last
    except ValueError as bad:
        raise BadRequest("bad_date", f"from and to are days, YYYY-MM-DD: {bad}") from bad
    if first > last:
        raise BadRequest("bad_window", "from is after to")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest("window_too_long", f"at most {MAX_DAYS} days at a time")
    roster = wiring.org_repository().load_roster()
    pool = None
    if pool_id is not None:
        pool = roster.pools.get(pool_id)
        if pool is None:
            raise NotFound(f"there is no pool {pool_id!r}")
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(0), zone)
    end = min(datetime.combine(last + timedelta(days=1), time(0), zone), now)
    store = wiring.offer_store()
    entries = [entry for day in range((last - first).days + 1) for entry in store.ledger(first + timedelta(days=day))]
    agents = {agent_id: agent for agent_id, agent in roster.agents.items() if who.can_see_agent(agent)}
    # Lazy: the ledger's arithmetic (and the roster's eligibility rules) serves this route only.
    from leadrelay.routing.fairness import fairness

    report = fairness(entries, agents, pool, start, max(start, end), timezone)
    report["items"] = [row for row in report["items"] if row["agent_id"] in agents]
    return {"from": first.isoformat(), "to": last.isoformat(), "window": [iso(start), iso(max(start, end))], **report}
