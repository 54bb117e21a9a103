"""Round trips: what a GET returns, the PUT/PATCH of the same resource accepts (edited or not),
with the rule chain's `version` as an optimistic lock."""

from __future__ import annotations

import copy

from tests.integration.flow import Flow


def test_the_rule_chain_read_edited_and_sent_back_publishes_and_a_stale_version_is_409(flow: Flow) -> None:
    # Given the live rule chain as GET shows it
    status, chain = flow.get("/routing/rules")
    assert status == 200 and chain["version"] >= 1
    # When an admin edits it and sends the whole document back
    edited = copy.deepcopy(chain)
    edited["daily_cap_per_agent"] = 60
    status, published = flow.call("PUT", "/routing/rules", body=edited)
    # Then it is published as the next version
    assert status == 200, published
    assert published["version"] == chain["version"] + 1 and published["daily_cap_per_agent"] == 60
    # And a second admin who read the old version is refused instead of overwriting it
    status, answer = flow.call("PUT", "/routing/rules", body=chain)
    assert status == 409 and answer["error"] == "version_conflict"
    assert flow.get("/routing/rules")[1]["daily_cap_per_agent"] == 60


def test_the_back_test_takes_the_document_get_returns(flow: Flow) -> None:
    chain = flow.get("/routing/rules")[1]
    status, report = flow.call("POST", "/routing/backtest", body={"draft": chain, "days": 7})
    assert status == 200, report
    assert "live" in report and "window" in report


def test_a_pool_and_a_team_round_trip(flow: Flow) -> None:
    pool = flow.get("/pools")[1]["items"][0]
    status, answer = flow.call("PUT", f"/pools/{pool['pool_id']}", body=pool)
    assert status == 200 and answer == pool, answer
    status, answer = flow.call("PUT", "/pools/elsewhere", body=pool)
    assert status == 422 and answer["error"] == "id_mismatch"
    team = flow.get("/teams")[1]["items"][0]
    status, answer = flow.call("PUT", f"/teams/{team['team_id']}", body={**team, "name": "NCR"})
    assert status == 200 and answer["name"] == "NCR"


def test_an_agent_round_trips_without_losing_a_field(flow: Flow) -> None:
    # Given an agent with a phone and skills (fields a profile edit must not drop)
    status, created = flow.call("POST", "/agents", body={"agent_id": "neha", "name": "Neha", "team_id": "ncr",
                                "phone": "+919876500000", "skills": ["loans"], "languages": ["hi"]})  # fmt: skip
    assert status == 201, created
    agent = flow.get("/agents/neha")[1]
    # When the agent as read is sent back with one change
    status, answer = flow.call("PUT", "/agents/neha", body={**agent, "daily_cap": 25})
    # Then only that changed
    assert status == 200, answer
    assert answer == {**agent, "daily_cap": 25}


def test_settings_round_trip_and_the_time_zone_is_the_deployments(flow: Flow) -> None:
    settings = flow.get("/settings")[1]
    edited = {**settings, "first_contact_sla_minutes": 45, "returning": {**settings["returning"], "reopen_won": True}}
    status, answer = flow.call("PUT", "/settings", body=edited)
    assert status == 200 and answer == edited, answer
    # An empty document puts every setting back to its default
    status, answer = flow.call("PUT", "/settings", body={})
    assert status == 200 and answer["first_contact_sla_minutes"] is None and answer["returning"]["reopen_won"] is False
    status, answer = flow.call("PUT", "/settings", body={**edited, "timezone": "Asia/Dubai"})
    assert status == 422 and answer["error"] == "timezone_fixed"


def test_a_source_round_trips_and_its_masked_secrets_stay_as_they_were(flow: Flow, demo: dict) -> None:
    # Given a source with provider secrets (shown masked)
    source_id = next(s["id"] for s in demo.values() if s["kind"] == "meta_lead_ads")
    source = flow.get(f"/sources/{source_id}")[1]
    assert "***" in source["settings"].values()
    # When it is sent back renamed, then the name changes and the secrets are as they were
    status, answer = flow.call("PATCH", f"/sources/{source_id}", body={**source, "name": "Renamed"})
    assert status == 200, answer
    assert answer["name"] == "Renamed" and answer["settings"] == source["settings"]
    status, answer = flow.call("PATCH", f"/sources/{source_id}", body={**source, "kind": "justdial"})
    assert status == 422 and answer["error"] == "id_mismatch"


def test_the_simulation_takes_the_same_document_as_a_draft(flow: Flow) -> None:
    # Given the live chain, edited so that every lead goes to the south pool
    draft = {**flow.get("/routing/rules")[1], "rules": [], "default_pool_id": "south"}
    lead = {"city": "Noida", "language": "hi", "at": "2026-11-23T11:00:00+05:30"}
    # When the same lead is simulated on the live chain and on the draft
    live = flow.call("POST", "/routing/simulate", body=lead)[1]
    drafted = flow.call("POST", "/routing/simulate", body={**lead, "draft": draft})[1]
    # Then the draft decides with its own rules (version 0: not published), the live chain with its own
    assert drafted["rule_chain_version"] == 0 and drafted["pool_id"] == "south", drafted
    assert live["rule_chain_version"] >= 1 and live["pool_id"] != "south", live
