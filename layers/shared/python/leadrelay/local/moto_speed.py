"""Make moto's DynamoDB transactions cost what they touch, not the size of the table.

moto backs up a transaction by deep-copying every table the transaction names — once per item
that names it — so each TransactWriteItems grows slower as the table fills (5 copies of a
thousand-lead table per assignment made routing take hundreds of milliseconds). DynamoDB's cost
does not depend on table size, and the benchmark should not measure moto's backup strategy.

While a transaction runs, a table's deep copy becomes a *snapshot*: the partition structure is
copied (cheap: dicts of references) and only the partitions the transaction touches are copied
deeply, because moto updates items in place. The stream shard keeps its list of records as it
was. Rolling back swaps the snapshot in, exactly as moto does with its full copy. Requests reach
moto one at a time (see `aws._OneRequestAtATime`), so no other request sees a half-copied table.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_state = threading.local()
_installed = False


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


def _snapshot(table: Any, memo: dict[int, Any]) -> Any:
    clone = copy.copy(table)
    touched = getattr(_state, "touched", {}).get(table.name, set())
    items = copy.copy(table.items)  # keeps the defaultdict's factory
    for hash_key, partition in items.items():
        if hash_key in touched:
            items[hash_key] = copy.deepcopy(partition, memo)
        elif isinstance(partition, dict):
            items[hash_key] = dict(partition)
    clone.items = items
    if table.stream_shard is not None:
        shard = copy.copy(table.stream_shard)
        shard.items = list(table.stream_shard.items)
        shard.table = clone
        clone.stream_shard = shard
    return clone


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _state.touched = _touched_partitions(transact_items, self.tables)
        try:
            return original(self, transact_items)
        finally:
            _state.touched = None

    def deepcopy_table(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_state, "touched", None) is None:
            # Outside a transaction (table backups, restores): moto's own full copy.
            clone = copy.copy(self)
            memo[id(self)] = clone
            for name, value in vars(self).items():
                setattr(clone, name, copy.deepcopy(value, memo))
            return clone
        return _snapshot(self, memo)

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.__deepcopy__ = deepcopy_table  # type: ignore[attr-defined]
    _installed = True
