"""Drive the real handlers on moto: post webhooks, feed the stream to the router, call the API."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.helpers import LambdaContext, api_event, claims, hook_event, stream_event


class Flow:
    """The pipeline in one process, the way the local stack and AWS wire it."""

    def __init__(self, leads_table: str) -> None:
        import api_handler
        import ingest_handler
        import route_handler

        self.ingest = ingest_handler.handler
        self.route = route_handler.handler
        self.api = api_handler.handler
        self.streams = boto3.client("dynamodbstreams")
        arn = boto3.client("dynamodb").describe_table(TableName=leads_table)["Table"]["LatestStreamArn"]
        self.stream_arn = arn
        self.iterators: dict[str, str] = {}
        for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]

    def post(self, source_id: str, body: Any, key: str | None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        response = self.ingest(hook_event(source_id, body, key=key, **kwargs), LambdaContext())
        return response["statusCode"], json.loads(response["body"])

    def new_records(self) -> list[dict[str, Any]]:
        records = []
        for shard_id, iterator in list(self.iterators.items()):
            response = self.streams.get_records(ShardIterator=iterator)
            records.extend(response["Records"])
            self.iterators[shard_id] = response["NextShardIterator"]
        return records

    def routable(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records the event source mapping's filter lets through."""
        from leadrelay.definitions import ROUTE_STREAM
        from leadrelay.local.patterns import matches

        return [r for r in records if any(matches(p, r) for p in ROUTE_STREAM.filter_patterns)]

    def run_router(self, batch_size: int = 10) -> list[dict[str, Any]]:
        """Feed every routable record to the router in batches; return the batch responses."""
        records = self.routable(self.new_records())
        responses = []
        for start in range(0, len(records), batch_size):
            event = stream_event(records[start : start + batch_size], self.stream_arn)
            responses.append(self.route(event, LambdaContext()))
        return responses

    def run_aggregates(self, redeliver: bool = False) -> None:
        """Feed every new record the events function's mapping lets through to it (it keeps the
        dashboard's counters and feed too), on its own read of the stream from the start on first
        use; with `redeliver`, each batch twice."""
        import events_handler

        from leadrelay.definitions import EVENTS_STREAM
        from leadrelay.local.patterns import matches_any

        if not hasattr(self, "aggregate_iterators"):
            self.aggregate_iterators = {
                shard: self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard,
                                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                for shard in self.iterators
            }  # fmt: skip
        records = []
        for shard, iterator in list(self.aggregate_iterators.items()):
            response = self.streams.get_records(ShardIterator=iterator)
            records += response["Records"]
            self.aggregate_iterators[shard] = response["NextShardIterator"]
        shaped = stream_event(records, self.stream_arn)["Records"]
        chosen = [r for r in shaped if matches_any(EVENTS_STREAM.filter_patterns, r)]
        for start in range(0, len(chosen), EVENTS_STREAM.batch_size):
            event = {"Records": chosen[start : start + EVENTS_STREAM.batch_size]}
            for _ in range(2 if redeliver else 1):
                assert events_handler.handler(event, LambdaContext()) == {"batchItemFailures": []}

    def get(self, path: str, role: str = "admin", query: dict[str, str] | None = None,
            **claim_args: Any) -> tuple[int, dict[str, Any]]:  # fmt: skip
        return self.call("GET", path, role=role, query=query, **claim_args)

    def call(self, method: str, path: str, role: str = "admin", body: Any = None,
             query: dict[str, str] | None = None, **claim_args: Any) -> tuple[int, dict[str, Any]]:  # fmt: skip
        event = api_event(method, path, body=body, query=query, claims=claims(role, **claim_args))
        response = self.api(event, LambdaContext())
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else {}
