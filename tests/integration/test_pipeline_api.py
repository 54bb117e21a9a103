"""Statuses are data, on moto with the real handlers: a lead's status is a stage of its
organisation's pipeline, each with a category (open, won, lost), an order and required fields.
Presets, custom stages closing and reopening leads by category, a rename under existing leads
(history, reports and dashboard unchanged except the label) and retiring a stage in use."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from leadrelay.clock import get_clock
from tests.helpers import LambdaContext, api_event, claims
from tests.integration.flow import Flow

DAY = {"from": "2026-11-23", "to": "2026-11-23"}  # the manual clock's day in Kolkata


def _lead(flow: Flow, demo: dict[str, Any], phone: str) -> dict[str, Any]:
    get_clock().advance(minutes=1)  # type: ignore[attr-defined]
    status, answer = flow.post("website", {"phone": phone, "name": "Asha"}, demo["website"]["key"])
    assert status == 202
    flow.run_router()
    lead = flow.get(f"/leads/{answer['lead_id']}")[1]
    assert lead["status"] == "assigned" and lead["assigned_agent_id"], lead
    return lead


def _real_estate(flow: Flow) -> dict[str, Any]:
    status, pipeline = flow.call("POST", "/pipeline/presets/real_estate")
    assert status == 200, pipeline
    return pipeline


def _status(flow: Flow, lead: dict[str, Any], status: str, **body: Any) -> tuple[int, dict[str, Any]]:
    get_clock().advance(seconds=5)  # type: ignore[attr-defined]
    return flow.call("PUT", f"/leads/{lead['lead_id']}/status", body={"status": status, **body})


def _open_leads(aws: dict[str, str], agent_id: str) -> int:
    item = (
        boto3.client("dynamodb")
        .get_item(TableName=aws["ORG_TABLE"], Key={"pk": {"S": "ROSTER"}, "sk": {"S": f"LOAD#{agent_id}"}})
        .get("Item")
    )
    return int(item["open_leads"]["N"]) if item and "open_leads" in item else 0


def _custom(flow: Flow) -> dict[str, Any]:
    """The default pipeline plus a site-visit stage, a booked (won, with a value) and a
    not-interested (lost, with a reason) stage."""
    pipeline = flow.get("/pipeline")[1]
    pipeline["stages"] += [
        {"stage_id": "site-visit-done", "label": "Site visit done", "category": "open", "order": 25},
        {"stage_id": "booked", "label": "Booked", "category": "won", "order": 35, "required_fields": ["value"]},
        {"stage_id": "not-interested", "label": "Not interested", "category": "lost", "order": 45,
         "required_fields": ["reason"]},
    ]  # fmt: skip
    status, stored = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 200, stored
    return stored


def test_the_default_pipeline_is_todays_statuses(flow: Flow) -> None:
    status, pipeline = flow.get("/pipeline")
    assert status == 200 and pipeline["version"] == 0
    assert [(s["stage_id"], s["category"], s["required_fields"]) for s in pipeline["stages"]] == [
        ("new", "open", []), ("contacted", "open", []), ("qualified", "open", []), ("won", "won", []),
        ("lost", "lost", ["reason"]),
    ]  # fmt: skip


def test_an_organisation_starts_from_a_preset_and_moves_leads_through_it(flow: Flow, demo: dict[str, Any]) -> None:
    # Given the real-estate preset and a routed lead (routing's "assigned" counts as the entry stage)
    pipeline = _real_estate(flow)
    assert [s["stage_id"] for s in pipeline["stages"]][:3] == ["new", "contacted", "site_visit"]
    lead = _lead(flow, demo, "9876500401")
    assert (lead["stage"], lead["stage_label"], lead["category"]) == ("new", "New enquiry", "open")
    # When the lead goes to the site-visit stage: its status IS the stage
    status, moved = _status(flow, lead, "site_visit")
    assert status == 200 and moved["lead"]["status"] == "site_visit" and moved["lead"]["stage"] == "site_visit"
    # Then booked (won) needs the deal value, and a stage the pipeline lacks is refused by name
    status, refused = _status(flow, lead, "booked")
    assert status == 422 and refused["error"] == "value_required" and "value" in refused["message"]
    status, refused = _status(flow, lead, "qualified")
    assert status == 422 and refused["error"] == "invalid_status" and "site_visit" in refused["message"]
    status, moved = flow.call("PUT", f"/leads/{lead['lead_id']}/stage", body={"stage_id": "booked", "value": 7500000})
    assert status == 200 and moved["lead"]["status"] == "booked" and moved["category"] == "won"
    assert moved["lead"]["closed_at"] and moved["lead"]["value"] == 7500000
    assert flow.get("/pipeline")[1]["in_use"] == {"booked": 1}


def test_custom_stages_close_and_reopen_by_category(flow: Flow, demo: dict[str, Any], aws: dict[str, str]) -> None:
    # Given custom stages and a lead its agent holds
    _custom(flow)
    lead = _lead(flow, demo, "9876500404")
    agent = lead["assigned_agent_id"]
    held = _open_leads(aws, agent)
    assert held >= 1
    # When it goes to the custom open stage: still open, still on the agent's open leads
    status, moved = _status(flow, lead, "site-visit-done")
    assert status == 200 and moved["lead"]["category"] == "open" and moved["lead"]["closed_at"] is None
    assert _open_leads(aws, agent) == held
    # And moving it to another agent is routing's business: the sales stage stays
    other = next(a for a in ("anjali", "rahul", "priya", "vikram", "sneha") if a != agent)
    status, moved = flow.call("POST", f"/leads/{lead['lead_id']}/reassign",
                              body={"agent_id": other, "reason": "cover for leave", "force": True})  # fmt: skip
    assert status == 200, moved
    assert (moved["lead"]["status"], moved["lead"]["assigned_agent_id"]) == ("site-visit-done", other)
    status, moved = flow.call("POST", f"/leads/{lead['lead_id']}/reassign",
                              body={"agent_id": agent, "reason": "back from leave", "force": True})  # fmt: skip
    assert status == 200 and moved["lead"]["status"] == "site-visit-done", moved
    # Then the custom won stage refuses without its value, with a clear 422, and changes nothing
    status, refused = _status(flow, lead, "booked")
    assert status == 422 and refused == {"error": "value_required",
                                         "message": "Booked needs the deal value in rupees (value)"}  # fmt: skip
    assert flow.get(f"/leads/{lead['lead_id']}")[1]["status"] == "site-visit-done"
    # When it is booked with its value: the lead closes and the agent's open-lead count is released
    status, moved = _status(flow, lead, "booked", value=2500000)
    assert status == 200 and moved["lead"]["category"] == "won" and moved["lead"]["closed_at"]
    assert _open_leads(aws, agent) == held - 1
    # And the won stage shows in the filter, and booking again changes nothing
    listed = flow.get("/leads", query={"status": "booked"})[1]["items"]
    assert [item["lead_id"] for item in listed] == [lead["lead_id"]]
    assert _status(flow, lead, "booked", value=2500000)[1]["changed"] is False
    # When a person moves it back to an open stage: reopened, on the agent's open leads again
    status, moved = _status(flow, lead, "site-visit-done")
    assert status == 200 and moved["lead"]["closed_at"] is None and _open_leads(aws, agent) == held
    # The custom lost stage needs its reason; with it the lead is lost (long-tail nurture re-surfaces it)
    status, refused = _status(flow, lead, "not-interested")
    assert status == 422 and refused["error"] == "reason_required" and "Not interested" in refused["message"]
    status, moved = _status(flow, lead, "not-interested", reason="bought elsewhere")
    assert status == 200 and moved["lead"]["category"] == "lost" and moved["lead"]["close_reason"] == "bought elsewhere"
    assert _open_leads(aws, agent) == held - 1
    # And the history names the stages by id and by the labels they had
    entries = [
        e for e in flow.get(f"/leads/{lead['lead_id']}/timeline")[1]["items"] if e["kind"] == "lead.status_changed"
    ]
    assert [(e["data"]["to"], e["data"]["to_label"], e["data"]["category"]) for e in entries] == [
        ("site-visit-done", "Site visit done", "open"), ("booked", "Booked", "won"),
        ("site-visit-done", "Site visit done", "open"), ("not-interested", "Not interested", "lost"),
    ]  # fmt: skip


@pytest.mark.parametrize("word", ["new", "assigned", "offered", "unassigned"])
def test_routing_words_are_not_set_by_people(flow: Flow, demo: dict[str, Any], word: str) -> None:
    lead = _lead(flow, demo, "9876500405")
    status, refused = _status(flow, lead, word)
    assert status == 422 and refused["error"] == "invalid_status" and "routing" in refused["message"]


def test_an_offline_phone_syncs_a_custom_stage(flow: Flow, demo: dict[str, Any]) -> None:
    _custom(flow)
    lead = _lead(flow, demo, "9876500406")
    items = [{"client_id": "s1", "op": "status", "lead_id": lead["lead_id"], "data": {"status": "booked"}},
             {"client_id": "s2", "op": "status", "lead_id": lead["lead_id"],
              "data": {"status": "booked", "value": 900000}}]  # fmt: skip
    status, answer = flow.call("POST", "/sync", body={"items": items})
    assert status == 200
    assert [r["status"] for r in answer["results"]] == ["rejected", "applied"]
    assert "value" in answer["results"][0]["message"]
    assert flow.get(f"/leads/{lead['lead_id']}")[1]["status"] == "booked"


def test_a_rename_under_existing_leads_changes_only_the_label(flow: Flow, demo: dict[str, Any]) -> None:
    # Given leads in custom stages, counted by the dashboard and the attribution report
    _custom(flow)
    first, second = _lead(flow, demo, "9876500402"), _lead(flow, demo, "9876500407")
    _status(flow, first, "site-visit-done")
    _status(flow, second, "booked", value=100000)
    flow.run_aggregates()
    dashboard = flow.get("/dashboard", query=DAY)[1]
    report = flow.get("/reports/attribution")[1]
    assert dashboard["by_status"] == {"booked": 1, "site-visit-done": 1} and dashboard["won"] == 1
    # When an admin renames both stages
    pipeline = flow.get("/pipeline")[1]
    for stage in pipeline["stages"]:
        if stage["stage_id"] in ("site-visit-done", "booked"):
            stage["label"] = stage["label"] + " (renamed)"
    status, renamed = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 200 and renamed["version"] == pipeline["version"] + 1
    # Then the leads keep their status and counts; only the label they show changed
    lead = flow.get(f"/leads/{first['lead_id']}")[1]
    assert (lead["status"], lead["stage_label"]) == ("site-visit-done", "Site visit done (renamed)")
    assert renamed["in_use"] == {"site-visit-done": 1, "booked": 1}
    after = flow.get("/dashboard", query=DAY)[1]
    assert after["by_status"] == dashboard["by_status"] and after["won"] == dashboard["won"]
    assert after["status_labels"] == {"booked": "Booked (renamed)", "site-visit-done": "Site visit done (renamed)"}
    assert flow.get("/reports/attribution")[1]["first_touch"] == report["first_touch"]
    # And history says what the stage was called then
    entry = next(e for e in flow.get(f"/leads/{first['lead_id']}/timeline")[1]["items"]
                 if e["kind"] == "lead.status_changed")  # fmt: skip
    assert entry["data"]["to"] == "site-visit-done" and entry["data"]["to_label"] == "Site visit done"
    # And the stale document is refused
    status, answer = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 409 and answer["error"] == "version_conflict"


def test_retiring_a_stage_in_use_asks_where_its_leads_go(flow: Flow, demo: dict[str, Any]) -> None:
    # Given a lead in the negotiation stage
    _real_estate(flow)
    lead = _lead(flow, demo, "9876500403")
    _status(flow, lead, "negotiation")
    flow.run_aggregates()
    # When an admin retires the stage without saying where its leads go, it is refused
    pipeline = flow.get("/pipeline")[1]
    stage = next(s for s in pipeline["stages"] if s["stage_id"] == "negotiation")
    stage["retired"] = True
    status, answer = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 409 and answer["error"] == "stage_in_use" and "moved_to" in answer["message"]
    # When it names the stage they go to
    stage["moved_to"] = "site_visit"
    status, answer = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 200, answer
    # Then the lead keeps its history's id but counts and shows as the site visit stage
    shown = flow.get(f"/leads/{lead['lead_id']}")[1]
    assert (shown["status"], shown["stage"], shown["stage_label"]) == ("negotiation", "site_visit", "Site visit")
    assert answer["in_use"] == {"site_visit": 1}
    listed = flow.get("/leads", query={"status": "site_visit"})[1]["items"]
    assert [item["lead_id"] for item in listed] == [lead["lead_id"]]
    assert flow.get("/dashboard", query=DAY)[1]["by_status"] == {"site_visit": 1}
    # A removed stage is refused (history names it); a retired one can no longer be entered
    without = {**answer, "stages": [s for s in answer["stages"] if s["stage_id"] != "contacted"]}
    assert flow.call("PUT", "/pipeline", body=without)[1]["error"] == "stage_removed"
    status, refused = _status(flow, lead, "negotiation")
    assert status == 422 and refused["error"] == "invalid_status" and "retired" in refused["message"]


def test_a_pipeline_needs_an_open_a_won_and_a_lost_stage(flow: Flow) -> None:
    pipeline = flow.get("/pipeline")[1]
    only_open = {**pipeline, "stages": [{**s, "category": "open"} for s in pipeline["stages"]]}
    status, answer = flow.call("PUT", "/pipeline", body=only_open)
    assert status == 422 and "won" in answer["message"]
    routing_word = {**pipeline, "stages": [*pipeline["stages"], {"stage_id": "assigned", "label": "A",
                                                                   "category": "open", "order": 5}]}  # fmt: skip
    status, answer = flow.call("PUT", "/pipeline", body=routing_word)
    assert status == 422 and "routing" in answer["message"]


def test_patch_moves_a_lead_with_its_fields_or_changes_nothing(flow: Flow, demo: dict[str, Any]) -> None:
    # Given custom stages and a routed lead
    _custom(flow)
    lead = _lead(flow, demo, "9876500408")
    path = f"/leads/{lead['lead_id']}"
    # When a PATCH renames it and books it without the value: refused, and the name is not edited either
    status, refused = flow.call("PATCH", path, body={"name": "Asha Verma", "status": "booked"})
    assert status == 422 and refused["error"] == "value_required"
    assert flow.get(path)[1]["name"] == "Asha"
    # When it comes with the value: the fields and the stage both change
    status, patched = flow.call("PATCH", path, body={"name": "Asha Verma", "status": "booked", "value": 450000})
    assert status == 200, patched
    assert patched["changed"] == ["name", "status"]
    assert (patched["lead"]["name"], patched["lead"]["status"], patched["lead"]["category"]) == (
        "Asha Verma", "booked", "won")  # fmt: skip
    # And a value without a status is a validation error
    assert flow.call("PATCH", path, body={"value": 5})[0] == 422


def test_a_custom_lost_lead_that_comes_back_is_reopened_and_leaves_its_stage(flow: Flow, demo: dict[str, Any]) -> None:
    # Given a lead closed in the custom lost stage
    _custom(flow)
    lead = _lead(flow, demo, "9876500409")
    _status(flow, lead, "not-interested", reason="budget too low")
    assert flow.get("/pipeline")[1]["in_use"] == {"not-interested": 1}
    # When the same person enquires again (the returning policy reopens lost leads)
    get_clock().advance(minutes=5)  # type: ignore[attr-defined]
    body = {"phone": "9876500409", "name": "Asha", "message": "still looking"}
    status, answer = flow.post("website", body, demo["website"]["key"])
    assert status == 202 and answer["lead_id"] == lead["lead_id"], answer
    flow.run_router()
    # Then it is open again, held by routing, and no longer counted in the lost stage
    reopened = flow.get(f"/leads/{lead['lead_id']}")[1]
    assert reopened["reopen_count"] == 1 and reopened["category"] == "open" and reopened["closed_at"] is None
    assert reopened["status"] in ("assigned", "new") and reopened["stage"] == "new"
    assert flow.get("/pipeline")[1]["in_use"] == {}


def test_a_stage_holding_leads_from_before_the_stage_counters_still_asks_where_they_go(
    flow: Flow, demo: dict[str, Any], aws: dict[str, str]
) -> None:
    # Given a lead qualified before stage counters existed: only the dashboard's counters know it
    lead = _lead(flow, demo, "9876500410")
    _status(flow, lead, "qualified")
    flow.run_aggregates()
    boto3.client("dynamodb").delete_item(TableName=aws["ORG_TABLE"],
                                         Key={"pk": {"S": "STAGECOUNT"}, "sk": {"S": "qualified"}})  # fmt: skip
    assert flow.get("/pipeline")[1]["in_use"] == {}
    # When an admin retires the qualified stage without saying where its leads go: refused
    pipeline = flow.get("/pipeline")[1]
    stage = next(s for s in pipeline["stages"] if s["stage_id"] == "qualified")
    stage["retired"] = True
    status, answer = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 409 and answer["error"] == "stage_in_use" and "1 leads" in answer["message"]
    # And with a destination it is done: the lead shows as contacted
    stage["moved_to"] = "contacted"
    assert flow.call("PUT", "/pipeline", body=pipeline)[0] == 200
    assert flow.get(f"/leads/{lead['lead_id']}")[1]["stage"] == "contacted"


def test_the_csv_export_filters_by_a_custom_stage_as_the_list_does(flow: Flow, demo: dict[str, Any]) -> None:
    # Given a custom open stage holding one of two leads
    _custom(flow)
    visited, other = _lead(flow, demo, "9876500301"), _lead(flow, demo, "9876500302")
    assert _status(flow, visited, "site-visit-done")[0] == 200
    # When the list and the CSV export are asked for that stage
    listed = flow.get("/leads", query={"status": "site-visit-done"})[1]
    event = api_event("GET", "/leads/export", query={"status": "site-visit-done"}, claims=claims("admin"))
    response = flow.api(event, LambdaContext())
    status, exported = response["statusCode"], response["body"]
    # Then both hold that lead alone
    assert [lead["lead_id"] for lead in listed["items"]] == [visited["lead_id"]]
    assert status == 200 and visited["lead_id"] in exported and other["lead_id"] not in exported
