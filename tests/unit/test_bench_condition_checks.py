"""The bench's write-unit count prices a transaction's ConditionCheck like DynamoDB bills it: the
checked item's size, as a transactional write (issue #15: ingest's source guard, the router's)."""

from __future__ import annotations

from typing import Any

from bench.pipeline import CallCounter, _price_updates


class FakeTable:
    """get_item answers with an item of a given size for each key."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool) -> dict[str, Any]:
        return {"Item": {"pk": {"S": Key["pk"]["S"]}, "blob": {"S": "x" * self.sizes[Key["pk"]["S"]]}}}


def test_a_condition_check_in_a_transaction_costs_two_units_per_kb_of_the_checked_item() -> None:
    # Given a transaction of one small put and a ConditionCheck on a 1.5 KB item
    counter = CallCounter()
    put = {"Put": {"TableName": "leads", "Item": {"pk": {"S": "LEAD#1"}, "sk": {"S": "LEAD"}}}}
    check = {"ConditionCheck": {"TableName": "org", "Key": {"pk": {"S": "SOURCES"}, "sk": {"S": "web"}},
                                "ConditionExpression": "revision = :r"}}  # fmt: skip
    # When its write units are counted and the checked items priced after the run
    counter._write_units("ingest", "TransactWriteItems", {"TransactItems": [put, check]})
    _price_updates(counter, FakeTable({"SOURCES": 1500}))
    # Then the put costs 2 (one KB, transactional) and the check 4 (two KB, transactional)
    assert counter.write_units["ingest"] == 2 + 4
