"""End to end over HTTP, through `leadrelay local --demo`: webhooks in, routed leads out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


def phone() -> str:
    return "9" + str(uuid.uuid4().int)[:9]


def post_lead(stack: LocalStackClient, **fields: Any) -> dict[str, Any]:
    source = stack.source("generic")
    response = stack.post(f"/hooks/{source['id']}", json={"phone": phone(), **fields},
                          headers={"X-Api-Key": source["key"]})  # fmt: skip
    assert response.status_code == 202, response.text
    return response.json()


def wait_until_routed(stack: LocalStackClient, lead_id: str, within: float = 1.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        lead = stack.get(f"/leads/{lead_id}", as_user="admin").json()
        if lead["status"] != "new" or time.monotonic() > deadline:
            return lead
        time.sleep(0.02)


@pytest.fixture
def everyone_available(local_stack: LocalStackClient) -> Iterator[None]:
    yield
    for agent in local_stack.get("/agents", as_user="admin").json()["items"]:
        local_stack.put(f"/agents/{agent['agent_id']}/availability", as_user="admin", json={"status": "available"})


def test_a_posted_lead_is_assigned_within_a_second_and_explained(local_stack: LocalStackClient) -> None:
    # Given the demo organisation
    # When a website lead arrives
    body = post_lead(local_stack, name="Ravi Kumar", city="Pune", utm_source="google")
    assert body["outcome"] == "created"
    # Then within a second it is assigned to one agent
    lead = wait_until_routed(local_stack, body["lead_id"])
    assert lead["status"] == "assigned" and lead["assigned_agent_id"]
    assert lead["received_at"].endswith("Z") and lead["assigned_at"] >= lead["received_at"]
    # and its routing trail says which rule, which strategy, who was considered and who skipped
    trail = local_stack.get(f"/leads/{body['lead_id']}/routing", as_user="admin").json()["items"]
    assert len(trail) == 1
    decision = trail[0]
    assert decision["agent_id"] == lead["assigned_agent_id"] and decision["strategy"] == "round_robin"
    assert decision["rule_id"] == "default" and lead["assigned_agent_id"] in decision["candidates"]
    assert all(
        reason in ("off_shift", "capped", "on_leave", "on_break", "unavailable")
        for reason in decision["skipped"].values()
    )
    # and its timeline reads created, then assigned
    timeline = local_stack.get(f"/leads/{body['lead_id']}/timeline", as_user="admin").json()["items"]
    assert [event["kind"] for event in timeline] == ["lead.created", "lead.assigned"]
    # and the owner can see it, another agent cannot
    owner = lead["assigned_agent_id"]
    assert local_stack.get(f"/leads/{body['lead_id']}", as_user=owner).status_code == 200
    other = next(u["username"] for u in local_stack.users if u["role"] == "agent" and u["agent_id"] != owner)
    assert local_stack.get(f"/leads/{body['lead_id']}", as_user=other).status_code == 404


def test_a_form_post_with_the_key_in_the_query_string_is_accepted(local_stack: LocalStackClient) -> None:
    source = local_stack.source("generic")
    response = local_stack.post(f"/hooks/{source['id']}?key={source['key']}",
                                data={"name": "अनीता शर्मा", "mobile": "+91 " + phone()})  # fmt: skip
    assert response.status_code == 202
    assert response.headers["X-Lead-Id"] == response.json()["lead_id"]
    lead = local_stack.get(f"/leads/{response.json()['lead_id']}", as_user="admin").json()
    assert lead["name"] == "अनीता शर्मा" and lead["phone"].startswith("+91")


def test_a_provider_retry_is_a_duplicate_and_the_same_person_again_is_merged(local_stack: LocalStackClient) -> None:
    number = phone()
    first = post_lead(local_stack, external_id=f"crm-{number}", phone=number)
    again = post_lead(local_stack, external_id=f"crm-{number}", phone=number)
    assert again == {"lead_id": first["lead_id"], "outcome": "duplicate"}
    later = post_lead(local_stack, phone=f"+91 {number}", email=f"{number}@example.com")
    assert later == {"lead_id": first["lead_id"], "outcome": "merged"}


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, '{"phone": "9876543210"}', 401, "missing_key"),
        ({"X-Api-Key": "wrong"}, '{"phone": "9876543210"}', 403, "invalid_key"),
        (None, "{broken", 400, "malformed_json"),
        (None, '{"name": "no contact"}', 422, "missing_contact"),
    ],
)
def test_bad_webhooks_get_a_clear_json_error(
    local_stack: LocalStackClient, headers: dict[str, str] | None, body: str, status: int, code: str
) -> None:
    source = local_stack.source("generic")
    sent = {"X-Api-Key": source["key"]} if headers is None else headers
    response = local_stack.post(f"/hooks/{source['id']}", data=body,
                                headers={**sent, "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == status
    assert response.json()["error"] == code and response.json()["message"]


def test_managers_see_their_team_with_todays_load_and_agents_may_not_list(local_stack: LocalStackClient) -> None:
    response = local_stack.get("/agents", as_user="manager")
    assert response.status_code == 200
    items = response.json()["items"]
    team = local_stack.user("manager")["team_id"]
    assert items and {agent["team_id"] for agent in items} == {team}
    assert all(isinstance(agent["assigned_today"], int) for agent in items)
    assert local_stack.get("/agents", as_user="agent").status_code == 403


def test_an_agent_on_leave_gets_none_of_five_leads(local_stack: LocalStackClient, everyone_available: None) -> None:
    response = local_stack.put("/agents/deepa/availability", as_user="admin", json={"status": "on_leave"})
    assert response.status_code == 200 and response.json()["status"] == "on_leave"
    owners = []
    for _ in range(5):
        lead = wait_until_routed(local_stack, post_lead(local_stack)["lead_id"])
        owners.append(lead["assigned_agent_id"])
        trail = local_stack.get(f"/leads/{lead['lead_id']}/routing", as_user="admin").json()["items"][0]
        assert trail["skipped"].get("deepa") == "on_leave"
    assert "deepa" not in owners


def test_unknown_things_and_bad_queries_answer_4xx_json(local_stack: LocalStackClient) -> None:
    missing = local_stack.get("/leads/NOPE", as_user="admin")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    bad = local_stack.get("/leads?status=sleeping", as_user="admin")
    assert bad.status_code == 422 and "status" in bad.json()["message"]
    bad_status = local_stack.put("/agents/priya/availability", as_user="admin", json={"status": "asleep"})
    assert bad_status.status_code == 422 and bad_status.json()["error"] == "invalid_request"
