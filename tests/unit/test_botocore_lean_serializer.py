"""The lean request serializer writes the same request, byte for byte, as botocore's own.

store/botocore_lean.LeanJSONSerializer skips botocore's walk of the input shape for DynamoDB's
item operations (handler CPU per lead); these tests hold it to botocore's JSON serializer.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.serialize import create_serializer
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.store import botocore_lean
from leadrelay.store.dynamo import client, reset_client, to_item, to_value


@pytest.fixture(scope="module")
def dynamodb(request: pytest.FixtureRequest) -> Any:
    """A DynamoDB client as the handlers build it (no call is sent)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
        patch.setenv("AWS_ACCESS_KEY_ID", "test")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        reset_client()
        built = client()
        reset_client()
        return built


def stock(dynamodb: Any) -> Any:
    return create_serializer(dynamodb.meta.service_model.protocol, include_validation=False)


def both(dynamodb: Any, operation: str, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    model = dynamodb.meta.service_model.operation_model(operation)
    lean = botocore_lean.LeanJSONSerializer(stock(dynamodb))
    return lean.serialize_to_request(params, model), stock(dynamodb).serialize_to_request(params, model)


numbers = st.one_of(
    st.integers(-(10**30), 10**30),
    st.decimals(places=4, allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.text(max_size=12), numbers, st.binary(min_size=1, max_size=6), st.datetimes()
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=6), inner, max_size=3),
        st.frozensets(st.text(max_size=4), min_size=1, max_size=3),
        st.frozensets(st.binary(min_size=1, max_size=3), min_size=1, max_size=3),
    ),
    max_leaves=10,
)
items = st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=6)


def test_the_handlers_client_uses_the_lean_serializer(dynamodb: Any) -> None:
    assert isinstance(dynamodb._serializer, botocore_lean.LeanJSONSerializer)


def test_item_operations_are_plain_and_time_or_float_inputs_are_not(dynamodb: Any) -> None:
    model = dynamodb.meta.service_model
    for name in (
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
        "ExecuteStatement",
    ):
        assert botocore_lean.plain_input(model.operation_model(name)), name
    # Timestamps (ListBackups' time range, point-in-time restore) and doubles (auto scaling).
    for name in ("ListBackups", "RestoreTableToPointInTime", "UpdateTableReplicaAutoScaling"):
        assert not botocore_lean.plain_input(model.operation_model(name)), name


@settings(max_examples=150, deadline=None)
@given(item=items, key=st.text(min_size=1, max_size=10), value=values)
def test_a_transaction_of_any_items_is_the_same_request(dynamodb: Any, item: dict, key: str, value: Any) -> None:
    # Given a transaction with a Put of any item, an Update with a value, and a condition check
    params = {
        "TransactItems": [
            {"Put": {"TableName": "leads", "Item": to_item({"pk": key, "sk": "LEAD", **item})}},
            {
                "Update": {
                    "TableName": "leads",
                    "Key": to_item({"pk": key, "sk": "COUNTER"}),
                    "UpdateExpression": "SET #v = :v ADD #n :one",
                    "ExpressionAttributeNames": {"#v": "v", "#n": "n"},
                    "ExpressionAttributeValues": {":v": to_value(value), ":one": to_value(1)},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": "o",
                    "Key": to_item({"pk": "x"}),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ],
        "ClientRequestToken": "token-1",
        "ReturnConsumedCapacity": "TOTAL",
    }
    # When both serializers write it, Then the requests are identical, body bytes included
    lean, stock_request = both(dynamodb, "TransactWriteItems", params)
    assert lean == stock_request


@settings(max_examples=60, deadline=None)
@given(item=items)
def test_reads_and_writes_are_the_same_request(dynamodb: Any, item: dict) -> None:
    key = to_item({"pk": "LEAD#1", "sk": "LEAD"})
    cases = {
        "GetItem": {
            "TableName": "t",
            "Key": key,
            "ConsistentRead": True,
            "ProjectionExpression": "pk, #s",
            "ExpressionAttributeNames": {"#s": "status"},
        },
        "PutItem": {
            "TableName": "t",
            "Item": to_item({"pk": "a", **item}),
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
        "Query": {
            "TableName": "t",
            "KeyConditionExpression": "pk = :p",
            "Limit": 25,
            "ScanIndexForward": False,
            "ExpressionAttributeValues": {":p": {"S": "p"}},
            "ExclusiveStartKey": key,
        },
        "BatchWriteItem": {
            "RequestItems": {
                "t": [{"PutRequest": {"Item": to_item({"pk": "b", **item})}}, {"DeleteRequest": {"Key": key}}]
            }
        },
        "BatchGetItem": {"RequestItems": {"t": {"Keys": [key], "ConsistentRead": True}}},
    }
    for operation, params in cases.items():
        lean, stock_request = both(dynamodb, operation, params)
        assert lean == stock_request, operation


def test_an_operation_with_timestamps_goes_to_botocores_serializer(dynamodb: Any) -> None:
    # Given ListBackups with a datetime, which botocore writes as epoch seconds
    from datetime import UTC, datetime

    params = {"TableName": "t", "TimeRangeLowerBound": datetime(2026, 1, 2, tzinfo=UTC)}
    lean, stock_request = both(dynamodb, "ListBackups", params)
    assert lean == stock_request
    assert b'"TimeRangeLowerBound": 1767312000' in lean["body"]


def test_a_parameter_the_operation_does_not_have_fails_as_botocore_fails(dynamodb: Any) -> None:
    with pytest.raises(KeyError):
        both(dynamodb, "GetItem", {"TableName": "t", "Key": {"pk": {"S": "a"}}, "Bogus": 1})


def test_an_empty_body_and_a_non_json_value(dynamodb: Any) -> None:
    lean, stock_request = both(dynamodb, "ListTables", {})
    assert lean == stock_request and lean["body"] == b"{}"
    model = dynamodb.meta.service_model.operation_model("PutItem")
    with pytest.raises(TypeError):
        botocore_lean.LeanJSONSerializer(stock(dynamodb)).serialize_to_request(
            {"TableName": "t", "Item": {"pk": {"S": object()}}}, model
        )


# -- TransactWriteItems' table list for the endpoint rule set, without jmespath ----------------------

names = st.one_of(st.none(), st.text(max_size=5), st.integers(), st.lists(st.text(max_size=3), max_size=2))
actions = st.dictionaries(st.sampled_from(["TableName", "Key", "Item"]), names, max_size=3)
transact_items = st.lists(
    st.one_of(
        st.none(),
        st.text(max_size=3),
        st.dictionaries(
            st.sampled_from(["ConditionCheck", "Put", "Delete", "Update", "Other"]),
            st.one_of(actions, st.none(), st.text(max_size=3), st.lists(actions, max_size=1)),
            max_size=4,
        ),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    params=st.one_of(
        st.fixed_dictionaries({"TransactItems": transact_items}),
        st.dictionaries(
            st.sampled_from(["TransactItems", "ClientRequestToken"]),
            st.one_of(st.none(), st.text(max_size=3), st.integers()),
        ),
    )
)
def test_the_transaction_table_list_is_jmespaths(params: dict) -> None:
    # Given any TransactWriteItems parameters (well-formed or not), Then the written-out path gives
    # exactly what botocore's jmespath search of the service model's path gives
    import jmespath

    assert botocore_lean.transact_write_tables(params) == jmespath.search(botocore_lean.TRANSACT_WRITE_TABLES, params)


def test_the_service_model_still_uses_that_path_and_the_client_uses_the_written_out_one(dynamodb: Any) -> None:
    model = dynamodb.meta.service_model.operation_model("TransactWriteItems")
    assert model.operation_context_parameters["ResourceArnList"]["path"] == botocore_lean.TRANSACT_WRITE_TABLES
    resolver = dynamodb._ruleset_resolver
    assert getattr(resolver._resolve_param_as_operation_context_param, "lean", False)
    # And it answers as botocore would for a real transaction and for other operations
    params = {"TransactItems": [{"Put": {"TableName": "a", "Item": {}}}, {"Update": {"TableName": "b"}}]}
    assert resolver._resolve_param_as_operation_context_param("ResourceArnList", model, params) == ["a", "b"]
    batch = dynamodb.meta.service_model.operation_model("BatchWriteItem")
    assert resolver._resolve_param_as_operation_context_param(
        "ResourceArnList", batch, {"RequestItems": {"t": []}}
    ) == ["t"]


def test_a_transaction_resolves_to_the_same_endpoint_as_with_botocores_resolver(dynamodb: Any) -> None:
    # Given the handlers' client and a stock one, When both resolve a TransactWriteItems endpoint
    from botocore.session import get_session

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "test")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        stock_client = get_session().create_client("dynamodb", region_name="ap-south-1")
        model = dynamodb.meta.service_model.operation_model("TransactWriteItems")
        params = {
            "TransactItems": [{"Put": {"TableName": "leads", "Item": {}}}, {"ConditionCheck": {"TableName": "o"}}]
        }
        ours = dynamodb._ruleset_resolver.construct_endpoint(model, params, {})
        theirs = stock_client._ruleset_resolver.construct_endpoint(model, params, {})
    # Then the endpoint is the same
    assert ours.url == theirs.url
