"""Back-testing a draft rule chain: replay past leads through it and through the live chain, with
the same engine that routes live, and compare what would have happened.

Pure (no I/O): the caller loads the leads and the roster. The replay starts from a clean slate
(nobody assigned yet, no counters) and moves its own copy of the state the way committing a
decision moves it in DynamoDB: the winner's round-robin stamp (and weighted round-robin's virtual
times), their open leads, and their counter for the lead's org-local day. Each lead is decided at
its own `received_at`, so shifts and time-of-day conditions see the moment it arrived and caps
reset at each local midnight. Availability is the roster's as it is now: historical availability
is not recorded.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from leadrelay.clock import epoch_ms, iso, local_day
from leadrelay.models import Lead
from leadrelay.routing.engine import Plan, decide
from leadrelay.routing.roster import Roster
from leadrelay.routing.rules import RuleChain

# How many changed leads the diff lists one by one (the count is always complete).
DIFF_LISTED = 500

NOTES = (
    "Agent availability (status, leave, breaks) is taken as it is now: historical availability is not recorded.",
    "Shifts and time-of-day conditions use each lead's own received_at in the org time zone.",
    "Both chains start from a clean slate: no round-robin history, no counters, no open leads.",
    "Hard daily caps hold per org-local day; a day's counters reset at local midnight.",
    "Each lead is replayed as it first arrived: no previous owner (sticky owner falls back), and no "
    "lead closes during the window (least-loaded counts every lead assigned in it).",
)


@dataclass(frozen=True)
class LeadOutcome:
    """Where one lead went in a replay: the rule it hit (None when none matched) and the agent."""

    lead_id: str
    received_at: datetime
    rule_id: str | None
    pool_id: str | None
    agent_id: str | None
    reason: str


@dataclass
class AgentLoad:
    """One agent's load over the replay: leads assigned and the local days they reached their cap."""

    agent_id: str
    assigned: int = 0
    cap_hit_days: list[date] = field(default_factory=list)


@dataclass
class Replay:
    """What one rule chain would have done with the leads."""

    chain_version: int
    outcomes: list[LeadOutcome]
    agents: dict[str, AgentLoad]
    # rule id → leads it took (assigned or left unassigned); fell_through: matched, then passed on.
    rules: dict[str, int]
    fell_through: dict[str, int]

    @property
    def assigned(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.agent_id is not None)

    @property
    def unassigned(self) -> list[LeadOutcome]:
        return [outcome for outcome in self.outcomes if outcome.agent_id is None]

    def share(self, agent_id: str) -> float:
        """The agent's share of the assigned leads (0..1)."""
        assigned = self.assigned
        return round(self.agents[agent_id].assigned / assigned, 4) if assigned else 0.0

    def summary(self) -> dict[str, Any]:
        """Totals, per agent, per rule and the leads nobody could take, as JSON-ready values."""
        return {
            "rule_chain_version": self.chain_version,
            "leads": len(self.outcomes),
            "assigned": self.assigned,
            "unassigned": len(self.unassigned),
            "agents": {
                agent_id: {
                    "assigned": load.assigned,
                    "share": self.share(agent_id),
                    "cap_hit_days": [day.isoformat() for day in load.cap_hit_days],
                }
                for agent_id, load in sorted(self.agents.items())
            },
            "rules": dict(self.rules),
            "fell_through": dict(self.fell_through),
            "unassigned_leads": [
                {"lead_id": o.lead_id, "received_at": iso(o.received_at), "rule_id": o.rule_id, "reason": o.reason}
                for o in self.unassigned
            ],
        }


@dataclass
class Backtest:
    """The live and the draft chain over the same leads, side by side, and what changed."""

    live: Replay
    draft: Replay
    timezone: str
    notes: tuple[str, ...] = NOTES

    @property
    def changed(self) -> list[tuple[LeadOutcome, LeadOutcome]]:
        """(live, draft) outcome of every lead whose rule or agent differs between the chains."""
        return [
            (live, draft)
            for live, draft in zip(self.live.outcomes, self.draft.outcomes, strict=True)
            if (live.rule_id, live.agent_id) != (draft.rule_id, draft.agent_id)
        ]

    def report(self) -> dict[str, Any]:
        """The whole comparison as JSON-ready values: both summaries, the diff and every lead."""
        changed = self.changed
        outcomes = self.live.outcomes
        return {
            "timezone": self.timezone,
            "window": {
                "leads": len(outcomes),
                "from": iso(outcomes[0].received_at) if outcomes else None,
                "to": iso(outcomes[-1].received_at) if outcomes else None,
            },
            "live": self.live.summary(),
            "draft": self.draft.summary(),
            "diff": {
                "changed": len(changed),
                "rule_changed": sum(1 for live, draft in changed if live.rule_id != draft.rule_id),
                "agent_changed": sum(1 for live, draft in changed if live.agent_id != draft.agent_id),
                "leads": [
                    {
                        "lead_id": live.lead_id,
                        "live": {"rule_id": live.rule_id, "agent_id": live.agent_id},
                        "draft": {"rule_id": draft.rule_id, "agent_id": draft.agent_id},
                    }
                    for live, draft in changed[:DIFF_LISTED]
                ],
            },
            "leads": [
                {
                    "lead_id": live.lead_id,
                    "received_at": iso(live.received_at),
                    "live": {"rule_id": live.rule_id, "agent_id": live.agent_id},
                    "draft": {"rule_id": draft.rule_id, "agent_id": draft.agent_id},
                }
                for live, draft in zip(self.live.outcomes, self.draft.outcomes, strict=True)
            ],
            "notes": list(self.notes),
        }


def _as_of(roster: Roster, now: datetime) -> Roster:
    """The roster's people and pools with availability fixed as it is at `now`, and no history."""
    agents = {
        agent_id: agent.model_copy(update={"status": agent.status_at(now), "status_until": None})
        for agent_id, agent in roster.agents.items()
    }
    return Roster(agents=agents, teams=dict(roster.teams), pools=dict(roster.pools))


def _as_arrived(lead: Lead) -> Lead:
    """The lead as the router first saw it: nobody had it yet."""
    return lead.model_copy(
        update={"assigned_agent_id": None, "assigned_team_id": None, "assigned_pool_id": None, "assigned_at": None}
    )


def _move_strategy_state(state: Roster, plan: Plan, pool_id: str, agent_id: str, stamp: int) -> None:
    """What the commit moves besides the day counter: the winner's round-robin stamp, weighted
    round-robin's virtual times and the winner's open leads."""
    seen = state.rr(pool_id, agent_id)
    moved: dict[str, Any] = {"last_assigned_ms": stamp, "total": seen.total + 1, "exists": True}
    if plan.vtime is not None and plan.pool_vtime is not None:
        moved.update(vtime=plan.vtime, pool_vtime=plan.pool_vtime)
        current = state.virtual_time.get(pool_id)
        state.virtual_time[pool_id] = plan.pool_vtime if current is None else max(current, plan.pool_vtime)
    state.round_robin[(pool_id, agent_id)] = dataclasses.replace(seen, **moved)
    state.open_leads[agent_id] = state.open_leads.get(agent_id, 0) + 1


def replay(leads: Iterable[Lead], chain: RuleChain, roster: Roster, *, now: datetime, timezone: str) -> Replay:
    """Route `leads` in order of arrival through `chain`, moving a private copy of the state."""
    state = _as_of(roster, now)
    ordered = sorted(leads, key=lambda lead: lead.received_at)
    members = {agent_id for pool in state.pools.values() for agent_id in pool.agent_ids if agent_id in state.agents}
    agents = {agent_id: AgentLoad(agent_id) for agent_id in members}
    rules: Counter[str] = Counter()
    fell_through: Counter[str] = Counter()
    newest_stamp: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = {}
    day: date | None = None
    outcomes: list[LeadOutcome] = []
    for lead in ordered:
        lead_day = local_day(lead.received_at, timezone)
        if lead_day != day:
            day, counts = lead_day, {}
        plan = decide(_as_arrived(lead), chain, state, counts, lead.received_at, timezone)
        for trace in plan.rules:
            if trace.fell_through:
                fell_through[trace.rule_id] += 1
        if plan.rule_id is not None:
            rules[plan.rule_id] += 1
        outcomes.append(
            LeadOutcome(lead.lead_id, lead.received_at, plan.rule_id, plan.pool_id, plan.agent_id, plan.reason)
        )
        if plan.agent_id is None or plan.pool_id is None:
            continue
        agent_id, pool_id = plan.agent_id, plan.pool_id
        counts[agent_id] = counts.get(agent_id, 0) + 1
        load = agents.setdefault(agent_id, AgentLoad(agent_id))
        load.assigned += 1
        if plan.daily_cap is not None and counts[agent_id] == plan.daily_cap:
            load.cap_hit_days.append(lead_day)
        # As the commit does: a stamp strictly newer than any in the pool, at the lead's time.
        stamp = max(epoch_ms(lead.received_at), newest_stamp[pool_id] + 1)
        newest_stamp[pool_id] = stamp
        _move_strategy_state(state, plan, pool_id, agent_id, stamp)
    return Replay(chain.version, outcomes, agents, dict(rules), dict(fell_through))


def backtest(
    leads: Iterable[Lead],
    live: RuleChain,
    draft: RuleChain,
    roster: Roster,
    *,
    now: datetime,
    timezone: str,
    draft_roster: Roster | None = None,
) -> Backtest:
    """Replay the same leads through the live and the draft chain, each from the same clean slate.
    `draft_roster` (default: `roster`) is the draft's people and pools, e.g. a pool with
    performance weighting on (routing/performance.py)."""
    ordered = sorted(leads, key=lambda lead: lead.received_at)
    return Backtest(
        live=replay(ordered, live, roster, now=now, timezone=timezone),
        draft=replay(ordered, draft, draft_roster or roster, now=now, timezone=timezone),
        timezone=timezone,
    )
