"""Reading a query page by page (store/paging.py), against a fake DynamoDB Query.

The fake answers like DynamoDB: at most `Limit` items a read (it applies a FilterExpression after
the limit, so a filtered read comes back short), and a `LastEvaluatedKey` while items remain.
"""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay.store import paging
from leadrelay.store.dynamo import decode_cursor, encode_cursor, to_item

KEYS = ("pk", "sk")


class FakeQuery:
    """One index's items in order; `odd_only` stands in for a FilterExpression."""

    def __init__(self, count: int, odd_only: bool = False, page: int = 1000) -> None:
        self.items = [{"pk": f"P#{n:03}", "sk": "S", "n": n} for n in range(count)]
        self.odd_only = odd_only
        self.page = page
        self.limits: list[int] = []

    def query(self, **request: Any) -> dict[str, Any]:
        start = 0
        if "ExclusiveStartKey" in request:
            after = request["ExclusiveStartKey"]["pk"]["S"]
            start = next(i for i, item in enumerate(self.items) if item["pk"] == after) + 1
        limit = min(request.get("Limit", self.page), self.page)
        self.limits.append(limit)
        read = self.items[start : start + limit]
        response: dict[str, Any] = {
            "Items": [to_item(item) for item in read if not self.odd_only or item["n"] % 2],
            "Count": sum(1 for item in read if not self.odd_only or item["n"] % 2),
        }
        if start + limit < len(self.items):
            response["LastEvaluatedKey"] = to_item({k: read[-1][k] for k in KEYS})
        return response


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(query: FakeQuery) -> FakeQuery:
        monkeypatch.setattr(paging, "client", lambda: query)
        return query

    return install


def test_every_item_is_read_across_pages(fake: Any) -> None:
    # Given 25 items answered 10 a read
    fake(FakeQuery(25, page=10))
    # When all of them are asked for
    items = paging.query_all(TableName="t")
    # Then all 25 come back, in order, as plain dicts
    assert [item["n"] for item in items] == list(range(25))


def test_a_count_adds_up_every_page(fake: Any) -> None:
    # Given 25 items of which 12 pass the filter, answered 10 a read
    fake(FakeQuery(25, odd_only=True, page=10))
    # When they are counted
    # Then the count is the filtered total, across three reads
    assert paging.count({"TableName": "t"}) == 12


def test_a_filtered_page_reads_on_until_it_is_full_and_the_cursor_continues_after_its_last_item(fake: Any) -> None:
    # Given 40 items of which only the odd ones pass the filter
    query = fake(FakeQuery(40, odd_only=True))
    # When a page of 5 is read (each read asking for what the page still lacks)
    first, cursor = paging.fill_page({"TableName": "t"}, limit=5, cursor=None, cursor_keys=KEYS)
    # Then it holds the first five odd items, read on past the short reads
    assert [item["n"] for item in first] == [1, 3, 5, 7, 9]
    assert query.limits[0] == 5 and len(query.limits) > 1
    # And the cursor points after the last item shown, so the next page starts right there
    assert decode_cursor(cursor) == to_item({"pk": "P#009", "sk": "S"})
    second, _ = paging.fill_page({"TableName": "t"}, limit=5, cursor=cursor, cursor_keys=KEYS)
    assert [item["n"] for item in second] == [11, 13, 15, 17, 19]


def test_a_page_that_ends_with_the_index_has_no_cursor(fake: Any) -> None:
    # Given exactly 6 items
    fake(FakeQuery(6))
    # When a page of 3 and then the rest are read
    first, cursor = paging.fill_page({"TableName": "t"}, limit=3, cursor=None, cursor_keys=KEYS)
    last, end = paging.fill_page({"TableName": "t"}, limit=3, cursor=cursor, cursor_keys=KEYS)
    # Then the second page is the last: no cursor to an empty page
    assert [item["n"] for item in first + last] == list(range(6))
    assert cursor is not None and end is None


def test_keep_drops_items_and_a_batch_sets_each_read(fake: Any) -> None:
    # Given 30 items, a page that keeps multiples of 3, read 8 at a time
    query = fake(FakeQuery(30))
    items, cursor = paging.fill_page(
        {"TableName": "t"}, limit=4, cursor=None, cursor_keys=KEYS, keep=lambda item: item["n"] % 3 == 0, batch=8
    )
    # Then the page holds the first four kept, every read asked for 8
    assert [item["n"] for item in items] == [0, 3, 6, 9]
    assert set(query.limits) == {8}
    assert cursor == encode_cursor(to_item({"pk": "P#009", "sk": "S"}))


def test_a_cursor_this_api_did_not_issue_is_refused(fake: Any) -> None:
    fake(FakeQuery(3))
    with pytest.raises(ValueError, match="not one this API issued"):
        paging.fill_page({"TableName": "t"}, limit=2, cursor="not-a-cursor!", cursor_keys=KEYS)


def test_one_page_is_one_read_with_its_continuation(fake: Any) -> None:
    # Given 5 items and a limit of 2
    query = fake(FakeQuery(5))
    # When one page is read, then the next from its cursor
    first, cursor = paging.one_page({"TableName": "t", "Limit": 2})
    second, _ = paging.one_page({"TableName": "t", "Limit": 2}, decode_cursor(cursor))
    # Then each is one read of two items, the second continuing the first
    assert [item["n"] for item in first + second] == [0, 1, 2, 3]
    assert len(query.limits) == 2
