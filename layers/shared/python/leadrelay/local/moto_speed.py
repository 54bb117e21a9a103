"""Make moto's DynamoDB cost what a request touches, not the size of the table or its items.

Two patches, both for the local stack only (the handlers and the tables are unchanged):

1. Reads (`GetItem`, `Query`, `Scan`, `BatchGetItem`) answer with their result as plain JSON.
   moto's generic response serializer walks every nested attribute value through the botocore
   shape model, which made a query of a few dozen items take 20–60 ms; the items are already in
   DynamoDB's wire format, so `json.dumps` gives the same bytes.
2. Transactions back up only the items they touch. moto backs a transaction up by deep-copying
   every table it names, once per item, so each TransactWriteItems grew slower as the tables
   filled (five copies of a thousand-lead table per assignment). Here moto's copy is skipped and
   the touched items (moto updates items in place) and the stream's length are saved instead; if
   the transaction fails they are put back. Requests reach moto one at a time (see
   `aws._OneRequestAtATime`), so nothing else can change those items meanwhile. (Whole touched
   partitions were saved before: a dashboard counter transaction copied the month's ~100 cells.)
3. A query on the table's own key reads its partition only. moto sorts every item of the table
   and then keeps those of the asked partition, so each Query cost the table's size (a 10,000-lead
   soak's recount: minutes per thousand leads). The same items come back in the same order. An
   index query skips that sort too (it sorts what it found by the index's keys afterwards).
4. SQS answers in time independent of the queue's length. moto works out a message's retention
   by computing every queue attribute (each approximate count walks every message), once per
   message looked at, so a receive from a queue of n messages cost n² and every send cost n.
   Here the retention check reads the one attribute it needs, `GetQueueAttributes` computes only
   the attributes asked for, and a send asks only for `ContentBasedDeduplication`.
5. Stream reads (`GetRecords`) answer as plain JSON, as reads do (1.): the generic serializer took
   a few milliseconds per record, and every record is read by both stream pollers.
6. Request dispatch and EventBridge's targets do their fixed work once: moto listed its own package
   folder on every request to find the service, and parsed the eight JSONPath expressions of an
   event's default input template (building a yacc parser) for every target of every event.
7. DynamoDB items are not kept forever. moto's `BaseModel` appends every instance it ever makes to
   its class's `instances_tracked` (for moto's own web dashboard, which the stack does not use), so
   every item version a put, an update or a transaction's backup made stayed in memory: the
   10,000-lead dashboard run (`make soak-dashboard`) grew moto's server to 5.9 GB by 3,000 leads,
   and its garbage collector's passes over those objects made each request slower than the last
   until clients timed out (docs/dashboard.md#scale). Items are made untracked here.
"""

from __future__ import annotations

import copy
import inspect
import threading
from typing import Any

_state = threading.local()
_installed = False
_MISSING = object()


def _touched_items(transact_items: list[dict[str, Any]], tables: dict[str, Any]) -> dict[str, set[Any]]:
    """Per table, the (hash, range) keys a transaction names (range None for a hash-only table)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    touched: dict[str, set[Any]] = {}
    for entry in transact_items:
        for op in entry.values():
            table = tables.get(op.get("TableName"))
            if table is None:
                continue
            attributes = op.get("Key") or op.get("Item") or {}
            value = attributes.get(table.hash_key_attr)
            if value is None:
                continue
            range_value = attributes.get(table.range_key_attr) if table.range_key_attr else None
            key = (DynamoType(value), DynamoType(range_value) if range_value is not None else None)
            touched.setdefault(table.name, set()).add(key)
    return touched


def _save_items(table: Any, keys: set[Any]) -> list[tuple[Any, Any, Any, bool]]:
    """Copies of the items at `keys` (_MISSING: none), and whether each one's partition existed."""
    saved = []
    for hash_key, range_key in keys:
        partition = table.items.get(hash_key, _MISSING)
        if range_key is None:
            item = partition
        else:
            item = partition.get(range_key, _MISSING) if partition is not _MISSING else _MISSING
        saved.append((hash_key, range_key, _MISSING if item is _MISSING else copy.deepcopy(item),
                      partition is not _MISSING))  # fmt: skip
    return saved


def _restore_items(table: Any, saved: list[tuple[Any, Any, Any, bool]]) -> None:
    for hash_key, range_key, item, partition_existed in saved:
        if range_key is None:
            if item is _MISSING:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
            continue
        partition = table.items.get(hash_key)
        if item is not _MISSING:
            table.items[hash_key][range_key] = item
        elif partition is not None:
            partition.pop(range_key, None)
            if not partition and not partition_existed:
                table.items.pop(hash_key, None)


def _untracked_items() -> None:
    from moto.dynamodb.models.dynamo_type import Item

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)  # BaseModel.__new__ without its `instances_tracked.append`

    Item.__new__ = staticmethod(new)  # type: ignore[assignment,method-assign]


def _blob(value: Any) -> Any:
    """A binary attribute as the JSON protocol carries it (base64), as moto's serializer writes it."""
    import base64

    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _plain_json_reads() -> None:
    import json

    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler

    def fast(method: Any) -> Any:
        def wrapper(self: Any) -> Any:
            result = method(self)
            if isinstance(result, ActionResult) and isinstance(result.result, dict):
                return json.dumps(result.result, default=_blob)
            return result

        return wrapper

    for name in ("get_item", "query", "scan", "batch_get_item"):
        setattr(DynamoHandler, name, fast(getattr(DynamoHandler, name)))


def _partition_queries() -> None:
    from moto.dynamodb.models.table import Table

    original_query, original_all_items = Table.query, Table.all_items
    signature = inspect.signature(original_query)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        asked = signature.bind(self, *args, **kwargs).arguments
        hash_key = asked.get("hash_key")
        if asked.get("index_name"):
            # An index query sorts what it found by the index's keys itself: the table's own sort
            # of every item first is wasted.
            _state.unsorted = True
        elif hash_key is not None:
            _state.partition = hash_key
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _state.partition = None
            _state.unsorted = False

    def all_items(self: Any) -> Any:
        partition = getattr(_state, "partition", None)
        if partition is None:
            if getattr(_state, "unsorted", False):
                if not self.range_key_attr:
                    return list(self.items.values())
                return [item for hash_set in self.items.values() for item in hash_set.values()]
            return original_all_items(self)
        # moto's own query then keeps the items of this partition and sorts them by range key.
        found = self.items.get(partition)
        if found is None:
            return []
        return list(found.values()) if self.range_key_attr else [found]

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _some_queue_attributes(queue: Any, names: list[str]) -> dict[str, Any]:
    """What moto's `Queue.attributes` holds for `names`, computing only those."""
    import json

    from moto.core.utils import camelcase_to_underscores

    wanted = set(names) & set(queue.BASE_ATTRIBUTES)
    if queue.fifo_queue:
        wanted |= set(names) & set(queue.FIFO_ATTRIBUTES)
    if queue.kms_master_key_id:
        wanted |= set(names) & set(queue.KMS_ATTRIBUTES)
    result: dict[str, Any] = {}
    for name in wanted:
        value = getattr(queue, camelcase_to_underscores(name))
        if name == "RedrivePolicy" and value:
            value = json.dumps(value)
        result[name] = str(value).lower() if isinstance(value, bool) else value
    return result


def _cheap_sqs() -> None:
    from moto.sqs.models import Queue, SQSBackend

    original_get_attributes = SQSBackend.get_queue_attributes
    original_send = SQSBackend.send_message
    original_attributes: Any = Queue.attributes  # a property on the class (mypy sees the getter)

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        from moto.core.utils import unix_time

        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return retention_period + message.sent_timestamp / 1000 > unix_time()

    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> Any:
        if not attribute_names or "All" in attribute_names:
            return original_get_attributes(self, queue_name, attribute_names)
        _state.attribute_names = list(attribute_names)
        try:
            return original_get_attributes(self, queue_name, attribute_names)
        finally:
            _state.attribute_names = None

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        _state.attribute_names = ["ContentBasedDeduplication"]
        try:
            return original_send(self, *args, **kwargs)
        finally:
            _state.attribute_names = None

    def attributes(self: Any) -> Any:
        names = getattr(_state, "attribute_names", None)
        if names is None:
            return original_attributes.fget(self)
        return _some_queue_attributes(self, names)

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    SQSBackend.get_queue_attributes = get_queue_attributes  # type: ignore[method-assign]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def _plain_json_stream_reads() -> None:
    import calendar
    import json
    from datetime import datetime

    from moto.core.responses import ActionResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    def epoch(value: Any) -> Any:
        if isinstance(value, datetime):
            if value.tzinfo is None:  # moto's utcnow(): naive UTC
                return calendar.timegm(value.utctimetuple()) + value.microsecond / 1e6
            return value.timestamp()
        return _blob(value)

    original = DynamoDBStreamsHandler.get_records

    def get_records(self: Any) -> Any:
        result = original(self)
        if isinstance(result, ActionResult) and isinstance(result.result, dict):
            return json.dumps(result.result, default=epoch)
        return result

    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign]


def _fixed_work_once() -> None:
    from functools import lru_cache

    import jsonpath_ng.ext
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    # A parsed JSONPath is not changed by `find`; moto imports `parse` at each call, so this is used.
    jsonpath_ng.ext.parse = lru_cache(maxsize=256)(jsonpath_ng.ext.parse)


def install() -> None:
    """Patch moto's DynamoDB in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    _plain_json_reads()
    _partition_queries()
    _cheap_sqs()
    _plain_json_stream_reads()
    _fixed_work_once()
    _untracked_items()
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched = _touched_items(transact_items, self.tables)
        saved = []
        for name, keys in touched.items():
            table = self.tables[name]
            shard_length = len(table.stream_shard.items) if table.stream_shard is not None else None
            saved.append((table, _save_items(table, keys), shard_length))
        _state.skip_copy = True
        try:
            return original(self, transact_items)
        except Exception:
            for table, items, shard_length in saved:
                _restore_items(table, items)
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
