"""How the dashboard's counting retries under contention (store/dashboard.py `apply`): a marker moved by
another consumer, or a transaction cancelled for a conflict on a hot counter cell, is planned again
from a fresh read after a random wait under a doubling cap, a bounded number of times."""

from __future__ import annotations

from datetime import date
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from leadrelay.dashboard_counts import Definitions
from leadrelay.store import transactions
from leadrelay.store.dashboard import DashboardStore
from leadrelay.store.dynamo import client

LEAD = {"lead_id": "L-hot", "source_id": "facebook", "status": "new", "received_at": "2026-11-23T06:30:00.000Z"}
DAY = date(2026, 11, 23)


@pytest.fixture
def store(aws: dict[str, str]) -> DashboardStore:
    return DashboardStore(aws["ORG_TABLE"], aws["LEADS_TABLE"])


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits `apply` takes, with the random draw at its top (1.0), so each wait is its cap."""
    taken: list[float] = []
    monkeypatch.setattr(transactions, "_sleep", taken.append)
    monkeypatch.setattr(transactions, "_random", lambda: 1.0)
    return taken


def another_consumer_moves_the_marker(org_table: str, times: int) -> tuple[list[int], Any]:
    """Before each of our next `times` transactions, another consumer rewrites the lead's marker."""
    other = boto3.client("dynamodb")  # not the store's client: its hook does not see these writes
    moved: list[int] = []

    def move(**_: Any) -> None:
        if len(moved) < times:
            moved.append(1)
            other.put_item(TableName=org_table, Item={
                "pk": {"S": "DASHMARK#lead#L-hot"}, "sk": {"S": "MARK"}, "seq": {"S": "0" * 40},
                "rev": {"N": str(100 + len(moved))},
            })  # fmt: skip

    client().meta.events.register("before-call.dynamodb.TransactWriteItems", move)
    return moved, move


def received(store: DashboardStore) -> int:
    return sum(int(cell.get("received", 0)) for cell in store.lead_cells(DAY, DAY))


def test_a_marker_moved_under_the_consumer_is_read_again_after_a_doubling_wait(
    store: DashboardStore, sleeps: list[float]
) -> None:
    # Given another consumer rewrites the lead's marker just before each of our first 3 writes
    moved, hook = another_consumer_moves_the_marker(store.org_table, 3)
    try:
        # When the record is applied
        outcome = store.apply("lead", "L-hot", LEAD, Definitions(), "100")
    finally:
        client().meta.events.unregister("before-call.dynamodb.TransactWriteItems", hook)
    # Then it was planned again after waits whose caps double, and the lead counts once
    assert len(moved) == 3 and outcome.outcome == "applied"
    assert sleeps == [0.01, 0.02, 0.04]
    assert received(store) == 1


def test_a_marker_that_never_stops_moving_fails_the_record_after_bounded_waits(
    store: DashboardStore, sleeps: list[float]
) -> None:
    moved, hook = another_consumer_moves_the_marker(store.org_table, 1000)
    try:
        # When a record of a lead whose marker another consumer moves before every write is applied
        with pytest.raises(RuntimeError, match="kept changing"):
            store.apply("lead", "L-hot", LEAD, Definitions(), "100")
    finally:
        client().meta.events.unregister("before-call.dynamodb.TransactWriteItems", hook)
    # Then it tried 10 times, waiting 9 times under a cap of half a second, and counted nothing
    assert len(moved) == 10
    assert sleeps == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.5, 0.5]
    assert received(store) == 0


def test_a_write_conflict_on_a_hot_cell_waits_and_tries_again_from_a_fresh_read(
    store: DashboardStore, sleeps: list[float]
) -> None:
    # Given DynamoDB cancels our first two transactions for a conflict
    conflicts = 2
    reads: list[int] = []

    def conflict(**_: Any) -> None:
        nonlocal conflicts
        if conflicts:  # what DynamoDB answers when another transaction is on the same counter cell
            conflicts -= 1
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "injected"},
                               "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]},
                              "TransactWriteItems")  # fmt: skip

    client().meta.events.register("before-call.dynamodb.TransactWriteItems", conflict)

    def read(**_: Any) -> None:
        reads.append(1)

    client().meta.events.register("before-call.dynamodb.GetItem", read)
    try:
        # When the record is applied
        outcome = store.apply("lead", "L-hot", LEAD, Definitions(), "100")
    finally:
        client().meta.events.unregister("before-call.dynamodb.TransactWriteItems", conflict)
        client().meta.events.unregister("before-call.dynamodb.GetItem", read)
    # Then it waited twice (caps doubling), read the marker afresh each time, and counted once
    assert outcome.outcome == "applied" and sleeps == [0.01, 0.02] and len(reads) == 3
    assert received(store) == 1
    # And the same record again changes nothing
    assert store.apply("lead", "L-hot", LEAD, Definitions(), "100").outcome == "stale"
    assert received(store) == 1
