"""Setting, moving, cancelling or completing a lead's follow-up (by a person, or a nurture step),
and the follow-up an activity's outcome schedules: the follow-up half of `ActivityLog`
(store/activities.py), which logs the activities.

A follow-up change and its timeline entry are written in ONE transaction, conditional on the
follow-up (or the lead's open follow-up) being the one read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadrelay.clock import Clock, iso
from leadrelay.errors import Refused
from leadrelay.ids import new_id
from leadrelay.models import Agent, Lead, TimelineEvent
from leadrelay.models import followup_kinds as kinds
from leadrelay.models.followup import Followup, FollowupStatus
from leadrelay.models.followup_rules import FollowupPlan, working_time
from leadrelay.models.followup_settings import ActivityType, FollowupSettings
from leadrelay.store.followups import FollowupStore, close_followup, followup_item
from leadrelay.store.leads import LEAD_SK, LeadRepository, lead_pk, timeline_item
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction


def lead_event(
    lead_id: str, at: datetime, kind: str, actor: str, summary: str, data: dict[str, Any], event_id: str | None = None
) -> TimelineEvent:
    return TimelineEvent(
        event_id=event_id or new_id(at), lead_id=lead_id, at=at, kind=kind, actor=actor, summary=summary, data=data
    )


class FollowupChanges:
    """Follow-up changes on one lead at a time."""

    def __init__(self, *, leads: LeadRepository, followups: FollowupStore, clock: Clock, timezone: str) -> None:
        self.leads = leads
        self.followups = followups
        self.clock = clock
        self.timezone = timezone

    @property
    def table(self) -> str:
        return self.leads.table

    def new_followup(
        self,
        lead: Lead,
        plan: FollowupPlan,
        by: str,
        now: datetime,
        kind: ActivityType = ActivityType.CALL,
        note: str | None = None,
    ) -> Followup:
        return Followup(
            followup_id=new_id(now),
            lead_id=lead.lead_id,
            agent_id=lead.assigned_agent_id,
            team_id=lead.assigned_team_id,
            due_at=plan.due_at,
            reason=plan.reason,
            type=kind,
            created_at=now,
            created_by=by,
            note=note,
            wanted_at=plan.wanted_at if plan.moved else None,
        )

    def _scheduled_event(self, followup: Followup, by: str, now: datetime) -> TimelineEvent:
        summary = f"follow-up for {followup.agent_id or 'nobody'} due {iso(followup.due_at)} ({followup.reason})"
        if followup.wanted_at is not None:
            summary += f"; moved from {iso(followup.wanted_at)} into working hours"
        return lead_event(
            followup.lead_id,
            now,
            kinds.FOLLOWUP_SCHEDULED,
            by,
            summary,
            {
                "followup_id": followup.followup_id,
                "agent_id": followup.agent_id,
                "due_at": iso(followup.due_at),
                "reason": followup.reason,
            },
        )

    # -- follow-ups by hand ----------------------------------------------------------------------

    def set_followup(
        self,
        lead: Lead,
        *,
        due_at: datetime,
        by: str,
        note: str | None,
        kind: ActivityType,
        settings: FollowupSettings,
        owner: Agent | None,
        reason: str = "by hand",
        attempts: int = 4,
    ) -> Followup:
        """A follow-up set by a person (or a nurture step): it replaces the lead's open one."""
        for _ in range(attempts):
            now = self.clock.now()
            plan = working_time(settings, reason, due_at, owner, self.timezone)
            followup = self.new_followup(lead, plan, by, now, kind, note)
            txn = Transaction()
            self.replace_open(txn, lead, followup, settings, now, by)
            try:
                run_transaction(txn.items)
            except TransactionFailed as failed:
                fresh = self.leads.get(lead.lead_id, consistent=True)
                if fresh is None:
                    raise Refused("not_found", f"there is no lead {lead.lead_id!r}", 404) from failed
                lead = fresh
                continue
            return followup
        raise Refused("lead_changed", "the lead's follow-up kept changing; try again")

    def replace_open(
        self, txn: Transaction, lead: Lead, followup: Followup, settings: FollowupSettings, now: datetime, by: str
    ) -> None:
        """Inside `txn`: `followup` becomes the lead's one open follow-up; the old one is cancelled.
        Conditional on the lead's open follow-up being the one read."""
        old = lead.open_followup_id
        if old:
            condition, values = "open_followup_id = :old", {":old": old, ":new": followup.followup_id}
        else:
            condition, values = "attribute_not_exists(open_followup_id)", {":new": followup.followup_id}
        txn.update(
            self.table,
            {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
            "SET open_followup_id = :new",
            values,
            f"attribute_exists(pk) AND {condition}",
        )
        if old:
            close_followup(
                txn,
                self.table,
                old,
                FollowupStatus.CANCELLED,
                now,
                reason="replaced by a newer follow-up",
                from_statuses=(
                    FollowupStatus.OPEN,
                    FollowupStatus.MISSED,
                    FollowupStatus.DONE,
                    FollowupStatus.CANCELLED,
                ),
            )
        txn.put(self.table, followup_item(followup, timedelta(hours=settings.missed_after_hours)))
        txn.put(self.table, timeline_item(self._scheduled_event(followup, by, now)))

    def move(
        self,
        followup: Followup,
        lead: Lead,
        *,
        due_at: datetime,
        by: str,
        settings: FollowupSettings,
        owner: Agent | None,
    ) -> Followup:
        """Move an open (or missed) follow-up to a new due time; it is open and due again."""
        if followup.status not in (FollowupStatus.OPEN, FollowupStatus.MISSED):
            raise Refused("followup_closed", f"the follow-up is {followup.status.value}; set a new one instead")
        now = self.clock.now()
        plan = working_time(settings, followup.reason, due_at, owner, self.timezone)
        moved = followup.model_copy(
            update={
                "due_at": plan.due_at,
                "status": FollowupStatus.OPEN,
                "notified_at": None,
                "missed_at": None,
                "wanted_at": plan.wanted_at if plan.moved else None,
            }
        )
        txn = Transaction()
        txn.put(
            self.table,
            followup_item(moved, timedelta(hours=settings.missed_after_hours)),
            "#status = :status",
            **{":status": followup.status.value},
        )
        # `put` takes no names: the condition's placeholder is resolved below.
        txn.items[-1]["Put"]["ExpressionAttributeNames"] = {"#status": "status"}
        txn.put(
            self.table,
            timeline_item(
                lead_event(
                    lead.lead_id,
                    now,
                    kinds.FOLLOWUP_MOVED,
                    by,
                    f"follow-up moved from {iso(followup.due_at)} to {iso(moved.due_at)}",
                    {"followup_id": followup.followup_id, "from": iso(followup.due_at), "to": iso(moved.due_at)},
                )
            ),
        )
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            raise Refused("followup_changed", "the follow-up changed meanwhile; reload and try again") from failed
        return moved

    def finish(
        self, followup: Followup, lead: Lead, *, status: FollowupStatus, by: str, reason: str | None = None
    ) -> Followup:
        """Cancel a follow-up, or mark it done without an activity (an offline phone's tick-box)."""
        if followup.status in (FollowupStatus.DONE, FollowupStatus.CANCELLED):
            if followup.status is status:
                return followup
            raise Refused("followup_closed", f"the follow-up is already {followup.status.value}")
        now = self.clock.now()
        txn = Transaction()
        close_followup(txn, self.table, followup.followup_id, status, now, reason=reason)
        if lead.open_followup_id == followup.followup_id:
            txn.update(
                self.table,
                {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
                "REMOVE open_followup_id",
                {":id": followup.followup_id},
                "open_followup_id = :id",
            )
        kind = kinds.FOLLOWUP_DONE if status is FollowupStatus.DONE else kinds.FOLLOWUP_CANCELLED
        summary = f"follow-up {status.value} by {by}" + (f": {reason}" if reason else "")
        txn.put(
            self.table,
            timeline_item(lead_event(lead.lead_id, now, kind, by, summary, {"followup_id": followup.followup_id})),
        )
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            raise Refused("followup_changed", "the follow-up changed meanwhile; reload and try again") from failed
        return followup.model_copy(
            update={
                "status": status,
                "done_at": now if status is FollowupStatus.DONE else None,
                "cancelled_reason": reason,
            }
        )
