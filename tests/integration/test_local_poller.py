"""The stream poller feeds the router exactly as Lambda's event source mapping would (moto server)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from leadrelay import definitions
from leadrelay.clock import OffsetClock
from leadrelay.local.aws import client
from leadrelay.local.poller import BatchResult, StreamPoller
from tests.integration.local_fixtures import RecordingHandler, leads_table, moto_server  # noqa: F401

FAST = replace(definitions.ROUTE_STREAM, retry_attempts=2)


def _lead(lead_id: str, state: str = "pending") -> dict[str, Any]:
    return {
        "pk": {"S": f"LEAD#{lead_id}"},
        "sk": {"S": "LEAD"},
        "routing_state": {"S": state},
        "name": {"S": lead_id},
    }


def _lead_ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["NewImage"]["name"]["S"] for record in records]


@pytest.fixture
def world(moto_server, leads_table):  # noqa: F811
    name, stream_arn = leads_table
    sqs = client("sqs", moto_server.endpoint)
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    pollers: list[StreamPoller] = []

    def start(handler: Any, mapping: definitions.StreamMapping = FAST) -> tuple[StreamPoller, list[BatchResult]]:
        results: list[BatchResult] = []
        poller = StreamPoller(
            streams_client=client("dynamodbstreams", moto_server.endpoint),
            stream_arn=stream_arn,
            handler=handler,
            clock=OffsetClock(),
            sqs_client=sqs,
            dlq_url=dlq_url,
            mapping=mapping,
            retry_delay_s=0.0,
            on_batch=results.append,
        )
        poller.start()
        pollers.append(poller)
        return poller, results

    def dlq_messages() -> list[dict[str, Any]]:
        received = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in received]

    world = {
        "dynamodb": client("dynamodb", moto_server.endpoint),
        "table": name,
        "stream_arn": stream_arn,
        "start": start,
        "dlq": dlq_messages,
    }
    yield world
    for poller in pollers:
        poller.stop()


def _put(world: dict[str, Any], *items: dict[str, Any]) -> None:
    for item in items:
        world["dynamodb"].put_item(TableName=world["table"], Item=item)


def test_only_leads_pending_routing_reach_the_router_in_lambdas_record_shape(world):
    # Given a new pending lead, a timeline item and the lead's later assignment
    _put(
        world,
        _lead("L1"),
        {"pk": {"S": "LEAD#L1"}, "sk": {"S": "TL#2026-11-23T06:30:00.000Z"}, "kind": {"S": "received"}},
        _lead("L1", state="assigned"),
    )
    router = RecordingHandler(respond=lambda event: {"batchItemFailures": []})
    # When the poller runs
    poller, _ = world["start"](router)
    assert poller.drain(5)
    # Then one record reached the router, shaped as Lambda shapes it
    records = [record for event in router.events for record in event["Records"]]
    assert _lead_ids(records) == ["L1"]
    record = records[0]
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "ap-south-1"
    assert record["eventSourceARN"] == world["stream_arn"]
    assert ":ap-south-1:" in record["eventSourceARN"]
    assert record["eventID"]
    stream = record["dynamodb"]
    assert isinstance(stream["ApproximateCreationDateTime"], float)
    assert stream["Keys"] == {"pk": {"S": "LEAD#L1"}, "sk": {"S": "LEAD"}}
    assert stream["NewImage"]["routing_state"] == {"S": "pending"}
    assert stream["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert stream["SequenceNumber"].isdigit()
    assert stream["SizeBytes"] > 0
    assert poller.stats.records_read == 3
    assert poller.stats.records_filtered_out == 2
    json.dumps(router.events)  # the event is plain JSON, as Lambda delivers it


def test_records_are_batched_up_to_the_batch_size(world):
    _put(world, *[_lead(f"L{n:02d}") for n in range(25)])
    router = RecordingHandler(respond=lambda event: None)
    poller, _ = world["start"](router)
    assert poller.drain(5)
    assert [len(event["Records"]) for event in router.events] == [10, 10, 5]
    assert _lead_ids([r for e in router.events for r in e["Records"]]) == [f"L{n:02d}" for n in range(25)]


def test_a_reported_failure_is_retried_from_that_record_then_parked_in_the_dlq(world):
    # Given a batch whose middle record always fails
    _put(world, _lead("good-1"), _lead("bad"), _lead("good-2"))

    def fail_bad(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                for r in event["Records"]
                if r["dynamodb"]["NewImage"]["name"]["S"] == "bad"
            ]
        }

    router = RecordingHandler(respond=fail_bad)
    poller, results = world["start"](router)
    assert poller.drain(5)
    # Then the batch was retried from the failed record, retry_attempts times, and never before it
    batches = [_lead_ids(event["Records"]) for event in router.events]
    assert batches == [["good-1", "bad", "good-2"], ["bad", "good-2"], ["bad", "good-2"]]
    assert [result.outcome for result in results] == ["partial", "partial", "partial"]
    # And Lambda's on-failure record names the unprocessed range
    (message,) = world["dlq"]()
    info = message["DDBStreamBatchInfo"]
    bad_sequence = router.events[1]["Records"][0]["dynamodb"]["SequenceNumber"]
    assert info["startSequenceNumber"] == bad_sequence
    assert info["batchSize"] == 2
    assert info["streamArn"] == world["stream_arn"]
    assert info["shardId"]
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    # And the shard moves on to later records
    _put(world, _lead("after"))
    assert poller.drain(5)
    assert _lead_ids(router.events[-1]["Records"]) == ["after"]


def test_a_raising_handler_has_its_batch_bisected_until_the_poison_record_is_alone(world):
    _put(world, _lead("a"), _lead("b"), _lead("poison"), _lead("c"))

    def explode_on_poison(event: dict[str, Any]) -> dict[str, Any]:
        if "poison" in _lead_ids(event["Records"]):
            raise RuntimeError("cannot route this one")
        return {"batchItemFailures": []}

    router = RecordingHandler(respond=explode_on_poison)
    poller, results = world["start"](router)
    assert poller.drain(5)
    batches = [_lead_ids(event["Records"]) for event in router.events]
    assert batches == [
        ["a", "b", "poison", "c"],
        ["a", "b"],
        ["poison", "c"],
        ["poison"],
        ["poison"],
        ["poison"],
        ["c"],
    ]
    assert [r.outcome for r in results].count("error") == 5
    (message,) = world["dlq"]()
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert message["responseContext"]["functionError"] == "Unhandled"
    assert poller.stats.records_to_dlq == 1


def test_an_unknown_item_identifier_fails_the_whole_batch(world):
    _put(world, _lead("x"))
    router = RecordingHandler(respond=lambda event: {"batchItemFailures": [{"itemIdentifier": ""}]})
    poller, _ = world["start"](router, replace(FAST, retry_attempts=1))
    assert poller.drain(5)
    assert len(router.events) == 2
    assert len(world["dlq"]()) == 1
