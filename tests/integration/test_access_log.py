"""The access log: every read of leads' personal data by a person is kept (who, role, lead ids,
route, when, source IP, user agent), in one write per request, append-only with a retention;
`GET /audit/access` answers "who saw which customer"."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from leadrelay.store.dynamo import client
from tests.helpers import LambdaContext, api_event, claims
from tests.integration.flow import Flow


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


def leads(flow: Flow, cities: list[str]) -> list[str]:
    key = flow.sources["website"]["key"]  # type: ignore[attr-defined]
    ids = [flow.post("website", {"phone": f"98765{n:05d}", "city": city}, key)[1]["lead_id"]
           for n, city in enumerate(cities)]  # fmt: skip
    flow.run_router()
    return ids


def access_items(aws: dict[str, str]) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=aws["ORG_TABLE"])["Items"]
    return [i for i in items if i["pk"]["S"].startswith("ACCESS#")]


class PutCounter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, **_: Any) -> None:
        self.calls += 1


def test_reading_a_lead_is_logged_with_who_where_and_which_lead(flow: Flow, aws: dict[str, str]) -> None:
    # Given a lead of Anjali's
    (lead_id,) = leads(flow, ["Noida"])
    # When she opens it
    status, _ = flow.get(f"/leads/{lead_id}", role="agent", username="anjali", agent_id="anjali", team_id="ncr")
    assert status == 200
    # Then the access log holds one entry: who, role, team, the lead, the route, IP and user agent
    (entry,) = [e for e in access_items(aws) if e["username"]["S"] == "anjali"]
    assert entry["role"]["S"] == "agent" and entry["team_id"]["S"] == "ncr"
    assert entry["lead_ids"]["L"] == [{"S": lead_id}]
    assert entry["route"]["S"] == f"GET /leads/{lead_id}"
    assert entry["source_ip"]["S"] == "127.0.0.1" and entry["user_agent"]["S"] == "pytest"
    # And it expires after the retention setting (365 days by default)
    at = flow.get("/audit/access")[1]["items"][0]["at"]
    from leadrelay.clock import parse_iso

    assert int(entry["expires_at"]["N"]) == int(parse_iso(at).timestamp()) + 365 * 86400


def test_a_list_page_is_one_write_whatever_the_number_of_leads(flow: Flow, aws: dict[str, str]) -> None:
    # Given six leads
    ids = leads(flow, ["Noida", "Delhi", "Chennai", "Pune", "Noida", "Bengaluru"])
    counter = PutCounter()
    event = api_event("GET", "/leads", claims=claims("admin", username="ops"))
    client().meta.events.register("before-call.dynamodb.PutItem", counter)
    client().meta.events.register("before-call.dynamodb.BatchWriteItem", counter)
    try:
        # When an admin lists them
        response = flow.api(event, LambdaContext())
        status, body = response["statusCode"], json.loads(response["body"])
    finally:
        client().meta.events.unregister("before-call.dynamodb.PutItem", counter)
        client().meta.events.unregister("before-call.dynamodb.BatchWriteItem", counter)
    assert status == 200 and len(body["items"]) == 6
    # Then exactly one write was made, holding every lead shown
    assert counter.calls == 1
    (entry,) = [e for e in access_items(aws) if e["username"]["S"] == "ops"]
    assert {v["S"] for v in entry["lead_ids"]["L"]} == set(ids)


def test_timeline_and_routing_trail_reads_are_logged_too(flow: Flow, aws: dict[str, str]) -> None:
    (lead_id,) = leads(flow, ["Noida"])
    flow.get(f"/leads/{lead_id}/timeline", username="ops")
    flow.get(f"/leads/{lead_id}/routing", username="ops")
    whats = sorted(e["what"]["S"] for e in access_items(aws) if e["username"]["S"] == "ops")
    assert whats == ["routing", "timeline"]


def test_the_log_is_searched_by_lead_and_person_and_scoped_for_managers(flow: Flow) -> None:
    # Given reads by an NCR agent and a South agent, of their own leads
    noida, chennai = leads(flow, ["Noida", "Chennai"])
    assert flow.get(f"/leads/{noida}", role="agent", username="anjali", agent_id="anjali", team_id="ncr")[0] == 200
    assert flow.get(f"/leads/{chennai}", role="agent", username="priya", agent_id="priya", team_id="south")[0] == 200
    anjali_sub = claims("agent", username="anjali", agent_id="anjali", team_id="ncr")["sub"]
    # When the admin asks who saw the Noida lead
    status, body = flow.get("/audit/access", query={"lead_id": noida})
    # Then Anjali's read is there, Priya's not
    assert status == 200
    assert [(e["username"], e["lead_ids"]) for e in body["items"]] == [("anjali", [noida])]
    # And by person
    by_user = flow.get("/audit/access", query={"user_id": anjali_sub})[1]["items"]
    assert {e["username"] for e in by_user} == {"anjali"}
    # And the NCR manager sees her team's people's reads only
    seen = flow.get("/audit/access", role="manager", username="maya", team_id="ncr")[1]["items"]
    assert {e["username"] for e in seen} == {"anjali"}
    # And a manager with no team sees nothing; an agent may not ask
    assert flow.get("/audit/access", role="manager", username="loose")[1]["items"] == []
    assert flow.get("/audit/access", role="agent", agent_id="anjali")[0] == 403


def test_a_bad_window_is_a_clear_400(flow: Flow) -> None:
    status, body = flow.get("/audit/access", query={"from": "2026-11-01", "to": "2026-12-31"})
    assert status == 400 and body["error"] == "invalid_window"
    status, body = flow.get("/audit/access", query={"from": "yesterday"})
    assert status == 400 and body["error"] == "invalid_time"


def test_personal_data_is_withheld_when_its_access_log_line_cannot_be_written(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    (lead_id,) = leads(flow, ["Noida"])

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("DynamoDB is unreachable")

    monkeypatch.setattr(wiring.access_log().__class__, "append", broken)
    status, body = flow.get(f"/leads/{lead_id}")
    assert status == 503 and body["error"] == "audit_unavailable" and "phone" not in body
