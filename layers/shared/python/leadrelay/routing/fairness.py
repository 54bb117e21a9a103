"""The fairness ledger (GET /routing/fairness): per agent, how long they could take leads, what
they were offered and assigned, and the share they got against the share they were due.

A pure function over the ledger entries the routing transactions write (store/offers.py): no
I/O, every input passed in, like the engine.

- **eligible minutes**: minutes of the window the agent was checked in, available (not on
  leave, on a break, unavailable or banned) and inside a shift (no shifts: every minute).
  Presence before the window's first check-in/out entry is the opposite of that entry (or, with
  no entry in the window, the agent's presence now); the status before the window's first
  availability entry is the one that entry replaced (or, with none, the agent's status now). A
  status with an `until` lapses back to available then, as routing sees it.
- **expected share**: the agent's eligible minutes (times weight in a weighted pool) over the
  pool's; **expected leads**: that share of the leads the pool assigned in the window.
- **actual share**: the agent's assigned leads (direct, or accepted offers) over the pool's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadrelay.models import Agent, AgentStatus, Pool, Strategy
from leadrelay.models.agent import Presence
from leadrelay.routing.eligibility import facts_of

_LEAD_KINDS = ("offered", "accepted", "declined", "expired", "assigned")
_PRESENCE_KINDS = (Presence.CHECKED_IN.value, Presence.CHECKED_OUT.value)
# A change of an agent's status (leave, break, unavailable, …): store/presence.py writes it.
AVAILABILITY_KIND = "availability"


@dataclass(frozen=True)
class StatusChange:
    """An availability ledger entry: at `at` the status became `status` (lapsing at `until`);
    before, it was `before` (lapsing at `before_until`)."""

    at: datetime
    status: AgentStatus
    until: datetime | None = None
    before: AgentStatus = AgentStatus.AVAILABLE
    before_until: datetime | None = None


def _in_force(status: AgentStatus, until: datetime | None, moment: datetime) -> AgentStatus:
    return AgentStatus.AVAILABLE if until is not None and moment >= until else status


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def status_change(entry: dict[str, Any]) -> StatusChange:
    """The ledger entry `entry` (kind `availability`) as a `StatusChange`."""
    return StatusChange(
        at=_at(entry), status=AgentStatus(entry["status"]), until=_time(entry.get("until")),
        before=AgentStatus(entry.get("from_status") or AgentStatus.AVAILABLE.value),
        before_until=_time(entry.get("from_until")),
    )  # fmt: skip


def _at(entry: dict[str, Any]) -> datetime:
    at = entry["at"]
    return at if isinstance(at, datetime) else datetime.fromisoformat(str(at).replace("Z", "+00:00"))


def eligible_minutes(agent: Agent, presence: list[tuple[datetime, str]], start: datetime, end: datetime,
                     timezone: str, availability: list[StatusChange] | None = None) -> int:  # fmt: skip
    """Minutes in [start, end) that `agent` was checked in, available and on shift; `presence`
    is the agent's check-in/out entries in the window, `availability` their status changes in
    it, each oldest first."""
    if end <= start:
        return 0
    checked_in = presence[0][1] != Presence.CHECKED_IN.value if presence else agent.presence is Presence.CHECKED_IN
    statuses = availability or []
    if statuses:
        status, until = statuses[0].before, statuses[0].before_until
    else:
        status, until = agent.status, agent.status_until
    status_changes = iter(statuses)
    next_status = next(status_changes, None)
    facts = facts_of(agent)
    zone = ZoneInfo(timezone)
    changes = iter(presence)
    upcoming = next(changes, None)
    minutes = 0
    moment = start
    step = timedelta(minutes=1)
    while moment < end:
        while upcoming is not None and upcoming[0] <= moment:
            checked_in = upcoming[1] == Presence.CHECKED_IN.value
            upcoming = next(changes, None)
        while next_status is not None and next_status.at <= moment:
            status, until = next_status.status, next_status.until
            next_status = next(status_changes, None)
        if checked_in and _in_force(status, until, moment) is AgentStatus.AVAILABLE:
            if not facts.shifts:
                minutes += 1
            else:
                local = moment.astimezone(zone)
                micros = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000
                if any(window.covers(micros, local.weekday()) for window in facts.shifts):
                    minutes += 1
        moment += step
    return minutes


def fairness(
    entries: Iterable[dict[str, Any]],
    agents: dict[str, Agent],
    pool: Pool | None,
    start: datetime,
    end: datetime,
    timezone: str,
) -> dict[str, Any]:
    """The ledger for [start, end): one row per agent of `pool` (every agent without a pool)."""
    members = list(pool.agent_ids) if pool else sorted(agents)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    mix: dict[str, Counter[str]] = defaultdict(Counter)
    presence: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    availability: dict[str, list[StatusChange]] = defaultdict(list)
    for entry in entries:
        at = _at(entry)
        if not start <= at < end:
            continue
        kind, agent_id = entry.get("kind"), str(entry.get("agent_id") or "")
        if not agent_id:  # a ledger entry always names its agent; skip anything that does not
            continue
        if kind in _PRESENCE_KINDS:
            presence[agent_id].append((at, kind))
            continue
        if kind == AVAILABILITY_KIND:
            availability[agent_id].append(status_change(entry))
            continue
        if kind not in _LEAD_KINDS or (pool is not None and entry.get("pool_id") != pool.pool_id):
            continue
        counts[agent_id][kind] += 1
        if kind in ("assigned", "accepted"):
            mix[agent_id][entry.get("source_kind") or "unknown"] += 1
    weighted = pool is not None and pool.strategy is Strategy.WEIGHTED_ROUND_ROBIN
    minutes: dict[str, int] = {}
    for agent_id in members:
        agent = agents.get(agent_id)
        changes = sorted(availability[agent_id], key=lambda change: change.at)
        minutes[agent_id] = (
            eligible_minutes(agent, sorted(presence[agent_id]), start, end, timezone, changes) if agent else 0
        )
    # (a pool with performance weighting: its weights, which hold each member's guaranteed share)
    weight = {a: (pool.weight_of(agents[a]) if weighted and pool and a in agents else 1) for a in members}
    due_total = sum(minutes[a] * weight[a] for a in members)
    assigned = {a: counts[a]["assigned"] + counts[a]["accepted"] for a in members}
    total = sum(assigned.values())
    rows = []
    for agent_id in members:
        expected = (minutes[agent_id] * weight[agent_id] / due_total) if due_total else 0.0
        actual = assigned[agent_id] / total if total else 0.0
        c = counts[agent_id]
        rows.append({
            "agent_id": agent_id, "eligible_minutes": minutes[agent_id], "offers": c["offered"],
            "accepted": c["accepted"], "passed": c["declined"], "expired": c["expired"],
            "assigned": assigned[agent_id], "expected_share": round(expected, 4), "actual_share": round(actual, 4),
            "expected_leads": round(expected * total, 2), "difference": round(assigned[agent_id] - expected * total, 2),
            "by_source": dict(sorted(mix[agent_id].items())),
        })  # fmt: skip
    return {"pool_id": pool.pool_id if pool else None, "leads_assigned": total, "items": rows}
