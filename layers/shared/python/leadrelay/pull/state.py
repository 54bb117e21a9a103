"""Each pull source's poll state, one item in the org table: `POLL` / `<source id>`.

Beside `SOURCES` / `<source id>` (the source itself), in a partition of its own so one query lists
every poll for an operator, and so a source edit (`put_source` overwrites) never resets it.

| attribute | |
|---|---|
| `window_end` | where the last successful call's window ended: the next one starts there (less the overlap) |
| `next_call_ms`, `next_call_at` | the earliest next call (epoch ms for the condition, ISO for people) |
| `claim_id`, `claimed_at` | the poll in progress (its id makes the result write its own) |
| `failures` | consecutive failed calls (0 after a success): the backoff grows with it |
| `last_result` | the last call: `ok`, `code`, `message`, `at`, the window, the URL (masked), capture's counts |
| `last_success_at`, `calls` | |

Claiming moves `next_call_ms` forward by the provider's minimum interval in the same conditional
write that checks it is due, so of two pollers that read "due" at once exactly one gets the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadrelay.clock import epoch_ms, iso, parse_iso
from leadrelay.store.dynamo import client, from_item, if_condition_holds, to_item, to_value
from leadrelay.store.paging import query_all

POLL = "POLL"


@dataclass
class PollState:
    """A source's poll, as stored."""

    source_id: str
    window_end: datetime | None = None
    next_call_at: datetime | None = None
    next_call_ms: int = 0
    failures: int = 0
    calls: int = 0
    claim_id: str | None = None
    last_result: dict[str, Any] = field(default_factory=dict)
    last_success_at: datetime | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> PollState:
        def when(name: str) -> datetime | None:
            value = item.get(name)
            return parse_iso(value) if isinstance(value, str) and value else None

        return cls(
            source_id=str(item["sk"]),
            window_end=when("window_end"),
            next_call_at=when("next_call_at"),
            next_call_ms=int(item.get("next_call_ms") or 0),
            failures=int(item.get("failures") or 0),
            calls=int(item.get("calls") or 0),
            claim_id=item.get("claim_id"),
            last_result=dict(item.get("last_result") or {}),
            last_success_at=when("last_success_at"),
        )

    def due(self, now: datetime) -> bool:
        return self.next_call_ms <= epoch_ms(now)


class PollStateStore:
    """Reads, claims and settles poll states in the org table."""

    def __init__(self, table: str) -> None:
        self.table = table

    def _key(self, source_id: str) -> dict[str, Any]:
        return to_item({"pk": POLL, "sk": source_id})

    def get(self, source_id: str) -> PollState | None:
        response = client().get_item(TableName=self.table, Key=self._key(source_id), ConsistentRead=True)
        item = response.get("Item")
        return PollState.from_item(from_item(item)) if item else None

    def list(self) -> list[PollState]:
        """Every source's poll state (for operators: last results, failures, next calls)."""
        items = query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": POLL}),
        )
        return [PollState.from_item(item) for item in items]

    def claim(self, source_id: str, kind: str, claim_id: str, now: datetime, hold: timedelta) -> PollState | None:
        """Take the next call for this poller if it is due, holding the provider for `hold`; None
        when another poller has it or it is not due yet."""
        until = now + hold
        values = {":now": epoch_ms(now), ":until": epoch_ms(until), ":until_at": iso(until), ":claim": claim_id,
                  ":at": iso(now), ":kind": kind, ":one": 1, ":zero": 0}  # fmt: skip
        response = if_condition_holds(
            client().update_item,
            TableName=self.table,
            Key=self._key(source_id),
            UpdateExpression="SET next_call_ms = :until, next_call_at = :until_at, claim_id = :claim, "
            "claimed_at = :at, kind = :kind, calls = if_not_exists(calls, :zero) + :one",
            ConditionExpression="attribute_not_exists(next_call_ms) OR next_call_ms <= :now",
            ExpressionAttributeValues={k: to_value(v) for k, v in values.items()},
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        return PollState.from_item(from_item(response["Attributes"]))

    def settle(
        self,
        source_id: str,
        claim_id: str,
        *,
        next_call: datetime,
        failures: int,
        result: dict[str, Any],
        window_end: datetime | None = None,
        success: bool = False,
    ) -> bool:
        """Record the claimed call's result, and `window_end` when given (after a success; or the
        first window's start after a failed first call, so the retry starts where it would have).
        False when the claim was lost meanwhile (the call outlived its hold): the newer poll's
        record stands."""
        values: dict[str, Any] = {":next": epoch_ms(next_call), ":next_at": iso(next_call), ":failures": failures,
                                  ":result": result, ":claim": claim_id}  # fmt: skip
        expression = "SET next_call_ms = :next, next_call_at = :next_at, failures = :failures, last_result = :result"
        if window_end is not None:
            expression += ", window_end = :window_end"
            values[":window_end"] = iso(window_end)
        if success:
            expression += ", last_success_at = :at"
            values[":at"] = result.get("at")
        response = if_condition_holds(
            client().update_item,
            TableName=self.table,
            Key=self._key(source_id),
            UpdateExpression=expression + " REMOVE claim_id",
            ConditionExpression="claim_id = :claim",
            ExpressionAttributeValues={k: to_value(v) for k, v in values.items()},
        )
        return response is not None
