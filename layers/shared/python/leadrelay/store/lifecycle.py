"""A lead's sales status: any stage of the organisation's pipeline — and back.

The stage's category decides what happens: a won or lost stage closes the lead (off its agent's
open leads, so least-loaded stops counting it; a lost lead is re-surfaced later into the long-tail
cadence); an open stage reopens a closed lead (back on its agent's open leads). A stage's
required fields (a value, a reason) are refused with 422 when missing. The lead, the load counter,
the stage counters and the timeline entry (stage ids and the labels they had then, so a later
rename never rewrites history) change in one transaction, The lead, the load counter and the timeline entry on
condition that the lead has not changed since it was read. Setting the status
a lead already has changes nothing and succeeds (an offline phone replaying its queue).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from leadrelay.clock import Clock
from leadrelay.config import get_settings
from leadrelay.errors import StatusRefused
from leadrelay.ids import new_id
from leadrelay.models import Lead, RoutingState, TimelineEvent, TimelineKind
from leadrelay.models.lifecycle import StatusChange
from leadrelay.models.pipeline import ROUTING_STATUSES, Category, Pipeline, Stage, default_pipeline
from leadrelay.store.assignments import release_open_lead
from leadrelay.store.leads import (
    LEAD_SK,
    LeadRepository,
    lead_pk,
    timeline_item,
)
from leadrelay.store.org import ROSTER, load_sk
from leadrelay.store.pipeline import count_move
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction


class PipelineReader(Protocol):
    def get(self) -> Pipeline: ...


class LeadLifecycle:
    def __init__(self, *, leads: LeadRepository, org_table: str, clock: Clock,
                 pipelines: PipelineReader | None = None) -> None:  # fmt: skip
        self.leads = leads
        self.org_table = org_table
        self.clock = clock
        # Where the organisation's pipeline comes from (store/pipeline.py); None: the default one.
        self.pipelines = pipelines

    def resolve(self, change: StatusChange, pipeline: Pipeline) -> Stage:
        """The stage `change` moves a lead to, or a 422 naming what is wrong."""
        stage = pipeline.get(change.status)
        if stage is None or stage.retired or change.status in ROUTING_STATUSES:
            allowed = ", ".join(s.stage_id for s in pipeline.active() if s.stage_id not in ROUTING_STATUSES)
            if change.status in ROUTING_STATUSES:
                message = f"status {change.status!r} is set by routing; use a pipeline stage: {allowed}"
            elif stage is not None:
                moved = f" (its leads count as {stage.moved_to!r})" if stage.moved_to else ""
                message = f"status {change.status!r} is a retired stage{moved}; use {allowed}"
            else:
                message = f"status {change.status!r} is not a stage of the pipeline; use {allowed}"
            raise StatusRefused("invalid_status", message, 422)
        if "reason" in stage.required_fields and not (change.reason and change.reason.strip()):
            hint = ": it shows where leads leak" if stage.category is Category.LOST else ""
            raise StatusRefused("reason_required", f"{stage.label} needs a reason (say why){hint}", 422)
        if "value" in stage.required_fields and change.value is None:
            raise StatusRefused("value_required", f"{stage.label} needs the deal value in rupees (value)", 422)
        return stage

    def change(self, lead: Lead, change: StatusChange, attempts: int = 3,
               pipeline: Pipeline | None = None) -> tuple[Lead, bool]:  # fmt: skip
        """Set the lead's status (a stage of `pipeline`, the organisation's when not given); returns
        the lead as it now stands and whether anything changed."""
        pipeline = pipeline or self.pipeline()
        stage = self.resolve(change, pipeline)
        if lead.offer_id is not None:  # nobody owns it yet: the offered agent accepts first
            raise StatusRefused("lead_offered", f"the lead is offered to {lead.offered_agent_id}; accept it first")
        for _ in range(attempts):
            if lead.status == stage.stage_id:
                return lead, False
            # Never before the lead's last assignment: hosts' clocks can disagree by a few ms.
            now = max(self.clock.now(), (lead.assigned_at or lead.received_at) + timedelta(milliseconds=1))
            try:
                run_transaction(self._transaction(lead, change, stage, pipeline, now).items)
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

    def pipeline(self) -> Pipeline:
        if self.pipelines is None:
            return default_pipeline()
        return self.pipelines.get()

    def _transaction(self, lead: Lead, change: StatusChange, stage: Stage, pipeline: Pipeline,
                     now: datetime) -> Transaction:  # fmt: skip
        closing = stage.closes
        was_closed = lead.is_closed
        sets = ["#status = :status", "category = :category", "version = version + :one"]
        removes: list[str] = []
        values: dict[str, Any] = {":status": stage.stage_id, ":category": stage.category.value, ":one": 1,
                                  ":version": lead.version}  # fmt: skip
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
        if stage.category is Category.WON and change.value is not None:
            sets.append("#value = :value")
            values[":value"] = change.value
        contact = pipeline.contact_stage()
        if contact is not None and stage.stage_id == contact.stage_id and lead.first_contacted_at is None:
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
        count_move(txn, self.org_table, lead.status, stage.stage_id)
        before = pipeline.stage_of(lead.status)
        # The summary names the stage ids (stable); `data` carries the labels they had then.
        summary = f"{lead.status} → {stage.stage_id} by {change.by}"
        if change.reason:
            summary += f": {change.reason.strip()}"
        event = TimelineEvent(
            event_id=new_id(now), lead_id=lead.lead_id, at=now, kind=TimelineKind.STATUS_CHANGED.value,
            actor=change.by, summary=summary,
            data={"from": lead.status, "to": stage.stage_id, "reason": change.reason,
                  "agent_id": agent, "team_id": lead.assigned_team_id, "from_label": before.label,
                  "to_label": stage.label, "category": stage.category.value, "value": change.value},
        )  # fmt: skip
        txn.put(self.leads.table, timeline_item(event))
        if stage.category is Category.LOST:
            # Not forgotten: the followup tick re-surfaces it into a long-tail cadence later.
            from leadrelay.store.followups import lost_item

            txn.put(self.leads.table, lost_item(lead.lead_id, now))
        return txn
