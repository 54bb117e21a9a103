"""Shared DynamoDB plumbing: one client per process, and item (de)serialisation."""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any

from botocore.config import Config

from leadrelay.clock import iso
from leadrelay.store import botocore_lean
from leadrelay.store.attribute_values import deserialize, serialize


@lru_cache(maxsize=1)
def client() -> Any:
    """The process's DynamoDB client (thread-safe; honours AWS_ENDPOINT_URL for the local stack).

    botocore's, not boto3's: importing boto3 loads s3transfer, tens of milliseconds of every cold
    start for nothing (see store/attribute_values.py). Its session skips botocore's listing of
    every service and its 1.2 MB endpoints file (store/botocore_lean.py): ~40 ms of a cold start."""
    dynamodb = botocore_lean.session().create_client(
        "dynamodb",
        config=Config(
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
            # botocore's client-side check of every parameter against the service model was ~20% of
            # a warm handler's CPU per lead (walking each item's attribute values). DynamoDB checks
            # the same request server-side and answers ValidationException (a 400 ClientError);
            # the items are built by to_item/serialize, which only make valid attribute values.
            parameter_validation=False,
        ),
    )
    # Request bodies as one json.dumps of the items (already attribute values) instead of
    # botocore's walk of the input shape per value (store/botocore_lean.LeanJSONSerializer),
    # and TransactWriteItems' table list for the endpoint rule set without jmespath (same list).
    return botocore_lean.lean_endpoint_params(botocore_lean.lean_serializer(dynamodb))


def reset_client() -> None:
    client.cache_clear()


_MAX_NUMBER = 10**38  # DynamoDB numbers: 38 significant digits, magnitude 1E-130 to 1E+126


def _float(value: float) -> Decimal | str:
    """A float as a Decimal, or as text when DynamoDB cannot hold it (inf, 1e308, 1e-313: a
    provider's extra field must not fail the webhook)."""
    number = Decimal(str(value))
    if number.is_finite() and (number.is_zero() or -130 <= number.adjusted() <= 125):
        return number
    return str(value)


def _plain(value: Any) -> Any:
    """Python values DynamoDB can hold: datetimes as ISO strings, floats as Decimals, no Nones;
    numbers beyond DynamoDB's range as text."""
    if type(value) is str:  # most values of an item: one check instead of eight (handler CPU per lead)
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, int) and not -_MAX_NUMBER < value < _MAX_NUMBER:
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return [_plain(v) for v in sorted(value)]
    return value


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """A plain dict as a DynamoDB item (attribute-value JSON)."""
    return {k: serialize(v) for k, v in _plain(values).items()}


def to_value(value: Any) -> dict[str, Any]:
    return serialize(_plain(value))


def _python(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_python(v) for v in value]
    if isinstance(value, set):
        return sorted(_python(v) for v in value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (attribute-value JSON) as a plain dict; integral numbers become ints."""
    return {k: _python(deserialize(v)) for k, v in item.items()}


def without_keys(values: dict[str, Any]) -> dict[str, Any]:
    """An item's attributes without its table keys (`pk`, `sk`)."""
    return {k: v for k, v in values.items() if k not in ("pk", "sk")}


def query_all(**kwargs: Any) -> list[dict[str, Any]]:
    """Every item a Query returns, across pages, as plain dicts: `store/paging.py` (the old
    import path, still used by modules that have not moved to it)."""
    from leadrelay.store.paging import query_all

    return query_all(**kwargs)


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """An opaque, URL-safe pagination cursor from a LastEvaluatedKey."""
    if not key:
        return None
    import json

    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The LastEvaluatedKey behind a cursor; raises ValueError for a cursor we did not issue."""
    if not cursor:
        return None
    import binascii
    import json

    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("cursor is not one this API issued") from exc
    if not isinstance(key, dict) or not all(isinstance(v, dict) for v in key.values()):
        raise ValueError("cursor is not one this API issued")
    return key


def if_condition_holds(call: Any, **request: Any) -> dict[str, Any] | None:
    """Run a conditional DynamoDB call (PutItem, UpdateItem, DeleteItem); None when its condition
    does not hold, the response otherwise."""
    from botocore.exceptions import ClientError

    try:
        return dict(call(**request))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
