"""Domain events leave through the stream: the timeline entry committed with a change is forwarded
to the bus by the events function; no request path calls PutEvents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from leadrelay.events import bus
from leadrelay.local.demo import seed
from tests.integration.bus import BusTap, EventsFeed
from tests.integration.flow import Flow


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


@pytest.fixture
def tap(aws: dict[str, str]) -> BusTap:
    return BusTap()


@pytest.fixture
def feed(aws: dict[str, str]) -> EventsFeed:
    return EventsFeed(aws["LEADS_TABLE"])


@pytest.fixture
def put_events_refused() -> Iterator[list[str]]:
    """Every PutEvents call in this process fails as if EventBridge were down; yields the calls."""
    calls: list[str] = []

    def refuse(**_: Any) -> None:
        calls.append("PutEvents")
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected: bus down"}}, "PutEvents")

    # Any events client a request path might build, and the events function's own.
    session_events = boto3.DEFAULT_SESSION._session.get_component("event_emitter") if boto3.DEFAULT_SESSION else None
    if session_events is not None:
        session_events.register("before-call.events.PutEvents", refuse)
    bus.events_client().meta.events.register("before-call.events.PutEvents", refuse)
    yield calls
    bus.events_client().meta.events.unregister("before-call.events.PutEvents", refuse)
    if session_events is not None:
        session_events.unregister("before-call.events.PutEvents", refuse)


def post(flow: Flow, body: dict[str, Any], source: str = "website") -> dict[str, Any]:
    status, answer = flow.post(source, body, flow.sources[source]["key"])  # type: ignore[attr-defined]
    assert status == 202, answer
    return answer


def test_a_routed_lead_leaves_lead_created_and_lead_assigned_with_their_timeline_ids(
    flow: Flow, tap: BusTap, feed: EventsFeed
) -> None:
    # Given a lead posted and routed
    lead_id = post(flow, {"name": "Asha Verma", "phone": "9876511001", "email": "asha@example.in",
                          "message": "call me after 6", "city": "Noida"})["lead_id"]  # fmt: skip
    flow.run_router()
    # When the events function reads the stream
    responses = feed.run()
    # Then every record was forwarded
    assert responses and all(r == {"batchItemFailures": []} for r in responses)
    envelopes = [e for e in tap.read() if e["detail"].get("lead_id") == lead_id]
    assert [e["detail-type"] for e in envelopes] == ["lead.created", "lead.assigned"]
    # And each event id is the timeline entry's id
    timeline = flow.get(f"/leads/{lead_id}/timeline")[1]["items"]
    assert [e["detail"]["event_id"] for e in envelopes] == [t["event_id"] for t in timeline]
    assigned = envelopes[1]["detail"]
    assert assigned["data"]["agent_id"] == flow.get(f"/leads/{lead_id}")[1]["assigned_agent_id"]
    assert assigned["data"]["team_id"] and assigned["data"]["source_id"] == "website"
    assert all(e["source"] == "leadrelay" for e in envelopes)
    # And no event carries the person
    text = json.dumps(envelopes)
    for secret in ("Asha", "9876511001", "asha@example.in", "after 6"):
        assert secret not in text


def test_a_redelivered_record_leaves_the_same_event_id_for_consumers_to_drop(
    flow: Flow, tap: BusTap, feed: EventsFeed
) -> None:
    # Given a lead's creation record
    lead_id = post(flow, {"phone": "9876511002"})["lead_id"]
    records = feed.records()
    # When the stream delivers it twice (at least once, as on AWS)
    feed.deliver(records)
    feed.deliver(records)
    # Then the bus saw it twice, with one event id
    ids = [e["detail"]["event_id"] for e in tap.read() if e["detail"].get("lead_id") == lead_id]
    assert len(ids) == 2 and len(set(ids)) == 1


def test_reassignment_status_change_touchpoint_and_quarantine_all_leave(
    flow: Flow, tap: BusTap, feed: EventsFeed
) -> None:
    # Given a routed lead
    lead_id = post(flow, {"phone": "9876511003", "city": "Noida"})["lead_id"]
    flow.run_router()
    owner = flow.get(f"/leads/{lead_id}")[1]["assigned_agent_id"]
    target = "rahul" if owner != "rahul" else "anjali"
    # When it is moved, its status changes, the person comes again, and a broken request arrives
    status, body = flow.call("POST", f"/leads/{lead_id}/reassign", body={"agent_id": target, "reason": "coverage"})
    assert status == 200, body
    assert flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "contacted"})[0] == 200
    post(flow, {"phone": "9876511003", "message": "again"})
    status, refused = flow.post("website", "{not json", flow.sources["website"]["key"])  # type: ignore[attr-defined]
    assert status == 400
    feed.run()
    # Then each leaves under the name consumers already match on
    kinds = tap.kinds(lead_id)
    assert kinds == ["lead.created", "lead.assigned", "lead.reassigned", "lead.assigned", "lead.status_changed",
                     "lead.merged"]  # fmt: skip
    moved = [e["detail"] for e in tap.read() if e["detail"].get("lead_id") == lead_id][2:4]
    assert moved[0]["timeline_event_id"] == moved[1]["timeline_event_id"]
    assert moved[0]["event_id"] != moved[1]["event_id"]  # one id per detail-type
    assert moved[1]["data"]["agent_id"] == target and moved[1]["data"]["trigger"] == "manual"
    quarantined = [e for e in tap.read() if e["detail-type"] == "lead.quarantined"]
    assert len(quarantined) == 1
    assert quarantined[0]["detail"]["event_id"] == refused["request_id"]
    assert quarantined[0]["detail"]["error"] == "malformed_json"


def domain_events(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from leadrelay.definitions import EVENT_FILTER_PATTERNS
    from leadrelay.local.patterns import matches_any

    return [r for r in records if matches_any(EVENT_FILTER_PATTERNS, r)]


def test_a_bus_outage_fails_no_request_and_loses_no_event(
    flow: Flow, tap: BusTap, feed: EventsFeed, put_events_refused: list[str]
) -> None:
    # Given EventBridge refuses every call
    # When a lead is posted, routed and worked through the API
    lead_id = post(flow, {"phone": "9876511004"})["lead_id"]
    assert all(r == {"batchItemFailures": []} for r in flow.run_router())
    assert flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "contacted"})[0] == 200
    # Then no request path called PutEvents: only the events function does
    assert put_events_refused == []
    records = feed.records()
    answer = feed.deliver(records)
    events = domain_events(records)  # the mapping also carries the lead's changes, for the dashboard
    assert len(put_events_refused) == len(events) == 3
    # And the events function reports every event's record failed, for the stream to retry
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    assert failed == {r["dynamodb"]["SequenceNumber"] for r in events}


def test_after_the_outage_the_retried_records_deliver_every_event(flow: Flow, tap: BusTap, feed: EventsFeed) -> None:
    # Given a lead whose events could not leave the first time
    lead_id = post(flow, {"phone": "9876511005"})["lead_id"]
    flow.run_router()
    records = feed.records()

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "PutEvents")

    events_client = bus.events_client()
    events_client.meta.events.register("before-call.events.PutEvents", refuse)
    try:
        assert len(feed.deliver(records)["batchItemFailures"]) == len(domain_events(records))
    finally:
        events_client.meta.events.unregister("before-call.events.PutEvents", refuse)
    # When the stream retries the same records
    assert feed.deliver(records) == {"batchItemFailures": []}
    # Then every event left, once
    assert tap.kinds(lead_id) == ["lead.created", "lead.assigned"]


def test_the_events_client_gives_up_fast(aws: dict[str, str]) -> None:
    # Given the events client
    config = bus.events_client().meta.config
    # Then a slow bus costs seconds, not minutes
    assert config.connect_timeout <= 2 and config.read_timeout <= 3
    assert config.retries["total_max_attempts"] <= 2
