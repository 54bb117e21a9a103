"""The API handler on moto: role scoping, lists with cursors, agents and availability."""

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


def post_and_route(flow: Flow, **fields: Any) -> dict[str, Any]:
    _, body = flow.post("website", fields, flow.sources["website"]["key"])  # type: ignore[attr-defined]
    flow.run_router()
    return flow.get(f"/leads/{body['lead_id']}")[1]


def test_an_agent_sees_only_their_own_leads(flow: Flow) -> None:
    lead = post_and_route(flow, phone="9876500001")
    owner = lead["assigned_agent_id"]
    assert flow.get(f"/leads/{lead['lead_id']}", role="agent", agent_id=owner)[0] == 200
    status, body = flow.get(f"/leads/{lead['lead_id']}", role="agent", agent_id="someone-else")
    assert status == 404 and body["error"] == "not_found"
    listed = flow.get("/leads", role="agent", agent_id=owner)[1]
    assert [item["lead_id"] for item in listed["items"]] == [lead["lead_id"]]
    assert flow.get("/leads", role="agent", agent_id="someone-else")[1]["items"] == []


def test_a_manager_sees_their_teams_leads_and_not_the_other_teams(flow: Flow) -> None:
    lead = post_and_route(flow, phone="9876500002")
    team = lead["assigned_team_id"]
    other = "south" if team == "ncr" else "ncr"
    assert flow.get(f"/leads/{lead['lead_id']}", role="manager", team_id=team)[0] == 200
    assert flow.get(f"/leads/{lead['lead_id']}", role="manager", team_id=other)[0] == 404
    assert len(flow.get("/leads", role="manager", team_id=team)[1]["items"]) == 1
    assert flow.get("/leads", role="manager", team_id=other)[1]["items"] == []


def test_lists_page_newest_first_with_a_cursor_and_filter_by_status(flow: Flow) -> None:
    key = flow.sources["website"]["key"]  # type: ignore[attr-defined]
    ids = [flow.post("website", {"phone": f"98765000{i:02d}"}, key)[1]["lead_id"] for i in range(5)]
    first = flow.get("/leads", query={"limit": "2"})[1]
    assert len(first["items"]) == 2 and first["next"]
    seen = [i["lead_id"] for i in first["items"]]
    cursor = first["next"]
    while cursor:
        page = flow.get("/leads", query={"limit": "2", "cursor": cursor})[1]
        seen += [i["lead_id"] for i in page["items"]]
        cursor = page["next"]
    assert seen == list(reversed(ids)), (seen, ids)
    assert len(flow.get("/leads", query={"status": "new"})[1]["items"]) == 5
    assert flow.get("/leads", query={"status": "assigned"})[1]["items"] == []


def test_bad_query_values_get_a_4xx_json_error_naming_the_problem(flow: Flow) -> None:
    status, body = flow.get("/leads", query={"status": "sleeping"})
    assert status == 422 and body["error"] == "invalid_request" and "status" in body["message"]
    status, body = flow.get("/leads", query={"cursor": "not-a-cursor"})
    assert status == 400 and body["error"] == "invalid_cursor"


def test_agents_list_shows_load_today_and_is_scoped_for_managers(flow: Flow) -> None:
    post_and_route(flow, phone="9876500003")
    items = flow.get("/agents")[1]["items"]
    assert len(items) == 7 and sum(a["assigned_today"] for a in items) == 1
    ncr = flow.get("/agents", role="manager", team_id="ncr")[1]["items"]
    assert {a["team_id"] for a in ncr} == {"ncr"}
    assert flow.get("/agents", role="agent", agent_id="priya")[0] == 403


def test_availability_changes_are_honoured_from_the_next_lead(flow: Flow, clock: Any) -> None:
    for agent in ("anjali", "rahul", "meera", "priya", "karthik", "arjun"):
        status, body = flow.call("PUT", f"/agents/{agent}/availability", body={"status": "on_leave"})
        assert status == 200 and body["status"] == "on_leave"
    lead = post_and_route(flow, phone="9876500004")
    assert lead["assigned_agent_id"] == "deepa"
    routing = flow.get(f"/leads/{lead['lead_id']}/routing")[1]["items"][0]
    assert routing["skipped"]["anjali"] == "on_leave"


def test_availability_rejects_unknown_statuses_and_agents(flow: Flow) -> None:
    status, body = flow.call("PUT", "/agents/priya/availability", body={"status": "sleeping"})
    assert status == 422 and body["error"] == "invalid_request"
    status, body = flow.call("PUT", "/agents/nobody/availability", body={"status": "on_break"})
    assert status == 404
    status, body = flow.call("PUT", "/agents/priya/availability", role="agent", agent_id="priya",
                             body={"status": "on_break"})  # fmt: skip
    assert status == 200 and body["status"] == "on_break"
    status, _ = flow.call("PUT", "/agents/rahul/availability", role="agent", agent_id="priya",
                          body={"status": "on_break"})  # fmt: skip
    assert status == 404


def test_requests_without_claims_or_group_are_unauthorized(flow: Flow) -> None:
    import api_handler

    from tests.helpers import LambdaContext, api_event

    response = api_handler.handler(api_event("GET", "/leads", claims={}), LambdaContext())
    assert response["statusCode"] == 401


def test_unknown_endpoints_answer_404_json(flow: Flow) -> None:
    status, body = flow.get("/nothing-here")
    assert status == 404 and body["error"] == "not_found"


def test_an_unassigned_leads_routing_trail_shows_why_nobody_took_it(flow: Flow) -> None:
    for agent in ("anjali", "rahul", "meera", "priya", "karthik", "arjun", "deepa"):
        flow.call("PUT", f"/agents/{agent}/availability", body={"status": "unavailable"})
    lead = post_and_route(flow, phone="9876500005")
    assert lead["status"] == "unassigned" and lead["assigned_agent_id"] is None
    status, routing = flow.get(f"/leads/{lead['lead_id']}/routing")
    assert status == 200
    decision = routing["items"][0]
    assert decision["agent_id"] is None and decision["outcome"] == "unassigned"
    assert set(decision["skipped"].values()) == {"unavailable"}
    # and managers find it in the unassigned queue, though it belongs to no team yet
    queue = flow.get("/leads", role="manager", team_id="ncr", query={"status": "unassigned"})[1]["items"]
    assert [item["lead_id"] for item in queue] == [lead["lead_id"]]


def test_a_break_whose_until_has_passed_shows_as_available(flow: Flow, clock: Any) -> None:
    from leadrelay.clock import iso

    until = iso(clock.now().replace(microsecond=0) + __import__("datetime").timedelta(minutes=30))
    status, body = flow.call("PUT", "/agents/rahul/availability", body={"status": "on_break", "until": until})
    assert status == 200 and body["status"] == "on_break" and body["status_until"]
    clock.advance(minutes=31)
    body = flow.get("/agents/rahul")[1]
    assert body["status"] == "available" and body["status_until"] is None


def test_the_last_full_page_has_no_next_cursor(flow: Flow) -> None:
    key = flow.sources["website"]["key"]  # type: ignore[attr-defined]
    for i in range(2):
        flow.post("website", {"phone": f"98765111{i:02d}"}, key)
    page = flow.get("/leads", query={"limit": "2"})[1]
    assert len(page["items"]) == 2 and page["next"] is None


def test_every_read_of_lead_data_leaves_an_audit_line_without_pii(flow: Flow) -> None:
    import logging

    from api_routes.common import logger

    class Collect(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.INFO)
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(logger.registered_formatter.format(record))

    # Given a routed lead
    lead = post_and_route(flow, phone="9876500006", name="Audit Person", email="audit@example.com")
    collect = Collect()
    logger.addHandler(collect)
    logger.setLevel("INFO")
    try:
        # When their team's manager reads it
        status, _ = flow.get(
            f"/leads/{lead['lead_id']}", role="manager", username="maya", team_id=lead["assigned_team_id"]
        )
    finally:
        logger.setLevel("WARNING")
        logger.removeHandler(collect)
    # Then an audit line names who read which lead, and no line carries the lead's PII
    assert status == 200
    audits = [line for line in collect.lines if '"audit":true' in line.replace(" ", "")]
    assert len(audits) == 1 and '"maya"' in audits[0] and lead["lead_id"] in audits[0]
    text = "\n".join(collect.lines)
    assert "9876500006" not in text and "Audit Person" not in text and "audit@example.com" not in text
