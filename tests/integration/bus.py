"""The events path on moto in-process: stream → events handler → bus → a queue the test reads."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.helpers import LambdaContext, stream_event


class BusTap:
    """Every event on `bus` copied to an SQS queue (a rule on source `leadrelay`), read back as the
    envelopes EventBridge delivers."""

    def __init__(self, bus: str = "test-bus") -> None:
        from leadrelay.definitions import EVENT_SOURCE

        self.sqs = boto3.client("sqs")
        self.url = self.sqs.create_queue(QueueName=f"{bus}-tap")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events")
        events.put_rule(Name="tap", EventBusName=bus, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
        events.put_targets(Rule="tap", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        """Every envelope delivered so far (cumulative, in arrival order)."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self.seen
            for message in messages:
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def kinds(self, lead_id: str | None = None) -> list[str]:
        return [e["detail-type"] for e in self.read() if lead_id is None or e["detail"].get("lead_id") == lead_id]


class EventsFeed:
    """The events function's mapping: its own iterators on the leads stream, its own filter."""

    def __init__(self, leads_table: str) -> None:
        import events_handler

        self.handler = events_handler.handler
        self.streams = boto3.client("dynamodbstreams")
        self.stream_arn = boto3.client("dynamodb").describe_table(TableName=leads_table)["Table"]["LatestStreamArn"]
        self.iterators = {
            shard["ShardId"]: self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        }

    def records(self) -> list[dict[str, Any]]:
        """New records the filter lets through."""
        from leadrelay.definitions import EVENTS_STREAM
        from leadrelay.local.patterns import matches_any

        found = []
        for shard_id, iterator in list(self.iterators.items()):
            response = self.streams.get_records(ShardIterator=iterator)
            found.extend(response["Records"])
            self.iterators[shard_id] = response["NextShardIterator"]
        shaped = stream_event(found, self.stream_arn)["Records"]
        return [r for r in shaped if matches_any(EVENTS_STREAM.filter_patterns, r)]

    def deliver(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return self.handler({"Records": records}, LambdaContext())

    def run(self) -> list[dict[str, Any]]:
        """Deliver every new event record in batches of the mapping's size; the handler responses."""
        from leadrelay.definitions import EVENTS_STREAM

        records = self.records()
        size = EVENTS_STREAM.batch_size
        return [self.deliver(records[i : i + size]) for i in range(0, len(records), size)]
