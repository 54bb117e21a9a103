"""LeadRelay's attribute-value (de)serialiser agrees with boto3's, value for value."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.store.attribute_values import deserialize, serialize

numbers = st.one_of(
    st.integers(min_value=-(10**37), max_value=10**37),
    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20),
)
scalars = st.one_of(st.none(), st.booleans(), st.text(max_size=20), numbers, st.binary(min_size=1, max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
        st.frozensets(st.text(max_size=5), min_size=1, max_size=4),
        st.frozensets(st.integers(-1000, 1000), min_size=1, max_size=4),
    ),
    max_leaves=12,
)


def _boto3_plain(value):
    """boto3 wraps binary values in Binary; LeadRelay reads them as bytes."""
    if isinstance(value, Binary):
        return bytes(value)
    if isinstance(value, dict):
        return {k: _boto3_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_boto3_plain(v) for v in value]
    if isinstance(value, set):
        return {_boto3_plain(v) for v in value}
    return value


def _same_sets(a, b):
    """Sets come out as lists in attribute values: compare them without order."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_sets(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return (
            sorted(map(repr, a)) == sorted(map(repr, b))
            if a and not isinstance(a[0], dict)
            else all(_same_sets(x, y) for x, y in zip(a, b, strict=True))
        )
    return a == b


@settings(max_examples=200, deadline=None)
@given(values)
def test_any_value_serialises_as_boto3_does_and_reads_back_as_boto3_reads_it(value):
    # Given any value boto3 can store; When both serialise it, Then the attribute values agree
    ours, theirs = serialize(value), TypeSerializer().serialize(value)
    assert _same_sets(ours, theirs)
    # and reading either back gives the same Python value
    assert deserialize(ours) == _boto3_plain(TypeDeserializer().deserialize(theirs))


@pytest.mark.parametrize(
    "value",
    [1.5, Decimal("Infinity"), Decimal("NaN"), Decimal("1" * 39), {1, "a"}, object()],
    ids=["float", "infinity", "nan", "39 digits", "mixed set", "object"],
)
def test_what_boto3_refuses_is_refused_too(value):
    with pytest.raises(Exception) as theirs:
        TypeSerializer().serialize(value)
    with pytest.raises(type(theirs.value)):
        serialize(value)
