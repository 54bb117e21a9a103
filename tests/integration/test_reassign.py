"""Manual override: a manager or admin moves a lead, with a reason; history survives (invariant 6)."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from tests.integration.flow import Flow


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


def routed_noida_lead(flow: Flow, phone: str = "9876500021") -> dict[str, Any]:
    """A Noida lead at 12:00 IST on Monday: the ncr pool gives it to anjali."""
    _, body = flow.post("website", {"phone": phone, "city": "Noida"}, flow.sources["website"]["key"])  # type: ignore[attr-defined]
    flow.run_router()
    lead = flow.get(f"/leads/{body['lead_id']}")[1]
    assert lead["assigned_agent_id"] == "anjali"
    return lead


def test_a_manager_moves_a_lead_and_the_new_agent_sees_its_whole_history(flow: Flow) -> None:
    # Given a lead routed to Anjali (NCR)
    lead = routed_noida_lead(flow)
    lead_id = lead["lead_id"]
    # When the NCR manager moves it to Rahul, saying why
    status, body = flow.call("POST", f"/leads/{lead_id}/reassign", role="manager", team_id="ncr", username="maya",
                             body={"agent_id": "rahul", "reason": "speaks Punjabi with the customer"})  # fmt: skip
    # Then the lead is Rahul's
    assert status == 200, body
    assert body["lead"]["assigned_agent_id"] == "rahul" and body["lead"]["assigned_team_id"] == "ncr"
    # And Rahul sees the lead and every earlier event, plus the reassignment
    assert flow.get(f"/leads/{lead_id}", role="agent", agent_id="rahul")[0] == 200
    timeline = flow.get(f"/leads/{lead_id}/timeline", role="agent", agent_id="rahul")[1]["items"]
    assert [e["kind"] for e in timeline] == ["lead.created", "lead.assigned", "lead.reassigned"]
    moved = timeline[-1]
    assert moved["actor"] == "maya" and moved["data"]["from_agent_id"] == "anjali" and "Punjabi" in moved["summary"]
    # And Anjali no longer sees it
    assert flow.get(f"/leads/{lead_id}", role="agent", agent_id="anjali")[0] == 404
    assert flow.get("/leads", role="agent", agent_id="anjali")[1]["items"] == []
    # And the audit trail reports the manual move apart from the automatic one
    routing = flow.get(f"/leads/{lead_id}/routing")[1]
    assert routing["triggers"] == {"auto": 1, "manual": 1}
    manual = routing["items"][-1]
    assert manual["trigger"] == "manual" and manual["by"] == "maya" and manual["previous_agent_id"] == "anjali"
    assert manual["note"] == "speaks Punjabi with the customer" and manual["agent_id"] == "rahul"
    # And Rahul's load today counts it
    agents = {a["agent_id"]: a for a in flow.get("/agents")[1]["items"]}
    assert agents["rahul"]["assigned_today"] == 1


def test_moving_to_a_pool_lets_its_strategy_pick_someone_other_than_the_current_owner(flow: Flow) -> None:
    lead = routed_noida_lead(flow)
    status, body = flow.call("POST", f"/leads/{lead['lead_id']}/reassign",
                             body={"pool_id": "ncr", "reason": "Anjali is overloaded"})  # fmt: skip
    assert status == 200, body
    decision = body["decision"]
    assert decision["agent_id"] == "rahul" and decision["pool_id"] == "ncr"
    assert decision["skipped"] == {"anjali": "already_had_lead", "meera": "off_shift"}


def test_a_hard_cap_holds_unless_forced_and_a_soft_cap_does_not_block(flow: Flow) -> None:
    org = wiring.org_repository()
    rahul = org.get_agent("rahul")
    assert rahul is not None
    org.put_agent(rahul.model_copy(update={"daily_cap": 0}))
    lead = routed_noida_lead(flow)
    path = f"/leads/{lead['lead_id']}/reassign"
    # Given Rahul is at his hard cap: refused, naming why
    status, body = flow.call("POST", path, body={"agent_id": "rahul", "reason": "asked for him"})
    assert status == 409 and body["error"] == "agent_not_eligible" and "capped" in body["message"]
    assert flow.get(f"/leads/{lead['lead_id']}")[1]["assigned_agent_id"] == "anjali"
    # With force, the admin may exceed it, and the decision says it was forced
    status, body = flow.call("POST", path, body={"agent_id": "rahul", "reason": "VIP asked for him", "force": True})
    assert status == 200 and body["decision"]["forced"] is True


def test_a_banned_agent_never_gets_a_lead_even_when_forced(flow: Flow) -> None:
    wiring.org_repository().set_availability("rahul", "banned", None)
    lead = routed_noida_lead(flow)
    status, body = flow.call("POST", f"/leads/{lead['lead_id']}/reassign",
                             body={"agent_id": "rahul", "reason": "try", "force": True})  # fmt: skip
    assert status == 409 and "banned" in body["message"]


def test_a_manager_cannot_move_leads_to_another_team_or_touch_another_teams_leads(flow: Flow) -> None:
    lead = routed_noida_lead(flow)
    path = f"/leads/{lead['lead_id']}/reassign"
    status, body = flow.call(
        "POST", path, role="manager", team_id="ncr", body={"agent_id": "priya", "reason": "x-team"}
    )
    assert status == 403 and body["error"] == "forbidden"
    status, _ = flow.call("POST", path, role="manager", team_id="south", body={"agent_id": "priya", "reason": "mine"})
    assert status == 404
    status, _ = flow.call("POST", path, role="agent", agent_id="anjali", body={"agent_id": "rahul", "reason": "swap"})
    assert status == 403


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"agent_id": "rahul"}, 422, "reason"),
        ({"agent_id": "rahul", "reason": "   "}, 422, "reason"),
        ({"reason": "no target"}, 422, "exactly one of agent_id or pool_id"),
        ({"agent_id": "rahul", "pool_id": "ncr", "reason": "both"}, 422, "exactly one"),
        ({"agent_id": "nobody", "reason": "who?"}, 422, "no agent 'nobody'"),
        ({"pool_id": "ghosts", "reason": "who?"}, 422, "no pool 'ghosts'"),
        ({"agent_id": "anjali", "reason": "same"}, 409, "already assigned to anjali"),
    ],
)
def test_bad_reassignments_get_a_4xx_naming_the_problem(
    flow: Flow, body: dict[str, Any], status: int, words: str
) -> None:
    lead = routed_noida_lead(flow)
    got, answer = flow.call("POST", f"/leads/{lead['lead_id']}/reassign", body=body)
    assert got == status and words in answer["message"], answer
    assert flow.get(f"/leads/{lead['lead_id']}")[1]["assigned_agent_id"] == "anjali"


def test_a_move_based_on_a_stale_read_is_refused(flow: Flow) -> None:
    # Given two moves prepared from the same read of the lead
    from leadrelay.routing.reassign import Reassigner, Reassignment, ReassignRefused
    from leadrelay.store.assignments import AssignmentStore

    lead_id = routed_noida_lead(flow)["lead_id"]
    stale = wiring.lead_repository().get(lead_id, consistent=True)
    assert stale is not None
    reassigner = Reassigner(org=wiring.org_repository(), assignments=AssignmentStore("test-leads", "test-org"),
                            clock=flow_clock(), timezone="Asia/Kolkata")  # fmt: skip
    reassigner.reassign(stale, Reassignment(lead_id=lead_id, agent_id="rahul", reason="first"))
    # When the second one commits, Then it is refused and the first one stands
    with pytest.raises(ReassignRefused) as refused:
        reassigner.reassign(stale, Reassignment(lead_id=lead_id, agent_id="meera", reason="second", force=True))
    assert refused.value.code == "lead_changed"
    assert flow.get(f"/leads/{lead_id}")[1]["assigned_agent_id"] == "rahul"


def test_an_unassigned_lead_can_be_given_to_someone_and_leaves_the_unassigned_queue(flow: Flow) -> None:
    org = wiring.org_repository()
    for agent_id in ("anjali", "rahul", "meera", "priya", "karthik", "arjun", "deepa"):
        org.set_availability(agent_id, "on_leave", None)
    _, body = flow.post("website", {"phone": "9876500031"}, flow.sources["website"]["key"])  # type: ignore[attr-defined]
    flow.run_router()
    lead_id = body["lead_id"]
    assert flow.get(f"/leads/{lead_id}")[1]["status"] == "unassigned"
    status, answer = flow.call("POST", f"/leads/{lead_id}/reassign", role="manager", team_id="ncr",
                               body={"agent_id": "rahul", "reason": "back early", "force": True})  # fmt: skip
    assert status == 200 and answer["lead"]["status"] == "assigned"
    assert flow.get("/leads", query={"status": "unassigned"})[1]["items"] == []


def flow_clock() -> Any:
    from leadrelay.clock import get_clock

    return get_clock()


def test_manual_overrides_are_reported_apart_from_automatic_routing(flow: Flow) -> None:
    # Given two leads routed automatically, one of which a manager then moves
    first = routed_noida_lead(flow, phone="9876513001")
    _, second = flow.post("website", {"phone": "9876513002"}, flow.sources["website"]["key"])  # type: ignore[attr-defined]
    flow.run_router()
    target = "rahul"
    status, _ = flow.call("POST", f"/leads/{first['lead_id']}/reassign", body={"agent_id": target,
                          "reason": "asked for a Punjabi speaker", "force": True}, username="root")  # fmt: skip
    assert status == 200
    # When the admin reads the override report
    status, report = flow.get("/routing/overrides", query={"days": "7"})
    # Then only the manual move is listed, with who did it, from whom to whom, and why
    assert status == 200 and report["total"] == 1 and report["by"] == {"root": 1} and report["forced"] == 1
    [move] = report["items"]
    assert move["lead_id"] == first["lead_id"] and move["agent_id"] == target
    assert move["from_agent_id"] == first["assigned_agent_id"] and move["reason"] == "asked for a Punjabi speaker"
    assert second["lead_id"] not in str(report)
    # and a manager of another team does not see it, agents cannot read the report at all
    assert flow.get("/routing/overrides", role="manager", team_id="ncr")[1]["total"] == 1
    assert flow.get("/routing/overrides", role="manager", team_id="south")[1]["total"] == 0
    assert flow.get("/routing/overrides", role="agent", agent_id="rahul")[0] == 403
