"""A custom pipeline on moto with the real handlers: stages as data with categories, presets, a
rename under existing leads that leaves history true, and retiring a stage in use."""

from __future__ import annotations

from typing import Any

from leadrelay.clock import get_clock
from tests.integration.flow import Flow


def _lead(flow: Flow, demo: dict[str, Any], phone: str) -> str:
    get_clock().advance(minutes=1)  # type: ignore[attr-defined]
    status, answer = flow.post("website", {"phone": phone, "name": "Asha"}, demo["website"]["key"])
    assert status == 202
    flow.run_router()
    return str(answer["lead_id"])


def _real_estate(flow: Flow) -> dict[str, Any]:
    status, pipeline = flow.call("POST", "/pipeline/presets/real_estate")
    assert status == 200, pipeline
    return pipeline


def test_an_organisation_starts_from_a_preset_and_moves_leads_through_it(flow: Flow, demo: dict[str, Any]) -> None:
    # Given the real-estate preset and a routed lead
    pipeline = _real_estate(flow)
    assert [s["stage_id"] for s in pipeline["stages"]][:3] == ["new", "contacted", "site_visit"]
    lead = _lead(flow, demo, "9876500401")
    # When the lead goes to the site-visit stage, then to booked (won: needs the deal value)
    status, moved = flow.call("PUT", f"/leads/{lead}/stage", body={"stage_id": "site_visit"})
    assert status == 200 and moved["lead"]["stage"] == "site_visit" and moved["category"] == "open"
    status, refused = flow.call("PUT", f"/leads/{lead}/stage", body={"stage_id": "booked"})
    assert status == 422 and refused["error"] == "missing_field" and "value" in refused["message"]
    status, moved = flow.call("PUT", f"/leads/{lead}/stage", body={"stage_id": "booked", "value": 7500000})
    # Then the lead is won (its category), which is what routing, follow-ups and reports read
    assert status == 200 and moved["lead"]["status"] == "won" and moved["lead"]["stage"] == "booked"
    assert flow.get("/pipeline")[1]["in_use"] == {"booked": 1}


def test_a_rename_under_existing_leads_keeps_their_stage_and_history(flow: Flow, demo: dict[str, Any]) -> None:
    # Given a lead in "Site visit"
    _real_estate(flow)
    lead = _lead(flow, demo, "9876500402")
    flow.call("PUT", f"/leads/{lead}/stage", body={"stage_id": "site_visit"})
    # When an admin renames the stage
    pipeline = flow.get("/pipeline")[1]
    for stage in pipeline["stages"]:
        if stage["stage_id"] == "site_visit":
            stage["label"] = "Site visit done"
    status, renamed = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 200 and renamed["version"] == pipeline["version"] + 1
    # Then the lead is still in the same stage, counted there, and its history says what it was called then
    assert flow.get(f"/leads/{lead}")[1]["stage"] == "site_visit"
    assert renamed["in_use"] == {"site_visit": 1}
    entry = next(e for e in flow.get(f"/leads/{lead}/timeline")[1]["items"] if e["kind"] == "lead.stage_changed")
    assert entry["data"]["to"] == "site_visit" and entry["data"]["to_label"] == "Site visit"
    # And the stale document is refused
    status, answer = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 409 and answer["error"] == "version_conflict"


def test_retiring_a_stage_in_use_asks_where_its_leads_go(flow: Flow, demo: dict[str, Any]) -> None:
    _real_estate(flow)
    lead = _lead(flow, demo, "9876500403")
    flow.call("PUT", f"/leads/{lead}/stage", body={"stage_id": "negotiation"})
    pipeline = flow.get("/pipeline")[1]
    stage = next(s for s in pipeline["stages"] if s["stage_id"] == "negotiation")
    stage["retired"] = True
    status, answer = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 409 and answer["error"] == "stage_in_use" and "moved_to" in answer["message"]
    stage["moved_to"] = "site_visit"
    status, answer = flow.call("PUT", "/pipeline", body=pipeline)
    assert status == 200, answer
    # A removed stage is refused (history names it); a retired one can no longer be entered
    without = {**answer, "stages": [s for s in answer["stages"] if s["stage_id"] != "contacted"]}
    assert flow.call("PUT", "/pipeline", body=without)[1]["error"] == "stage_removed"
    assert flow.call("PUT", f"/leads/{lead}/stage", body={"stage_id": "negotiation"})[1]["error"] == "unknown_stage"


def test_a_pipeline_needs_an_open_a_won_and_a_lost_stage(flow: Flow) -> None:
    pipeline = flow.get("/pipeline")[1]
    only_open = {**pipeline, "stages": [{**s, "category": "open"} for s in pipeline["stages"]]}
    status, answer = flow.call("PUT", "/pipeline", body=only_open)
    assert status == 422 and "won" in answer["message"]
