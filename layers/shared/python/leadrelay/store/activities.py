"""Logging an activity on a lead; setting, moving, cancelling or completing its follow-up is the
half `ActivityLog` inherits from `FollowupChanges` (store/followup_changes.py).

An activity, the lead's contact stamps (`first_contacted_at`, `first_connected_at`), the end of its
first-contact SLA clock, the follow-up it completes, the follow-up its outcome schedules and the
timeline entries are written in ONE transaction, conditional on the lead's version (so an SLA move
racing the call cannot both happen) and, with a `client_id`, on that id being new for the lead (so
an offline phone replaying its queue logs nothing twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadrelay.clock import iso
from leadrelay.config import get_settings
from leadrelay.errors import Refused
from leadrelay.ids import new_id
from leadrelay.models import Agent, Lead, LeadStatus, RoutingState, TimelineEvent
from leadrelay.models import followup_kinds as kinds
from leadrelay.models.followup import Activity, ActivityInput, Followup, FollowupStatus, Logged
from leadrelay.models.followup_rules import FollowupPlan, is_connection, is_contact, plan_followup
from leadrelay.models.followup_settings import FollowupSettings
from leadrelay.models.pipeline import Stage
from leadrelay.store import paging
from leadrelay.store.dynamo import client, decode_cursor, from_item, to_item
from leadrelay.store.followup_changes import FollowupChanges, lead_event
from leadrelay.store.followups import client_key, close_followup, followup_item
from leadrelay.store.leads import LEAD_SK, lead_pk, timeline_item
from leadrelay.store.pipeline import PipelineStore, count_move
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction

# An offline log may be older than now; a time ahead of the server by more than this is refused.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Statuses a first contact moves on to `contacted` (later ones are the agent's to set).
_BEFORE_CONTACT = frozenset({LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.UNASSIGNED})


def activity_sk(activity: Activity) -> str:
    return f"ACT#{iso(activity.at)}#{activity.activity_id}"


class ActivityLog(FollowupChanges):
    """Activities and follow-up changes (store/followup_changes.py) on one lead at a time."""

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
    ) -> tuple[Transaction, Followup | None]:
        txn = Transaction()
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
            lead_event(
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
            contact = self._contact_stage() if lead.status in _BEFORE_CONTACT and lead.assigned_agent_id else None
            if contact is not None:
                # The pipeline's first-contact stage (`contacted` in the default one), by its stable id.
                names["#status"] = "status"
                sets += ["#status = :contacted", "category = :open"]
                values.update({":contacted": contact.stage_id, ":open": contact.category.value})
                count_move(txn, get_settings().org_table, lead.status, contact.stage_id)
                events.append(
                    lead_event(
                        lead.lead_id,
                        activity.at,
                        kinds.STATUS_CHANGED,
                        activity.by,
                        f"{lead.status} → {contact.stage_id} by {activity.by}",
                        {
                            "from": lead.status,
                            "to": contact.stage_id,
                            "reason": "first contact",
                            "agent_id": lead.assigned_agent_id,
                            "to_label": contact.label,
                            "category": contact.category.value,
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
                lead_event(
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

    def _contact_stage(self) -> Stage | None:
        return PipelineStore(get_settings().org_table, self.table).get().contact_stage()

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
        if start and start.get("pk") != {"S": lead_pk(lead_id)}:
            raise ValueError("cursor is not one this API issued")
        items, next_cursor = paging.one_page(kwargs, start)
        found = [Activity.model_validate({k: v for k, v in item.items() if k not in ("pk", "sk")}) for item in items]
        return found, next_cursor
