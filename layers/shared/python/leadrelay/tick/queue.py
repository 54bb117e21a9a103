"""Tick step 3: unassigned leads (nobody was eligible when they arrived), oldest first, to whoever
is eligible now; a lead whose pool offers leads goes back to the router (routing/offers.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadrelay.clock import local_day
from leadrelay.models import Lead, LeadStatus, RoutingState
from leadrelay.models import followup_kinds as kinds
from leadrelay.models.followup_settings import FollowupSettings
from leadrelay.models.roster import RoutingState as OrgState
from leadrelay.routing.engine import decide
from leadrelay.store.assignments import CommitResult
from leadrelay.store.dynamo import client, if_condition_holds, to_item, to_value
from leadrelay.store.followups import Q_UNASSIGNED
from leadrelay.store.leads import LEAD_SK, lead_pk
from leadrelay.tick.base import TickBase, TickReport

QUEUE_TRIGGER = "queue"
# Decisions of one queued lead when the roster changes under it (each change is rare: an admin's).
ROSTER_ATTEMPTS = 3


class QueueSteps(TickBase):
    def _unassigned(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        items = self._due(Q_UNASSIGNED, now)
        if not items:
            return
        day = local_day(now, self.timezone)
        state = self._routing_state(day)
        for item in items:
            lead = self._lead(item)
            if lead is None or lead.status != LeadStatus.UNASSIGNED or lead.routing_state is not RoutingState.DONE:
                continue
            for _ in range(ROSTER_ATTEMPTS):
                result = self._assign_queued(lead, item, state, now, report)
                if result is None:
                    break
                state = self._routing_state(day)
                if result is not CommitResult.ROSTER_MOVED:
                    break  # committed, or lost a race: the next tick looks again

    def _assign_queued(
        self, lead: Lead, item: dict[str, Any], state: OrgState, now: datetime, report: TickReport
    ) -> CommitResult | None:
        """Decide an owner for a queued lead and commit it; None when nothing was committed
        (still nobody eligible, or handed back to the router)."""
        plan = decide(lead, state.chain, state.roster, state.counts_today, now, self.timezone)
        if plan.agent_id is None:
            report.add("unassigned_waiting")
            return None  # still nobody: it keeps its place in the queue
        if plan.offer_timeout_s:  # an offers pool: the router offers it (routing/offers.py)
            if self._back_to_router(lead):
                report.add("unassigned_to_offer")
            return None
        at = max(now, lead.received_at + timedelta(milliseconds=1))
        decision, assigned = self._assigned(
            lead,
            plan,
            state,
            at,
            trigger=QUEUE_TRIGGER,
            previous=None,
            reason=f"waited unassigned since {item['due_at']}; {plan.reason}",
            kind=kinds.ASSIGNED,
            summary=f"assigned to {plan.agent_id} by rule {plan.rule_id} once someone was eligible",
            data={
                "agent_id": plan.agent_id,
                "rule_id": plan.rule_id,
                "pool_id": plan.pool_id,
                "trigger": QUEUE_TRIGGER,
            },
        )
        # A roster change completed since `state` was read fails this (ROSTER_MOVED): the lead is
        # decided again on the new roster, so it never goes to an agent put on leave meanwhile.
        result = self._commit(lead, plan, decision, assigned, state, at)
        if result is CommitResult.COMMITTED:
            report.add("unassigned_assigned")
        return result

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
