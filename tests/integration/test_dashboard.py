"""The dashboard on moto: the real ingest, router, API and events handlers over the real stream.
Numbers come from the counters only, each links to exactly its leads, managers see their team."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.dashboard.aggregates import Definitions
from leadrelay.local.demo import seed
from leadrelay.store.dynamo import from_item
from tests.dashboard_leads import COMPARED, cells_by_key, recount
from tests.helpers import LambdaContext, api_event, claims
from tests.integration.flow import Flow

DAY = {"from": "2026-11-23", "to": "2026-11-23"}  # the manual clock's day in Kolkata


class Counting(Flow):
    """The pipeline plus the events function, which keeps the dashboard's counters and feed."""

    def settle(self) -> None:
        self.run_router()
        self.run_aggregates()

    def dashboard(self, role: str = "admin", **query: str) -> dict[str, Any]:
        status, body = self.get("/dashboard", role=role, query={**DAY, **query},
                                team_id=query.pop("as_team", None) if "as_team" in query else None)  # fmt: skip
        assert status == 200, body
        return body


@pytest.fixture
def flow(aws: dict[str, str]) -> Counting:
    flow = Counting(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


def post(flow: Counting, number: int, **fields: Any) -> str:
    body = {"phone": f"98765{number:05d}", "name": f"Lead {number}", **fields}
    status, answer = flow.post("website", body, flow.sources["website"]["key"])  # type: ignore[attr-defined]
    assert status == 202, answer
    return str(answer["lead_id"])


def lead(flow: Counting, lead_id: str) -> dict[str, Any]:
    return flow.get(f"/leads/{lead_id}")[1]


def set_status(flow: Counting, lead_id: str, status: str, **extra: Any) -> None:
    code, body = flow.call("PUT", f"/leads/{lead_id}/status", body={"status": status, **extra})
    assert code == 200, body


def stored_cells(aws: dict[str, str]) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=aws["ORG_TABLE"])["Items"]  # test-only look at all
    return [from_item(item) for item in items if from_item(item)["pk"].startswith("DASH#")]


def all_lead_items(aws: dict[str, str]) -> list[dict[str, Any]]:
    return [item for item, _ in wiring.dashboard_store().lead_items()]


def test_counters_follow_the_real_pipeline_and_equal_a_recount(flow: Counting, aws: dict[str, str], clock: Any) -> None:
    # Given leads captured, routed, contacted, qualified, won and lost through the real handlers
    ids = [post(flow, n) for n in range(8)]
    flow.settle()
    clock.advance(minutes=5)
    for lead_id in ids[:5]:
        set_status(flow, lead_id, "contacted")
    set_status(flow, ids[0], "won", value=125000.5)
    set_status(flow, ids[1], "lost", reason="budget")
    set_status(flow, ids[2], "qualified")
    # When the dashboard's consumer sees the stream, every batch delivered twice
    flow.run_router()
    flow.run_aggregates(redeliver=True)
    # Then the stored counters equal a recount of the leads as they stand
    assert cells_by_key(stored_cells(aws), COMPARED) == recount(all_lead_items(aws))
    answer = flow.dashboard()
    assert (answer["received"], answer["assigned"], answer["contacted"]) == (8, 8, 5)
    assert (answer["won"], answer["lost"], answer["contacted_within_sla"]) == (1, 1, 5)
    assert answer["by_status"] == {"assigned": 3, "contacted": 2, "qualified": 1, "won": 1, "lost": 1}
    assert answer["speed_to_lead"]["first_contact_minutes"]["p50"] == 5
    assert answer["leakage"]["not_contacted_within_sla"] == 3
    assert answer["won_value"] == 125000.5 and answer["by_source"]["website"]["won_value_share"] == 100.0


def test_every_number_links_to_exactly_the_leads_it_counts(flow: Counting, clock: Any) -> None:
    ids = [post(flow, n) for n in range(6)]
    flow.settle()
    for lead_id in ids[:3]:
        set_status(flow, lead_id, "contacted")
    set_status(flow, ids[0], "won")
    flow.settle()
    answer = flow.dashboard()

    def listed(link: str) -> list[str]:
        from urllib.parse import parse_qsl, urlsplit

        code, body = flow.get("/leads", query=dict(parse_qsl(urlsplit(link).query)))
        assert code == 200, body
        return [item["lead_id"] for item in body["items"]]

    for name in ("received", "assigned", "contacted", "contacted_within_sla", "won", "lost"):
        assert len(listed(answer["links"][name])) == answer[name], name
    for agent, row in answer["by_agent"].items():
        assert len(listed(answer["links"]["by_agent"][agent]["received"])) == row["received"]
    assert len(listed(answer["links"]["leakage"]["not_contacted_within_sla"])) == 3
    assert set(listed(answer["links"]["contacted"])) == set(ids[:3])


def test_a_managers_dashboard_is_their_team_and_does_not_move_when_another_team_changes(
    flow: Counting, clock: Any
) -> None:
    # Given leads of both teams (the demo routes Tamil speakers south, Hindi speakers to NCR)
    ids = [post(flow, n, language="ta" if n % 2 else "hi", city="Chennai" if n % 2 else "Noida") for n in range(8)]
    flow.settle()
    teams = {lead_id: lead(flow, lead_id)["assigned_team_id"] for lead_id in ids}
    assert set(teams.values()) == {"ncr", "south"}
    before = flow.get("/dashboard", role="manager", team_id="ncr", query=DAY)[1]
    admin_before = flow.dashboard()
    # When the south team's leads are contacted and won
    for lead_id in ids:
        if teams[lead_id] == "south":
            set_status(flow, lead_id, "contacted")
            set_status(flow, lead_id, "won")
    flow.settle()
    # Then the NCR manager's dashboard is exactly as it was; the admin's moved
    after = flow.get("/dashboard", role="manager", team_id="ncr", query=DAY)[1]
    assert after == before
    assert before["received"] == sum(team == "ncr" for team in teams.values())
    assert flow.dashboard()["won"] == admin_before["won"] + sum(team == "south" for team in teams.values())
    # And a manager may not read another team's, nor an agent any
    code, body = flow.get("/dashboard", role="manager", team_id="ncr", query={**DAY, "team_id": "south"})
    assert code == 403 and body["error"] == "forbidden"
    assert flow.get("/dashboard", role="agent", agent_id="anjali", query=DAY)[0] == 403
    # And the lead list takes the same team filter: their own team's leads, not another's
    listed = flow.get("/leads", role="manager", team_id="ncr", query={"team_id": "ncr"})[1]["items"]
    assert sorted(item["lead_id"] for item in listed) == sorted(i for i in ids if teams[i] == "ncr")
    assert flow.get("/leads", role="manager", team_id="ncr", query={"team_id": "south"})[0] == 404


@pytest.mark.parametrize(
    ("query", "code"),
    [({"from": "2026-13-01"}, "invalid_date"), ({"from": "2026-11-24", "to": "2026-11-23"}, "invalid_window"),
     ({"from": "2025-01-01", "to": "2026-11-23"}, "invalid_window")],
)  # fmt: skip
def test_bad_windows_are_a_clear_400(flow: Counting, query: dict[str, str], code: str) -> None:
    status, body = flow.get("/dashboard", query=query)
    assert status == 400 and body["error"] == code and body["message"]


def test_the_dashboard_as_csv_and_the_trends(flow: Counting) -> None:
    for n in range(3):
        post(flow, n)
    flow.settle()
    response = flow.api(api_event("GET", "/dashboard/csv", query=DAY, claims=claims("admin")), LambdaContext())
    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"][0].startswith("text/csv")
    lines = response["body"].lstrip("\ufeff").splitlines()
    assert lines[0].startswith("group,key,received") and lines[1].startswith("total,,3,3")
    code, trend = flow.get("/dashboard/trends", query={**DAY, "period": "week"})
    assert code == 200 and trend["periods"][0]["start"] == "2026-11-23" and trend["periods"][0]["received"] == 3


def test_a_rebuild_recounts_from_the_leads_when_a_definition_changes(
    flow: Counting, aws: dict[str, str], clock: Any
) -> None:
    ids = [post(flow, n) for n in range(5)]
    flow.settle()
    clock.advance(minutes=45)
    for lead_id in ids[:3]:
        set_status(flow, lead_id, "contacted")
    flow.settle()
    assert flow.dashboard()["contacted_within_sla"] == 3
    # When the SLA becomes 30 minutes and the counters are rebuilt from the leads
    tally = wiring.dashboard_store().rebuild(Definitions(sla_minutes=30))
    # Then every lead was visited and the contacts 45 minutes in no longer count as within SLA
    assert tally["leads"] == 5 and tally["applied"] == 3
    assert cells_by_key(stored_cells(aws), COMPARED) == recount(all_lead_items(aws), sla_minutes=30)
    # And a second rebuild changes nothing
    assert wiring.dashboard_store().rebuild(Definitions(sla_minutes=30))["applied"] == 0


def test_the_activity_feed_shows_each_caller_their_scope_and_polls_with_a_cursor(flow: Counting, clock: Any) -> None:
    ids = [post(flow, n, language="ta" if n % 2 else "hi", city="Chennai" if n % 2 else "Noida") for n in range(4)]
    flow.settle()
    set_status(flow, ids[0], "contacted")
    flow.settle()
    clock.advance(seconds=30)
    everything = flow.get("/activity")[1]
    kinds = [entry["kind"] for entry in everything["items"]]
    assert kinds.count("lead.created") == 4 and kinds.count("lead.assigned") == 4
    assert "lead.status_changed" in kinds
    assert all("phone" not in json.dumps(entry) for entry in everything["items"])
    owner = lead(flow, ids[0])["assigned_agent_id"]
    mine = flow.get("/activity", role="agent", agent_id=owner)[1]["items"]
    assert mine and all(entry["lead_id"] in ids and entry["agent_id"] == owner for entry in mine)
    team = lead(flow, ids[0])["assigned_team_id"]
    theirs = flow.get("/activity", role="manager", team_id=team)[1]["items"]
    assert all(entry["team_id"] in (team, None) for entry in theirs)
    # When nothing new happens, polling with the cursor brings nothing new
    again = flow.get("/activity", query={"since": everything["next"]})[1]
    assert again["items"] == [] and again["next"]
    # And a new event shows up after the cursor
    set_status(flow, ids[0], "won")
    flow.settle()
    newer = flow.get("/activity", query={"since": everything["next"]})[1]["items"]
    assert [entry["kind"] for entry in newer] == ["lead.status_changed"]
    assert flow.get("/activity", query={"since": "not-a-cursor"})[0] == 400


def test_a_90_day_dashboard_costs_the_same_few_reads_for_20_leads_or_220(
    flow: Counting, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from leadrelay.config import reset_settings
    from leadrelay.store.dynamo import client
    from tests.dashboard_leads import generate
    from tests.helpers import claims

    # The caller's user record is read once and cached, as in a warm container (identity is one
    # GetItem per request at most, whatever the dashboard reads)
    monkeypatch.setenv("USER_CACHE_SECONDS", "3600")
    reset_settings()
    claims("admin")

    store, definitions = wiring.dashboard_store(), wiring.dashboard_definitions()
    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    def read_cost() -> tuple[int, dict[str, Any]]:
        calls.clear()
        client().meta.events.register("before-call.dynamodb", count)
        try:
            answer = flow.dashboard(**{"from": "2026-08-26", "to": "2026-11-23"})
        finally:
            client().meta.events.unregister("before-call.dynamodb", count)
        return len(calls), answer

    def add(leads: int, seed: int) -> None:
        for history in generate(leads, seed=seed, days=88, start=datetime(2026, 8, 26, tzinfo=UTC)):
            if history.images[-1] is not None:
                store.apply("lead", history.lead_id, history.images[-1], definitions, None)

    # Given 20 leads over 90 days
    add(20, seed=21)
    few, small = read_cost()
    # When 200 more arrive over the same days
    add(200, seed=22)
    many, large = read_cost()
    # Then reading the dashboard took the same number of calls: one Query per month of counters and
    # of follow-ups (4 months each), the roster aside
    assert large["received"] > small["received"] + 150
    assert few == many <= 10, calls


def test_write_conflicts_and_throttling_are_retried_and_the_lead_still_counts_once(flow: Counting) -> None:
    from botocore.exceptions import ClientError

    from leadrelay.store.dynamo import client

    store, definitions = wiring.dashboard_store(), wiring.dashboard_definitions()
    lead_item = {"lead_id": "L-conflict", "source_id": "website", "status": "new",
                 "received_at": "2026-11-23T06:30:00.000Z"}  # fmt: skip
    refusals = ["TransactionConflict", "TransactionConflict", "Throttling"]

    def refuse(**_: Any) -> None:
        # moto never reports either: DynamoDB does, under concurrent transactions and bursts
        if refusals:
            code = refusals.pop(0)
            if code == "Throttling":
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "TransactWriteItems"
                )
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "injected"},
                               "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]},
                              "TransactWriteItems")  # fmt: skip

    client().meta.events.register("before-call.dynamodb.TransactWriteItems", refuse)
    try:
        # Given DynamoDB refuses the first writes: two conflicts (retried inside), then a throttle
        with pytest.raises(ClientError):
            store.apply("lead", "L-conflict", lead_item, definitions, "100")
        # When the stream delivers the record again (as it does after a failed invocation)
        assert store.apply("lead", "L-conflict", lead_item, definitions, "100").outcome == "applied"
        assert store.apply("lead", "L-conflict", lead_item, definitions, "100").outcome == "stale"
    finally:
        client().meta.events.unregister("before-call.dynamodb.TransactWriteItems", refuse)
    # Then it counts once
    assert flow.dashboard()["received"] == 1


def test_a_logged_call_counts_as_contact_and_its_follow_up_as_due_for_its_agent(flow: Counting, clock: Any) -> None:
    # Given a lead routed to an NCR agent
    lead_id = post(flow, 1, city="Noida", language="hi")
    flow.settle()
    agent = lead(flow, lead_id)["assigned_agent_id"]
    clock.advance(minutes=5)
    # When the agent logs a busy call (a follow-up an hour later, today) through the activities API
    status, body = flow.call("POST", f"/leads/{lead_id}/activities", role="agent", agent_id=agent, username=agent,
                             body={"type": "call", "direction": "outbound", "outcome": "busy"})  # fmt: skip
    assert status == 201, body
    flow.settle()
    # Then the dashboard counts the contact within the SLA and the open follow-up due today
    answer = flow.dashboard()
    assert (answer["contacted"], answer["contacted_within_sla"]) == (1, 1)
    assert answer["followups"] == {"due_today": 1, "missed": 0}
    assert answer["by_agent"][agent]["open_followups"] == 1
    # And the call is in the agent's activity feed
    kinds = [entry["kind"] for entry in flow.get("/activity", role="agent", agent_id=agent)[1]["items"]]
    assert "lead.assigned" in kinds and len(kinds) >= 3
