"""DynamoDB attribute values to and from Python, without importing boto3.

boto3's `TypeSerializer`/`TypeDeserializer` do exactly this, but importing anything from boto3
loads `boto3.compat`, which imports s3transfer: ~50–150 ms of every cold start for S3 transfer
code LeadRelay never runs. The handlers use botocore's client directly and these two functions,
which follow boto3's rules (tests/unit/test_attribute_values.py checks them against boto3):
numbers are Decimals in DynamoDB's 38-digit context and floats are refused; sets become SS, NS
or BS; bytes become B.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's number type: 38 digits of precision, exponents from -128 to 126 (boto3's context).
NUMBER_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def _number(value: int | Decimal) -> str:
    number = str(NUMBER_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def serialize(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value (`{"S": "…"}`, `{"N": "…"}`, `{"M": {…}}`, …)."""
    if type(value) is str:  # the common case first (handler CPU per lead)
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    if isinstance(value, Set):
        return _serialize_set(value)
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f"Unsupported type {type(value)!r} for value {value!r}")


def _serialize_set(values: Set[Any]) -> dict[str, Any]:
    items = list(values)
    # boto3's order of checks: an empty set counts as a number set.
    if all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in items):
        return {"NS": [_number(v) for v in items]}
    if all(isinstance(v, str) for v in items):
        return {"SS": items}
    if all(isinstance(v, bytes | bytearray) for v in items):
        return {"BS": [bytes(v) for v in items]}
    raise TypeError(f"Unsupported set {values!r}: a set must be of one type (str, number, bytes)")


def deserialize(value: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as Python: N as Decimal, B as bytes, sets as sets."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, data = next(iter(value.items()))
    if kind == "S":
        return data
    if kind == "N":
        return NUMBER_CONTEXT.create_decimal(data)
    if kind == "M":
        return {k: deserialize(v) for k, v in data.items()}
    if kind == "L":
        return [deserialize(v) for v in data]
    if kind == "BOOL":
        return data
    if kind == "NULL":
        return None
    if kind == "B":
        return bytes(data)
    if kind == "SS":
        return set(data)
    if kind == "NS":
        return {NUMBER_CONTEXT.create_decimal(v) for v in data}
    if kind == "BS":
        return {bytes(v) for v in data}
    raise TypeError(f"Dynamodb type {kind} is not supported")
