"""Logging an activity on a lead, and setting, moving, cancelling or completing its follow-up.

An activity, the lead's contact stamps (`first_contacted_at`, `first_connected_at`), the end of its
first-contact SLA clock, the follow-up it completes, the follow-up its outcome schedules and the
timeline entries are written in ONE transaction, conditional on the lead's version (so an SLA move
racing the call cannot both happen) and, with a `client_id`, on that id being new for the lead (so
an offline phone replaying its queue logs nothing twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadrelay.clock import Clock, iso
from leadrelay.errors import Refused
from leadrelay.followup import kinds
from leadrelay.followup.rules import FollowupPlan, is_connection, is_contact, plan_followup, working_time
from leadrelay.followup.settings import ActivityType, FollowupSettings, Outcome
from leadrelay.ids import new_id
from leadrelay.models import Agent, Lead, LeadStatus, RoutingState, TimelineEvent
from leadrelay.models.followup import Activity, Followup, FollowupStatus
from leadrelay.store.dynamo import client, decode_cursor, encode_cursor, from_item, to_item
from leadrelay.store.followups import (
    FollowupStore,
    client_key,
    close_followup,
    followup_item,
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

# An offline log may be older than now; a time ahead of the server by more than this is refused.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Statuses a first contact moves on to `contacted` (later ones are the agent's to set).
_BEFORE_CONTACT = frozenset({LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.UNASSIGNED})


@dataclass
class ActivityInput:
    type: ActivityType
    direction: str = "outbound"
    duration_s: int | None = None
    outcome: Outcome | None = None
    callback_at: datetime | None = None
    note: str | None = None
    recording_url: str | None = None
    at: datetime | None = None
    client_id: str | None = None


@dataclass
class Logged:
    activity: Activity
    lead: Lead
    followup: Followup | None
    duplicate: bool = False


def activity_sk(activity: Activity) -> str:
    return f"ACT#{iso(activity.at)}#{activity.activity_id}"


def _event(
    lead_id: str, at: datetime, kind: str, actor: str, summary: str, data: dict[str, Any], event_id: str | None = None
) -> TimelineEvent:
    return TimelineEvent(
        event_id=event_id or new_id(at), lead_id=lead_id, at=at, kind=kind, actor=actor, summary=summary, data=data
    )


class ActivityLog:
    """Activities and follow-up changes on one lead at a time."""

    def __init__(self, *, leads: LeadRepository, followups: FollowupStore, clock: Clock, timezone: str) -> None:
        self.leads = leads
        self.followups = followups
        self.clock = clock
        self.timezone = timezone

    @property
    def table(self) -> str:
        return self.leads.table

    # -- activities ------------------------------------------------------------------------------

    def log(
        self,
        lead: Lead,
        entry: ActivityInput,
        *,
        by: str,
        agent_id: str | None,
        settings: FollowupSettings,
        owner: Agent | None,
        attempts: int = 4,
    ) -> Logged:
        """Log `entry` on `lead` (as read). Returns what was written, or with `duplicate` what an
        earlier request with the same `client_id` wrote."""
        now = self.clock.now()
        at = entry.at or now
        if at > now + MAX_CLOCK_SKEW:
            raise Refused("invalid_request", f"'at' {iso(at)} is in the future (now is {iso(now)})", 422)
        if entry.client_id and (previous := self._replayed(lead.lead_id, entry.client_id)) is not None:
            return previous
        for _ in range(attempts):
            activity = Activity(
                activity_id=new_id(now),
                lead_id=lead.lead_id,
                type=entry.type,
                direction=entry.direction,
                duration_s=entry.duration_s,
                outcome=entry.outcome,
                callback_at=entry.callback_at,
                note=entry.note,
                recording_url=entry.recording_url,
                at=at,
                logged_at=now,
                by=by,
                agent_id=agent_id,
                client_id=entry.client_id,
                contact=is_contact(entry.type, entry.direction),
            )
            plan = plan_followup(
                settings, entry.outcome, at=at, callback_at=entry.callback_at, owner=owner, timezone=self.timezone
            )
            txn, followup = self._log_transaction(lead, activity, plan, settings, now)
            try:
                run_transaction(txn.items)
            except TransactionFailed as failed:
                codes = failed.failed_conditions()
                if 1 in codes and entry.client_id:
                    replayed = self._replayed(lead.lead_id, entry.client_id)
                    if replayed is not None:
                        return replayed
                fresh = self.leads.get(lead.lead_id, consistent=True)
                if fresh is None:
                    raise Refused("not_found", f"there is no lead {lead.lead_id!r}", 404) from failed
                lead = fresh
                continue
            stored = self.leads.get(lead.lead_id, consistent=True) or lead
            return Logged(activity, stored, followup)
        raise Refused("lead_changed", "the lead kept changing while the activity was logged; try again")

    def _log_transaction(
        self, lead: Lead, activity: Activity, plan: FollowupPlan | None, settings: FollowupSettings, now: datetime
    ) -> tuple[_Txn, Followup | None]:
        txn = _Txn()
        item = {
            "pk": lead_pk(lead.lead_id),
            "sk": activity_sk(activity),
            **activity.model_dump(mode="python", exclude_none=True),
        }
        txn.put(self.table, item, "attribute_not_exists(pk)")
        if activity.client_id:
            marker = {
                **client_key(lead.lead_id, activity.client_id),
                "op": "activity",
                "activity_id": activity.activity_id,
                "activity_sk": activity_sk(activity),
                "at": now,
            }
            txn.put(self.table, marker, "attribute_not_exists(pk)")
        sets = [
            "version = version + :one",
            "last_activity_at = :at",
            "activity_count = if_not_exists(activity_count, :zero) + :one",
        ]
        removes: list[str] = []
        values: dict[str, Any] = {":one": 1, ":zero": 0, ":at": activity.at, ":version": lead.version}
        names: dict[str, str] = {}
        events: list[TimelineEvent] = []
        summary = f"{activity.direction} {activity.type.value}"
        if activity.outcome:
            summary += f": {activity.outcome.value.replace('_', ' ')}"
        if activity.duration_s:
            summary += f" ({activity.duration_s} s)"
        events.append(
            _event(
                lead.lead_id,
                activity.at,
                kinds.ACTIVITY_LOGGED,
                activity.by,
                summary,
                {
                    "activity_id": activity.activity_id,
                    "type": activity.type.value,
                    "direction": activity.direction,
                    "outcome": activity.outcome,
                    "contact": activity.contact,
                    "note": activity.note,
                },
            )
        )
        if activity.contact:
            # The earliest contact wins: an offline call synced late may predate one logged online.
            # (The write is conditional on the version read, so the value read is the one stored.)
            if lead.first_contacted_at is None or activity.at < lead.first_contacted_at:
                sets.append("first_contacted_at = :at")
            if lead.first_contacted_at is None and lead.assigned_agent_id and lead.routing_state is RoutingState.DONE:
                # The first-contact SLA clock stops: the lead leaves the SLA queues.
                removes += ["due_pk", "due_at"]
            if lead.status in _BEFORE_CONTACT and lead.assigned_agent_id:
                names["#status"] = "status"
                sets.append("#status = :contacted")
                values[":contacted"] = LeadStatus.CONTACTED.value
                events.append(
                    _event(
                        lead.lead_id,
                        activity.at,
                        kinds.STATUS_CHANGED,
                        activity.by,
                        f"{lead.status.value} → contacted by {activity.by}",
                        {
                            "from": lead.status.value,
                            "to": LeadStatus.CONTACTED.value,
                            "reason": "first contact",
                            "agent_id": lead.assigned_agent_id,
                        },
                    )
                )
        earliest_connection = lead.first_connected_at is None or activity.at < lead.first_connected_at
        if is_connection(activity.type, activity.outcome) and earliest_connection:
            sets.append("first_connected_at = :at")
        followup: Followup | None = None
        old = lead.open_followup_id
        if plan is not None:
            followup = self.new_followup(lead, plan, activity.by, now, activity.type)
            sets.append("open_followup_id = :followup")
            values[":followup"] = followup.followup_id
        elif activity.contact and old:
            removes.append("open_followup_id")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        txn.update(
            self.table,
            {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
            expression,
            values,
            "attribute_exists(pk) AND version = :version",
            names=names or None,
        )
        if old and activity.contact:
            close_followup(txn, self.table, old, FollowupStatus.DONE, now, activity_id=activity.activity_id)
            events.append(
                _event(
                    lead.lead_id,
                    activity.at,
                    kinds.FOLLOWUP_DONE,
                    activity.by,
                    f"follow-up done by this {activity.type.value}",
                    {"followup_id": old},
                )
            )
        elif old and followup is not None:
            close_followup(txn, self.table, old, FollowupStatus.CANCELLED, now, reason="replaced by a newer follow-up")
        if followup is not None:
            txn.put(self.table, followup_item(followup, timedelta(hours=settings.missed_after_hours)))
            events.append(self._scheduled_event(followup, activity.by, now))
        for event in events:
            txn.put(self.table, timeline_item(event))
        return txn, followup

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
        return _event(
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

    def _replayed(self, lead_id: str, client_id: str) -> Logged | None:
        marker = self.followups.client_record(lead_id, client_id)
        if marker is None:
            return None
        if marker.get("op") != "activity":
            raise Refused("client_id_reused", f"client_id {client_id!r} was already used for a {marker.get('op')}", 409)
        item = (
            client()
            .get_item(
                TableName=self.table,
                Key=to_item({"pk": lead_pk(lead_id), "sk": marker["activity_sk"]}),
                ConsistentRead=True,
            )
            .get("Item")
        )
        lead = self.leads.get(lead_id, consistent=True)
        if not item or lead is None:
            return None
        activity = Activity.model_validate({k: v for k, v in from_item(item).items() if k not in ("pk", "sk")})
        followup = self.followups.get(lead.open_followup_id) if lead.open_followup_id else None
        return Logged(activity, lead, followup, duplicate=True)

    def activities(
        self, lead_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Activity], str | None]:
        """The lead's activities, oldest first (by when they happened), a page at a time; raises
        ValueError for a cursor this API did not issue."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": lead_pk(lead_id), ":prefix": "ACT#"}),
            "Limit": limit,
        }
        start = decode_cursor(cursor)
        if start:
            if start.get("pk") != {"S": lead_pk(lead_id)}:
                raise ValueError("cursor is not one this API issued")
            kwargs["ExclusiveStartKey"] = start
        response = client().query(**kwargs)
        items = [from_item(item) for item in response.get("Items", [])]
        found = [Activity.model_validate({k: v for k, v in item.items() if k not in ("pk", "sk")}) for item in items]
        return found, encode_cursor(response.get("LastEvaluatedKey"))

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
            txn = _Txn()
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
        self, txn: _Txn, lead: Lead, followup: Followup, settings: FollowupSettings, now: datetime, by: str
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
        txn = _Txn()
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
                _event(
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
        txn = _Txn()
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
            timeline_item(_event(lead.lead_id, now, kind, by, summary, {"followup_id": followup.followup_id})),
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
