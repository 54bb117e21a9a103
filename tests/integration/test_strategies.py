"""Each routing strategy through the real handlers on moto: webhook → stream → route handler →
the one assignment transaction, with the state it moves (virtual times, open-leads counters)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.models import Agent, AgentStatus, Pool, Source, Strategy
from leadrelay.models.source import hash_key
from leadrelay.routing.rules import RuleChain
from tests.integration.flow import Flow


def org_with(strategy: Strategy, *agents: Agent) -> None:
    org = wiring.org_repository()
    for agent in agents:
        org.put_agent(agent)
    org.put_pool(Pool(pool_id="sales", name="Sales", agent_ids=[a.agent_id for a in agents], strategy=strategy))
    org.publish_rule_chain(RuleChain(default_pool_id="sales"))
    org.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    return Flow(aws["LEADS_TABLE"])


def post_and_route(flow: Flow, *phones: str) -> list[dict[str, Any]]:
    """Post one lead per phone, run the router, and return each lead's latest decision."""
    lead_ids = []
    for phone in phones:
        status, body = flow.post("web", {"phone": phone}, "k")
        assert status == 202, body
        lead_ids.append(body["lead_id"])
    assert all(r == {"batchItemFailures": []} for r in flow.run_router())
    return [flow.get(f"/leads/{lead_id}/routing")[1]["items"][-1] for lead_id in lead_ids]


def org_items(table: str, prefix: str) -> dict[str, dict[str, Any]]:
    items = boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": "ROSTER"}, ":prefix": {"S": prefix}},
        ConsistentRead=True,
    )["Items"]
    return {item["sk"]["S"]: {k: next(iter(v.values())) for k, v in item.items()} for item in items}


def test_weighted_round_robin_gives_weight_three_three_times_the_leads(flow: Flow, aws: dict[str, str]) -> None:
    # Given a pool on weighted round-robin with weights 3 and 1
    org_with(Strategy.WEIGHTED_ROUND_ROBIN, Agent(agent_id="senior", name="S", weight=3),
             Agent(agent_id="junior", name="J", weight=1))  # fmt: skip
    # When eight leads arrive
    decisions = post_and_route(flow, *(f"98765001{i:02d}" for i in range(8)))
    # Then the senior agent gets six and the junior two, each decision naming the numbers behind it
    owners = [d["agent_id"] for d in decisions]
    assert owners.count("senior") == 6 and owners.count("junior") == 2
    assert all(d["strategy"] == "weighted_round_robin" and "virtual finish" in d["reason"] for d in decisions)
    # And the virtual times moved in the assignment transaction, on the round-robin items
    rr = org_items(aws["ORG_TABLE"], "RR#sales#")
    assert float(rr["RR#sales#senior"]["vtime"]) == pytest.approx(2.0)
    assert float(rr["RR#sales#junior"]["vtime"]) == pytest.approx(2.0)
    assert max(float(item["pool_vtime"]) for item in rr.values()) == pytest.approx(2.0)


def test_least_loaded_follows_open_leads_and_a_reassignment_releases_one(flow: Flow, aws: dict[str, str]) -> None:
    # Given a least-loaded pool of three, and one lead each
    org_with(Strategy.LEAST_LOADED, *(Agent(agent_id=a, name=a) for a in ("asha", "bala", "chitra")))
    first = post_and_route(flow, "9876500201", "9876500202", "9876500203")
    assert [d["agent_id"] for d in first] == ["asha", "bala", "chitra"]
    # When a manager moves asha's lead to bala
    status, body = flow.call("POST", f"/leads/{first[0]['lead_id']}/reassign",
                             body={"agent_id": "bala", "reason": "asha is in training"})  # fmt: skip
    assert status == 200, body
    loads = org_items(aws["ORG_TABLE"], "LOAD#")
    assert {sk: int(item["open_leads"]) for sk, item in loads.items()} == {
        "LOAD#asha": 0, "LOAD#bala": 2, "LOAD#chitra": 1
    }  # fmt: skip
    # Then the next lead goes to asha, who has the fewest open leads, and the decision says so
    (decision,) = post_and_route(flow, "9876500204")
    assert decision["agent_id"] == "asha" and decision["strategy"] == "least_loaded"
    assert "fewest open leads (0)" in decision["reason"] and "chitra 1" in decision["reason"]


def mark_for_rerouting(aws: dict[str, str], lead_id: str) -> None:
    """What SLA re-distribution or nurture re-surfacing will do (neither is built yet): the lead is
    pending again and keeps its owner, so the stream brings it back to the router."""
    boto3.client("dynamodb").update_item(
        TableName=aws["LEADS_TABLE"],
        Key={"pk": {"S": f"LEAD#{lead_id}"}, "sk": {"S": "LEAD"}},
        UpdateExpression="SET routing_state = :pending, version = version + :one",
        ExpressionAttributeValues={":pending": {"S": "pending"}, ":one": {"N": "1"}},
    )


def test_sticky_owner_sends_a_returning_lead_back_unless_its_owner_is_away(flow: Flow, aws: dict[str, str]) -> None:
    # Given a sticky-owner pool and a new lead: no previous owner, so round-robin picks
    org_with(Strategy.STICKY_OWNER, Agent(agent_id="dev", name="D"), Agent(agent_id="esha", name="E"))
    (first,) = post_and_route(flow, "9876500301")
    lead_id = first["lead_id"]
    assert first["agent_id"] == "dev" and first["strategy"] == "round_robin"
    assert "no previous owner" in first["reason"]
    post_and_route(flow, "9876500302")  # esha's turn next, were it round-robin
    # When the lead comes back for routing
    mark_for_rerouting(aws, lead_id)
    assert all(r == {"batchItemFailures": []} for r in flow.run_router())
    # Then it goes back to dev, and dev's open leads do not count it twice
    back = flow.get(f"/leads/{lead_id}/routing")[1]["items"][-1]
    assert back["agent_id"] == "dev" and back["strategy"] == "sticky_owner"
    assert int(org_items(aws["ORG_TABLE"], "LOAD#dev")["LOAD#dev"]["open_leads"]) == 1
    # When it comes back again while dev is on leave
    wiring.org_repository().set_availability("dev", AgentStatus.ON_LEAVE.value, None)
    mark_for_rerouting(aws, lead_id)
    assert all(r == {"batchItemFailures": []} for r in flow.run_router())
    # Then round-robin picks someone else, the reason says why, and the lead moved between loads
    moved = flow.get(f"/leads/{lead_id}/routing")[1]["items"][-1]
    assert moved["agent_id"] == "esha" and moved["strategy"] == "round_robin"
    assert "previous owner dev is not eligible (on_leave); fell back to round-robin" in moved["reason"]
    loads = {sk: int(item["open_leads"]) for sk, item in org_items(aws["ORG_TABLE"], "LOAD#").items()}
    assert loads == {"LOAD#dev": 0, "LOAD#esha": 2}
    assert flow.get(f"/leads/{lead_id}")[1]["assigned_agent_id"] == "esha"
