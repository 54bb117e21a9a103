"""The local moto's transactions back up only the items they touch, and moto keeps no item it has
replaced (leadrelay.local.moto_speed 2. and 7.): the 10,000-lead dashboard run (make soak-dashboard)
grew moto's server to 5.9 GB by 3,000 leads and slowed every request until clients timed out, because every item
version ever made stayed in moto's instance tracker."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from leadrelay.local import moto_speed


def _table(name: str) -> Any:
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return ddb


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _everything(ddb: Any, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["pk"]["S"], item["sk"]["S"]): item for item in ddb.scan(TableName=table)["Items"]}


def _stream_length(ddb: Any, table: str) -> int:
    streams = boto3.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return len(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"])


def test_a_cancelled_transaction_leaves_every_item_and_the_stream_as_they_were(aws: dict[str, str]) -> None:
    moto_speed.install()
    # Given a partition of counter cells and a marker, as the dashboard keeps them
    ddb = _table("items")
    for sk in ("c1", "c2", "c3"):
        ddb.put_item(TableName="items", Item={**_key("DASH#2026-11", sk), "n": {"N": "1"}})
    ddb.put_item(TableName="items", Item={**_key("MARK#a", "MARK"), "rev": {"N": "1"}})
    before, stream_before = _everything(ddb, "items"), _stream_length(ddb, "items")
    # When a transaction updates one cell, adds a cell to that partition and another in a new
    # partition, and then fails on its last item's condition
    with pytest.raises(ClientError) as failed:
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "items", "Key": _key("DASH#2026-11", "c1"), "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": "items", "Item": {**_key("DASH#2026-11", "c9"), "n": {"N": "1"}}}},
            {"Put": {"TableName": "items", "Item": {**_key("DASH#2026-12", "c1"), "n": {"N": "1"}}}},
            {"Put": {"TableName": "items", "Item": {**_key("MARK#a", "MARK"), "rev": {"N": "2"}},
                     "ConditionExpression": "rev = :seen", "ExpressionAttributeValues": {":seen": {"N": "7"}}}},
        ])  # fmt: skip
    # Then it was cancelled, and every item (touched or not) and the stream are as before
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _everything(ddb, "items") == before
    assert _stream_length(ddb, "items") == stream_before
    empty = ddb.query(TableName="items", KeyConditionExpression="pk = :pk",
                      ExpressionAttributeValues={":pk": {"S": "DASH#2026-12"}})  # fmt: skip
    assert empty["Items"] == []
    # And the same transaction with the right condition applies all of it
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": "items", "Key": _key("DASH#2026-11", "c1"), "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Put": {"TableName": "items", "Item": {**_key("MARK#a", "MARK"), "rev": {"N": "2"}},
                 "ConditionExpression": "rev = :seen", "ExpressionAttributeValues": {":seen": {"N": "1"}}}},
    ])  # fmt: skip
    after = _everything(ddb, "items")
    assert after[("DASH#2026-11", "c1")]["n"] == {"N": "2"} and after[("MARK#a", "MARK")]["rev"] == {"N": "2"}
    assert after[("DASH#2026-11", "c2")] == before[("DASH#2026-11", "c2")]


def test_moto_keeps_no_item_version_it_has_replaced(aws: dict[str, str]) -> None:
    moto_speed.install()
    from moto.dynamodb.models.dynamo_type import Item

    # Given a counter cell in a partition of fifty cells
    ddb = _table("tracked")
    for n in range(50):
        ddb.put_item(TableName="tracked", Item={**_key("DASH#2026-11", f"c{n:02d}"), "n": {"N": "0"}})
    tracked = len(getattr(Item, "instances_tracked", []))
    # When it is counted up a hundred times, each time in a transaction with a marker
    for n in range(100):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "tracked", "Key": _key("DASH#2026-11", "c07"), "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": "tracked", "Item": {**_key("MARK#a", "MARK"), "rev": {"N": str(n)}}}},
        ])  # fmt: skip
    # Then the count is right, and moto's instance tracker holds none of the item versions made
    cell = ddb.get_item(TableName="tracked", Key=_key("DASH#2026-11", "c07"))["Item"]
    assert cell["n"] == {"N": "100"}
    assert len(getattr(Item, "instances_tracked", [])) == tracked
