"""Every path that gives a lead an owner checks the roster version it decided on, as the router does.

A manager's reassignment (`POST /leads/{id}/reassign`), the tick's SLA re-distribution and the
tick's queue of unassigned leads each read the roster, pick an agent, and commit; an agent's
acceptance of an offer reads the roster to see that they may still take leads, and commits. A roster change
(here: the picked agent put on leave) that completes between that read and the commit fails the
commit's roster version check (`CommitResult.ROSTER_MOVED`), and the move is decided again on the
new roster: it never lands with the agent as they were before the change. Each test puts the
picked agent on leave from a botocore hook that runs just before the move's TransactWriteItems.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.models import Agent, Pool, Source
from leadrelay.models.source import hash_key
from leadrelay.routing.rules import RuleChain
from leadrelay.store.dynamo import client
from tests.integration.flow import Flow
from tests.integration.followup_helpers import routed_lead, tick


@pytest.fixture(autouse=True)
def every_step_every_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("leadrelay.tick.runner.SLOW_STEPS_EVERY_MINUTES", 1)


@contextmanager
def before_the_move_commits(agent_id: str, lead_id: str, marker: str = '"DAY#') -> Iterator[list[int]]:
    """Put `agent_id` on leave just before the first transaction that gives `lead_id` to them
    (decided already, not sent yet; `marker`: a string only that transaction holds, by default
    the new owner's day counter). Yields how many times it did (0 or 1)."""
    fired: list[int] = []

    def leave(params: dict[str, Any] | None = None, **_: Any) -> None:
        body = (params or {}).get("body", b"")
        text = body.decode() if isinstance(body, bytes) else str(body)
        if fired or lead_id not in text or marker not in text or f"#{agent_id}" not in text:
            return
        fired.append(1)
        wiring.org_repository().set_availability(agent_id, "on_leave", None)  # UpdateItem: no recursion

    hook: Callable[..., None] = leave
    client().meta.events.register("before-call.dynamodb.TransactWriteItems", hook)
    try:
        yield fired
    finally:
        client().meta.events.unregister("before-call.dynamodb.TransactWriteItems", hook)


def routing(flow: Flow, lead_id: str) -> list[dict[str, Any]]:
    return flow.get(f"/leads/{lead_id}/routing")[1]["items"]


def test_a_manual_move_to_an_agent_put_on_leave_meanwhile_is_refused_as_on_leave(flow: Flow, demo) -> None:
    # Given a Noida lead routed to Anjali
    lead = routed_lead(flow, demo, "9876500401")
    lead_id = lead["lead_id"]
    assert lead["assigned_agent_id"] == "anjali"
    # When an admin moves it to Rahul, and Rahul is put on leave after the move was decided
    with before_the_move_commits("rahul", lead_id) as fired:
        status, body = flow.call("POST", f"/leads/{lead_id}/reassign", body={"agent_id": "rahul", "reason": "asked"})
    # Then the move is decided again on the new roster and answered as for an agent on leave
    assert fired == [1]
    assert status == 409 and body["error"] == "agent_not_eligible", body
    assert "on_leave" in body["message"] and '"force": true' in body["message"]
    # And the lead is still Anjali's, with nothing of the refused move written
    assert flow.get(f"/leads/{lead_id}")[1]["assigned_agent_id"] == "anjali"
    assert [d["trigger"] for d in routing(flow, lead_id)] == ["auto"]
    assert {a["agent_id"]: a for a in flow.get("/agents")[1]["items"]}["rahul"]["assigned_today"] == 0


def test_a_manual_move_to_a_pool_is_decided_again_when_its_pick_goes_on_leave(flow: Flow, demo) -> None:
    # Given a Noida lead routed to Anjali; the NCR pool's strategy picks Rahul (Meera is off shift)
    lead = routed_lead(flow, demo, "9876500402")
    lead_id = lead["lead_id"]
    # When an admin moves it to the NCR pool, and Rahul goes on leave after the pick
    with before_the_move_commits("rahul", lead_id) as fired:
        status, body = flow.call("POST", f"/leads/{lead_id}/reassign", body={"pool_id": "ncr", "reason": "busy"})
    # Then the pool decides again on the new roster: Rahul is on leave now, Meera off shift, and
    # Anjali had the lead, so nobody can take it; said so, and the lead stays with Anjali
    assert fired == [1]
    assert status == 409 and body["error"] == "nobody_eligible", body
    assert "rahul (on_leave)" in body["message"]
    assert flow.get(f"/leads/{lead_id}")[1]["assigned_agent_id"] == "anjali"
    assert [d["trigger"] for d in routing(flow, lead_id)] == ["auto"]


def test_an_sla_move_never_lands_with_an_agent_put_on_leave_after_the_pick(flow: Flow, demo, clock) -> None:
    # Given an SLA of 120 minutes and a Noida lead routed to Anjali, who does not call
    flow.call("PUT", "/settings/followups", body={"sla": {"first_contact_minutes": 120}})
    lead = routed_lead(flow, demo, "9876500403")
    lead_id = lead["lead_id"]
    assert lead["assigned_agent_id"] == "anjali"
    tick()  # the SLA clock starts
    clock.advance(minutes=116)
    # When the tick re-distributes it (to Rahul) and Rahul goes on leave after the pick
    with before_the_move_commits("rahul", lead_id) as fired:
        work = tick()["work"]
    # Then the move is decided again on the new roster: to someone else, and the trail says why
    assert fired == [1]
    assert work["sla_redistributed"] == 1
    after = flow.get(f"/leads/{lead_id}")[1]
    last = routing(flow, lead_id)[-1]
    assert last["trigger"] == "sla" and last["skipped"]["rahul"] == "on_leave"
    assert after["assigned_agent_id"] == last["agent_id"] and last["agent_id"] not in ("rahul", "anjali")
    assert {a["agent_id"]: a for a in flow.get("/agents")[1]["items"]}["rahul"]["assigned_today"] == 0


def test_a_queued_lead_is_not_given_to_an_agent_put_on_leave_after_the_pick(flow: Flow, demo, clock) -> None:
    # Given a lead left unassigned at night (everyone off shift or on leave)
    from datetime import UTC, datetime

    org = wiring.org_repository()
    back = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 09:30 IST Tuesday
    for agent_id in ("deepa", "meera", "arjun"):
        org.set_availability(agent_id, "on_leave", back)
    clock.advance(hours=14)  # 02:00 IST Tuesday
    lead = routed_lead(flow, demo, "9876500404")
    lead_id = lead["lead_id"]
    assert lead["status"] == "unassigned"
    # When Anjali's shift starts, the tick picks her, and she goes on leave after the pick
    clock.advance(hours=6, minutes=55)  # 09:00 IST
    with before_the_move_commits("anjali", lead_id) as fired:
        work = tick()["work"]
    # Then the lead is decided again on the new roster: to someone else, and the trail says why
    assert fired == [1]
    assert work["unassigned_assigned"] == 1
    after = flow.get(f"/leads/{lead_id}")[1]
    last = routing(flow, lead_id)[-1]
    assert last["trigger"] == "queue" and last["skipped"]["anjali"] == "on_leave"
    assert after["assigned_agent_id"] == last["agent_id"] != "anjali"
    assert {a["agent_id"]: a for a in flow.get("/agents")[1]["items"]}["anjali"]["assigned_today"] == 0


def test_an_offer_is_not_accepted_by_an_agent_put_on_leave_after_the_check(flow: Flow, clock) -> None:
    # Given a pool that offers each lead for two minutes, and a lead offered to Asha
    org = wiring.org_repository()
    for agent_id in ("asha", "bala"):
        org.put_agent(Agent(agent_id=agent_id, name=agent_id.title()))
    org.put_pool(Pool(pool_id="sales", name="Sales", agent_ids=["asha", "bala"], offer_timeout_s=120))
    org.publish_rule_chain(RuleChain(default_pool_id="sales"))
    org.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))
    status, body = flow.post("web", {"phone": "9876500405"}, "k")
    assert status == 202, body
    lead_id = body["lead_id"]
    flow.run_router()
    [offer] = flow.get("/offers", role="agent", agent_id="asha")[1]["items"]
    path = f"/offers/{offer['offer_id']}/accept"
    # When Asha accepts, and she is put on leave after her acceptance was checked, before its commit
    with before_the_move_commits("asha", lead_id, marker=offer["offer_id"]) as fired:
        status, body = flow.call("POST", path, role="agent", agent_id="asha")
    # Then the acceptance is checked again on the new roster and refused: she is on leave
    assert fired == [1]
    assert status == 409 and body["error"] == "agent_not_eligible", body
    assert "on_leave" in body["message"] and "goes back to routing" in body["message"]
    assert flow.get(f"/leads/{lead_id}")[1]["status"] == "offered"
    assert [d["outcome"] for d in routing(flow, lead_id)] == ["offered"]
    # And when the offer expires, the lead goes back to routing and to Bala
    clock.advance(seconds=121)
    assert tick()["work"]["offers_expired"] == 1
    flow.run_router()
    assert flow.get(f"/leads/{lead_id}")[1]["status"] == "offered"
    assert [o["lead_id"] for o in flow.get("/offers", role="agent", agent_id="bala")[1]["items"]] == [lead_id]
