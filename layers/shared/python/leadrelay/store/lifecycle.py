"""A lead's working status: contacted, qualified, won, lost — and back.

Closing a lead (won or lost) takes it off its agent's open leads, so least-loaded stops counting
it; reopening it by hand puts it back. The lead, the load counter and the timeline entry change in
one transaction, on condition that the lead has not changed since it was read. Setting the status
a lead already has changes nothing and succeeds (an offline phone replaying its queue).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadrelay.clock import Clock
from leadrelay.config import get_settings
from leadrelay.errors import StatusRefused
from leadrelay.ids import new_id
from leadrelay.models import Lead, LeadStatus, RoutingState, TimelineEvent, TimelineKind
from leadrelay.models.lead import CLOSED_STATUSES
from leadrelay.models.lifecycle import StatusChange
from leadrelay.store.assignments import release_open_lead
from leadrelay.store.leads import (
    LEAD_SK,
    LeadRepository,
    lead_pk,
    timeline_item,
)
from leadrelay.store.org import ROSTER, load_sk
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction

# What a person may set; `new`, `assigned` and `unassigned` belong to routing.
SETTABLE = (LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.WON, LeadStatus.LOST)


class LeadLifecycle:
    def __init__(self, *, leads: LeadRepository, org_table: str, clock: Clock) -> None:
        self.leads = leads
        self.org_table = org_table
        self.clock = clock

    def change(self, lead: Lead, change: StatusChange, attempts: int = 3) -> tuple[Lead, bool]:
        """Set the lead's status; returns the lead as it now stands and whether anything changed."""
        if change.status not in SETTABLE:
            allowed = ", ".join(s.value for s in SETTABLE)
            message = f"status {change.status.value!r} is set by routing; use {allowed}"
            raise StatusRefused("invalid_status", message, 422)
        if change.status is LeadStatus.LOST and not (change.reason and change.reason.strip()):
            raise StatusRefused("reason_required", "say why the lead was lost (reason): it shows where leads leak", 422)
        if lead.offer_id is not None:  # nobody owns it yet: the offered agent accepts first
            raise StatusRefused("lead_offered", f"the lead is offered to {lead.offered_agent_id}; accept it first")
        for _ in range(attempts):
            if lead.status is change.status:
                return lead, False
            # Never before the lead's last assignment: hosts' clocks can disagree by a few ms.
            now = max(self.clock.now(), (lead.assigned_at or lead.received_at) + timedelta(milliseconds=1))
            try:
                run_transaction(self._transaction(lead, change, now).items)
            except TransactionFailed as failed:
                if 0 not in failed.failed_conditions():
                    raise
                fresh = self.leads.get(lead.lead_id, consistent=True)
                if fresh is None:
                    raise StatusRefused("not_found", f"there is no lead {lead.lead_id!r}", 404) from failed
                lead = fresh
                continue
            return self.leads.get(lead.lead_id, consistent=True) or lead, True
        raise StatusRefused("lead_changed", "the lead kept changing while its status was set; try again")

    def _transaction(self, lead: Lead, change: StatusChange, now: datetime) -> Transaction:
        closing = change.status in CLOSED_STATUSES
        was_closed = lead.is_closed
        sets = ["#status = :status", "version = version + :one"]
        removes: list[str] = []
        values: dict[str, Any] = {":status": change.status.value, ":one": 1, ":version": lead.version}
        if closing:
            sets += ["closed_at = :now", "routing_state = :done"]
            values.update({":now": now, ":done": RoutingState.DONE.value})
            keep_days = get_settings().closed_lead_retention_days
            if keep_days:  # DPDP retention: the closed lead expires by the table's TTL
                sets.append("expires_at = :expires")
                values[":expires"] = int((now + timedelta(days=keep_days)).timestamp())
            # Closed leads leave the unassigned queue; a reopened lead's offer is void.
            removes += ["due_pk", "due_at", "return_to_agent_id"]
            if change.reason:
                sets.append("close_reason = :reason")
                values[":reason"] = change.reason.strip()
            else:
                removes.append("close_reason")
        elif was_closed:
            removes += ["closed_at", "close_reason", "expires_at"]
        if change.status is LeadStatus.WON and change.value is not None:
            sets.append("#value = :value")
            values[":value"] = change.value
        if change.status is LeadStatus.CONTACTED and lead.first_contacted_at is None:
            sets.append("first_contacted_at = :now")
            values[":now"] = now
        txn = Transaction()
        txn.update(
            self.leads.table, {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
            "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            values, "attribute_exists(pk) AND version = :version",
            names={"#status": "status", **({"#value": "value"} if ":value" in values else {})},
        )  # fmt: skip
        agent = lead.assigned_agent_id
        if agent and closing and not was_closed:
            release_open_lead(txn, self.org_table, agent)
        elif agent and was_closed and not closing:
            txn.update(self.org_table, {"pk": ROSTER, "sk": load_sk(agent)}, "ADD open_leads :one", {":one": 1})
        summary = f"{lead.status.value} → {change.status.value} by {change.by}"
        if change.reason:
            summary += f": {change.reason.strip()}"
        event = TimelineEvent(
            event_id=new_id(now), lead_id=lead.lead_id, at=now, kind=TimelineKind.STATUS_CHANGED.value,
            actor=change.by, summary=summary,
            data={"from": lead.status.value, "to": change.status.value, "reason": change.reason,
                  "agent_id": agent, "team_id": lead.assigned_team_id},
        )  # fmt: skip
        txn.put(self.leads.table, timeline_item(event))
        if change.status is LeadStatus.LOST:
            # Not forgotten: the followup tick re-surfaces it into a long-tail cadence later.
            from leadrelay.store.followups import lost_item

            txn.put(self.leads.table, lost_item(lead.lead_id, now))
        return txn
