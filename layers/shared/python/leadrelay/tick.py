"""The followup function's every-minute tick: the work that makes sure no lead is forgotten.

Each step reads one queue of the sparse `by_due` index (never a scan), oldest first, at most
`batch` items, and handles each item with a write conditional on the state it read, so a tick
that runs twice, or overlaps the previous one, changes nothing twice; what is left waits for the
next tick. Every tick:

1. follow-ups that fell due: `followup.due` on the lead's timeline (the owner's reminder);
2. the SLA queue: a newly assigned lead gets its first-contact SLA deadline (shift hours when
   configured; a cadence attached when its rule names one); a lead past its deadline is
   re-distributed to an agent who never had it (backup pool first), or escalated to the team's
   manager after `max_redistributions` moves;
3. unassigned leads (nobody was eligible), oldest first, to whoever is eligible now.

Every fifth minute (work measured in hours and days):

4. follow-ups not done `missed_after_hours` after their due time: `missed`, `followup.missed`;
5. leads the router still owes a decision minutes after they arrived: routed again;
6. nurture steps that fell due become follow-ups; lost leads re-surface into the long-tail cadence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from leadrelay.clock import Clock, iso, local_day, parse_iso
from leadrelay.followup import kinds
from leadrelay.followup.nurture import may_nurture, next_allowed_step, step_due
from leadrelay.followup.rules import working_time
from leadrelay.followup.settings import FollowupSettings
from leadrelay.followup.sla import SLA_TRIGGER, History, history, plan_breach, sla_deadline, sla_minutes, sla_warning_at
from leadrelay.ids import new_id
from leadrelay.models import Lead, LeadStatus, RoutingDecision, RoutingState, TimelineEvent
from leadrelay.models.followup import FollowupStatus
from leadrelay.routing.engine import Plan, decide
from leadrelay.routing.rules import Rule, RuleChain
from leadrelay.store.activities import ActivityLog
from leadrelay.store.assignments import Assignment, AssignmentStore, CommitResult
from leadrelay.store.dynamo import client, if_condition_holds, to_item, to_value
from leadrelay.store.followups import (
    Q_FOLLOWUP_DUE,
    Q_FOLLOWUP_MISS,
    Q_LOST,
    Q_NURTURE,
    Q_ROUTING,
    Q_SLA,
    Q_UNASSIGNED,
    FollowupStore,
    followup_key,
    nurture_key,
)
from leadrelay.store.leads import (
    LEAD_SK,
    LeadRepository,
    TransactionFailed,
    _Txn,
    lead_pk,
    run_transaction,
    timeline_item,
)
from leadrelay.store.org import OrgRepository
from leadrelay.store.org import RoutingState as OrgState

logger = logging.getLogger(__name__)

QUEUE_TRIGGER = "queue"
# Missed follow-ups, nurture steps and lost leads are looked at on ticks whose minute is a
# multiple of this (every fifth minute); the rest on every tick.
SLOW_STEPS_EVERY_MINUTES = 5
# DynamoDB's limit on the items of one TransactWriteItems.
MAX_TRANSACTION_ITEMS = 100
REDRIVE_TRIGGER = "redrive"


class _Lazy:
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


def _event(
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


class FollowupTick:
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

    def run(self) -> TickReport:
        report = TickReport()
        now = self.clock.now()
        # Read only once some step finds work: an idle tick makes no settings read.
        settings = cast(FollowupSettings, _Lazy(self.followups.get_settings))
        steps: list[tuple[str, Callable[[datetime, FollowupSettings, TickReport], None]]] = [
            ("followups_due", self._followups_due),
            ("sla", self._sla),
            ("unassigned", self._unassigned),
        ]
        if now.minute % SLOW_STEPS_EVERY_MINUTES == 0:
            # Work measured in hours and days: a few minutes late costs nothing, and an idle
            # tick makes three queries fewer.
            steps += [("followups_missed", self._followups_missed), ("stuck", self._stuck), ("nurture", self._nurture),
                      ("lost", self._lost)]  # fmt: skip
        for name, step in steps:
            try:
                step(now, settings, report)
            except Exception:  # one step failing must not stop the others; its items stay due
                logger.exception("followup tick: %s failed", name)
                report.add("failed_steps")
        return report

    def _due(self, queue: str, until: datetime) -> list[dict[str, Any]]:
        items, _ = self.followups.due(queue, until, self.batch)
        return items

    # -- 1, 2: follow-ups ------------------------------------------------------------------------

    def _followups_due(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        units = []
        for item in self._due(Q_FOLLOWUP_DUE, now):
            missed_after = timedelta(hours=settings.missed_after_hours)
            due = parse_iso(item["due_time"])
            txn = _Txn()
            txn.update(
                self.table,
                followup_key(item["followup_id"]),
                "SET notified_at = :now, due_pk = :miss, due_at = :miss_at",
                {":now": now, ":miss": Q_FOLLOWUP_MISS, ":miss_at": iso(due + missed_after), ":due": Q_FOLLOWUP_DUE,
                 ":open": FollowupStatus.OPEN.value},
                "due_pk = :due AND #status = :open",
                names={"#status": "status"},
            )  # fmt: skip
            summary = f"follow-up due for {item.get('agent_id') or 'nobody'} ({item.get('reason')})"
            data = {"followup_id": item["followup_id"], "agent_id": item.get("agent_id"), "due_at": item["due_time"],
                    "reason": item.get("reason"), "type": item.get("type")}  # fmt: skip
            txn.put(self.table, timeline_item(_event(item["lead_id"], now, kinds.FOLLOWUP_DUE, summary, data)))
            units.append(txn.items)
        report.add("followups_due", self._settle_many(units))

    def _followups_missed(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        units = []
        for item in self._due(Q_FOLLOWUP_MISS, now):
            txn = _Txn()
            txn.update(
                self.table,
                followup_key(item["followup_id"]),
                "SET #status = :missed, missed_at = :now REMOVE due_pk, due_at",
                {":now": now, ":missed": FollowupStatus.MISSED.value, ":queue": Q_FOLLOWUP_MISS,
                 ":open": FollowupStatus.OPEN.value},
                "due_pk = :queue AND #status = :open",
                names={"#status": "status"},
            )  # fmt: skip
            summary = (
                f"follow-up missed by {item.get('agent_id') or 'nobody'}: not done {settings.missed_after_hours} h"
                f" after it was due ({item['due_time']}); the team's manager sees it"
            )
            data = {"followup_id": item["followup_id"], "agent_id": item.get("agent_id"),
                    "team_id": item.get("team_id"), "due_at": item["due_time"]}  # fmt: skip
            txn.put(self.table, timeline_item(_event(item["lead_id"], now, kinds.FOLLOWUP_MISSED, summary, data)))
            units.append(txn.items)
        report.add("followups_missed", self._settle_many(units))

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

    def _settle(self, txn: _Txn) -> bool:
        """Run a transaction whose first item is guarded by the state the tick read; False when
        another tick (or a person) got there first."""
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            if failed.failed_conditions():
                return False
            raise
        return True

    # -- 3, 4: first-contact SLA -----------------------------------------------------------------

    def _sla(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        """One queue, two kinds of item: a lead whose SLA clock just started (due_at = assigned_at;
        its deadline is worked out and becomes its due_at) and a lead past its deadline."""
        items = self._due(Q_SLA, now)
        if not items:
            return
        day = local_day(now, self.timezone)
        state = self.org.load_routing_state(day)
        org_default: list[int | None] = []
        for item in items:
            lead = self._lead(item)
            if lead is None:
                continue
            if not self._waits_for_contact(lead):
                self._dequeue_lead(lead, Q_SLA)
                continue
            past = history(self.leads.routing_decisions(lead.lead_id))
            assert lead.assigned_at is not None
            assigned = iso(lead.assigned_at)  # as read consistently, not as the index has it
            if item.get("sla_for") != assigned:
                # A new clock (a first assignment, or a new owner): its deadline, once.
                self._attach_rule_cadence(lead, past.rule_id, settings, now, report)
                if not org_default:
                    org_default.append(self.org.get_org_settings().first_contact_sla_minutes)
                minutes = sla_minutes(settings.sla, org_default[0], past.rule_id, lead.assigned_pool_id or past.pool_id,
                                      lead.source_id, lead.source_kind)  # fmt: skip
                if minutes is None:
                    self._dequeue_lead(lead, Q_SLA)
                    continue
                owner = state.roster.agents.get(lead.assigned_agent_id or "")
                deadline = sla_deadline(settings.sla, minutes, lead.assigned_at, owner, self.timezone)
                # A per-source warning first, when one is set and still ahead (docs/routing.md).
                warn_at = sla_warning_at(settings.sla, deadline, minutes, lead.source_id, lead.source_kind)
                due = warn_at if warn_at is not None and warn_at > now else deadline
                started = if_condition_holds(
                    client().update_item,
                    TableName=self.table,
                    Key=to_item({"pk": lead_pk(lead.lead_id), "sk": LEAD_SK}),
                    UpdateExpression="SET due_at = :due, sla_deadline = :deadline, sla_for = :assigned",
                    ConditionExpression="due_pk = :sla AND version = :version",
                    ExpressionAttributeValues={
                        ":sla": to_value(Q_SLA),
                        ":due": to_value(iso(due)),
                        ":deadline": to_value(iso(deadline)),
                        ":assigned": to_value(assigned),
                        ":version": to_value(lead.version),
                    },
                )
                if started is None:
                    continue
                report.add("sla_started")
                if due > now:
                    continue
            elif item.get("sla_deadline") and parse_iso(str(item["sla_deadline"])) > now:
                self._warn_sla(lead, assigned, parse_iso(str(item["sla_deadline"])), now, report)
                continue
            state = self._breach(lead, past, state, day, now, settings, report)

    def _warn_sla(self, lead: Lead, assigned: str, deadline: datetime, now: datetime, report: TickReport) -> None:
        """The SLA runs out soon: tell the owner (a lead.sla_warning timeline entry, the domain
        event a notification consumer picks up), and wait for the deadline itself."""
        txn = _Txn()
        txn.update(
            self.table, {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK}, "SET due_at = :deadline",
            {":deadline": deadline, ":sla": Q_SLA, ":assigned": assigned, ":version": lead.version},
            "due_pk = :sla AND sla_for = :assigned AND version = :version",
        )  # fmt: skip
        minutes = max(1, round((deadline - now).total_seconds() / 60))
        summary = f"first-contact SLA runs out in {minutes} min ({iso(deadline)})"
        event = _event(lead.lead_id, now, kinds.SLA_WARNING, summary,
                       {"agent_id": lead.assigned_agent_id, "deadline": iso(deadline), "source_id": lead.source_id,
                        "source_kind": lead.source_kind})  # fmt: skip
        txn.put(self.table, timeline_item(event))
        if self._settle(txn):
            report.add("sla_warned")

    def _breach(
        self,
        lead: Lead,
        past: History,
        state: OrgState,
        day: date,
        now: datetime,
        settings: FollowupSettings,
        report: TickReport,
    ) -> OrgState:
        """Re-distribute a lead past its SLA, or escalate it; returns the routing state to go on with."""
        plan = plan_breach(settings.sla, past, lead.assigned_pool_id)
        why = plan.why
        if plan.action == "redistribute":
            result = None
            for _ in range(3):
                result = self._redistribute(lead, plan.pools, plan.exclude, state, now)
                if result is not CommitResult.STATE_CHANGED:
                    break
                state = self.org.load_routing_state(day)
            if result is CommitResult.COMMITTED:
                report.add("sla_redistributed")
                return self.org.load_routing_state(day)
            if result is not None:
                return state  # contacted meanwhile, or busy: the next tick looks again
            why = "nobody else can take it now"
        if self._escalate(lead, state, now, why):
            report.add("sla_escalated")
        return state

    def _waits_for_contact(self, lead: Lead) -> bool:
        return (
            lead.first_contacted_at is None
            and lead.assigned_agent_id is not None
            and not lead.is_closed
            and lead.routing_state is RoutingState.DONE
        )

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

    def _redistribute(
        self,
        lead: Lead,
        pools: tuple[str | None, ...],
        exclude: frozenset[str],
        state: OrgState,
        now: datetime,
    ) -> CommitResult | None:
        """Move the lead to the first eligible agent of `pools` (None: the whole rule chain)."""
        chain, roster, counts = state.chain, state.roster, state.counts_today
        plan: Plan | None = None
        for pool_id in pools:
            if pool_id is None:
                candidate = decide(
                    lead.model_copy(update={"return_to_agent_id": None}),
                    chain,
                    roster,
                    counts,
                    now,
                    self.timezone,
                    exclude_agents=exclude,
                )
            elif pool_id in roster.pools:
                one_rule = RuleChain(
                    version=chain.version,
                    rules=[Rule(rule_id=SLA_TRIGGER, pool_id=pool_id)],
                    daily_cap_per_agent=chain.daily_cap_per_agent,
                )
                candidate = decide(lead, one_rule, roster, counts, now, self.timezone, exclude_agents=exclude)
            else:
                continue
            if candidate.agent_id is not None:
                plan = candidate
                break
        if plan is None or plan.agent_id is None:
            return None
        previous = lead.assigned_agent_id
        at = max(now, (lead.assigned_at or lead.received_at) + timedelta(milliseconds=1))
        decision = self._decision(
            lead, plan, state, at, SLA_TRIGGER, previous, f"not contacted within the SLA by {previous}; {plan.reason}"
        )
        moved = _event(
            lead.lead_id,
            at,
            kinds.REASSIGNED,
            f"re-distributed from {previous} to {plan.agent_id}: not contacted within the SLA",
            {
                "from_agent_id": previous,
                "agent_id": plan.agent_id,
                "pool_id": plan.pool_id,
                "reason": "sla",
                "trigger": SLA_TRIGGER,
            },
            event_id=decision.decision_id,
        )
        breached = _event(
            lead.lead_id,
            at,
            kinds.SLA_BREACHED,
            f"first-contact SLA breached by {previous}",
            {
                "agent_id": previous,
                "assigned_at": iso(lead.assigned_at) if lead.assigned_at else None,
                "action": "redistributed",
                "to_agent_id": plan.agent_id,
            },
        )
        return self._commit(lead, plan, decision, moved, state, at, more=(breached,))

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
        )

    def _escalate(self, lead: Lead, state: OrgState, now: datetime, why: str) -> bool:
        team = state.roster.teams.get(lead.assigned_team_id or "")
        managers = team.manager_usernames if team else []
        txn = _Txn()
        txn.update(
            self.table,
            {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
            "SET sla_escalated_at = :now, version = version + :one REMOVE due_pk, due_at",
            {":now": now, ":one": 1, ":version": lead.version, ":queue": Q_SLA},
            "version = :version AND due_pk = :queue",
        )
        txn.put(
            self.table,
            timeline_item(
                _event(
                    lead.lead_id,
                    now,
                    kinds.SLA_BREACHED,
                    f"first-contact SLA breached by {lead.assigned_agent_id}; escalated to the manager "
                    f"({', '.join(managers) or 'no manager on record'}): {why}",
                    {
                        "agent_id": lead.assigned_agent_id,
                        "team_id": lead.assigned_team_id,
                        "action": "escalated",
                        "escalated_to": managers,
                        "why": why,
                    },
                )
            ),
        )
        return self._settle(txn)

    # -- 5: unassigned leads ---------------------------------------------------------------------

    def _unassigned(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        items = self._due(Q_UNASSIGNED, now)
        if not items:
            return
        day = local_day(now, self.timezone)
        state = self.org.load_routing_state(day)
        for item in items:
            lead = self._lead(item)
            if lead is None or lead.status is not LeadStatus.UNASSIGNED or lead.routing_state is not RoutingState.DONE:
                continue
            plan = decide(lead, state.chain, state.roster, state.counts_today, now, self.timezone)
            if plan.agent_id is None:
                report.add("unassigned_waiting")
                continue  # still nobody: it keeps its place in the queue
            if plan.offer_timeout_s:  # an offers pool: the router offers it (routing/offers.py)
                if self._back_to_router(lead):
                    report.add("unassigned_to_offer")
                continue
            at = max(now, lead.received_at + timedelta(milliseconds=1))
            decision = self._decision(
                lead, plan, state, at, QUEUE_TRIGGER, None, f"waited unassigned since {item['due_at']}; {plan.reason}"
            )
            event = _event(
                lead.lead_id,
                at,
                kinds.ASSIGNED,
                f"assigned to {plan.agent_id} by rule {plan.rule_id} once someone was eligible",
                {"agent_id": plan.agent_id, "rule_id": plan.rule_id, "pool_id": plan.pool_id, "trigger": QUEUE_TRIGGER},
                event_id=decision.decision_id,
            )
            if self._commit(lead, plan, decision, event, state, at) is CommitResult.COMMITTED:
                report.add("unassigned_assigned")
            state = self.org.load_routing_state(day)

    def _back_to_router(self, lead: Lead) -> bool:
        """Hand a queued lead back to the router (routing_state pending: the stream routes it)."""
        values = {":pending": RoutingState.PENDING.value, ":new": LeadStatus.NEW.value, ":one": 1,
                  ":unassigned": LeadStatus.UNASSIGNED.value, ":done": RoutingState.DONE.value,
                  ":version": lead.version}  # fmt: skip
        handed = if_condition_holds(
            client().update_item,
            TableName=self.table,
            Key=to_item({"pk": lead_pk(lead.lead_id), "sk": LEAD_SK}),
            UpdateExpression="SET routing_state = :pending, #status = :new, version = version + :one "
            "REMOVE due_pk, due_at",
            ConditionExpression="#status = :unassigned AND routing_state = :done AND version = :version",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={k: to_value(v) for k, v in values.items()},
        )
        return handed is not None

    # -- 6: stuck leads --------------------------------------------------------------------------

    def _stuck(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        # A lead normally leaves this queue within a second: anything a minute old is worth a look.
        for item in self._due(Q_ROUTING, now - timedelta(minutes=1)):
            if parse_iso(item["due_at"]) > now - timedelta(minutes=settings.stuck_after_minutes):
                continue
            lead = self._lead(item)
            if lead is None:
                continue
            if lead.routing_state is not RoutingState.PENDING:
                self._dequeue_lead(lead, Q_ROUTING)
                continue
            report.add("stuck_found")
            try:
                outcome = self.route(lead, REDRIVE_TRIGGER)
            except Exception:
                logger.exception("re-driving stuck lead %s failed", lead.lead_id)
                continue
            if getattr(outcome, "decision", None) is not None:
                report.add("stuck_redriven")

    # -- 7: nurture ------------------------------------------------------------------------------

    def _attach_rule_cadence(
        self, lead: Lead, rule_id: str | None, settings: FollowupSettings, now: datetime, report: TickReport
    ) -> None:
        cadence_id = settings.nurture.by_rule.get(rule_id or "")
        if not cadence_id or may_nurture(lead) is not None or self.followups.nurture(lead.lead_id) is not None:
            return
        if self.start_cadence(lead, cadence_id, settings, now, by="system", only_if_absent=True):
            report.add("nurture_attached")

    def start_cadence(
        self,
        lead: Lead,
        cadence_id: str,
        settings: FollowupSettings,
        now: datetime,
        *,
        by: str,
        only_if_absent: bool = False,
        replace_queue: str | None = None,
    ) -> bool:
        """Attach a cadence to the lead (starting now); its first step is queued. False when the
        condition (no cadence yet / still in `replace_queue`) no longer holds."""
        cadence = settings.nurture.cadences[cadence_id]
        first = step_due(cadence, now, 0)
        assert first is not None
        item = {
            **nurture_key(lead.lead_id),
            "lead_id": lead.lead_id,
            "cadence_id": cadence_id,
            "started_at": now,
            "next_step": 0,
            "due_pk": Q_NURTURE,
            "due_at": iso(first.due_at),
            "by": by,
        }
        txn = _Txn()
        if replace_queue:
            txn.put(self.table, item, "due_pk = :queue", **{":queue": replace_queue})
        elif only_if_absent:
            txn.put(self.table, item, "attribute_not_exists(pk)")
        else:
            txn.put(self.table, item)
        summary = f"nurture cadence {cadence_id!r} started by {by} ({len(cadence.steps)} steps)"
        txn.put(
            self.table,
            timeline_item(
                _event(lead.lead_id, now, kinds.NURTURE_STARTED, summary, {"cadence_id": cadence_id}, actor=by)
            ),
        )
        return self._settle(txn)

    def _nurture(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        for item in self._due(Q_NURTURE, now):
            lead = self._lead(item)
            if lead is None:
                continue
            cadence = settings.nurture.cadences.get(item.get("cadence_id", ""))
            stop = may_nurture(lead) or ("the lead was won" if lead.status is LeadStatus.WON else None)
            if cadence is None:
                stop = f"cadence {item.get('cadence_id')!r} no longer exists"
            started = parse_iso(item["started_at"]) if isinstance(item["started_at"], str) else item["started_at"]
            index = int(item.get("next_step", 0))
            step, skipped = (None, []) if stop or cadence is None else next_allowed_step(cadence, started, index, lead)
            txn = _Txn()
            seen = {":seen": index, ":queue": Q_NURTURE}
            if step is None:
                txn.update(
                    self.table,
                    nurture_key(lead.lead_id),
                    "REMOVE due_pk, due_at SET finished_at = :now",
                    {**seen, ":now": now},
                    "due_pk = :queue AND next_step = :seen",
                )
                summary = f"nurture stopped: {stop}" if stop else "nurture cadence finished"
                txn.put(
                    self.table,
                    timeline_item(
                        _event(
                            lead.lead_id,
                            now,
                            kinds.NURTURE_STOPPED,
                            "; ".join([*skipped, summary]),
                            {"cadence_id": item.get("cadence_id")},
                        )
                    ),
                )
                if self._settle(txn):
                    report.add("nurture_finished")
                continue
            assert cadence is not None
            following = step_due(cadence, started, step.index + 1)
            if following is not None:
                txn.update(
                    self.table,
                    nurture_key(lead.lead_id),
                    "SET next_step = :next, due_at = :due",
                    {**seen, ":next": step.index + 1, ":due": iso(following.due_at)},
                    "due_pk = :queue AND next_step = :seen",
                )
            else:
                txn.update(
                    self.table,
                    nurture_key(lead.lead_id),
                    "SET next_step = :next, finished_at = :now REMOVE due_pk, due_at",
                    {**seen, ":next": step.index + 1, ":now": now},
                    "due_pk = :queue AND next_step = :seen",
                )
            owner = self.org.get_agent(lead.assigned_agent_id) if lead.assigned_agent_id else None
            reason = f"nurture:{item['cadence_id']}#{step.index + 1}"
            plan = working_time(settings, reason, max(step.due_at, now), owner, self.timezone)
            followup = self.activities.new_followup(lead, plan, "system", now, step.type)
            self.activities.replace_open(txn, lead, followup, settings, now, "system")
            if skipped:
                txn.put(
                    self.table,
                    timeline_item(
                        _event(
                            lead.lead_id,
                            now,
                            kinds.NURTURE_STEP,
                            "; ".join(skipped),
                            {"cadence_id": item["cadence_id"]},
                        )
                    ),
                )
            if self._settle(txn):
                report.add("nurture_steps")

    def _lost(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        days = settings.nurture.lost_resurface_days
        if days is None:
            return
        for item in self._due(Q_LOST, now - timedelta(days=days)):
            lead = self._lead(item)
            if lead is None:
                continue
            if lead.status is not LeadStatus.LOST or may_nurture(lead) is not None:
                # Reopened, won since, or no consent: nothing to re-surface.
                if_condition_holds(
                    client().delete_item,
                    TableName=self.table,
                    Key=to_item(nurture_key(lead.lead_id)),
                    ConditionExpression="due_pk = :queue",
                    ExpressionAttributeValues={":queue": to_value(Q_LOST)},
                )
                continue
            if self.start_cadence(
                lead, settings.nurture.lost_cadence, settings, now, by="system", replace_queue=Q_LOST
            ):
                report.add("lost_resurfaced")
