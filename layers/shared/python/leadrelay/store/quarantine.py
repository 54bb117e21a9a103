"""Quarantine and pending fetches in the leads table: requests kept raw until they can be leads.

Item layout (pk / sk), beside `store/leads.py`'s:
- `QUARANTINE#<request id>` / `RAW`                 a request we could not turn into a lead, with
  the reason (`QuarantineStore.quarantine`); listed
  newest first through `by_received` (list_pk "QUARANTINE"); a replay adds `replayed_at`,
  `replay_outcome`, `replayed_lead_ids`.
- `IGNORED#<request id>` / `RAW`                    a signed request that held no lead (a Razorpay
  event we do not take, a WhatsApp status for an unknown number), kept with the reason, listed
  under `list_pk` "IGNORED".
- `PENDING_FETCH#<source id>#<provider id>` / `FETCH`  a lead announced by id whose details could
  not be fetched yet (Meta's Graph API down); due for another try through the sparse `by_due`
  index (due_pk "PENDING_FETCH"), listed through `by_received` (list_pk "PENDING_FETCH").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadrelay.clock import iso
from leadrelay.store import paging
from leadrelay.store.dynamo import client, decode_cursor, from_item, to_item, to_value
from leadrelay.store.lists import LIST_IGNORED, LIST_QUARANTINE, list_sk
from leadrelay.store.raw import RawRequest

PENDING_FETCH = "PENDING_FETCH"
# Retry delays for a parked fetch: 1 min, 2, 4 … capped at an hour; Meta keeps retrying for 36 h.
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)


def quarantine_pk(request_id: str) -> str:
    return f"QUARANTINE#{request_id}"


def pending_pk(source_id: str, external_id: str) -> str:
    return f"{PENDING_FETCH}#{source_id}#{external_id}"


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


class QuarantineStore:
    """Reads quarantined requests, marks replays, and parks/resolves pending fetches."""

    def __init__(self, table: str) -> None:
        self.table = table

    # -- quarantine ------------------------------------------------------------------------------

    def quarantine(self, raw: RawRequest) -> None:
        """Keep a request we could not turn into a lead, with the reason, for a later replay."""
        raw.outcome = "quarantined"
        item = {
            "pk": quarantine_pk(raw.request_id),
            "sk": "RAW",
            "list_pk": LIST_QUARANTINE,
            "list_sk": list_sk(raw.received_at, raw.request_id),
        }
        item.update(raw.as_attributes())
        client().put_item(TableName=self.table, Item=to_item(item))

    def keep_ignored(self, raw: RawRequest) -> None:
        """Keep a request that held nothing to capture (its `reason` says why), acknowledged."""
        raw.outcome = "ignored"
        item = {"pk": f"IGNORED#{raw.request_id}", "sk": "RAW", "list_pk": LIST_IGNORED,
                "list_sk": list_sk(raw.received_at, raw.request_id)}  # fmt: skip
        item.update(raw.as_attributes())
        client().put_item(TableName=self.table, Item=to_item(item))

    def ignored(self, request_id: str) -> dict[str, Any] | None:
        item = (
            client()
            .get_item(
                TableName=self.table, Key=to_item({"pk": f"IGNORED#{request_id}", "sk": "RAW"}), ConsistentRead=True
            )
            .get("Item")
        )
        return from_item(item) if item else None

    def get(self, request_id: str) -> dict[str, Any] | None:
        response = client().get_item(
            TableName=self.table, Key=to_item({"pk": quarantine_pk(request_id), "sk": "RAW"}), ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def page(
        self, cursor: str | None = None, limit: int = 50, list_pk: str = LIST_QUARANTINE
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Quarantined requests (or pending fetches), newest first, one page at a time."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_received",
            "KeyConditionExpression": "list_pk = :key",
            "ExpressionAttributeValues": to_item({":key": list_pk}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        return paging.one_page(kwargs, decode_cursor(cursor))

    def mark_replayed(self, request_id: str, outcome: str, lead_ids: list[str], at: datetime) -> None:
        """Record a replay's result on the quarantined copy (which stays, as the audit trail)."""
        client().update_item(
            TableName=self.table,
            Key=to_item({"pk": quarantine_pk(request_id), "sk": "RAW"}),
            UpdateExpression="SET replayed_at = :at, replay_outcome = :outcome, replayed_lead_ids = :ids, "
            "replay_count = if_not_exists(replay_count, :zero) + :one",
            ExpressionAttributeValues={
                ":at": to_value(iso(at)),
                ":outcome": to_value(outcome),
                ":ids": to_value(lead_ids),
                ":zero": to_value(0),
                ":one": to_value(1),
            },
        )

    def record_failed_replay(self, request_id: str, before: dict[str, Any], error: str, at: datetime) -> None:
        """A replay that failed again rewrote the quarantined copy with the new reason; keep the
        replay history the copy had (how often it was tried, and when)."""
        client().update_item(
            TableName=self.table,
            Key=to_item({"pk": quarantine_pk(request_id), "sk": "RAW"}),
            UpdateExpression="SET last_replay_at = :at, last_replay_error = :error, replay_count = :count",
            ExpressionAttributeValues=to_item(
                {":at": iso(at), ":error": error, ":count": int(before.get("replay_count") or 0) + 1}
            ),
        )

    # -- pending fetches -------------------------------------------------------------------------

    def park(self, source_id: str, external_id: str, reason: str, data: dict[str, Any], raw: RawRequest,
             now: datetime) -> None:  # fmt: skip
        """Keep a lead we know only by id, due for a fetch in a minute. A provider's retry of the
        same notification overwrites it with the same key: still one pending fetch."""
        pk = pending_pk(source_id, external_id)
        item = {
            **raw.as_attributes(),
            "pk": pk, "sk": "FETCH", "list_pk": PENDING_FETCH, "list_sk": list_sk(now, external_id),
            "due_pk": PENDING_FETCH, "due_at": iso(now + FIRST_RETRY),
            "source_id": source_id, "external_id": external_id, "notice": data,
            "attempts": 1, "last_error": reason, "outcome": "pending_fetch", "parked_at": now,
        }  # fmt: skip
        client().put_item(TableName=self.table, Item=to_item(item))

    def due(self, now: datetime, limit: int = 25) -> list[dict[str, Any]]:
        response = client().query(
            TableName=self.table,
            IndexName="by_due",
            KeyConditionExpression="due_pk = :queue AND due_at <= :now",
            ExpressionAttributeValues=to_item({":queue": PENDING_FETCH, ":now": iso(now)}),
            Limit=limit,
        )
        return [from_item(item) for item in response.get("Items", [])]  # the index projects every attribute

    def reschedule(self, pk: str, attempts: int, reason: str, now: datetime) -> None:
        client().update_item(
            TableName=self.table,
            Key=to_item({"pk": pk, "sk": "FETCH"}),
            UpdateExpression="SET attempts = :attempts, last_error = :reason, due_at = :due",
            ExpressionAttributeValues=to_item(
                {":attempts": attempts, ":reason": reason, ":due": iso(now + retry_delay(attempts))}
            ),
        )

    def resolve(self, pk: str, lead_id: str, outcome: str, now: datetime) -> None:
        """The lead was fetched and stored: off the due index, with the lead it became."""
        client().update_item(
            TableName=self.table,
            Key=to_item({"pk": pk, "sk": "FETCH"}),
            UpdateExpression="SET lead_id = :lead, outcome = :outcome, fetched_at = :now REMOVE due_pk, due_at",
            ExpressionAttributeValues=to_item({":lead": lead_id, ":outcome": outcome, ":now": iso(now)}),
        )
