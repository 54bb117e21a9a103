"""Agents, pools and teams edited through the API, without code."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay.local.demo import seed
from tests.integration.flow import Flow


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


NEW_AGENT = {"agent_id": "neha", "name": "Neha Joshi", "team_id": "ncr", "languages": ["hi", "mr"],
             "territories": ["Noida"], "shifts": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}],
             "daily_cap": 30, "soft_cap": 20, "weight": 2}  # fmt: skip


def post_and_route(flow: Flow, **fields: Any) -> dict[str, Any]:
    _, body = flow.post("website", fields, flow.sources["website"]["key"])  # type: ignore[attr-defined]
    flow.run_router()
    return flow.get(f"/leads/{body['lead_id']}")[1]


def test_an_admin_adds_an_agent_who_then_appears_in_the_roster(flow: Flow) -> None:
    # When an admin adds Neha
    status, body = flow.call("POST", "/agents", body=NEW_AGENT)
    # Then she is created with today's load at zero and listed for her team's manager
    assert status == 201 and body["agent_id"] == "neha" and body["assigned_today"] == 0
    assert body["shifts"] == [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}]
    listed = flow.get("/agents", role="manager", team_id="ncr")[1]["items"]
    assert "neha" in [agent["agent_id"] for agent in listed]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [({"agent_id": "anjali"}, 409, "agent_exists"), ({"agent_id": "bad#id"}, 422, "invalid_request"),
     ({"team_id": "nowhere"}, 422, "unknown_team"), ({"daily_cap": -1}, 422, "invalid_request"),
     ({"colour": "blue"}, 422, "invalid_request")],
)  # fmt: skip
def test_bad_agents_are_refused_with_a_reason(flow: Flow, change: dict[str, Any], status: int, code: str) -> None:
    got, body = flow.call("POST", "/agents", body={**NEW_AGENT, **change})
    assert (got, body["error"]) == (status, code) and body["message"]


def test_managers_manage_only_their_own_team_and_agents_not_at_all(flow: Flow) -> None:
    assert flow.call("POST", "/agents", role="manager", team_id="south", body=NEW_AGENT)[0] == 403
    assert flow.call("POST", "/agents", role="manager", team_id="ncr", body=NEW_AGENT)[0] == 201
    assert flow.call("POST", "/agents", role="agent", agent_id="priya", body={**NEW_AGENT, "agent_id": "x"})[0] == 403


def test_editing_a_profile_keeps_status_and_todays_count(flow: Flow) -> None:
    # Given Deepa, who has had a lead today and is on a break
    for agent in ("anjali", "rahul", "meera", "priya", "karthik", "arjun"):
        flow.call("PUT", f"/agents/{agent}/availability", body={"status": "on_leave"})
    assert post_and_route(flow, phone="9876511001")["assigned_agent_id"] == "deepa"
    flow.call("PUT", "/agents/deepa/availability", body={"status": "on_break"})
    # When her profile is edited
    profile = {k: v for k, v in NEW_AGENT.items() if k != "agent_id"} | {"name": "Deepa Iyer", "team_id": "south"}
    status, body = flow.call("PUT", "/agents/deepa", body=profile)
    # Then the profile changed, and her status and today's count did not
    assert status == 200 and body["weight"] == 2 and body["languages"] == ["hi", "mr"]
    assert body["status"] == "on_break" and body["assigned_today"] == 1


def test_removing_an_agent_takes_them_out_of_pools_and_keeps_their_leads_history(flow: Flow) -> None:
    for agent in ("anjali", "rahul", "meera", "priya", "karthik", "arjun"):
        flow.call("PUT", f"/agents/{agent}/availability", body={"status": "on_leave"})
    lead = post_and_route(flow, phone="9876511002")
    assert lead["assigned_agent_id"] == "deepa"
    # When the admin removes Deepa
    status, _ = flow.call("DELETE", "/agents/deepa")
    # Then she is gone from every pool, and her lead still reads with its whole history
    assert status == 204
    assert flow.get("/agents/deepa")[0] == 404
    pools = flow.get("/pools")[1]["items"]
    assert all("deepa" not in pool["agent_ids"] for pool in pools)
    timeline = flow.get(f"/leads/{lead['lead_id']}/timeline")[1]["items"]
    assert [event["kind"] for event in timeline] == ["lead.created", "lead.assigned"]
    assert flow.call("DELETE", "/agents/deepa")[0] == 404


def test_pools_are_edited_without_code_and_a_new_joiner_gets_the_next_lead_once(flow: Flow) -> None:
    # Given a pool of two always-on agents who have each had a lead
    for agent_id in ("ops1", "ops2", "ops3"):
        new = {**NEW_AGENT, "agent_id": agent_id, "name": agent_id, "shifts": [], "soft_cap": None}
        assert flow.call("POST", "/agents", body=new)[0] == 201
    assert flow.call("PUT", "/pools/ops", body={"name": "Ops", "agent_ids": ["ops1", "ops2"]})[0] == 200
    rules = {"rules": [{"rule_id": "ops", "pool_id": "ops", "when": {"field": "product", "op": "eq", "value": "ops"}}],
             "default_pool_id": "everyone"}  # fmt: skip
    assert flow.call("PUT", "/routing/rules", body=rules)[0] == 200
    owners = [post_and_route(flow, phone=f"98765120{i:02d}", product="ops")["assigned_agent_id"] for i in range(4)]
    assert sorted(owners) == ["ops1", "ops1", "ops2", "ops2"]
    # When ops3 joins the pool
    assert flow.call("PUT", "/pools/ops", body={"name": "Ops", "agent_ids": ["ops1", "ops2", "ops3"]})[0] == 200
    # Then ops3 gets the next lead, and after that the pool rotates: no catch-up flood
    owners = [post_and_route(flow, phone=f"98765121{i:02d}", product="ops")["assigned_agent_id"] for i in range(4)]
    assert owners[0] == "ops3" and owners.count("ops3") == 2 and set(owners) == {"ops1", "ops2", "ops3"}


def test_pools_refuse_unknown_agents_and_cannot_be_removed_while_a_rule_uses_them(flow: Flow) -> None:
    status, body = flow.call("PUT", "/pools/ops", body={"name": "Ops", "agent_ids": ["ghost"]})
    assert (status, body["error"]) == (422, "unknown_agent") and "ghost" in body["message"]
    status, body = flow.call("DELETE", "/pools/everyone")
    assert (status, body["error"]) == (409, "pool_in_use")
    assert flow.call("PUT", "/pools/spare", body={"name": "Spare"})[0] == 200
    assert flow.call("DELETE", "/pools/spare")[0] == 204
    assert flow.call("DELETE", "/pools/spare")[0] == 404
    assert flow.call("PUT", "/pools/spare", role="manager", team_id="ncr", body={"name": "x"})[0] == 403


def test_teams_are_listed_and_created_by_admins(flow: Flow) -> None:
    status, body = flow.call("PUT", "/teams/pune", body={"name": "Pune", "manager_usernames": ["manager-pune"]})
    assert status == 200 and body["team_id"] == "pune"
    assert "pune" in [team["team_id"] for team in flow.get("/teams", role="manager", team_id="ncr")[1]["items"]]
