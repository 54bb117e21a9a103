"""Make moto's DynamoDB cost what a request touches, not the size of the table or its items.

Two patches, both for the local stack only (the handlers and the tables are unchanged):

1. Reads (`GetItem`, `Query`, `Scan`, `BatchGetItem`) answer with their result as plain JSON.
   moto's generic response serializer walks every nested attribute value through the botocore
   shape model, which made a query of a few dozen items take 20–60 ms; the items are already in
   DynamoDB's wire format, so `json.dumps` gives the same bytes.
2. Transactions back up only the partitions they touch. moto backs a transaction up by deep-copying
   every table it names, once per item, so each TransactWriteItems grew slower as the tables
   filled (five copies of a thousand-lead table per assignment). Here moto's copy is skipped and
   the touched partitions (moto updates items in place) and the stream's length are saved
   instead; if the transaction fails they are put back. Requests reach moto one at a time (see
   `aws._OneRequestAtATime`), so nothing else can change those partitions meanwhile.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_state = threading.local()
_installed = False
_MISSING = object()


def _touched_partitions(transact_items: list[dict[str, Any]], tables: dict[str, Any]) -> dict[str, set[Any]]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    touched: dict[str, set[Any]] = {}
    for entry in transact_items:
        for op in entry.values():
            table = tables.get(op.get("TableName"))
            if table is None:
                continue
            attributes = op.get("Key") or op.get("Item") or {}
            value = attributes.get(table.hash_key_attr)
            if value is not None:
                touched.setdefault(table.name, set()).add(DynamoType(value))
    return touched


def _plain_json_reads() -> None:
    import json

    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler

    def fast(method: Any) -> Any:
        def wrapper(self: Any) -> Any:
            result = method(self)
            if isinstance(result, ActionResult) and isinstance(result.result, dict):
                return json.dumps(result.result)
            return result

        return wrapper

    for name in ("get_item", "query", "scan", "batch_get_item"):
        setattr(DynamoHandler, name, fast(getattr(DynamoHandler, name)))


def install() -> None:
    """Patch moto's DynamoDB in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    _plain_json_reads()
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched = _touched_partitions(transact_items, self.tables)
        saved = []
        for name, hashes in touched.items():
            table = self.tables[name]
            shard_length = len(table.stream_shard.items) if table.stream_shard is not None else None
            partitions = {h: copy.deepcopy(table.items[h]) if h in table.items else _MISSING for h in hashes}
            saved.append((table, partitions, shard_length))
        _state.skip_copy = True
        try:
            return original(self, transact_items)
        except Exception:
            for table, partitions, shard_length in saved:
                for hash_key, partition in partitions.items():
                    if partition is _MISSING:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = partition
                if shard_length is not None:
                    del table.stream_shard.items[shard_length:]
            raise
        finally:
            _state.skip_copy = False

    original_deepcopy = getattr(Table, "__deepcopy__", None)

    def deepcopy_table(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_state, "skip_copy", False):
            return self  # inside a transaction: our partition backup stands in for moto's copy
        if original_deepcopy is not None:
            return original_deepcopy(self, memo)
        clone = copy.copy(self)
        memo[id(self)] = clone
        for name, value in vars(self).items():
            setattr(clone, name, copy.deepcopy(value, memo))
        return clone

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.__deepcopy__ = deepcopy_table  # type: ignore[attr-defined]
    _installed = True
