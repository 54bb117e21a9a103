"""Backlog caps (`max_open_leads`) hold for manual reassignment and SLA re-distribution too, under
the same conditional writes as automatic routing (docs/routing.md#backlog-caps): a move to an
agent at their cap is refused with 409 `backlog_full` unless an admin forces it, which the
routing trail records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.models import Agent, Pool, Source, Strategy
from leadrelay.models.source import hash_key
from leadrelay.routing.reassign import Reassignment, ReassignRefused
from leadrelay.routing.router import RoutingContention
from leadrelay.routing.rules import RuleChain
from leadrelay.store.org import ROSTER, load_sk
from tests.integration.flow import Flow
from tests.integration.followup_helpers import routed_lead, tick
from tests.integration.local_fixtures import moto_server, own_tables  # noqa: F401 (fixture)

THREADS = 16


def _cap(agent_id: str, cap: int | None) -> None:
    org = wiring.org_repository()
    agent = org.get_agent(agent_id)
    assert agent is not None
    org.put_agent(agent.model_copy(update={"max_open_leads": cap}))


# -- over the API, on in-process moto -------------------------------------------------------------


def test_a_manual_move_to_an_agent_at_their_backlog_cap_is_refused_unless_an_admin_forces_it(
    flow: Flow, demo: dict[str, Any]
) -> None:
    # Given a lead of Anjali's, and Rahul already holding as many open leads as his cap allows (none)
    lead = routed_lead(flow, demo, "9876500031")
    assert lead["assigned_agent_id"] == "anjali"
    _cap("rahul", 0)
    path = f"/leads/{lead['lead_id']}/reassign"
    move = {"agent_id": "rahul", "reason": "asked for him"}
    # When the NCR manager moves it to Rahul: 409, saying why, and nothing moves
    status, body = flow.call("POST", path, role="manager", team_id="ncr", username="maya", body=move)
    assert status == 409 and body["error"] == "backlog_full", body
    assert "cap is 0" in body["message"] and "admin" in body["message"]
    # And a manager's force does not pass a backlog cap
    status, body = flow.call("POST", path, role="manager", team_id="ncr", username="maya", body={**move, "force": True})
    assert status == 403 and body["error"] == "forbidden" and "only an admin" in body["message"], body
    assert flow.get(f"/leads/{lead['lead_id']}")[1]["assigned_agent_id"] == "anjali"
    assert wiring.org_repository().load_roster().load("rahul") == 0
    # When an admin forces it
    status, body = flow.call("POST", path, username="asha", body={**move, "force": True})
    # Then it moves, and the routing trail says it was forced past the cap
    assert status == 200, body
    decision = body["decision"]
    assert decision["agent_id"] == "rahul" and decision["forced"] is True and decision["by"] == "asha"
    assert "forced past the backlog cap: 0 open, cap 0" in decision["reason"]
    trail = flow.get(f"/leads/{lead['lead_id']}/routing")[1]["items"]
    assert trail[-1]["forced"] is True and "backlog cap" in trail[-1]["reason"]
    assert wiring.org_repository().load_roster().load("rahul") == 1


def test_a_pool_default_backlog_cap_holds_for_a_move_to_one_of_its_agents(flow: Flow, demo: dict[str, Any]) -> None:
    # Given the NCR pool caps each member's backlog at 0 (Rahul has no cap of his own)
    lead = routed_lead(flow, demo, "9876500032")
    org = wiring.org_repository()
    ncr = org.load_roster().pools["ncr"]
    org.put_pool(ncr.model_copy(update={"max_open_leads": 0}))
    # When the lead is moved to Rahul by name, or to the pool
    by_name = flow.call("POST", f"/leads/{lead['lead_id']}/reassign", body={"agent_id": "rahul", "reason": "him"})
    to_pool = flow.call("POST", f"/leads/{lead['lead_id']}/reassign", body={"pool_id": "ncr", "reason": "anyone"})
    # Then both are refused: the pool's default applies to him either way
    assert by_name[0] == 409 and by_name[1]["error"] == "backlog_full", by_name
    assert to_pool[0] == 409 and to_pool[1]["error"] == "nobody_eligible", to_pool
    assert "backlog_full" in to_pool[1]["message"]


def test_sla_redistribution_holds_the_backlog_cap_when_another_router_fills_it_meanwhile(
    flow: Flow, demo: dict[str, Any], clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an SLA of 120 minutes, a lead of Anjali's nobody calls, and Rahul (the one the SLA step
    # would pick) allowed one open lead, holding none when the tick reads the roster
    status, _ = flow.call("PUT", "/settings/followups", body={"sla": {"first_contact_minutes": 120}})
    assert status == 200
    lead = routed_lead(flow, demo, "9876500033")
    assert lead["assigned_agent_id"] == "anjali"
    _cap("rahul", 1)
    tick()
    clock.advance(minutes=116)
    # And another router gives Rahul a lead between the tick's read and its commit
    from leadrelay.store.assignments import AssignmentStore

    original = AssignmentStore.reassign
    raced: list[str] = []

    def racing(self: AssignmentStore, *args: Any, **kwargs: Any) -> Any:
        if not raced:
            raced.append("rahul")
            boto3.client("dynamodb").update_item(
                TableName=self.org_table, Key={"pk": {"S": ROSTER}, "sk": {"S": load_sk("rahul")}},
                UpdateExpression="ADD open_leads :one", ExpressionAttributeValues={":one": {"N": "1"}},
            )  # fmt: skip
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AssignmentStore, "reassign", racing)
    # When the tick finds the SLA run out
    work = tick()["work"]
    # Then the lead does not go to Rahul over his cap: his load stays at the cap, and the step,
    # reading the roster again, moves it to someone under theirs
    assert raced == ["rahul"] and work["sla_redistributed"] == 1, work
    assert wiring.org_repository().load_roster().load("rahul") == 1
    moved = flow.get(f"/leads/{lead['lead_id']}")[1]["assigned_agent_id"]
    assert moved not in ("rahul", "anjali")
    sla = flow.get(f"/leads/{lead['lead_id']}/routing")[1]["items"][-1]
    assert sla["trigger"] == "sla" and sla["skipped"]["rahul"] == "backlog_full"


# -- under contention, on the moto server ---------------------------------------------------------


@pytest.fixture
def org(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:  # noqa: F811
    names = own_tables(moto_server, monkeypatch, "r")
    repo = wiring.org_repository()
    for agent_id, cap in {"owner": None, "b1": 3, "b2": None, "b3": None}.items():
        repo.put_agent(Agent(agent_id=agent_id, name=agent_id, max_open_leads=cap))
    repo.put_pool(Pool(pool_id="first", name="First", agent_ids=["owner"], strategy=Strategy.ROUND_ROBIN))
    # b2 and b3 take their backlog cap (2 each) from this pool's default
    repo.put_pool(Pool(pool_id="spare", name="Spare", agent_ids=["b2", "b3"], strategy=Strategy.LEAST_LOADED,
                       max_open_leads=2))  # fmt: skip
    repo.publish_rule_chain(RuleChain(default_pool_id="first"))
    repo.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))
    yield names
    wiring.reset()


def _owned_leads(count: int, offset: int) -> list[str]:
    """`count` leads routed to `owner`."""
    from tests.integration.test_offer_concurrency import _new_lead

    lead_ids = [_new_lead(offset + i) for i in range(count)]
    router, leads = wiring.router(), wiring.lead_repository()
    for lead_id in lead_ids:
        lead = leads.get(lead_id, consistent=True)
        assert lead is not None
        router.route(lead)
    assert {leads.get(lead_id).assigned_agent_id for lead_id in lead_ids} == {"owner"}  # type: ignore[union-attr]
    return lead_ids


def _move(lead_id: str, **target: Any) -> str:
    """One manager's move, retried as the API's `state_changed` answer asks; the outcome's code."""
    reassigner, leads = wiring.reassigner(), wiring.lead_repository()
    for _ in range(20):
        lead = leads.get(lead_id, consistent=True)
        assert lead is not None
        try:
            reassigner.reassign(lead, Reassignment(lead_id=lead_id, reason="spread the load", by="maya", **target))
            return "moved"
        except ReassignRefused as refused:
            if refused.code != "state_changed":
                return refused.code
        except RoutingContention:
            continue
    return "gave_up"


def test_16_managers_moving_leads_to_one_agent_at_once_never_pass_the_backlog_cap(org: dict[str, str]) -> None:
    # Given 12 leads held by one agent, and b1 who may hold 3 open leads
    lead_ids = _owned_leads(12, 300)
    # When 16 threads move each lead to b1 at once
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = Counter(pool.map(lambda lead_id: _move(lead_id, agent_id="b1"), lead_ids))
    # Then exactly three moved, every other move was refused as backlog_full
    assert outcomes == {"moved": 3, "backlog_full": 9}, outcomes
    leads = wiring.lead_repository()
    owners = Counter(leads.get(lead_id, consistent=True).assigned_agent_id for lead_id in lead_ids)  # type: ignore[union-attr]
    assert owners == {"b1": 3, "owner": 9}
    # And the open-leads counters agree with the leads
    roster = wiring.org_repository().load_roster()
    assert roster.load("b1") == 3 and roster.load("owner") == 9


def test_16_managers_moving_leads_to_a_pool_at_once_fill_each_member_to_the_pool_cap_only(
    org: dict[str, str],
) -> None:
    # Given 10 leads held by one agent, and a pool of two whose default backlog cap is 2
    lead_ids = _owned_leads(10, 400)
    # When 16 threads move each lead to the pool at once
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = Counter(pool.map(lambda lead_id: _move(lead_id, pool_id="spare"), lead_ids))
    # Then four moved (two each), the other six found nobody under the cap
    assert outcomes == {"moved": 4, "nobody_eligible": 6}, outcomes
    roster = wiring.org_repository().load_roster()
    assert roster.load("b2") == 2 and roster.load("b3") == 2 and roster.load("owner") == 6
