"""Routing reads are flat in agents: a warm router reads nothing per lead, however many agents,
pools and counters the roster holds (its one call is the assignment transaction, which checks the
roster version it decided on); a roster change reaches the very next lead."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.models import Agent, Pool, Source
from leadrelay.models.source import hash_key
from leadrelay.routing.rules import RuleChain
from leadrelay.store.dynamo import client
from tests.helpers import LambdaContext, stream_event
from tests.integration.flow import Flow


def _org(agents: int) -> None:
    org = wiring.org_repository()
    ids = [f"agent-{i:04d}" for i in range(agents)]
    for agent_id in ids:
        org.put_agent(Agent(agent_id=agent_id, name=agent_id))
    org.put_pool(Pool(pool_id="everyone", name="Everyone", agent_ids=ids))
    org.publish_rule_chain(RuleChain(default_pool_id="everyone"))
    org.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))


def _route_counting(flow: Flow, phones: list[str], posted: list[str] | None = None) -> Counter[str]:
    operations: Counter[str] = Counter()
    posted = posted if posted is not None else []

    def count(model: Any = None, params: Any = None, **_: Any) -> None:
        name = getattr(model, "name", "?")
        key = (params or {}).get("Key", {}).get("sk", {}).get("S", "")
        operations[f"{name} {key}".strip()] += 1

    for phone in phones:
        status, body = flow.post("web", {"phone": phone}, "k")
        assert status == 202
        posted.append(body["lead_id"])
    records = flow.routable(flow.new_records())
    client().meta.events.register("before-parameter-build.dynamodb.*", count)
    try:
        for record in records:  # one lead per invocation, as with a quiet stream
            event = stream_event([record], flow.stream_arn)
            assert flow.route(event, LambdaContext()) == {"batchItemFailures": []}
    finally:
        client().meta.events.unregister("before-parameter-build.dynamodb.*", count)
    return operations


@pytest.mark.parametrize("agents", [5, 150])
def test_a_warm_router_makes_one_call_per_lead_the_transaction(aws: dict[str, str], agents: int):
    # Given an org of `agents` agents in one round-robin pool, and a router that routed one lead
    _org(agents)
    flow = Flow(aws["LEADS_TABLE"])
    _route_counting(flow, ["9800000000"])
    # When five more leads arrive, one per invocation
    lead_ids: list[str] = []
    operations = _route_counting(flow, [f"98000000{i:02d}" for i in range(1, 6)], lead_ids)
    # Then each lead costs one DynamoDB call, the transaction: no version read, no roster query
    assert operations == {"TransactWriteItems": 5}, operations
    # and round-robin still turns: five leads, five different agents
    owners = {flow.get(f"/leads/{lead_id}")[1]["assigned_agent_id"] for lead_id in lead_ids}
    assert len(owners) == 5


def test_an_availability_change_reaches_the_next_lead_of_a_warm_router(aws: dict[str, str]):
    # Given a warm router over two agents
    _org(2)
    flow = Flow(aws["LEADS_TABLE"])
    _route_counting(flow, ["9800000100"])
    # When both agents go on leave, through the API's repository
    for agent_id in ("agent-0000", "agent-0001"):
        wiring.org_repository().set_availability(agent_id, "on_leave", None)
    lead_ids: list[str] = []
    operations = _route_counting(flow, ["9800000101"], lead_ids)
    # Then the next lead finds nobody eligible
    assert flow.get(f"/leads/{lead_ids[0]}")[1]["status"] == "unassigned"
    # because its first commit, decided on the held roster, failed the version check, and the
    # router read the version and the roster again and decided again
    assert operations == {"TransactWriteItems": 2, "GetItem ROSTER_VERSION": 1, "Query": 1}, operations
    decision = wiring.lead_repository().routing_decisions(lead_ids[0])[0]
    assert decision.attempt == 2
