"""Tick step 6 (and the cadences the SLA step attaches): nurture steps that fell due become
follow-ups; lost leads re-surface into the long-tail cadence after `lost_resurface_days`."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadrelay.clock import iso, parse_iso
from leadrelay.followup.nurture import may_nurture, next_allowed_step, step_due
from leadrelay.models import Lead, LeadStatus
from leadrelay.models import followup_kinds as kinds
from leadrelay.models.followup_rules import working_time
from leadrelay.models.followup_settings import FollowupSettings
from leadrelay.store.dynamo import client, if_condition_holds, to_item, to_value
from leadrelay.store.followups import Q_LOST, Q_NURTURE, nurture_key
from leadrelay.store.transactions import Transaction
from leadrelay.tick.base import TickBase, TickReport


class NurtureSteps(TickBase):
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
        txn = Transaction()
        if replace_queue:
            txn.put(self.table, item, "due_pk = :queue", **{":queue": replace_queue})
        elif only_if_absent:
            txn.put(self.table, item, "attribute_not_exists(pk)")
        else:
            txn.put(self.table, item)
        summary = f"nurture cadence {cadence_id!r} started by {by} ({len(cadence.steps)} steps)"
        self._put_event(txn, lead.lead_id, now, kinds.NURTURE_STARTED, summary, {"cadence_id": cadence_id}, actor=by)
        return self._settle(txn)

    def _nurture(self, now: datetime, settings: FollowupSettings, report: TickReport) -> None:
        for item in self._due(Q_NURTURE, now):
            lead = self._lead(item)
            if lead is None:
                continue
            cadence = settings.nurture.cadences.get(item.get("cadence_id", ""))
            stop = may_nurture(lead) or ("the lead was won" if lead.closed_as == LeadStatus.WON else None)
            if cadence is None:
                stop = f"cadence {item.get('cadence_id')!r} no longer exists"
            started = parse_iso(item["started_at"]) if isinstance(item["started_at"], str) else item["started_at"]
            index = int(item.get("next_step", 0))
            step, skipped = (None, []) if stop or cadence is None else next_allowed_step(cadence, started, index, lead)
            txn = Transaction()
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
                self._put_event(
                    txn,
                    lead.lead_id,
                    now,
                    kinds.NURTURE_STOPPED,
                    "; ".join([*skipped, summary]),
                    {"cadence_id": item.get("cadence_id")},
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
                self._put_event(
                    txn, lead.lead_id, now, kinds.NURTURE_STEP, "; ".join(skipped), {"cadence_id": item["cadence_id"]}
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
            if lead.closed_as != LeadStatus.LOST or may_nurture(lead) is not None:
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
