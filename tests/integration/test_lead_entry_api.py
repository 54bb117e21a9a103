"""Leads entered and edited by people (POST /leads, PATCH /leads/{id}) on moto with the real handlers."""

from __future__ import annotations

from typing import Any

from leadrelay.clock import get_clock
from tests.integration.flow import Flow


def _enter(flow: Flow, body: dict[str, Any], role: str = "agent", **who: Any) -> tuple[int, dict[str, Any]]:
    get_clock().advance(minutes=1)  # type: ignore[attr-defined]
    return flow.call("POST", "/leads", role=role, body=body, **who)


def _timeline(flow: Flow, lead_id: str) -> list[dict[str, Any]]:
    return list(flow.get(f"/leads/{lead_id}/timeline")[1]["items"])


def test_a_walk_in_typed_by_an_agent_is_normalised_routed_and_signed_by_its_creator(flow: Flow) -> None:
    # Given an agent at the counter typing a walk-in's details the way people type them
    body = {"channel": "walk_in", "name": "  आशा   वर्मा ", "phone": "098765-43210", "city": "Noida",
            "budget": "75 lakh", "note": "wants a site visit on Sunday", "custom": {"bhk": 3}}  # fmt: skip
    # When they enter it
    status, answer = _enter(flow, body, username="deepa", agent_id="deepa", team_id="south")
    # Then it is a new lead from the manual source, normalised like a webhook's
    assert status == 201 and answer["outcome"] == "created", answer
    lead = answer["lead"]
    assert lead["source_id"] == "manual" and lead["phone"] == "+919876543210" and lead["name"] == "आशा वर्मा"
    assert lead["budget"] == 7500000 and "walk-in" in lead["tags"] and lead["extra"]["bhk"] == 3
    # And the router assigns it like any lead
    flow.run_router()
    routed = flow.get(f"/leads/{answer['lead_id']}")[1]
    assert routed["status"] == "assigned"
    # And the timeline names who entered it and carries the note
    events = _timeline(flow, answer["lead_id"])
    created = next(e for e in events if e["kind"] == "lead.created")
    assert created["actor"] == "deepa" and created["data"]["entered_by"] == "deepa"
    assert any(e["kind"] == "lead.note" and e["data"]["note"] == "wants a site visit on Sunday" for e in events)


def test_an_agent_who_asks_to_keep_their_entry_gets_it(flow: Flow) -> None:
    # Given deepa (on shift around the clock) enters a phone enquiry and asks to keep it
    body = {"channel": "phone", "phone": "9876500111", "city": "Chennai", "assign_to_me": True}
    status, answer = _enter(flow, body, username="deepa", agent_id="deepa", team_id="south")
    assert status == 201
    # When the router runs
    flow.run_router()
    # Then the lead is hers, and she sees it in her list
    lead = flow.get(f"/leads/{answer['lead_id']}", role="agent", agent_id="deepa")[1]
    assert lead["assigned_agent_id"] == "deepa"
    mine = flow.get("/leads", role="agent", agent_id="deepa")[1]["items"]
    assert [item["lead_id"] for item in mine] == [answer["lead_id"]]


def test_the_same_person_entered_again_is_a_touchpoint_and_another_agents_lead_stays_hidden(flow: Flow) -> None:
    # Given a lead that belongs to deepa
    first = _enter(flow, {"phone": "9876500222", "assign_to_me": True}, username="deepa", agent_id="deepa")[1]
    flow.run_router()
    # When another agent enters the same person, spelled differently
    status, answer = _enter(flow, {"phone": "+91 98765 00222", "name": "Ravi"}, username="priya", agent_id="priya")
    # Then it is merged into the existing lead, which priya does not get to see
    assert status == 202 and answer["lead_id"] == first["lead_id"] and answer["outcome"] == "merged"
    assert answer["lead"] is None
    touch = next(e for e in _timeline(flow, first["lead_id"]) if e["kind"] == "lead.touchpoint")
    assert touch["actor"] == "priya"


def test_a_manual_lead_needs_a_phone_or_an_email_and_assign_to_me_needs_an_agent(flow: Flow) -> None:
    status, answer = _enter(flow, {"name": "No Contact"}, username="deepa", agent_id="deepa")
    assert status == 422 and answer["error"] == "invalid_request" and "phone or an email" in answer["message"]
    status, answer = _enter(flow, {"phone": "9876500333", "assign_to_me": True}, role="admin")
    assert status == 422 and "assign_to_me" in answer["message"]
    status, answer = _enter(flow, {"phone": "12"}, username="deepa", agent_id="deepa")
    assert status == 422 and answer["error"] != "internal_error"


def test_an_edit_changes_fields_tags_and_custom_fields_with_history_and_a_stale_version_is_refused(
    flow: Flow,
) -> None:
    # Given a lead entered by an admin
    lead = _enter(flow, {"phone": "9876500444", "city": "Noida", "tags": ["expo"]}, role="admin")[1]["lead"]
    # When a manager corrects the city, adds a tag and a custom field, with the version they read
    patch = {"city": "Greater Noida", "add_tags": ["site-visit"], "custom": {"bhk": 3}, "budget": "1.2 crore",
             "version": lead["version"]}  # fmt: skip
    status, answer = flow.call("PATCH", f"/leads/{lead['lead_id']}", body=patch)
    # Then the lead holds the new values and the timeline says what changed from what
    assert status == 200, answer
    edited = answer["lead"]
    assert edited["city"] == "Greater Noida" and edited["tags"] == ["other", "expo", "site-visit"]
    assert edited["extra"]["bhk"] == 3 and edited["budget"] == 12000000
    assert set(answer["changed"]) == {"city", "tags", "custom.bhk", "budget"}
    update = next(e for e in _timeline(flow, lead["lead_id"]) if e["kind"] == "lead.updated")
    assert update["data"]["changes"]["city"] == {"from": "Noida", "to": "Greater Noida"}
    # And an edit sent with the old version is refused, and changes nothing
    status, answer = flow.call("PATCH", f"/leads/{lead['lead_id']}", body={"city": "Delhi", "version": 1})
    assert status == 409 and answer["error"] == "version_conflict" and edited["version"] == lead["version"] + 1
    assert flow.get(f"/leads/{lead['lead_id']}")[1]["city"] == "Greater Noida"


def test_an_agent_may_edit_only_their_own_leads_and_never_phone_or_email(flow: Flow) -> None:
    lead = _enter(flow, {"phone": "9876500555", "assign_to_me": True}, username="deepa", agent_id="deepa")[1]
    flow.run_router()
    path = f"/leads/{lead['lead_id']}"
    assert flow.call("PATCH", path, role="agent", body={"note": "called, busy"}, agent_id="priya")[0] == 404
    status, answer = flow.call("PATCH", path, role="agent", body={"note": "called, busy"}, agent_id="deepa")
    assert status == 200 and answer["changed"] == ["note"]
    status, answer = flow.call("PATCH", path, body={"phone": "9999999999"})
    assert status == 422 and "phone" in answer["message"]
