"""The router: read state, let the engine decide, commit with conditions, retry lost races."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadrelay.clock import Clock, iso, local_day
from leadrelay.ids import new_id
from leadrelay.models import Lead, RoutingDecision, RoutingState, TimelineEvent, TimelineKind
from leadrelay.models.roster import Assignment, CommitResult, new_offer
from leadrelay.models.rules import RuleChain
from leadrelay.routing.engine import Plan, decide
from leadrelay.routing.offers import offered
from leadrelay.routing.ports import AssignmentWriter, LeadReader, RoutingStateReader
from leadrelay.routing.snapshot import RosterSnapshots

logger = logging.getLogger(__name__)


class RoutingContention(Exception):
    """The assignment lost its race too many times; the stream record is retried later."""


@dataclass
class RouteOutcome:
    decision: RoutingDecision | None
    skipped_reason: str | None = None  # why nothing was done (already routed elsewhere)


class Router:
    """Assigns leads: a small, fixed number of DynamoDB calls per lead, whatever is stored.

    It reaches storage through the ports of `routing/ports.py`; `wiring.py` passes the stores."""

    def __init__(
        self,
        *,
        leads: LeadReader,
        org: RoutingStateReader,
        assignments: AssignmentWriter,
        clock: Clock,
        timezone: str,
        max_attempts: int = 8,
        snapshots: RosterSnapshots | None = None,
    ) -> None:
        self.leads = leads
        self.org = org
        self.assignments = assignments
        self.clock = clock
        self.timezone = timezone
        self.max_attempts = max_attempts
        # A warm router's routing state (routing/snapshot.py); without one, every attempt reads
        # the roster version and the state, and the commit checks that version all the same.
        self.snapshots = snapshots

    def route(self, lead: Lead, trigger: str = "auto") -> RouteOutcome:
        """Decide and commit an owner for `lead` (exactly once, however often this is called)."""
        if lead.routing_state is not RoutingState.PENDING:
            return RouteOutcome(None, "routing is not pending")
        for attempt in range(1, self.max_attempts + 1):
            now = self._now(lead)
            day = local_day(now, self.timezone)
            if self.snapshots:  # held: nothing read; the commit checks the roster version instead
                held = self.snapshots.hold(day)
                state, roster_version = held.state, held.version
            else:  # the version first, as a snapshot reads it (routing/snapshot.py)
                roster_version = self.org.roster_version()
                state = self.org.load_routing_state(day)
            chain, roster, counts = state.chain, state.roster, state.counts_today
            plan = decide(lead, chain, roster, counts, now, self.timezone)
            decision = self._decision(lead, chain, plan, counts, attempt, trigger, now)
            event = self._timeline_event(lead, decision)
            assignment = offer = None
            if plan.agent_id is not None:
                agent = roster.agents[plan.agent_id]
                assignment = Assignment(
                    plan.agent_id, plan.pool_id, agent.team_id, plan.daily_cap,
                    vtime=plan.vtime, pool_vtime=plan.pool_vtime, load_seen=plan.load_seen,
                    max_open_leads=plan.max_open_leads,
                    away=plan.accrued.away if plan.accrued else (),
                    owed_after=plan.accrued.winner_owed if plan.accrued else None,
                    extra_turn=plan.accrued.extra if plan.accrued else False,
                )  # fmt: skip
                if plan.offer_timeout_s and plan.pool_id:  # accept-or-pass (routing/offers.py)
                    offer = new_offer(now, plan.offer_timeout_s)
                    offered(decision, event, offer.offer_id, offer.expires_at, lead)
            if assignment is not None:
                event.data["team_id"] = assignment.team_id
            result = self.assignments.commit(
                lead, decision, event, assignment=assignment, day=day, roster=roster, offer=offer,
                roster_version=roster_version,
            )  # fmt: skip
            if result is CommitResult.COMMITTED:  # lead.assigned/unassigned leaves through the stream
                if self.snapshots and assignment is not None:
                    self._remember(lead, assignment, decision.at)
                return RouteOutcome(decision)
            if self.snapshots:  # lost a race or the roster moved: the snapshot is stale
                self.snapshots.forget()
            if result is CommitResult.ROSTER_MOVED:
                # A change to agents, pools or rules landed since the snapshot was read: decide
                # again on the new roster at once (no contention to wait out).
                continue
            if result is CommitResult.LEAD_CHANGED:
                fresh = self.leads.get(lead.lead_id, consistent=True)
                if fresh is None or fresh.routing_state is not RoutingState.PENDING:
                    return RouteOutcome(None, "already routed by another attempt")
                lead = fresh
            # Lost a race on a counter or a round-robin stamp: back off a little, read again.
            time.sleep(random.uniform(0, 0.004 * attempt))
        raise RoutingContention(f"lead {lead.lead_id}: gave up after {self.max_attempts} attempts")

    def _remember(self, lead: Lead, assignment: Assignment, at: datetime) -> None:
        """Apply this router's own assignment to its snapshot (see routing/snapshot.py)."""
        assert self.snapshots is not None
        if assignment.away or assignment.owed_after is not None or assignment.extra_turn:
            # Accrued turns moved other members' counts and the stamp in their own way: read
            # the state again rather than mirror that here (accrued turns are off by default).
            self.snapshots.forget()
            return
        self.snapshots.committed(
            lead, agent_id=assignment.agent_id, pool_id=assignment.pool_id, at=at,
            vtime=assignment.vtime, pool_vtime=assignment.pool_vtime,
        )  # fmt: skip

    def _now(self, lead: Lead) -> datetime:
        """Now, but never before the lead arrived: clocks on different hosts can disagree by a few
        milliseconds, and a timeline must not show the assignment before the receipt."""
        return max(self.clock.now(), lead.received_at + timedelta(milliseconds=1))

    def _decision(
        self,
        lead: Lead,
        chain: RuleChain,
        plan: Plan,
        counts: dict[str, int],
        attempt: int,
        trigger: str,
        now: datetime,
    ) -> RoutingDecision:
        before = {agent_id: counts.get(agent_id, 0) for agent_id in plan.candidates}
        after = dict(before)
        if plan.agent_id is not None:
            after[plan.agent_id] = before.get(plan.agent_id, 0) + 1
        return RoutingDecision(
            decision_id=new_id(now),
            lead_id=lead.lead_id,
            at=now,
            rule_chain_version=chain.version,
            rule_id=plan.rule_id,
            pool_id=plan.pool_id,
            strategy=plan.strategy,
            agent_id=plan.agent_id,
            outcome="assigned" if plan.agent_id else "unassigned",
            reason=plan.reason,
            candidates=plan.candidates,
            skipped=plan.skipped,
            demoted=plan.demoted,
            rules=plan.deciding_rules,
            rules_not_matched=plan.rules_not_matched,
            counters_before=before,
            counters_after=after,
            attempt=attempt,
            trigger=trigger,
        )

    def _timeline_event(self, lead: Lead, decision: RoutingDecision) -> TimelineEvent:
        if decision.agent_id:
            kind, summary = (
                TimelineKind.ASSIGNED,
                f"assigned to {decision.agent_id} by rule {decision.rule_id}",
            )
        else:
            kind, summary = TimelineKind.UNASSIGNED, f"unassigned: {decision.reason}"
        # The event's data: what a lead.assigned / lead.unassigned consumer needs (no person).
        data = {"agent_id": decision.agent_id, "rule_id": decision.rule_id, "pool_id": decision.pool_id,
                "source_id": lead.source_id, "received_at": iso(lead.received_at)}  # fmt: skip
        if not decision.agent_id:
            data["reason"] = decision.reason
        return TimelineEvent(
            event_id=decision.decision_id,
            lead_id=lead.lead_id,
            at=decision.at,
            kind=kind.value,
            summary=summary,
            data=data,
        )
