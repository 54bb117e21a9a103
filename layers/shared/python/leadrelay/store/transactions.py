"""DynamoDB transactions shared by every repository: build one, run it, read why it failed.

A repository adds its items to a `Transaction` (several repositories may add to the same one: an
assignment writes the lead, the day counter and the round-robin stamp together) and runs it with
`run_transaction`; a cancelled transaction raises `TransactionFailed`, whose `reasons` line up with
the items, so the caller can tell which condition failed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from leadrelay.errors import TransactionFailed
from leadrelay.store.dynamo import client, to_item, to_value

__all__ = ["Transaction", "TransactionFailed", "backoff", "run_transaction"]

# The wait before retry n (0-based) of a conflicted write: uniform in [0, min(cap, base * 2**n)]
# seconds ("full jitter"): writers that collided once spread out instead of colliding again in step.
CONFLICT_BASE_S = 0.005
CONFLICT_CAP_S = 0.1
_sleep: Callable[[float], None] = time.sleep  # (tests replace these two)
_random: Callable[[], float] = random.random


def backoff(retry: int, base_s: float = CONFLICT_BASE_S, cap_s: float = CONFLICT_CAP_S) -> float:
    """Sleep a random time under retry `retry`'s cap; returns the time slept."""
    wait = _random() * min(cap_s, base_s * 2**retry)
    _sleep(wait)
    return wait


@dataclass
class Transaction:
    """The items of one TransactWriteItems call, in order."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def put(self, table: str, item: dict[str, Any], condition: str | None = None, **values: Any) -> None:
        put: dict[str, Any] = {"TableName": table, "Item": to_item(item)}
        if condition:
            put["ConditionExpression"] = condition
            put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            if values:
                put["ExpressionAttributeValues"] = {k: to_value(v) for k, v in values.items()}
        self.items.append({"Put": put})

    def update(
        self,
        table: str,
        key: dict[str, str],
        expression: str,
        values: dict[str, Any],
        condition: str | None = None,
        names: dict[str, str] | None = None,
    ) -> None:
        update: dict[str, Any] = {
            "TableName": table,
            "Key": to_item(key),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": {k: to_value(v) for k, v in values.items()},
        }
        if names:
            update["ExpressionAttributeNames"] = names
        if condition:
            update["ConditionExpression"] = condition
            update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        self.items.append({"Update": update})


def run_transaction(items: list[dict[str, Any]], attempts: int = 4) -> None:
    """TransactWriteItems, retrying pure write conflicts (no failed condition) after `backoff`."""
    for attempt in range(attempts):
        try:
            client().transact_write_items(TransactItems=items)
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            failed = TransactionFailed([dict(reason) for reason in reasons])
            if failed.failed_conditions() or not failed.conflicted or attempt == attempts - 1:
                raise failed from exc
            backoff(attempt)
