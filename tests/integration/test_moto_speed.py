"""The local stack's moto patches (leadrelay.local.moto_speed) answer exactly as moto does, only
without the cost that grew with the table or the queue (the soak run's 10,000 leads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from leadrelay.local import moto_speed


def _table(name: str) -> Any:
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
        GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                                    {"AttributeName": "sk", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )  # fmt: skip
    return ddb


def _sks(response: dict[str, Any]) -> list[str]:
    return [item["sk"]["S"] for item in response["Items"]]


def test_a_query_on_the_table_key_reads_its_partition_in_order_with_conditions_and_pages(
    aws: dict[str, str],
) -> None:
    moto_speed.install()
    # Given a table of three partitions, written out of order, one indexed
    ddb = _table("speed")
    for pk in ("LEAD#b", "LEAD#a", "LEAD#c"):
        for sk in ("TL#3", "ROUTE#1", "TL#1", "LEAD", "TL#2"):
            ddb.put_item(TableName="speed", Item={"pk": {"S": pk}, "sk": {"S": sk}, "g": {"S": f"G{pk}"}})
    query = {"TableName": "speed", "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
             "ExpressionAttributeValues": {":pk": {"S": "LEAD#a"}, ":p": {"S": "TL#"}}}  # fmt: skip
    # Then a query finds the asked partition's items only, by sort key, either way, a page at a time
    assert _sks(ddb.query(**query)) == ["TL#1", "TL#2", "TL#3"]
    assert _sks(ddb.query(**query, ScanIndexForward=False)) == ["TL#3", "TL#2", "TL#1"]
    first = ddb.query(**query, Limit=2)
    assert _sks(first) == ["TL#1", "TL#2"]
    assert _sks(ddb.query(**query, ExclusiveStartKey=first["LastEvaluatedKey"])) == ["TL#3"]
    everything = ddb.query(TableName="speed", KeyConditionExpression="pk = :pk",
                           ExpressionAttributeValues={":pk": {"S": "LEAD#c"}})  # fmt: skip
    assert _sks(everything) == ["LEAD", "ROUTE#1", "TL#1", "TL#2", "TL#3"]
    assert {item["pk"]["S"] for item in everything["Items"]} == {"LEAD#c"}
    # And an unknown partition is empty, and an index query still reads the index
    missing = ddb.query(TableName="speed", KeyConditionExpression="pk = :pk",
                        ExpressionAttributeValues={":pk": {"S": "LEAD#zz"}})  # fmt: skip
    assert missing["Items"] == []
    by_index = ddb.query(TableName="speed", IndexName="by_g", KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": {"S": "GLEAD#b"}})  # fmt: skip
    assert _sks(by_index) == ["LEAD", "ROUTE#1", "TL#1", "TL#2", "TL#3"]
    # And a scan still sees every partition
    assert len(ddb.scan(TableName="speed")["Items"]) == 15


def test_stream_records_read_as_plain_json_keep_their_images_keys_and_creation_time(aws: dict[str, str]) -> None:
    moto_speed.install()
    ddb = _table("streamed")
    before = datetime.now(UTC) - timedelta(seconds=5)
    ddb.put_item(TableName="streamed", Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "n": {"N": "1"}, "b": {"B": b"\x00"}})
    ddb.update_item(TableName="streamed", Key={"pk": {"S": "p"}, "sk": {"S": "s"}}, UpdateExpression="SET n = :two",
                    ExpressionAttributeValues={":two": {"N": "2"}})  # fmt: skip
    streams = boto3.client("dynamodbstreams")
    arn = ddb.describe_table(TableName="streamed")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    inserted, modified = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert (inserted["eventName"], modified["eventName"]) == ("INSERT", "MODIFY")
    assert inserted["dynamodb"]["Keys"] == {"pk": {"S": "p"}, "sk": {"S": "s"}}
    assert inserted["dynamodb"]["NewImage"]["b"] == {"B": b"\x00"}
    assert modified["dynamodb"]["OldImage"]["n"] == {"N": "1"} and modified["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    created = inserted["dynamodb"]["ApproximateCreationDateTime"]
    assert before <= created <= datetime.now(UTC) + timedelta(seconds=5)
    assert int(modified["dynamodb"]["SequenceNumber"]) > int(inserted["dynamodb"]["SequenceNumber"])
    # And a read answered as plain JSON carries the binary value too
    item = ddb.get_item(TableName="streamed", Key={"pk": {"S": "p"}, "sk": {"S": "s"}})["Item"]
    assert item["b"] == {"B": b"\x00"} and item["n"] == {"N": "2"}


def test_queue_attributes_asked_by_name_are_what_moto_gives_for_all(aws: dict[str, str]) -> None:
    moto_speed.install()
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="speed-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    queue = sqs.create_queue(QueueName="speed", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    for n in range(12):
        sqs.send_message(QueueUrl=queue, MessageBody=str(n))
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "QueueArn", "RedrivePolicy",
             "MessageRetentionPeriod", "ContentBasedDeduplication"]  # fmt: skip
    some = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
    everything = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert len(received) == 10 and some["ApproximateNumberOfMessages"] == "2"
    assert some["ApproximateNumberOfMessagesNotVisible"] == "10"
    assert some == {name: everything[name] for name in names if name in everything}
    assert "ContentBasedDeduplication" not in some and json.loads(some["RedrivePolicy"])["maxReceiveCount"] == 3


def test_a_fifo_queue_with_content_based_deduplication_still_drops_a_repeat(aws: dict[str, str]) -> None:
    moto_speed.install()
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="speed.fifo", Attributes={"FifoQueue": "true",
                                                                 "ContentBasedDeduplication": "true"})["QueueUrl"]  # fmt: skip
    for _ in range(2):
        sqs.send_message(QueueUrl=queue, MessageBody="same", MessageGroupId="g")
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ContentBasedDeduplication",
                                                                           "ApproximateNumberOfMessages"])  # fmt: skip
    assert attributes["Attributes"] == {"ContentBasedDeduplication": "true", "ApproximateNumberOfMessages": "1"}
