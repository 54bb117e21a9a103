"""Manual reassignment: a manager or admin moves a lead to an agent or a pool, with a reason.

The lead keeps its whole timeline (a `lead.reassigned` event is appended), the move is recorded
as a routing decision with `trigger: "manual"` (so overrides are counted apart from automatic
routing), and everything is written in one transaction conditional on the lead's version.

Caps: a manager's pick may exceed a soft cap (it only demotes in automatic routing) but not the
hard daily cap, unless `force` is set. Nor the agent's backlog cap (`max_open_leads`, their own or
the strictest default of their pools): only an admin's `force` passes it, and the trail says so.
Both caps hold under the same conditional writes as automatic routing. A banned agent never
gets a lead; an agent on leave or unavailable only with `force`. An agent on a break or off shift
may be picked: the lead waits for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from leadrelay.clock import Clock, local_day
from leadrelay.errors import Refused
from leadrelay.ids import new_id
from leadrelay.models import Lead, RoutingDecision, SkipReason, TimelineEvent, TimelineKind
from leadrelay.models.roster import Assignment, CommitResult, Roster
from leadrelay.routing.eligibility import backlog_cap, hard_cap, is_demoted, skip_reason
from leadrelay.routing.engine import Plan, decide
from leadrelay.routing.ports import ReassignmentWriter, RoutingStateReader
from leadrelay.routing.rules import Rule, RuleChain

NEEDS_FORCE = frozenset({SkipReason.ON_LEAVE, SkipReason.UNAVAILABLE, SkipReason.CAPPED})
# Decisions of one move, when the roster keeps changing under it (each change is rare: an admin's).
ROSTER_ATTEMPTS = 3


class ReassignRefused(Refused):
    """The move cannot be made as asked."""


@dataclass
class Reassignment:
    lead_id: str
    agent_id: str | None = None
    pool_id: str | None = None
    reason: str = ""
    force: bool = False
    by: str = "system"
    # A manager may move leads only to agents of this team (None: anywhere).
    team_scope: str | None = None
    # Whether `force` may also pass the agent's backlog cap (an admin's move; a manager's may not).
    force_backlog: bool = True


def agent_backlog_cap(roster: Roster, agent_id: str) -> int | None:
    """The backlog cap of `agent_id` outside any one pool: their own `max_open_leads`, else the
    strictest default of the pools they are in (None: no cap)."""
    agent = roster.agents[agent_id]
    defaults = [
        p.max_open_leads for p in roster.pools.values() if agent_id in p.agent_ids and p.max_open_leads is not None
    ]
    return backlog_cap(agent.max_open_leads, min(defaults) if defaults else None)


class Reassigner:
    def __init__(
        self,
        *,
        org: RoutingStateReader,
        assignments: ReassignmentWriter,
        clock: Clock,
        timezone: str,
    ) -> None:
        self.org = org
        self.assignments = assignments
        self.clock = clock
        self.timezone = timezone

    def reassign(self, lead: Lead, move: Reassignment) -> RoutingDecision:
        """Move `lead` (as read, with its version) as `move` says; raise `ReassignRefused` if not.

        The move is decided on the roster read after its version, and committed only while that
        version holds: when agents, teams, pools or rules changed in between, it is decided again
        on the new roster (the named agent may now be refused, say on leave, or a pool's strategy
        picks someone else), up to `ROSTER_ATTEMPTS` times."""
        if lead.offer_id is not None:  # its offer holds the agent's counters: settle it first
            raise ReassignRefused("lead_offered", f"the lead is offered to {lead.offered_agent_id} until "
                                  f"{lead.offer_expires_at}; it can move once accepted or passed on")  # fmt: skip
        for _ in range(ROSTER_ATTEMPTS):
            decision = self._reassign_once(lead, move)
            if decision is not None:
                return decision
        raise ReassignRefused(
            "state_changed", "agents, pools or rules kept changing while the lead was being moved; try again"
        )

    def _reassign_once(self, lead: Lead, move: Reassignment) -> RoutingDecision | None:
        """One decision and its commit; None when the roster moved in between (decide again)."""
        # Never before the lead's last assignment: a timeline must read in the order things happened,
        # even when clocks on different hosts disagree by a few milliseconds.
        latest = max(t for t in (lead.received_at, lead.assigned_at) if t is not None)
        now = max(self.clock.now(), latest + timedelta(milliseconds=1))
        day = local_day(now, self.timezone)
        # The version first, then the state (as routing/snapshot.py reads them): the commit checks
        # it, so a roster change completed after this read sends the move round again.
        roster_version = self.org.roster_version()
        state = self.org.load_routing_state(day)
        roster, counts, chain = state.roster, state.counts_today, state.chain
        previous = lead.assigned_agent_id
        plan: Plan | None = None
        if move.agent_id is not None:
            agent_id, pool_id, candidates, skipped = move.agent_id, None, [move.agent_id], {}
            agent = roster.agents.get(agent_id)
            if agent is None:
                raise ReassignRefused("unknown_agent", f"there is no agent {agent_id!r}", 422)
            if agent_id == previous:
                raise ReassignRefused("already_assigned", f"the lead is already assigned to {agent_id}")
            why = skip_reason(
                agent, lead, now=now, local_now=now.astimezone(ZoneInfo(self.timezone)),
                assigned_today=counts.get(agent_id, 0), require_language=False, chain_cap=chain.daily_cap_per_agent,
            )  # fmt: skip
            if why is SkipReason.BANNED:
                raise ReassignRefused("agent_not_eligible", f"{agent_id} is banned and cannot take leads")
            if why in NEEDS_FORCE and not move.force:
                raise ReassignRefused(
                    "agent_not_eligible", f'{agent_id} is {why.value}; send "force": true to assign anyway'
                )
            strategy, reason = "manual", f"reassigned to {agent_id} by {move.by}: {move.reason}"
            if why is not None:
                reason += f" ({agent_id} was {why.value})"
        else:
            assert move.pool_id is not None
            pool = roster.pools.get(move.pool_id)
            if pool is None:
                raise ReassignRefused("unknown_pool", f"there is no pool {move.pool_id!r}", 422)
            one_rule = RuleChain(
                version=chain.version,
                rules=[Rule(rule_id="manual", pool_id=pool.pool_id)],
                daily_cap_per_agent=chain.daily_cap_per_agent,
            )
            exclude = frozenset({previous}) if previous else frozenset()
            plan = decide(lead, one_rule, roster, counts, now, self.timezone, exclude_agents=exclude)
            if plan.agent_id is None:
                raise ReassignRefused(
                    "nobody_eligible",
                    f"nobody in pool {pool.pool_id!r} can take the lead now: "
                    + ", ".join(f"{a} ({r})" for a, r in plan.skipped.items()),
                )
            agent_id, pool_id, candidates, skipped = plan.agent_id, pool.pool_id, plan.candidates, plan.skipped
            strategy = plan.strategy or "round_robin"
            picked = plan.reason.removeprefix("rule 'manual' matched; ")
            reason = f"reassigned to pool {pool.pool_id!r} by {move.by}: {move.reason}; picked by {strategy}: {picked}"
        agent = roster.agents[agent_id]
        if move.team_scope is not None and agent.team_id != move.team_scope:
            raise ReassignRefused("forbidden", f"{agent_id} is not in your team", 403)
        cap = None if move.force else hard_cap(agent, chain.daily_cap_per_agent)
        backlog = plan.max_open_leads if plan is not None else agent_backlog_cap(roster, agent_id)
        load = roster.load(agent_id)
        if backlog is not None and load >= backlog:  # (a pool's strategy never picks such an agent)
            if not move.force:
                raise ReassignRefused("backlog_full", f"{agent_id} already holds {load} open leads, their backlog cap "
                                      f"is {backlog}; an admin may send \"force\": true to assign anyway")  # fmt: skip
            if not move.force_backlog:
                raise ReassignRefused("backlog_full", f"{agent_id} already holds {load} open leads, their backlog "
                                      f"cap is {backlog}; only an admin can force past a backlog cap", 403)  # fmt: skip
            reason += f" (forced past the backlog cap: {load} open, cap {backlog})"
        # On commit the cap holds too (another router may fill the backlog meanwhile), except for
        # an admin's forced move to one agent.
        held = None if move.force and move.force_backlog and plan is None else backlog
        before = {a: counts.get(a, 0) for a in candidates}
        decision = RoutingDecision(
            decision_id=new_id(now), lead_id=lead.lead_id, at=now, rule_chain_version=chain.version,
            rule_id=None, pool_id=pool_id, strategy=strategy, agent_id=agent_id, outcome="assigned", reason=reason,
            candidates=candidates, skipped=skipped,
            demoted=[a for a in candidates if is_demoted(roster.agents[a], counts.get(a, 0))],
            counters_before=before, counters_after={**before, agent_id: before.get(agent_id, 0) + 1},
            trigger="manual", by=move.by, note=move.reason, previous_agent_id=previous, forced=move.force,
        )  # fmt: skip
        event = TimelineEvent(
            event_id=decision.decision_id, lead_id=lead.lead_id, at=now, kind=TimelineKind.REASSIGNED.value,
            actor=move.by, summary=f"reassigned from {previous or 'nobody'} to {agent_id}: {move.reason}",
            data={"from_agent_id": previous, "agent_id": agent_id, "pool_id": pool_id, "reason": move.reason,
                  "forced": move.force, "team_id": agent.team_id, "source_id": lead.source_id, "trigger": "manual"},
        )  # fmt: skip
        assignment = Assignment(agent_id, pool_id, agent.team_id, cap, max_open_leads=held)
        if plan is not None:  # the pool's strategy picked: its state moves as in automatic routing
            assignment.vtime, assignment.pool_vtime = plan.vtime, plan.pool_vtime
            assignment.load_seen = plan.load_seen
        result = self.assignments.reassign(
            lead, decision, event, assignment=assignment, day=day, roster=roster, stamp_round_robin=pool_id is not None,
            roster_version=roster_version,
        )  # fmt: skip
        if result is CommitResult.ROSTER_MOVED:
            return None
        if result is CommitResult.LEAD_CHANGED:
            raise ReassignRefused("lead_changed", "the lead changed while it was being moved; reload and try again")
        if result is CommitResult.STATE_CHANGED:
            if held is not None and plan is None:  # say so when the backlog filled up meanwhile (a pool
                # move gets state_changed: asked again, its strategy picks among those still under caps)
                now_load = self.org.load_routing_state(day).roster.load(agent_id)
                if now_load >= held:
                    raise ReassignRefused("backlog_full", f"{agent_id} reached their backlog cap ({held} open leads) "
                                          "meanwhile; an admin may send \"force\": true to assign anyway")  # fmt: skip
            raise ReassignRefused(
                "state_changed", f"{agent_id}'s load changed meanwhile (a cap may now be reached); try again"
            )
        return decision  # lead.reassigned (and lead.assigned) leave through the stream
