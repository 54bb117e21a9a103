"""Tick step 2: the first-contact SLA queue. A newly assigned lead gets its deadline (shift hours
when configured; a cadence attached when its rule names one), a warning first when its source asks
for one; a lead past its deadline is re-distributed to an agent who never had it (backup pool
first), or escalated to the team's manager after `max_redistributions` moves."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from leadrelay.clock import iso, local_day, parse_iso
from leadrelay.followup.sla import SLA_TRIGGER, History, history, plan_breach, sla_deadline, sla_minutes, sla_warning_at
from leadrelay.models import Lead, RoutingState
from leadrelay.models import followup_kinds as kinds
from leadrelay.models.followup_settings import FollowupSettings
from leadrelay.models.roster import RoutingState as OrgState
from leadrelay.routing.engine import Plan, decide
from leadrelay.routing.rules import Rule, RuleChain
from leadrelay.store.assignments import CommitResult
from leadrelay.store.dynamo import client, if_condition_holds, to_item, to_value
from leadrelay.store.followups import Q_SLA
from leadrelay.store.leads import LEAD_SK, lead_pk
from leadrelay.store.transactions import Transaction
from leadrelay.tick.base import TickReport, event
from leadrelay.tick.nurture import NurtureSteps


class SlaSteps(NurtureSteps):  # a new SLA clock attaches its rule's nurture cadence
    def _sla(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        """One queue, two kinds of item: a lead whose SLA clock just started (due_at = assigned_at;
        its deadline is worked out and becomes its due_at) and a lead past its deadline."""
        items = self._due(Q_SLA, now)
        if not items:
            return
        day = local_day(now, self.timezone)
        state = self._routing_state(day)
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
        txn = Transaction()
        txn.update(
            self.table, {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK}, "SET due_at = :deadline",
            {":deadline": deadline, ":sla": Q_SLA, ":assigned": assigned, ":version": lead.version},
            "due_pk = :sla AND sla_for = :assigned AND version = :version",
        )  # fmt: skip
        minutes = max(1, round((deadline - now).total_seconds() / 60))
        summary = f"first-contact SLA runs out in {minutes} min ({iso(deadline)})"
        data = {"agent_id": lead.assigned_agent_id, "deadline": iso(deadline), "source_id": lead.source_id,
                "source_kind": lead.source_kind}  # fmt: skip
        self._put_event(txn, lead.lead_id, now, kinds.SLA_WARNING, summary, data)
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
                # A lost race on a counter, or a roster change (the agent picked may be on leave
                # now): decide again on state read afresh.
                if result not in (CommitResult.STATE_CHANGED, CommitResult.ROSTER_MOVED):
                    break
                state = self._routing_state(day)
            if result is CommitResult.COMMITTED:
                report.add("sla_redistributed")
                return self._routing_state(day)
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
        decision, moved = self._assigned(
            lead,
            plan,
            state,
            at,
            trigger=SLA_TRIGGER,
            previous=previous,
            reason=f"not contacted within the SLA by {previous}; {plan.reason}",
            kind=kinds.REASSIGNED,
            summary=f"re-distributed from {previous} to {plan.agent_id}: not contacted within the SLA",
            data={
                "from_agent_id": previous,
                "agent_id": plan.agent_id,
                "pool_id": plan.pool_id,
                "reason": "sla",
                "trigger": SLA_TRIGGER,
            },
        )
        breached = event(
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

    def _escalate(self, lead: Lead, state: OrgState, now: datetime, why: str) -> bool:
        team = state.roster.teams.get(lead.assigned_team_id or "")
        managers = team.manager_usernames if team else []
        txn = Transaction()
        txn.update(
            self.table,
            {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
            "SET sla_escalated_at = :now, version = version + :one REMOVE due_pk, due_at",
            {":now": now, ":one": 1, ":version": lead.version, ":queue": Q_SLA},
            "version = :version AND due_pk = :queue",
        )
        self._put_event(
            txn,
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
        return self._settle(txn)
