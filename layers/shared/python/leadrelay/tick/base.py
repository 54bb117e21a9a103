"""What every step of the follow-up tick shares: the tick's stores, its report, reading a queue,
settling guarded transactions, and assigning a lead (a decision, its timeline entry, the commit)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from leadrelay.clock import Clock, local_day
from leadrelay.ids import new_id
from leadrelay.models import Lead, RoutingDecision, TimelineEvent
from leadrelay.models.roster import RoutingState as OrgState
from leadrelay.routing.engine import Plan
from leadrelay.store.activities import ActivityLog
from leadrelay.store.assignments import Assignment, AssignmentStore, CommitResult
from leadrelay.store.dynamo import client, if_condition_holds, to_item, to_value
from leadrelay.store.followups import FollowupStore
from leadrelay.store.leads import LEAD_SK, LeadRepository, lead_pk, timeline_item
from leadrelay.store.org import OrgRepository
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction

logger = logging.getLogger("leadrelay.tick")

# DynamoDB's limit on the items of one TransactWriteItems.
MAX_TRANSACTION_ITEMS = 100


class Lazy:
    """A value computed on first attribute access (the follow-up settings of one tick)."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._value: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._value is None:
            self._value = self._load()
        return getattr(self._value, name)


@dataclass
class TickReport:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


def event(
    lead_id: str,
    at: datetime,
    kind: str,
    summary: str,
    data: dict[str, Any],
    event_id: str | None = None,
    actor: str = "system",
) -> TimelineEvent:
    return TimelineEvent(
        event_id=event_id or new_id(at), lead_id=lead_id, at=at, kind=kind, actor=actor, summary=summary, data=data
    )


class TickBase:
    def __init__(
        self,
        *,
        leads: LeadRepository,
        org: OrgRepository,
        followups: FollowupStore,
        activities: ActivityLog,
        assignments: AssignmentStore,
        route: Callable[[Lead, str], Any],
        clock: Clock,
        timezone: str,
        batch: int = 200,
    ) -> None:
        self.leads = leads
        self.org = org
        self.followups = followups
        self.activities = activities
        self.assignments = assignments
        self.route = route
        self.clock = clock
        self.timezone = timezone
        self.batch = batch

    @property
    def table(self) -> str:
        return self.leads.table

    def _routing_state(self, day: date) -> OrgState:
        """The routing state to decide on, with the roster version read just before it (as
        routing/snapshot.py reads them): `_commit` checks that version, so a move decided on the
        roster as it was before a change that completed meanwhile is refused (`ROSTER_MOVED`)."""
        version = self.org.roster_version()
        state = self.org.load_routing_state(day)
        state.roster_version = version
        return state

    def _due(self, queue: str, until: datetime) -> list[dict[str, Any]]:
        items, _ = self.followups.due(queue, until, self.batch)
        return items

    def _lead(self, item: dict[str, Any]) -> Lead | None:
        lead_id = item.get("lead_id")
        return self.leads.get(str(lead_id), consistent=True) if lead_id else None

    def _dequeue_lead(self, lead: Lead, queue: str) -> None:
        if_condition_holds(
            client().update_item,
            TableName=self.table,
            Key=to_item({"pk": lead_pk(lead.lead_id), "sk": LEAD_SK}),
            UpdateExpression="REMOVE due_pk, due_at",
            ConditionExpression="due_pk = :queue",
            ExpressionAttributeValues={":queue": to_value(queue)},
        )

    # -- settling guarded writes -----------------------------------------------------------------

    def _settle_many(self, units: list[list[dict[str, Any]]]) -> int:
        """Run many small units (each guarded by its first item's condition) in transactions of up
        to `MAX_TRANSACTION_ITEMS` items: one call per batch instead of one per unit. A unit whose
        guard fails (another tick, or a person, got there first) is dropped and the rest of its
        batch runs again. Returns how many units were written."""
        written = 0
        batch: list[list[dict[str, Any]]] = []
        for unit in units:
            if batch and sum(map(len, batch)) + len(unit) > MAX_TRANSACTION_ITEMS:
                written += self._run_batch(batch)
                batch = []
            batch.append(unit)
        if batch:
            written += self._run_batch(batch)
        return written

    def _run_batch(self, batch: list[list[dict[str, Any]]]) -> int:
        while batch:
            try:
                run_transaction([item for unit in batch for item in unit])
            except TransactionFailed as failed:
                failing = set(failed.failed_conditions())
                if not failing:
                    raise
                keep, position = [], 0
                for unit in batch:
                    if not failing.intersection(range(position, position + len(unit))):
                        keep.append(unit)
                    position += len(unit)
                batch = keep
                continue
            return len(batch)
        return 0

    def _settle(self, txn: Transaction) -> bool:
        """Run a transaction whose first item is guarded by the state the tick read; False when
        another tick (or a person) got there first."""
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            if failed.failed_conditions():
                return False
            raise
        return True

    def _put_event(
        self,
        txn: Transaction,
        lead_id: str,
        at: datetime,
        kind: str,
        summary: str,
        data: dict[str, Any],
        actor: str = "system",
    ) -> None:
        """Inside `txn`: the lead's timeline entry (the domain event) for what `txn` changes."""
        txn.put(self.table, timeline_item(event(lead_id, at, kind, summary, data, actor=actor)))

    # -- assigning a lead (an SLA move, a queued lead) -------------------------------------------

    def _assigned(
        self,
        lead: Lead,
        plan: Plan,
        state: OrgState,
        at: datetime,
        *,
        trigger: str,
        previous: str | None,
        reason: str,
        kind: str,
        summary: str,
        data: dict[str, Any],
    ) -> tuple[RoutingDecision, TimelineEvent]:
        """The routing decision that gives `lead` to `plan`'s agent and its timeline entry (which
        carries the decision's id)."""
        decision = self._decision(lead, plan, state, at, trigger, previous, reason)
        return decision, event(lead.lead_id, at, kind, summary, data, event_id=decision.decision_id)

    def _decision(
        self, lead: Lead, plan: Plan, state: OrgState, at: datetime, trigger: str, previous: str | None, reason: str
    ) -> RoutingDecision:
        counts = state.counts_today
        before = {a: counts.get(a, 0) for a in plan.candidates}
        assert plan.agent_id is not None
        return RoutingDecision(
            decision_id=new_id(at),
            lead_id=lead.lead_id,
            at=at,
            rule_chain_version=state.chain.version,
            rule_id=plan.rule_id,
            pool_id=plan.pool_id,
            strategy=plan.strategy,
            agent_id=plan.agent_id,
            outcome="assigned",
            reason=reason,
            candidates=plan.candidates,
            skipped=plan.skipped,
            demoted=plan.demoted,
            rules=plan.rules,
            counters_before=before,
            counters_after={**before, plan.agent_id: before.get(plan.agent_id, 0) + 1},
            trigger=trigger,
            previous_agent_id=previous,
        )

    def _commit(
        self,
        lead: Lead,
        plan: Plan,
        decision: RoutingDecision,
        event: TimelineEvent,
        state: OrgState,
        at: datetime,
        more: tuple[TimelineEvent, ...] = (),
    ) -> CommitResult:
        assert plan.agent_id is not None
        agent = state.roster.agents[plan.agent_id]
        assignment = Assignment(
            plan.agent_id,
            plan.pool_id,
            agent.team_id,
            plan.daily_cap,
            vtime=plan.vtime,
            pool_vtime=plan.pool_vtime,
            load_seen=plan.load_seen,
            max_open_leads=plan.max_open_leads,  # the backlog cap holds on commit, as in routing
        )
        return self.assignments.reassign(
            lead,
            decision,
            event,
            assignment=assignment,
            day=local_day(at, self.timezone),
            roster=state.roster,
            stamp_round_robin=plan.pool_id is not None,
            register_override=False,
            more_events=more,
            roster_version=state.roster_version,
        )
