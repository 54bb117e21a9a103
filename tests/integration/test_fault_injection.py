"""Fault injection: DynamoDB throttling and TransactionConflict on every write path, a Lambda timeout
in the middle of a stream batch, a follow-up tick killed half-way, Graph down. After each: no lead
lost, none doubled, caps held, counters equal to a recount. (EventBridge down: see
test_domain_events.py.)"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.clock import local_day
from leadrelay.local.demo import seed
from leadrelay.models import Agent, Pool, Source
from leadrelay.models.source import hash_key
from leadrelay.routing.rules import RuleChain
from leadrelay.store import transactions
from leadrelay.store.dynamo import client as dynamo_client
from tests.helpers import LambdaContext, stream_event
from tests.integration.faults import (
    Faults,
    Killed,
    killed,
    service_unavailable,
    throttled,
    throughput_exceeded,
    transaction_conflict,
)
from tests.integration.flow import Flow
from tests.integration.test_source_meta import FakeGraph, graph, meta, notification, notify  # noqa: F401

CAPS = {"a1": 3, "a2": 3}


@pytest.fixture
def faults(aws: dict[str, str]) -> Any:
    with Faults(dynamo_client()) as injected:
        yield injected


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


@pytest.fixture
def capped(aws: dict[str, str]) -> Flow:
    """Two agents capped at 3 leads a day each, one pool, one source `web` with key `k`."""
    org = wiring.org_repository()
    for agent_id, cap in CAPS.items():
        org.put_agent(Agent(agent_id=agent_id, name=agent_id, daily_cap=cap))
    org.put_pool(Pool(pool_id="all", name="All", agent_ids=list(CAPS)))
    org.publish_rule_chain(RuleChain(default_pool_id="all"))
    org.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))
    return Flow(aws["LEADS_TABLE"])


def lead_count(aws: dict[str, str]) -> int:
    found = boto3.client("dynamodb").query(
        TableName=aws["LEADS_TABLE"], IndexName="by_received", Select="COUNT",
        KeyConditionExpression="list_pk = :l", ExpressionAttributeValues={":l": {"S": "LEAD"}},
    )  # fmt: skip
    return int(found["Count"])


def post(flow: Flow, body: dict[str, Any], source: str = "website", key: str | None = None) -> tuple[int, Any]:
    return flow.post(source, body, key or flow.sources[source]["key"])  # type: ignore[attr-defined]


def assert_counters_match_a_recount(flow: Flow, lead_ids: list[str], clock: Any) -> Counter[str]:
    """Each lead decided once; every day counter equals the leads it counts; caps held."""
    repo = wiring.lead_repository()
    owners: Counter[str] = Counter()
    for lead_id in lead_ids:
        lead = repo.get(lead_id, consistent=True)
        assert lead is not None and lead.status.value in ("assigned", "unassigned"), lead
        assert len(repo.routing_decisions(lead_id)) == 1, f"{lead_id} decided more than once"
        if lead.assigned_agent_id:
            owners[lead.assigned_agent_id] += 1
    counters = wiring.org_repository().day_counts(local_day(clock.now(), "Asia/Kolkata"))
    for agent_id, count in owners.items():
        assert counters.get(agent_id, 0) == count, (counters, owners)
    for agent_id, cap in CAPS.items():
        assert owners.get(agent_id, 0) <= cap
    return owners


# -- capture ----------------------------------------------------------------------------------


def test_a_few_transaction_conflicts_on_capture_are_retried_and_the_lead_is_stored_once(
    flow: Flow, faults: Faults, aws: dict[str, str]
) -> None:
    # Given DynamoDB reports TransactionConflict on the next two capture transactions
    faults.fail("TransactWriteItems", transaction_conflict, times=2)
    # When a lead arrives
    status, answer = post(flow, {"phone": "9811200001"})
    # Then the conflicts were retried inside the request and the lead stored once
    assert status == 202 and answer["outcome"] == "created"
    assert faults.calls["TransactWriteItems"] == 3 and lead_count(aws) == 1


def test_conflicted_transactions_wait_a_random_time_under_a_doubling_cap_and_failed_conditions_never_wait(
    flow: Flow, faults: Faults, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every wait recorded, with the random draw at a fixed share of its cap
    waits: list[float] = []
    monkeypatch.setattr(transactions, "_sleep", waits.append)
    monkeypatch.setattr(transactions, "_random", lambda: 0.5)
    # When three capture transactions in a row meet a TransactionConflict
    faults.fail("TransactWriteItems", transaction_conflict, times=3)
    status, _ = post(flow, {"phone": "9811200002"})
    # Then the fourth attempt stores the lead, after waits of half of 5, 10 and 20 ms
    assert status == 202 and faults.calls["TransactWriteItems"] == 4
    assert waits == pytest.approx([0.0025, 0.005, 0.01])
    # And a transaction cancelled by a failed condition (the same phone again: a touchpoint) is not
    # retried blindly: it is settled without a single wait
    waits.clear()
    status, answer = post(flow, {"phone": "9811200002"})
    assert status == 202 and answer["outcome"] != "created" and waits == []


def test_the_conflict_backoff_is_full_jitter_under_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(transactions, "_sleep", slept.append)
    for draw in (0.0, 0.3, 1.0):
        monkeypatch.setattr(transactions, "_random", lambda draw=draw: draw)
        assert [transactions.backoff(n) for n in range(7)] == pytest.approx(
            [draw * min(0.1, 0.005 * 2**n) for n in range(7)]
        )
    assert transactions.backoff(2, base_s=0.01, cap_s=0.03) == pytest.approx(0.03)
    assert slept[-1] == pytest.approx(0.03)


@pytest.mark.parametrize("error", [throttled, transaction_conflict, service_unavailable], ids=lambda e: e.__name__)
def test_a_webhook_the_store_cannot_take_gets_503_and_its_resend_is_one_lead(
    flow: Flow, faults: Faults, aws: dict[str, str], error: Any
) -> None:
    # Given every capture transaction fails (past the SDK's and our own retries)
    faults.fail("TransactWriteItems", error)
    # When a lead arrives
    status, answer = post(flow, {"phone": "9811200002", "name": "Lata"})
    # Then the provider is told to send it again, and nothing half-written is left
    assert status == 503 and answer["error"] == "temporarily_unavailable"
    assert lead_count(aws) == 0
    # When the store recovers and the provider resends (twice: its retries overlap)
    faults.clear()
    first = post(flow, {"phone": "9811200002", "name": "Lata"})
    second = post(flow, {"phone": "9811200002", "name": "Lata"})
    # Then there is exactly one lead
    assert first[0] == 202 and first[1]["outcome"] == "created"
    assert second[0] == 202 and second[1]["outcome"] == "duplicate"
    assert lead_count(aws) == 1


@pytest.mark.parametrize(
    ("body", "outcome"),
    [({"phone": "9811200003"}, "duplicate"), ("{broken", "quarantine")],
    ids=["duplicate-raw-copy", "quarantine"],
)
def test_throttled_single_writes_on_capture_get_503_never_a_502(
    flow: Flow, faults: Faults, aws: dict[str, str], body: Any, outcome: str
) -> None:
    # Given a lead already stored (for the duplicate's raw copy)
    assert post(flow, {"phone": "9811200003"})[0] == 202
    # When PutItem is throttled and a duplicate or a broken request arrives
    faults.fail("PutItem", throughput_exceeded)
    status, answer = post(flow, body) if isinstance(body, dict) else _post_text(flow, body)
    # Then the sender is asked to resend; still one lead
    assert status == 503, answer
    faults.clear()
    status, answer = post(flow, body) if isinstance(body, dict) else _post_text(flow, body)
    assert status == (202 if outcome == "duplicate" else 400)
    assert lead_count(aws) == 1


def _post_text(flow: Flow, text: str) -> tuple[int, Any]:
    from tests.integration.hooks import send

    status, _, answer = send("website", text, key=flow.sources["website"]["key"],  # type: ignore[attr-defined]
                             headers={"Content-Type": "application/json"})  # fmt: skip
    return status, answer


# -- routing ----------------------------------------------------------------------------------


def test_throttling_and_conflicts_on_routing_are_retried_by_the_stream_and_caps_hold(
    capped: Flow, faults: Faults, clock: Any
) -> None:
    # Given eight leads, and the router's transactions throttled on the first delivery
    ids = [capped.post("web", {"phone": f"98112001{n:02d}"}, "k")[1]["lead_id"] for n in range(8)]
    records = capped.routable(capped.new_records())
    event = stream_event(records, capped.stream_arn)
    faults.fail("TransactWriteItems", throttled, times=3)
    faults.fail("TransactWriteItems", transaction_conflict, after=3, times=3)
    # When the stream delivers the batch until no record fails (as the mapping retries)
    for _ in range(10):
        try:
            answer = capped.route(event, LambdaContext())
        except Exception:  # every record failed: the mapping retries the batch
            continue
        if answer == {"batchItemFailures": []}:
            break
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        event = stream_event([r for r in records if r["dynamodb"]["SequenceNumber"] in failed], capped.stream_arn)
    # Then every lead is decided once, the caps held, and the counters agree with a recount
    owners = assert_counters_match_a_recount(capped, ids, clock)
    assert owners == {"a1": 3, "a2": 3}
    assert faults.raised["TransactWriteItems"] == 6


def test_a_lambda_timeout_in_the_middle_of_a_batch_loses_and_doubles_nothing(
    capped: Flow, faults: Faults, clock: Any
) -> None:
    # Given a batch of ten leads for two agents capped at three each
    ids = [capped.post("web", {"phone": f"98112002{n:02d}"}, "k")[1]["lead_id"] for n in range(10)]
    event = stream_event(capped.routable(capped.new_records()), capped.stream_arn)
    assert len(event["Records"]) == 10
    # When the function is killed after four records were committed (no answer: Lambda timed out)
    faults.fail("TransactWriteItems", killed, after=4, times=1)
    with pytest.raises(Killed):
        capped.route(event, LambdaContext())
    # And the mapping delivers the whole batch again
    faults.clear()
    assert capped.route(event, LambdaContext()) == {"batchItemFailures": []}
    # Then the four routed before the kill were not routed again, and the caps held
    owners = assert_counters_match_a_recount(capped, ids, clock)
    assert owners == {"a1": 3, "a2": 3}
    unassigned = [i for i in ids if wiring.lead_repository().get(i).status.value == "unassigned"]  # type: ignore[union-attr]
    assert len(unassigned) == 4


# -- the API's write paths --------------------------------------------------------------------


@pytest.mark.parametrize("error", [throttled, transaction_conflict], ids=lambda e: e.__name__)
def test_a_status_change_or_reassignment_the_store_cannot_take_is_503_and_applies_once_when_resent(
    flow: Flow, faults: Faults, error: Any
) -> None:
    # Given a routed lead
    lead_id = post(flow, {"phone": "9811200301", "city": "Noida"})[1]["lead_id"]
    flow.run_router()
    owner = flow.get(f"/leads/{lead_id}")[1]["assigned_agent_id"]
    target = "rahul" if owner != "rahul" else "anjali"
    # When every write transaction fails
    faults.fail("TransactWriteItems", error)
    assert flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "contacted"})[0] == 503
    status, answer = flow.call("POST", f"/leads/{lead_id}/reassign",
                               body={"agent_id": target, "reason": "cover for leave"})  # fmt: skip
    # (a conflict on a reassignment is reported as the agent's state having moved: 409, try again)
    expected = (503, "temporarily_unavailable") if error is throttled else (409, "state_changed")
    assert (status, answer["error"]) == expected, answer
    # Then nothing changed; and when the client resends, each change applies once
    assert flow.get(f"/leads/{lead_id}")[1]["status"] == "assigned"
    faults.clear()
    assert flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "contacted"})[0] == 200
    assert flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "contacted"})[0] == 200
    assert (
        flow.call("POST", f"/leads/{lead_id}/reassign", body={"agent_id": target, "reason": "cover for leave"})[0]
        == 200
    )
    kinds = Counter(e["kind"] for e in flow.get(f"/leads/{lead_id}/timeline")[1]["items"])
    assert kinds["lead.status_changed"] == 1 and kinds["lead.reassigned"] == 1


def test_a_read_the_store_cannot_serve_is_503_not_502(flow: Flow, faults: Faults) -> None:
    faults.fail("Query", throttled)
    status, answer = flow.get("/leads")
    assert status == 503 and answer["error"] == "temporarily_unavailable"


# -- schedules and providers ------------------------------------------------------------------


def test_a_followup_tick_killed_half_way_through_pending_fetches_leaves_one_lead_per_notice(
    meta: dict[str, Any],  # noqa: F811 (the fixture, imported from test_source_meta)
    graph: FakeGraph,  # noqa: F811
    faults: Faults,
    clock: Any,
    aws: dict[str, str],
) -> None:
    import followup_handler

    # Given Graph was down when Meta announced four leads (each parked as a pending fetch)
    graph.failing = True
    leadgen_ids = ["9001", "9002", "9003", "9004"]
    for n, leadgen_id in enumerate(leadgen_ids):
        graph.add(leadgen_id, phone_number=f"+9198112004{n:02d}")
        graph.leads[leadgen_id]["field_data"] = [{"name": "phone_number", "values": [f"+9198112004{n:02d}"]}]
        assert notify(meta, notification(leadgen_id))[0] == 200
    assert lead_count(aws) == 0
    # When Graph is back and the tick is killed right after storing the second lead, before it
    # marks that fetch done
    graph.failing = False
    clock.advance(minutes=5)
    faults.fail("UpdateItem", killed, after=1, times=1, when=lambda r: "lead_id" in json.dumps(r))
    tick = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {"task": "tick"}}
    with pytest.raises(Killed):
        followup_handler.handler(tick, LambdaContext())
    assert lead_count(aws) == 2
    # And the next tick runs
    faults.clear()
    clock.advance(minutes=1)
    followup_handler.handler(tick, LambdaContext())
    # Then each announced lead is exactly one lead, and nothing is left pending
    assert lead_count(aws) == 4
    leads, _ = wiring.lead_repository().list_leads(limit=10)
    assert sorted(lead.external_id for lead in leads) == leadgen_ids
    assert lead_count(aws) == 4 and not wiring.capture_service().quarantine_store.due(clock.now())
