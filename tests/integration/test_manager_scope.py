"""Scope on side routes: what a manager's simulation, back-test, report, lead list and override
register say depends on their own team only. Property: however another team's leads change (new
leads, statuses, reassignments), the NCR manager's answers stay exactly the same."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay.local.demo import DEMO_RULES, seed
from tests.integration.flow import Flow

SOUTH_CITIES = ["Chennai", "Bengaluru", "Hyderabad", "Kochi", "Coimbatore"]
SOUTH_LANGUAGES = [None, "ta", "kn", "te", "ml", "en"]
MANAGER = {"role": "manager", "username": "maya", "team_id": "ncr"}


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


def _post(flow: Flow, phone: str, city: str, language: str | None = None) -> str:
    body = {"phone": phone, "city": city, **({"language": language} if language else {})}
    status, answer = flow.post("website", body, flow.sources["website"]["key"])  # type: ignore[attr-defined]
    assert status == 202, answer
    return str(answer["lead_id"])


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in ("at", "until", "since")}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def manager_answers(flow: Flow) -> dict[str, Any]:
    """Everything the NCR manager can ask that evaluates many leads."""
    draft = DEMO_RULES.model_dump(mode="json", by_alias=True, exclude={"version", "published_at", "published_by"})
    calls = {
        "simulate_noida": flow.call("POST", "/routing/simulate", body={"city": "Noida"}, **MANAGER),
        "simulate_default": flow.call("POST", "/routing/simulate", body={"city": "Pune"}, **MANAGER),
        "simulate_tamil": flow.call("POST", "/routing/simulate", body={"city": "Chennai", "language": "ta"}, **MANAGER),
        "backtest": flow.call("POST", "/routing/backtest", body={"draft": draft, "days": 7}, **MANAGER),
        "attribution": flow.get("/reports/attribution", **MANAGER),
        "leads": flow.get("/leads", **MANAGER),
        "overrides": flow.get("/routing/overrides", **MANAGER),
    }
    for name, (status, body) in calls.items():
        assert status == 200, (name, body)
    return {name: _without_times(body) for name, (_, body) in calls.items()}


def test_a_manager_with_no_team_sees_nothing_team_scoped(flow: Flow) -> None:
    _post(flow, "9876500001", "Noida")
    flow.run_router()
    loose = {"role": "manager", "username": "loose"}
    _, backtest = flow.call("POST", "/routing/backtest", body={"draft": {"rules": [], "default_pool_id": "everyone"}},
                            **loose)  # fmt: skip
    assert backtest["window"]["leads"] == 0
    _, simulated = flow.call("POST", "/routing/simulate", body={"city": "Noida"}, **loose)
    assert simulated["agent_id"] is None and simulated["candidates"] == []
    assert flow.get("/reports/attribution", **loose)[1]["leads"] == 0
    assert flow.get("/leads", **loose)[1]["items"] == []


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    arrivals=st.lists(
        st.tuples(st.sampled_from(SOUTH_CITIES), st.sampled_from(SOUTH_LANGUAGES)), min_size=1, max_size=6
    ),
    close=st.lists(st.sampled_from(["won", "lost", "contacted"]), max_size=3),
    reassign=st.booleans(),
)
def test_another_teams_leads_never_change_a_managers_answers(
    flow: Flow, arrivals: list[tuple[str, str | None]], close: list[str], reassign: bool
) -> None:
    # Given NCR leads routed to the NCR team, and the NCR manager's answers (once, first example)
    state = flow.__dict__.setdefault("scope_state", {"phone": 9100000000})
    if "baseline" not in state:
        for n, city in enumerate(["Noida", "Delhi", "Gurugram"]):
            _post(flow, f"98111000{n:02d}", city)
        flow.run_router()
        state["baseline"] = manager_answers(flow)
    # When the South team's leads change: new arrivals, status changes, a manual reassignment
    new_ids = []
    for city, language in arrivals:
        state["phone"] += 1
        new_ids.append(_post(flow, str(state["phone"]), city, language))
    flow.run_router()
    for lead_id in new_ids:
        lead = flow.get(f"/leads/{lead_id}")[1]
        assert lead["assigned_team_id"] == "south", lead  # the premise: these are another team's leads
    for lead_id, status in zip(new_ids, close, strict=False):
        body = {"status": status, **({"reason": "budget too low"} if status == "lost" else {})}
        assert flow.call("PUT", f"/leads/{lead_id}/status", body=body)[0] == 200
    if reassign:
        owner = flow.get(f"/leads/{new_ids[-1]}")[1]["assigned_agent_id"]
        target = "deepa" if owner != "deepa" else "priya"
        flow.call(
            "POST", f"/leads/{new_ids[-1]}/reassign", body={"agent_id": target, "reason": "workload", "force": True}
        )
    # Then the NCR manager's simulations, back-test, report, list and override register are unchanged
    assert manager_answers(flow) == state["baseline"]


def test_a_manager_cannot_page_through_another_teams_agent(flow: Flow) -> None:
    # Given Priya (South) has leads
    for n in range(3):
        _post(flow, f"98222000{n:02d}", "Chennai", "ta")
    flow.run_router()
    # When the NCR manager lists leads by Priya, the answer is a 404: no items, and no cursor
    # (a cursor would encode the id of Priya's lead)
    status, body = flow.get("/leads", query={"agent_id": "priya", "limit": "1"}, **MANAGER)
    assert status == 404 and "next" not in body
    # While her own team's agents page as before
    assert flow.get("/leads", query={"agent_id": "anjali"}, **MANAGER)[0] == 200


def test_a_routing_trail_shows_a_manager_their_own_teams_counters_only(flow: Flow) -> None:
    # Given a Pune lead routed through the default pool, which holds both teams' agents
    lead_id = _post(flow, "9822200099", "Pune")
    flow.run_router()
    (admin_view,) = flow.get(f"/leads/{lead_id}/routing")[1]["items"]
    assert {"priya", "anjali"} <= set(admin_view["counters_before"])
    assert admin_view["agent_id"] == "anjali"  # round-robin's first pick in the default pool
    # When the NCR manager reads it
    status, body = flow.get(f"/leads/{lead_id}/routing", **MANAGER)
    assert status == 200
    (manager_view,) = body["items"]
    # Then the candidates and reasons are the same, the South agents' counters are not shown
    assert manager_view["candidates"] == admin_view["candidates"]
    assert set(manager_view["counters_before"]) <= {"anjali", "rahul", "meera"}
