"""The bench's write units: a transaction's items are billed at twice their size in KB, and a
`ConditionCheck` (the router's roster version check) is billed like a write of the item it checks."""

from __future__ import annotations

from typing import Any

from bench.pipeline import CallCounter, _price_updates

VERSION_KEY = {"pk": {"S": "CONFIG"}, "sk": {"S": "ROSTER_VERSION"}}
COUNTER_KEY = {"pk": {"S": "ROSTER"}, "sk": {"S": "DAY#2026-11-27#asha"}}


class FakeDynamo:
    """Answers GetItem with a stored item of a given size."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool) -> dict[str, Any]:
        size = self.sizes[Key["sk"]["S"]]
        return {"Item": {**Key, "x": {"S": "x" * (size - 33)}}}


def test_a_condition_check_in_a_transaction_costs_two_write_units_like_an_update() -> None:
    # Given the router's transaction: a 1.5 KB put, a counter update and the roster version check
    put = {"pk": {"S": "LEAD#1"}, "sk": {"S": "ROUTE#1"}, "body": {"S": "y" * 1500}}
    params = {"TransactItems": [
        {"Put": {"TableName": "leads", "Item": put}},
        {"Update": {"TableName": "org", "Key": COUNTER_KEY}},
        {"ConditionCheck": {"TableName": "org", "Key": VERSION_KEY, "ConditionExpression": "version = :held"}},
    ]}  # fmt: skip
    counter = CallCounter()
    counter._write_units("route", "TransactWriteItems", params)
    tallies = counter.tallies()
    # When the updated and checked items are priced at their stored size (both under 1 KB)
    _price_updates(tallies, FakeDynamo({"DAY#2026-11-27#asha": 60, "ROSTER_VERSION": 50}))
    # Then the put is 2 × 2 KB, the update 2 × 1 KB, the check 2 × 1 KB
    assert tallies.write_units["route"] == 4 + 2 + 2


def test_without_the_check_the_same_transaction_costs_two_units_less() -> None:
    params = {"TransactItems": [{"Update": {"TableName": "org", "Key": COUNTER_KEY}}]}
    counter = CallCounter()
    counter._write_units("route", "TransactWriteItems", params)
    tallies = counter.tallies()
    _price_updates(tallies, FakeDynamo({"DAY#2026-11-27#asha": 60}))
    assert tallies.write_units["route"] == 2
