"""Accept-or-pass offers, presence and backlog caps through the real handlers on moto: webhook →
stream → route handler (an offer) → API (accept/decline) or the every-minute tick (expiry)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.models import Agent, Pool, Source, Strategy
from leadrelay.models.source import hash_key
from leadrelay.routing.rules import RuleChain
from tests.helpers import LambdaContext, ManualClock
from tests.integration.flow import Flow


def org_with(*agents: Agent, **pool: Any) -> None:
    org = wiring.org_repository()
    for agent in agents:
        org.put_agent(agent)
    org.put_pool(Pool(pool_id="sales", name="Sales", agent_ids=[a.agent_id for a in agents], **pool))
    org.publish_rule_chain(RuleChain(default_pool_id="sales"))
    org.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    return Flow(aws["LEADS_TABLE"])


def post(flow: Flow, phone: str) -> str:
    status, body = flow.post("web", {"phone": phone, "name": "Ravi"}, "k")
    assert status == 202, body
    return body["lead_id"]


def route(flow: Flow) -> None:
    assert all(r == {"batchItemFailures": []} for r in flow.run_router())


def lead(flow: Flow, lead_id: str) -> dict[str, Any]:
    status, body = flow.get(f"/leads/{lead_id}")
    assert status == 200, body
    return body


def trail(flow: Flow, lead_id: str) -> list[dict[str, Any]]:
    return flow.get(f"/leads/{lead_id}/routing")[1]["items"]


def offers_of(flow: Flow, agent_id: str) -> list[dict[str, Any]]:
    status, body = flow.get("/offers", role="agent", agent_id=agent_id)
    assert status == 200, body
    return body["items"]


def as_agent(flow: Flow, agent_id: str, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    return flow.call(method, path, role="agent", agent_id=agent_id, body=body)


def tick() -> dict[str, Any]:
    import followup_handler

    return followup_handler.handler({"detail": {"task": "tick"}}, LambdaContext())


def org_item(table: str, sk: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "ROSTER"}, "sk": {"S": sk}})
    return {k: next(iter(v.values())) for k, v in item.get("Item", {}).items()}


def test_an_offer_accepted_becomes_the_agents_lead_with_the_whole_chain_on_the_trail(flow: Flow) -> None:
    # Given a pool that offers each lead for two minutes
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"), offer_timeout_s=120)
    # When a lead arrives and is routed
    lead_id = post(flow, "9876500001")
    route(flow)
    # Then it is offered to asha, not assigned: status offered, an offer on her list only
    assert lead(flow, lead_id)["status"] == "offered"
    [offer] = offers_of(flow, "asha")
    assert set(offer) == {"offer_id", "lead_id", "agent_id", "expires_at"}
    assert offer["lead_id"] == lead_id and offer["agent_id"] == "asha"
    assert offers_of(flow, "bala") == []
    # And she cannot see it among her leads yet
    assert flow.get(f"/leads/{lead_id}", role="agent", agent_id="asha")[0] == 404
    # And nobody can move it or set its status while the offer is open (409, nothing changes)
    assert (
        flow.call("POST", f"/leads/{lead_id}/reassign", body={"agent_id": "bala", "reason": "asha is busy today"})[0]
        == 409
    )
    assert flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "contacted"})[0] == 409
    # When bala tries to accept asha's offer, nothing happens
    assert as_agent(flow, "bala", "POST", f"/offers/{offer['offer_id']}/accept")[0] == 409
    # When asha accepts
    status, body = as_agent(flow, "asha", "POST", f"/offers/{offer['offer_id']}/accept")
    # Then the lead is hers, and the offer is closed (a second accept is refused, not repeated)
    assert status == 200, body
    assert body["status"] == "assigned" and body["assigned_agent_id"] == "asha"
    assert offers_of(flow, "asha") == []
    assert as_agent(flow, "asha", "POST", f"/offers/{offer['offer_id']}/accept")[0] == 409
    # And the routing trail shows the chain: offered, then assigned by acceptance
    steps = [(d["outcome"], d["agent_id"], d["trigger"]) for d in trail(flow, lead_id)]
    assert steps == [("offered", "asha", "auto"), ("assigned", "asha", "offer_accepted")]
    timeline = [e["kind"] for e in flow.get(f"/leads/{lead_id}/timeline")[1]["items"]]
    assert "lead.offered" in timeline and timeline[-1] == "lead.assigned"


def test_a_declined_offer_passes_on_and_never_comes_back_to_who_declined(flow: Flow, aws: dict[str, str]) -> None:
    # Given a pool of two that offers each lead
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"), offer_timeout_s=120)
    lead_id = post(flow, "9876500002")
    route(flow)
    [offer] = offers_of(flow, "asha")
    # When asha declines
    status, body = as_agent(flow, "asha", "POST", f"/offers/{offer['offer_id']}/decline", {"note": "in a meeting"})
    assert status == 200, body
    # Then her day and backlog counters are released, and the stream routes the lead again: to bala
    assert int(org_item(aws["ORG_TABLE"], "LOAD#asha")["open_leads"]) == 0
    route(flow)
    [second] = offers_of(flow, "bala")
    assert second["lead_id"] == lead_id
    # When bala declines too, nobody is left: it is unassigned, not offered back to asha
    as_agent(flow, "bala", "POST", f"/offers/{second['offer_id']}/decline")
    route(flow)
    assert offers_of(flow, "asha") == []
    assert lead(flow, lead_id)["status"] == "unassigned"
    last = trail(flow, lead_id)[-1]
    assert last["skipped"] == {"asha": "passed_on_offer", "bala": "passed_on_offer"}
    outcomes = [d["outcome"] for d in trail(flow, lead_id)]
    assert outcomes == ["offered", "declined", "offered", "declined", "unassigned"]


def test_offers_left_to_expire_pass_on_at_the_tick_and_k_in_a_row_check_the_agent_out(
    flow: Flow, clock: ManualClock
) -> None:
    # Given a pool that offers for a minute and checks out after two expiries in a row
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"),
             offer_timeout_s=60, checkout_after_expiries=2)  # fmt: skip
    first = post(flow, "9876500003")
    route(flow)
    bala_offer = None
    # When asha lets her offer expire (the tick before the minute leaves it alone)
    clock.advance(seconds=30)
    assert tick()["work"]["offers_expired"] == 0
    clock.advance(seconds=31)
    assert tick()["work"]["offers_expired"] == 1
    # Then the lead is routed on, to bala
    route(flow)
    [bala_offer] = offers_of(flow, "bala")
    assert bala_offer["lead_id"] == first
    as_agent(flow, "bala", "POST", f"/offers/{bala_offer['offer_id']}/accept")
    # When asha lets a second offer expire in a row
    second = post(flow, "9876500004")
    route(flow)
    assert offers_of(flow, "asha")[0]["lead_id"] == second
    clock.advance(seconds=61)
    work = tick()["work"]
    # Then she is checked out, told why, and her manager sees it
    assert work["offers_expired"] == 1 and work["agents_checked_out"] == 1
    status, agents = flow.get("/agents")
    asha = next(a for a in agents["items"] if a["agent_id"] == "asha")
    assert asha["presence"] == "checked_out" and "2 offers expire in a row" in asha["presence_reason"]
    expired = [d for d in trail(flow, second) if d["outcome"] == "expired"]
    assert "checked out automatically" in expired[0]["reason"]
    # And routing skips her: a new lead goes to bala, explaining why
    route(flow)  # the second lead, passed on to bala
    third = post(flow, "9876500005")
    route(flow)
    assert trail(flow, third)[-1]["skipped"]["asha"] == "checked_out"
    # When she checks in again, she is back in the rotation
    status, body = as_agent(flow, "asha", "POST", "/agents/me/check-in")
    assert status == 200 and body["presence"] == "checked_in"
    fourth = post(flow, "9876500006")
    route(flow)
    assert offers_of(flow, "asha")[-1]["lead_id"] == fourth
    # And a second tick over an already expired offer changes nothing (idempotent)
    assert tick()["work"]["offers_expired"] == 0


def test_a_checked_out_agent_is_skipped_without_offers(flow: Flow) -> None:
    # Given a plain round-robin pool where asha checks out for lunch
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"))
    status, body = as_agent(flow, "asha", "POST", "/agents/me/check-out", {"note": "lunch"})
    assert status == 200 and body["presence"] == "checked_out" and body["presence_reason"] == "lunch"
    # When two leads arrive, both go to bala
    ids = [post(flow, "9876500011"), post(flow, "9876500012")]
    route(flow)
    assert [lead(flow, i)["assigned_agent_id"] for i in ids] == ["bala", "bala"]
    assert trail(flow, ids[0])[-1]["skipped"] == {"asha": "checked_out"}
    # And only an agent can check in or out (an admin has no presence)
    assert flow.call("POST", "/agents/me/check-in")[0] == 400


def test_backlog_cap_skips_a_full_agent_until_a_lead_moves(flow: Flow, aws: dict[str, str], clock: ManualClock) -> None:
    # Given asha may hold one open lead, and the pool caps the rest at two
    org_with(Agent(agent_id="asha", name="Asha", max_open_leads=1), Agent(agent_id="bala", name="Bala"),
             max_open_leads=2, strategy=Strategy.ROUND_ROBIN)  # fmt: skip
    # When four leads arrive
    ids = [post(flow, f"98765000{20 + i}") for i in range(4)]
    route(flow)
    owners = [lead(flow, i)["assigned_agent_id"] for i in ids]
    # Then asha holds one, bala two, and the fourth waits unassigned, saying why
    assert owners.count("asha") == 1 and owners.count("bala") == 2 and owners.count(None) == 1
    waiting = ids[owners.index(None)]
    assert trail(flow, waiting)[-1]["skipped"] == {"asha": "backlog_full", "bala": "backlog_full"}
    # When asha's lead is closed as lost
    asha_lead = ids[owners.index("asha")]
    status, body = flow.call("PUT", f"/leads/{asha_lead}/status", body={"status": "lost", "reason": "not interested"})
    assert status == 200, body
    # Then at the next tick the waiting lead goes to her
    assert int(org_item(aws["ORG_TABLE"], "LOAD#asha")["open_leads"]) == 0
    clock.advance(minutes=1)
    tick()
    assert lead(flow, waiting)["assigned_agent_id"] == "asha"


def test_fairness_ledger_counts_offers_and_shares(flow: Flow, clock: ManualClock) -> None:
    # Given a pool with offers, where asha accepts and bala declines
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"), offer_timeout_s=300)
    clock.advance(minutes=60)
    for n in range(4):
        post(flow, f"98765000{40 + n}")
        route(flow)
        for agent_id in ("asha", "bala"):
            for offer in offers_of(flow, agent_id):
                verb = "accept" if agent_id == "asha" else "decline"
                as_agent(flow, agent_id, "POST", f"/offers/{offer['offer_id']}/{verb}")
        route(flow)
        for offer in offers_of(flow, "asha"):
            as_agent(flow, "asha", "POST", f"/offers/{offer['offer_id']}/accept")
    clock.advance(minutes=1)
    # When the manager asks for today's ledger of the pool
    status, body = flow.get("/routing/fairness", query={"pool_id": "sales"})
    # Then every offer, pass and assignment is counted per agent, with the shares
    assert status == 200, body
    rows = {row["agent_id"]: row for row in body["items"]}
    assert rows["asha"]["assigned"] == 4 and rows["asha"]["accepted"] == 4
    # (round-robin offers bala every lead after the first: a pass uses the turn)
    assert rows["asha"]["offers"] == 4 and rows["asha"]["passed"] == 0
    assert rows["bala"]["offers"] == 3 and rows["bala"]["passed"] == 3 and rows["bala"]["assigned"] == 0
    assert rows["asha"]["actual_share"] == 1.0 and rows["asha"]["expected_share"] == 0.5
    assert rows["asha"]["by_source"] == {"generic": 4}
    assert rows["asha"]["eligible_minutes"] == rows["bala"]["eligible_minutes"] > 0
    # And a bad window is a clear 400
    assert flow.get("/routing/fairness", query={"from": "2026-11-30", "to": "2026-11-01"})[0] == 400
    assert flow.get("/routing/fairness", query={"from": "2026-10-01", "to": "2026-11-30"})[0] == 400


def test_accrued_turns_through_the_assignment_transaction(flow: Flow, aws: dict[str, str]) -> None:
    # Given a round-robin pool that keeps accrued turns, and bala on leave
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"),
             Agent(agent_id="chitra", name="Chitra"), accrued_turns=True)  # fmt: skip
    assert flow.call("PUT", "/agents/bala/availability", body={"status": "on_leave"})[0] == 200
    # When four leads arrive while she is away
    for n in range(4):
        post(flow, f"98765000{60 + n}")
    route(flow)
    # Then each counted as a missed turn on her round-robin item, and the trail says so
    assert int(org_item(aws["ORG_TABLE"], "RR#sales#bala")["missed"]) == 4
    # When she is back, she gets her regular turn, then extra turns at most one lead in three
    assert flow.call("PUT", "/agents/bala/availability", body={"status": "available"})[0] == 200
    ids = [post(flow, f"98765000{70 + n}") for n in range(6)]
    route(flow)
    decisions = [trail(flow, lead_id)[-1] for lead_id in ids]
    owners = [d["agent_id"] for d in decisions]
    assert owners.count("bala") == 3, owners
    # (her regular turns, and one extra: the item now owes her three)
    assert sum(1 for d in decisions if "accrued turn: bala" in d["reason"]) == 1
    assert int(org_item(aws["ORG_TABLE"], "RR#sales#bala")["missed"]) == 3


def test_a_lead_waiting_unassigned_in_an_offers_pool_is_offered_when_someone_checks_in(
    flow: Flow, clock: ManualClock
) -> None:
    # Given an offers pool where bala is checked out and asha declines the lead
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"), offer_timeout_s=120)
    as_agent(flow, "bala", "POST", "/agents/me/check-out")
    lead_id = post(flow, "9876500081")
    route(flow)
    [offer] = offers_of(flow, "asha")
    as_agent(flow, "asha", "POST", f"/offers/{offer['offer_id']}/decline")
    route(flow)
    assert lead(flow, lead_id)["status"] == "unassigned"
    # When bala checks in and the tick looks at the queue
    as_agent(flow, "bala", "POST", "/agents/me/check-in")
    clock.advance(minutes=1)
    assert tick()["work"]["unassigned_to_offer"] == 1
    route(flow)
    # Then the lead is offered to bala, not assigned to him unasked
    assert lead(flow, lead_id)["status"] == "offered"
    assert [o["lead_id"] for o in offers_of(flow, "bala")] == [lead_id]


def test_an_offer_to_an_agent_put_on_leave_passes_on_at_once_not_at_its_timeout(
    flow: Flow, aws: dict[str, str]
) -> None:
    # Given a pool that offers each lead for an hour, asha's expiry streak at 1, and an offer to her
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"),
             offer_timeout_s=3600, checkout_after_expiries=3)  # fmt: skip
    boto3.client("dynamodb").put_item(
        TableName=aws["ORG_TABLE"],
        Item={"pk": {"S": "ROSTER"}, "sk": {"S": "STREAK#asha"}, "expired_in_row": {"N": "1"}},
    )
    lead_id = post(flow, "9876500011")
    route(flow)
    [offer] = offers_of(flow, "asha")
    # When her manager puts her on leave
    status, body = flow.call("PUT", "/agents/asha/availability", body={"status": "on_leave"})
    assert status == 200, body
    # Then the offer is gone from her list, her counters are released, and the lead is routing
    # again, without waiting the hour: the stream hands it to bala
    assert offers_of(flow, "asha") == []
    assert int(org_item(aws["ORG_TABLE"], "LOAD#asha")["open_leads"]) == 0
    route(flow)
    [passed_on] = offers_of(flow, "bala")
    assert passed_on["lead_id"] == lead_id
    # And the trail says why, as the system's doing, not hers
    withdrawn = [d for d in trail(flow, lead_id) if d["outcome"] == "withdrawn"]
    assert len(withdrawn) == 1
    assert withdrawn[0]["trigger"] == "offer_withdrawn" and withdrawn[0]["by"] is None
    assert f"offer {offer['offer_id']} to asha withdrawn: asha is on_leave now" == withdrawn[0]["reason"]
    # And her expiry streak is what it was (a leave is not an unanswered offer)
    assert int(org_item(aws["ORG_TABLE"], "STREAK#asha")["expired_in_row"]) == 1
    # And she can no longer accept it
    assert as_agent(flow, "asha", "POST", f"/offers/{offer['offer_id']}/accept")[0] == 409


def test_a_break_keeps_the_offer_and_the_tick_withdraws_what_changed_without_the_api(flow: Flow) -> None:
    # Given an offer to asha
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"), offer_timeout_s=3600)
    lead_id = post(flow, "9876500012")
    route(flow)
    [offer] = offers_of(flow, "asha")
    # When she starts a break, the offer stays hers to take (a break does not stop an offer)
    status, body = as_agent(flow, "asha", "PUT", "/agents/asha/availability", {"status": "on_break"})
    assert status == 200, body
    assert offers_of(flow, "asha") == [offer]
    assert tick()["work"]["offers_withdrawn"] == 0
    # When she is taken out of the pool by a change that bypasses the API (a script, a restore)
    org = wiring.org_repository()
    pool = org.load_roster().pools["sales"]
    org.put_pool(pool.model_copy(update={"agent_ids": ["bala"]}))
    # Then the next tick withdraws the offer, and the lead goes to bala
    assert tick()["work"]["offers_withdrawn"] == 1
    assert offers_of(flow, "asha") == []
    route(flow)
    assert offers_of(flow, "bala")[0]["lead_id"] == lead_id
    # And a second tick finds nothing more to withdraw (idempotent)
    assert tick()["work"]["offers_withdrawn"] == 0


def test_removing_an_agent_from_the_pool_through_the_api_passes_their_offers_on(flow: Flow) -> None:
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"), offer_timeout_s=3600)
    lead_id = post(flow, "9876500013")
    route(flow)
    assert offers_of(flow, "asha")[0]["lead_id"] == lead_id
    status, body = flow.call(
        "PUT", "/pools/sales", body={"name": "Sales", "agent_ids": ["bala"], "offer_timeout_s": 3600}
    )
    assert status == 200, body
    assert offers_of(flow, "asha") == []
    route(flow)
    assert offers_of(flow, "bala")[0]["lead_id"] == lead_id


def test_removing_the_offered_agent_passes_their_offer_on(flow: Flow) -> None:
    # Given an hour-long offer to asha
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"), offer_timeout_s=3600)
    lead_id = post(flow, "9876500014")
    route(flow)
    assert offers_of(flow, "asha")[0]["lead_id"] == lead_id
    # When the admin removes her
    status, body = flow.call("DELETE", "/agents/asha")
    assert status == 204, body
    # Then the offer is withdrawn at once, saying why, and the lead goes to bala
    assert wiring.offer_store().for_agent("asha") == []
    [withdrawn] = [d for d in trail(flow, lead_id) if d["outcome"] == "withdrawn"]
    assert withdrawn["reason"].endswith("asha is no longer an agent")
    route(flow)
    assert offers_of(flow, "bala")[0]["lead_id"] == lead_id
