"""The local stack emulates the events path: a second poller on the leads stream, with the events
mapping's filter, runs the real events handler, which puts each event on moto's bus."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from leadrelay.local.aws import client
from leadrelay.local.stack import LocalStack
from tests.integration.local_fixtures import moto_server  # noqa: F401


@pytest.fixture(scope="module")
def stack(moto_server, tmp_path_factory):  # noqa: F811
    with LocalStack(port=0, demo=True, state_dir=tmp_path_factory.mktemp("state"), moto=moto_server,
                    ticker_check_seconds=3600) as stack:  # fmt: skip
        yield stack


def bus_events(stack: LocalStack, until: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The envelopes the local bus copied to its queue (at least `until` of them, or a timeout)."""
    assert stack.resources is not None
    sqs = client("sqs", stack.resources.endpoint)
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(seen) < until and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=stack.resources.bus_events_queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0).get("Messages", [])  # fmt: skip
        for message in messages:
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=stack.resources.bus_events_queue_url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def test_a_posted_lead_leaves_created_and_assigned_events_on_the_local_bus(stack: LocalStack) -> None:
    # Given the demo's website source
    source = next(s for s in stack.info["sources"] if s["kind"] == "generic")
    # When a lead is posted and the stack has caught up
    answer = requests.post(f"{stack.api_url}/hooks/{source['id']}", json={"phone": "9876522001", "name": "Kiran"},
                           headers={"X-Api-Key": source["key"]}, timeout=10)  # fmt: skip
    assert answer.status_code == 202, answer.text
    lead_id = answer.json()["lead_id"]
    assert stack.drain()
    # Then the bus received lead.created and lead.assigned for it, from the stream, with timeline ids
    envelopes = [e for e in bus_events(stack, until=2) if e["detail"].get("lead_id") == lead_id]
    assert [e["detail-type"] for e in envelopes] == ["lead.created", "lead.assigned"]
    timeline = requests.get(f"{stack.api_url}/leads/{lead_id}/timeline",
                            headers={"Authorization": f"Bearer {stack.token('admin')}"}, timeout=10).json()  # fmt: skip
    assert [e["detail"]["event_id"] for e in envelopes] == [t["event_id"] for t in timeline["items"]]
    # And the events function ran from its own poller, which skipped everything else on the stream
    assert stack.invocations["events"] >= 1
    assert stack.event_poller is not None and stack.event_poller.stats.records_filtered_out > 0
    assert "Kiran" not in json.dumps(envelopes)


def test_the_local_stack_reads_the_stream_with_the_mappings_infra_deploys(stack: LocalStack) -> None:
    from leadrelay import definitions

    assert stack.poller is not None and stack.event_poller is not None
    assert stack.poller._mapping is definitions.ROUTE_STREAM
    assert stack.event_poller._mapping is definitions.EVENTS_STREAM
    assert stack.resources is not None and stack.event_poller._dlq_url == stack.resources.dlq_url
