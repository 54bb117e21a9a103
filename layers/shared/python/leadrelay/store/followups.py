"""Follow-ups, the follow-up settings and nurture state in DynamoDB.

Item layout:
- leads table `FOLLOWUP#<id>` / `FOLLOWUP`   one follow-up. Listed by due time through the
  overloaded list indexes: `by_received` (list_pk "FOLLOWUP": all), `by_agent` (agent_pk
  "FU#<agent>": an agent's), `by_team` (team_pk "FU#<team>": a team's), all with list_sk
  "<due time>#<id>". Found by the tick through the sparse `by_due` index: due_pk "FU_DUE" (due_at
  = its due time) until the owner was reminded, then "FU_MISS" (due_at = when it counts as
  missed), and no due_pk once done, missed or cancelled.
- leads table `LEAD#<id>` / `NURTURE`         the lead's cadence (`cadence_id`, `started_at`,
  `next_step`), due_pk "NURTURE" at the next step; or due_pk "LOST" (due_at = when it was closed
  lost) until it re-surfaces into the long-tail cadence.
- leads table `LEAD#<id>` / `CLIENT#<client id>`  an offline client's item, applied once.
- org table `CONFIG` / `FOLLOWUPS`           the follow-up settings document.

The lead item itself is queued too: due_pk "ROUTING" (due_at = received) while the router owes it
a decision, "SLA" until first contact (due_at = assigned_at until the tick works out the deadline,
then the deadline, with `sla_for` = the assigned_at it was worked out for), "UNASSIGNED" while
nobody could take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadrelay.clock import iso
from leadrelay.models.followup import Followup, FollowupStatus
from leadrelay.models.followup_settings import FollowupSettings
from leadrelay.store import paging
from leadrelay.store.dynamo import client, from_item, if_condition_holds, to_item
from leadrelay.store.leads import lead_pk
from leadrelay.store.transactions import Transaction

FOLLOWUP_SK = "FOLLOWUP"
LIST_FOLLOWUPS = "FOLLOWUP"
NURTURE_SK = "NURTURE"
# Queues in the `by_due` index.
Q_FOLLOWUP_DUE = "FU_DUE"
Q_FOLLOWUP_MISS = "FU_MISS"
Q_ROUTING = "ROUTING"
Q_SLA = "SLA"
Q_UNASSIGNED = "UNASSIGNED"
Q_NURTURE = "NURTURE"
Q_LOST = "LOST"

_KEYS = ("pk", "sk", "list_pk", "list_sk", "agent_pk", "team_pk", "due_pk", "due_at")


def followup_pk(followup_id: str) -> str:
    return f"FOLLOWUP#{followup_id}"


def followup_key(followup_id: str) -> dict[str, str]:
    return {"pk": followup_pk(followup_id), "sk": FOLLOWUP_SK}


def client_key(lead_id: str, client_id: str) -> dict[str, str]:
    return {"pk": lead_pk(lead_id), "sk": f"CLIENT#{client_id}"}


def nurture_key(lead_id: str) -> dict[str, str]:
    return {"pk": lead_pk(lead_id), "sk": NURTURE_SK}


def lost_item(lead_id: str, closed_at: datetime) -> dict[str, Any]:
    """A lost lead waits in the LOST queue until it re-surfaces into the long-tail cadence."""
    return {
        **nurture_key(lead_id),
        "lead_id": lead_id,
        "lost_at": closed_at,
        "due_pk": Q_LOST,
        "due_at": iso(closed_at),
    }


def followup_item(followup: Followup, missed_after: timedelta) -> dict[str, Any]:
    """The follow-up with its list keys and, while open, its place in the tick's queue."""
    values = followup.model_dump(mode="python", exclude_none=True)
    values["due_time"] = values.pop("due_at")
    values.update(followup_key(followup.followup_id))
    values.update(list_pk=LIST_FOLLOWUPS, list_sk=f"{iso(followup.due_at)}#{followup.followup_id}")
    if followup.agent_id:
        values["agent_pk"] = f"FU#{followup.agent_id}"
    if followup.team_id:
        values["team_pk"] = f"FU#{followup.team_id}"
    if followup.status is FollowupStatus.OPEN:
        if followup.notified_at is None:
            values.update(due_pk=Q_FOLLOWUP_DUE, due_at=iso(followup.due_at))
        else:
            values.update(due_pk=Q_FOLLOWUP_MISS, due_at=iso(followup.due_at + missed_after))
    return values


def followup_from_item(values: dict[str, Any]) -> Followup:
    body = {k: v for k, v in values.items() if k not in _KEYS}
    body["due_at"] = body.pop("due_time")
    return Followup.model_validate(body)


def close_followup(
    txn: Transaction,
    table: str,
    followup_id: str,
    status: FollowupStatus,
    at: datetime,
    *,
    activity_id: str | None = None,
    reason: str | None = None,
    from_statuses: tuple[FollowupStatus, ...] = (FollowupStatus.OPEN, FollowupStatus.MISSED),
) -> None:
    """Mark a follow-up done or cancelled, inside the caller's transaction, on condition that it is
    still in one of `from_statuses` (a missed one is done late when the lead is touched)."""
    sets = ["#status = :status"]
    values: dict[str, Any] = {":status": status.value, ":at": at}
    if status is FollowupStatus.DONE:
        sets.append("done_at = :at")
        if activity_id:
            sets.append("done_by_activity_id = :activity")
            values[":activity"] = activity_id
    else:
        sets.append("cancelled_at = :at")
        if reason:
            sets.append("cancelled_reason = :reason")
            values[":reason"] = reason
    allowed = []
    for n, state in enumerate(from_statuses):
        values[f":from{n}"] = state.value
        allowed.append(f":from{n}")
    txn.update(
        table,
        followup_key(followup_id),
        "SET " + ", ".join(sets) + " REMOVE due_pk, due_at",
        values,
        f"#status IN ({', '.join(allowed)})",
        names={"#status": "status"},
    )


@dataclass
class FollowupPage:
    items: list[Followup]
    next: str | None


class FollowupStore:
    def __init__(self, leads_table: str, org_table: str) -> None:
        self.leads_table = leads_table
        self.org_table = org_table

    # -- settings --------------------------------------------------------------------------------

    def get_settings(self) -> FollowupSettings:
        item = client().get_item(TableName=self.org_table, Key=to_item({"pk": "CONFIG", "sk": "FOLLOWUPS"})).get("Item")
        if not item:
            return FollowupSettings()
        return FollowupSettings.model_validate_json(from_item(item)["document"])

    def put_settings(self, settings: FollowupSettings) -> FollowupSettings:
        # One JSON document: read whole, never queried into.
        document = settings.model_dump_json()
        client().put_item(
            TableName=self.org_table, Item=to_item({"pk": "CONFIG", "sk": "FOLLOWUPS", "document": document})
        )
        return settings

    # -- reads -----------------------------------------------------------------------------------

    def get(self, followup_id: str, consistent: bool = True) -> Followup | None:
        item = (
            client()
            .get_item(TableName=self.leads_table, Key=to_item(followup_key(followup_id)), ConsistentRead=consistent)
            .get("Item")
        )
        return followup_from_item(from_item(item)) if item else None

    def client_record(self, lead_id: str, client_id: str) -> dict[str, Any] | None:
        item = (
            client()
            .get_item(TableName=self.leads_table, Key=to_item(client_key(lead_id, client_id)), ConsistentRead=True)
            .get("Item")
        )
        return from_item(item) if item else None

    def mark_applied(self, lead_id: str, client_id: str, op: str, by: str, at: datetime) -> bool:
        """Record that an offline-sync item (`client_id`) was applied to the lead; False if it
        already was (the marker is never overwritten)."""
        marker = {**client_key(lead_id, client_id), "op": op, "by": by, "at": at}
        done = if_condition_holds(client().put_item, TableName=self.leads_table, Item=to_item(marker),
                                  ConditionExpression="attribute_not_exists(pk)")  # fmt: skip
        return done is not None

    def nurture(self, lead_id: str) -> dict[str, Any] | None:
        item = (
            client()
            .get_item(TableName=self.leads_table, Key=to_item(nurture_key(lead_id)), ConsistentRead=True)
            .get("Item")
        )
        return from_item(item) if item else None

    def due(
        self, queue: str, until: datetime, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Items of `queue` due at or before `until`, oldest first, one page of at most `limit`."""
        kwargs: dict[str, Any] = {
            "TableName": self.leads_table,
            "IndexName": "by_due",
            "KeyConditionExpression": "due_pk = :queue AND due_at <= :until",
            "ExpressionAttributeValues": to_item({":queue": queue, ":until": iso(until)}),
            "Limit": limit,
        }
        return paging.read_page(kwargs, start)

    def list(
        self,
        *,
        agent_id: str | None,
        team_id: str | None,
        status: FollowupStatus | None,
        since: datetime | None,
        until: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> FollowupPage:
        """Follow-ups by due time (earliest first) through the narrowest list index; `since` /
        `until` bound the due time ([since, until)); `status` filters."""
        if agent_id is not None:
            index, key_name, key = "by_agent", "agent_pk", f"FU#{agent_id}"
        elif team_id is not None:
            index, key_name, key = "by_team", "team_pk", f"FU#{team_id}"
        else:
            index, key_name, key = "by_received", "list_pk", LIST_FOLLOWUPS
        condition = f"{key_name} = :key"
        values: dict[str, Any] = {":key": key}
        low = iso(since) if since else None
        high = iso(until) if until else None  # exclusive: "<iso>" sorts before "<iso>#id"
        if low and high:
            condition += " AND list_sk BETWEEN :low AND :high"
            values.update({":low": low, ":high": high})
        elif low:
            condition += " AND list_sk >= :low"
            values[":low"] = low
        elif high:
            condition += " AND list_sk < :high"
            values[":high"] = high
        kwargs: dict[str, Any] = {
            "TableName": self.leads_table,
            "IndexName": index,
            "KeyConditionExpression": condition,
        }
        if status is not None:
            kwargs["FilterExpression"] = "#status = :status"
            kwargs["ExpressionAttributeNames"] = {"#status": "status"}
            values[":status"] = status.value
        kwargs["ExpressionAttributeValues"] = to_item(values)
        items, next_cursor = paging.fill_page(
            kwargs,
            limit=limit,
            cursor=cursor,
            cursor_keys=("pk", "sk", key_name, "list_sk"),
            keep=(lambda item: item["list_sk"] < high) if high else None,
            batch=max(limit * 2, 20) if status is not None else None,
        )
        return FollowupPage([followup_from_item(item) for item in items], next_cursor)
