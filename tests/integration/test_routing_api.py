"""The routing API on moto: reading and publishing the rule chain, its history, and simulation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from leadrelay.local.demo import DEMO_RULES, seed
from tests.helpers import claims
from tests.integration.flow import Flow

NOIDA = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "routing" / "noida_chain.json").read_text())


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


def a_chain(**overrides: Any) -> dict[str, Any]:
    return {"rules": [{"rule_id": "ncr", "pool_id": "ncr", "fall_through": True,
                       "when": {"field": "city", "op": "in", "value": ["Noida", "Gurugram"]}}],
            "default_pool_id": "everyone", **overrides}  # fmt: skip


def table_items(name: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=name)["Items"]


def test_admin_and_manager_read_the_live_chain_and_agents_may_not(flow: Flow) -> None:
    # Given the demo org (version 1 of its chain is live)
    status, body = flow.get("/routing/rules")
    assert status == 200 and body["version"] == 1 and body["default_pool_id"] == "everyone"
    assert [r["rule_id"] for r in body["rules"]] == ["south-languages", "ncr", "south"]
    # A manager may read it too; an agent may not
    assert flow.get("/routing/rules", role="manager", team_id="ncr")[0] == 200
    status, body = flow.get("/routing/rules", role="agent", agent_id="rahul")
    assert status == 403 and body["error"] == "forbidden"


def test_publishing_bumps_the_version_and_keeps_every_version(flow: Flow) -> None:
    # When the admin publishes a new chain
    status, body = flow.call("PUT", "/routing/rules", body=a_chain(), username="boss")
    # Then it is version 2, stamped with who and when, and it is the live chain
    assert status == 200, body
    assert body["version"] == 2 and body["published_by"] == "boss" and body["published_at"].endswith("Z")
    assert flow.get("/routing/rules")[1]["rules"] == body["rules"]
    # And both versions stay readable, the old one unchanged
    versions = flow.get("/routing/rules/versions")[1]["items"]
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["published_by"] == "boss"
    assert len(flow.get("/routing/rules/versions/1")[1]["rules"]) == 3
    assert flow.get("/routing/rules/versions/2")[1]["rules"] == body["rules"]
    status, missing = flow.get("/routing/rules/versions/9")
    assert status == 404 and missing["error"] == "not_found"


def test_decisions_record_the_version_of_the_chain_they_used(flow: Flow) -> None:
    key = flow.sources["website"]["key"]  # type: ignore[attr-defined]
    flow.call("PUT", "/routing/rules", body=a_chain())
    # When a lead is routed after version 2 was published
    lead_id = flow.post("website", {"phone": "9876500011", "city": "Noida"}, key)[1]["lead_id"]
    flow.run_router()
    # Then its decision says version 2 and the new rule
    decision = flow.get(f"/leads/{lead_id}/routing")[1]["items"][0]
    assert decision["rule_chain_version"] == 2 and decision["rule_id"] in ("ncr", "default")


def test_only_an_admin_may_publish(flow: Flow) -> None:
    status, body = flow.call("PUT", "/routing/rules", role="manager", body=a_chain(), team_id="ncr")
    assert status == 403 and body["error"] == "forbidden"
    assert flow.get("/routing/rules")[1]["version"] == 1


@pytest.mark.parametrize(
    ("chain", "status", "error", "words"),
    [
        (a_chain(default_pool_id="nowhere"), 422, "unknown_pool", "default_pool_id names pool 'nowhere'"),
        (
            {"rules": [{"rule_id": "x", "pool_id": "ghost-team"}]},
            422,
            "unknown_pool",
            "rule 'x' names pool 'ghost-team'",
        ),
        (
            {"rules": [{"rule_id": "x", "pool_id": "ncr", "when": {"field": "colour", "value": "red"}}]},
            422,
            "invalid_request",
            "unknown field 'colour'",
        ),
        (
            {"rules": [{"rule_id": "x", "pool_id": "ncr", "when": {"field": "city", "op": "like", "value": "N"}}]},
            422,
            "invalid_request",
            "rules.0.when.field.op",
        ),
        (
            {
                "rules": [
                    {"rule_id": "x", "pool_id": "ncr", "when": {"field": "budget", "op": "between", "value": [9, 1]}}
                ]
            },
            422,
            "invalid_request",
            "low > high",
        ),
        (
            {"rules": [{"rule_id": "x", "pool_id": "ncr"}, {"rule_id": "x", "pool_id": "south"}]},
            422,
            "invalid_request",
            "rule_id 'x' appears twice",
        ),
        ({"rulez": []}, 422, "invalid_request", "rulez"),
        (a_chain(expected_version=7), 409, "version_conflict", "version 1, not 7"),
    ],
)
def test_a_bad_chain_gets_a_4xx_naming_the_problem_and_nothing_is_published(
    flow: Flow, chain: dict[str, Any], status: int, error: str, words: str
) -> None:
    # When the admin puts a chain with one mistake
    got, body = flow.call("PUT", "/routing/rules", body=chain)
    # Then the answer is a 4xx JSON error naming it, and the live chain is still version 1
    assert (got, body["error"]) == (status, error), body
    assert words in body["message"], body
    assert flow.get("/routing/rules")[1]["version"] == 1


def test_a_body_that_is_not_json_is_a_4xx(flow: Flow) -> None:
    status, body = flow.call("PUT", "/routing/rules", body="{not json")
    assert 400 <= status < 500 and "error" in body


def test_an_edit_from_the_live_version_publishes(flow: Flow) -> None:
    status, body = flow.call("PUT", "/routing/rules", body=a_chain(expected_version=1))
    assert status == 200 and body["version"] == 2


def test_the_openapi_document_describes_the_rule_chain_schema(flow: Flow) -> None:
    status, doc = flow.get("/docs", query={"format": "json"})
    assert status == 200
    put = doc["paths"]["/routing/rules"]["put"]
    assert "requestBody" in put
    schemas = json.dumps(doc["components"]["schemas"])
    assert "FieldCondition" in schemas and "between" in schemas and "daily_cap_per_agent" in schemas


def test_the_noida_example_publishes_once_its_pools_exist(flow: Flow) -> None:
    # Given the Noida chain but none of its pools: refused, naming the missing pools
    status, body = flow.call("PUT", "/routing/rules", body=NOIDA)
    assert status == 422 and "noida-east" in body["message"] and "senior-brokers" in body["message"]
    # Given the pools exist, Then it publishes as is
    from leadrelay import wiring
    from leadrelay.models import Pool

    for pool_id in ("noida-east", "gurugram", "senior-brokers"):
        wiring.org_repository().put_pool(Pool(pool_id=pool_id, name=pool_id, agent_ids=["anjali"]))
    status, body = flow.call("PUT", "/routing/rules", body=NOIDA)
    assert status == 200 and body["daily_cap_per_agent"] == 25 and body["version"] == 2


# -- simulation ----------------------------------------------------------------------------------


def test_simulation_answers_who_would_get_a_lead_and_why_without_side_effects(flow: Flow, aws: dict[str, str]) -> None:
    # Given the demo org at 12:00 IST on a Monday, the manager's user record, and a snapshot of both tables
    claims("manager", team_id="ncr")
    before = {name: table_items(name) for name in aws.values()}
    # When a manager asks who would get a Noida lead
    status, body = flow.call("POST", "/routing/simulate", role="manager", team_id="ncr",
                             body={"city": "Noida", "phone": "9876500012", "budget": "75 lakh"})  # fmt: skip
    # Then the answer is the full plan: the rule that matched and those that did not, the
    # candidates, who was skipped and why, the strategy and the winner
    assert status == 200, body
    assert body["outcome"] == "assigned" and body["rule_id"] == "ncr" and body["strategy"] == "round_robin"
    assert body["agent_id"] == "anjali" and body["agent_name"] == "Anjali Verma"
    assert body["candidates"] == ["anjali", "rahul"] and body["skipped"] == {"meera": "off_shift"}
    assert [(r["rule_id"], r["matched"]) for r in body["rules"]] == [("south-languages", False), ("ncr", True)]
    assert body["rule_chain_version"] == 1 and body["counters_today"] == {"anjali": 0, "rahul": 0}
    # And nothing was written anywhere
    assert {name: table_items(name) for name in aws.values()} == before


def test_simulation_is_repeatable_because_it_changes_no_round_robin_state(flow: Flow) -> None:
    answers = {flow.call("POST", "/routing/simulate", body={"city": "Noida"})[1]["agent_id"] for _ in range(3)}
    assert answers == {"anjali"}


def test_simulation_at_another_time_uses_that_times_shifts(flow: Flow) -> None:
    # 23:00 IST: only Meera's night shift is on in NCR
    status, body = flow.call("POST", "/routing/simulate", body={"city": "Noida", "at": "2026-11-23T23:00:00+05:30"})
    assert status == 200 and body["agent_id"] == "meera"
    assert body["skipped"] == {"anjali": "off_shift", "rahul": "off_shift"}


def test_simulation_normalises_fields_like_capture_does(flow: Flow) -> None:
    # "Tamil" becomes "ta", so the south-languages rule matches
    body = flow.call("POST", "/routing/simulate", body={"language": "Tamil", "city": "Chennai"})[1]
    assert body["rule_id"] == "south-languages" and body["agent_id"] in ("priya", "deepa")


@pytest.mark.parametrize(
    ("lead", "words"),
    [
        ({"pincode": "12"}, "pincode"),
        ({"budget": "lots"}, "budget"),
        ({"language": "Klingon"}, "language"),
        ({"colour": "red"}, "colour"),
        ({"at": "2026-11-23T23:00:00"}, "time zone"),
        ({"tags": "vip"}, "tags"),
    ],
)
def test_a_bad_simulated_lead_gets_a_422_naming_the_field(flow: Flow, lead: dict[str, Any], words: str) -> None:
    status, body = flow.call("POST", "/routing/simulate", body=lead)
    assert status == 422 and body["error"] == "invalid_request" and words in body["message"], body


def test_agents_may_not_simulate(flow: Flow) -> None:
    assert flow.call("POST", "/routing/simulate", role="agent", agent_id="rahul", body={})[0] == 403


# -- back-test -----------------------------------------------------------------------------------


# The demo org's live chain as a draft would be written.
DEMO_CHAIN = DEMO_RULES.model_dump(mode="json", exclude_none=True, exclude={"version", "published_at", "published_by"})


def _a_draft_sending_ncr_to_the_south_team() -> dict[str, Any]:
    draft = json.loads(json.dumps(DEMO_CHAIN))
    assert draft["rules"][1]["rule_id"] == "ncr"
    draft["rules"][1]["pool_id"] = "south"
    return draft


def test_a_backtest_replays_recent_leads_through_a_draft_beside_the_live_chain_without_writing(
    flow: Flow, aws: dict[str, str], clock: Any
) -> None:
    key = flow.sources["website"]["key"]  # type: ignore[attr-defined]
    # Given a Pune lead three days ago (outside the window; routed through the default pool, so the
    # NCR and South rotations start fresh), then today at 12:00 IST four Noida leads and a Chennai
    # lead, each routed live by the router
    clock.advance(days=-3)
    old = flow.post("website", {"phone": "9876500100", "city": "Pune"}, key)[1]["lead_id"]
    flow.run_router()
    clock.advance(days=3)
    posted = []
    for number, city in enumerate(["Noida", "Noida", "Noida", "Noida", "Chennai"]):
        clock.advance(minutes=1)
        posted.append(flow.post("website", {"phone": f"98765001{number + 10}", "city": city}, key)[1]["lead_id"])
    flow.run_router()
    live_owner = {lead_id: flow.get(f"/leads/{lead_id}")[1]["assigned_agent_id"] for lead_id in posted}
    before = {name: table_items(name) for name in aws.values()}
    # When an admin back-tests, over the last day, a draft sending NCR leads to the South team
    status, body = flow.call("POST", "/routing/backtest",
                             body={"draft": _a_draft_sending_ncr_to_the_south_team(), "days": 1})  # fmt: skip
    # Then the window holds today's five leads, oldest first, and not the old one
    assert status == 200, body
    assert [row["lead_id"] for row in body["leads"]] == posted and old not in str(body["leads"])
    assert body["window"]["leads"] == 5 and body["window"]["days"] == 1 and body["window"]["truncated"] is False
    # And the live chain's replay agrees with what the router really did
    assert {row["lead_id"]: row["live"]["agent_id"] for row in body["leads"]} == live_owner
    live, draft = body["live"], body["draft"]
    assert live["rule_chain_version"] == 1 and draft["rule_chain_version"] == 0
    assert live["rules"] == {"ncr": 4, "south": 1} and live["assigned"] == 5 and live["unassigned"] == 0
    assert {a: row["assigned"] for a, row in live["agents"].items() if row["assigned"]} == {
        "anjali": 2, "rahul": 2, "priya": 1}  # fmt: skip
    # And the draft sends the Noida leads round the South team (Arjun is off shift at noon)
    assert draft["rules"] == {"ncr": 4, "south": 1}
    assert [row["draft"]["agent_id"] for row in body["leads"]] == ["priya", "karthik", "deepa", "priya", "karthik"]
    assert body["diff"]["changed"] == 5 and body["diff"]["rule_changed"] == 0
    assert live["agents"]["anjali"]["share"] == 0.4 and body["agent_names"]["anjali"] == "Anjali Verma"
    # And nothing was written anywhere
    assert {name: table_items(name) for name in aws.values()} == before


def test_a_backtest_limit_keeps_the_newest_leads_and_says_it_cut(flow: Flow, clock: Any) -> None:
    key = flow.sources["website"]["key"]  # type: ignore[attr-defined]
    posted = []
    for number in range(3):
        clock.advance(minutes=1)
        posted.append(flow.post("website", {"phone": f"98765002{number + 10}", "city": "Pune"}, key)[1]["lead_id"])
    status, body = flow.call("POST", "/routing/backtest", body={"draft": DEMO_CHAIN, "limit": 2})
    assert status == 200, body
    assert [row["lead_id"] for row in body["leads"]] == posted[1:] and body["window"]["truncated"] is True
    assert body["diff"]["changed"] == 0


@pytest.mark.parametrize(
    ("request_body", "error", "words"),
    [
        ({"draft": {"rules": [], "default_pool_id": "nowhere"}}, "unknown_pool", "nowhere"),
        ({"draft": {"rules": [{"rule_id": "x"}]}}, "invalid_request", "pool_id"),
        ({"draft": {}, "days": 91}, "invalid_request", "days"),
        ({"draft": {}, "days": 0}, "invalid_request", "days"),
        ({}, "invalid_request", "draft"),
    ],
)
def test_a_bad_backtest_request_gets_a_422_naming_the_problem(
    flow: Flow, request_body: dict[str, Any], error: str, words: str
) -> None:
    status, body = flow.call("POST", "/routing/backtest", body=request_body)
    assert status == 422 and body["error"] == error and words in body["message"], body


def test_agents_may_not_backtest(flow: Flow) -> None:
    status, body = flow.call("POST", "/routing/backtest", role="agent", agent_id="rahul", body={"draft": {}})
    assert status == 403 and body["error"] == "forbidden"
