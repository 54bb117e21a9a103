"""Reading a DynamoDB Query across its pages, shared by every repository that pages.

A Query answers at most 1 MB (or `Limit` items) at a time and says where it stopped
(`LastEvaluatedKey`). The ways the repositories read on:

- `query_all`: every item, for small partitions (a lead's timeline, the roster);
- `items`: every item lazily, page by page, stopping when the caller stops;
- `count`: how many items match (`Select=COUNT`), across pages;
- `read_page` / `one_page`: exactly one page, and where the next one starts;
- `fill_page`: a page for a person, `limit` items long even when a filter leaves reads short,
  continued by an opaque cursor that points after the last item shown (and none when the index
  ended exactly there, so a client never fetches an empty last page).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from leadrelay.store.dynamo import client, decode_cursor, encode_cursor, from_item, to_item


def items(request: dict[str, Any], start: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Every item of a Query (as plain dicts), from `start` on, one page read at a time as the
    caller iterates; `request` is not changed."""
    request = dict(request)
    while True:
        if start:
            request["ExclusiveStartKey"] = start
        response = client().query(**request)
        yield from (from_item(item) for item in response.get("Items", []))
        start = response.get("LastEvaluatedKey")
        if not start:
            return


def query_all(**request: Any) -> list[dict[str, Any]]:
    """Every item a Query returns, across pages, as plain dicts."""
    return list(items(request))


def count(request: dict[str, Any]) -> int:
    """How many items a Query matches, across pages (`Select=COUNT`: no item is read back)."""
    request = {**request, "Select": "COUNT"}
    total = 0
    while True:
        response = client().query(**request)
        total += int(response.get("Count", 0))
        if "LastEvaluatedKey" not in response:
            return total
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def read_page(
    request: dict[str, Any], start: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of a Query from `start`: its items and the key the next page starts after (None: the end)."""
    request = dict(request)
    if start:
        request["ExclusiveStartKey"] = start
    response = client().query(**request)
    return [from_item(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey")


def one_page(request: dict[str, Any], start: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """`read_page`, with the next page's start as an opaque cursor (`decode_cursor` reads it back)."""
    found, last = read_page(request, start)
    return found, encode_cursor(last)


def fill_page(
    request: dict[str, Any],
    *,
    limit: int,
    cursor: str | None,
    cursor_keys: tuple[str, ...],
    keep: Callable[[dict[str, Any]], bool] | None = None,
    batch: int | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` items of a Query that `keep` accepts (all, without it), reading on until the
    page is full or the index ends; and the cursor that continues after the last one (its
    `cursor_keys`: the table's and the index's keys). Each read asks for what the page still
    lacks, or `batch` items when a filter (a FilterExpression or `keep`) may drop many of them.
    Raises ValueError for a cursor this API did not issue."""
    request = dict(request)
    start = decode_cursor(cursor)
    found: list[dict[str, Any]] = []
    while True:
        request["Limit"] = batch if batch is not None else max(limit - len(found), 1)
        if start:
            request["ExclusiveStartKey"] = start
        response = client().query(**request)
        read = response.get("Items", [])
        for position, raw in enumerate(read):
            item = from_item(raw)
            if keep is not None and not keep(item):
                continue
            found.append(item)
            if len(found) == limit:
                if position == len(read) - 1 and "LastEvaluatedKey" not in response:
                    return found, None  # the index ended exactly here: no empty last page
                return found, encode_cursor(to_item({key: item[key] for key in cursor_keys}))
        start = response.get("LastEvaluatedKey")
        if not start:
            return found, None
