"""Screening a pool at once (routing/eligibility.py `RosterIndex`): backlog caps, loads, the
weekday of a shift, a replaced pool, and why a returning owner was passed over.

Each test decides more than once on the same roster, as a warm router does, so what the indexes
keep between decisions is exercised too.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from leadrelay.models import Agent, Lead, Pool, Shift
from leadrelay.routing.engine import decide
from leadrelay.routing.roster import Roster
from leadrelay.routing.rules import RuleChain

TZ = "Asia/Kolkata"
MONDAY_NOON_IST = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
CHAIN = RuleChain.model_validate({"default_pool_id": "p"})


def lead(**fields: object) -> Lead:
    return Lead(lead_id="L1", source_id="website", source_kind="generic", received_at=MONDAY_NOON_IST, **fields)


def roster(*agents: Agent, max_open_leads: int | None = None) -> Roster:
    ids = [agent.agent_id for agent in agents]
    pool = Pool(pool_id="p", name="p", agent_ids=ids, max_open_leads=max_open_leads)
    return Roster(agents={agent.agent_id: agent for agent in agents}, pools={"p": pool})


def test_an_agents_own_backlog_cap_holds_over_the_pools() -> None:
    # Given a pool capping backlogs at 2, one agent capped at 1 of their own, another at 3
    r = roster(Agent(agent_id="own1", name="A", max_open_leads=1), Agent(agent_id="own3", name="B", max_open_leads=3),
               Agent(agent_id="pool", name="C"), max_open_leads=2)  # fmt: skip
    # When each has 2 open leads
    r.open_leads = {"own1": 2, "own3": 2, "pool": 2}
    plan = decide(lead(), CHAIN, r, {}, MONDAY_NOON_IST, TZ)
    # Then the agent under their own cap takes it; the others' backlogs are full
    assert plan.candidates == ["own3"]
    assert plan.skipped == {"own1": "backlog_full", "pool": "backlog_full"}
    # And when the loads fall, the same roster screens them again
    r.open_leads = {"own1": 0, "own3": 3, "pool": 1}
    assert decide(lead(), CHAIN, r, {}, MONDAY_NOON_IST, TZ).candidates == ["own1", "pool"]


def test_a_load_below_zero_counts_as_zero_and_a_missing_one_as_none() -> None:
    # Given agents with a backlog cap of 1: one whose counter drifted below zero, one with no
    # counter, and one with a cap of 0
    r = roster(Agent(agent_id="drift", name="A", max_open_leads=1), Agent(agent_id="none", name="B", max_open_leads=1),
               Agent(agent_id="zero", name="C", max_open_leads=0))  # fmt: skip
    r.open_leads = {"drift": -1, "zero": -1}
    # When a lead is decided
    plan = decide(lead(), CHAIN, r, {}, MONDAY_NOON_IST, TZ)
    # Then the first two have room and a cap of 0 is always full
    assert plan.candidates == ["drift", "none"] and plan.skipped == {"zero": "backlog_full"}
    assert plan.max_open_leads == 1


def test_a_pool_replaced_with_a_new_cap_is_screened_by_the_new_cap() -> None:
    # Given a decision on a pool without a backlog cap
    r = roster(Agent(agent_id="a", name="A"), Agent(agent_id="b", name="B"))
    r.open_leads = {"a": 1}
    assert decide(lead(), CHAIN, r, {}, MONDAY_NOON_IST, TZ).candidates == ["a", "b"]
    # When the pool is replaced by one capping backlogs at 1, with the same members
    r.pools["p"] = Pool(pool_id="p", name="p", agent_ids=["a", "b"], max_open_leads=1)
    # Then the agent at the cap is skipped
    assert decide(lead(), CHAIN, r, {}, MONDAY_NOON_IST, TZ).skipped == {"a": "backlog_full"}


def test_a_monday_shift_does_not_cover_tuesday_at_the_same_hour() -> None:
    # Given an agent who works Mondays 09:00-18:00, and a decision on Monday at noon
    r = roster(Agent(agent_id="mon", name="M", shifts=[Shift(days=[0], start=time(9), end=time(18))]))
    assert decide(lead(), CHAIN, r, {}, MONDAY_NOON_IST, TZ).agent_id == "mon"
    # When the next lead comes on Tuesday at noon
    plan = decide(lead(), CHAIN, r, {}, MONDAY_NOON_IST + timedelta(days=1), TZ)
    # Then they are off shift
    assert plan.skipped == {"mon": "off_shift"}


def test_a_returning_owner_who_let_the_offer_pass_is_not_offered_it_again() -> None:
    # Given a reopened lead whose previous owner let its offer pass
    r = roster(Agent(agent_id="owner", name="O"), Agent(agent_id="other", name="X"))
    plan = decide(lead(return_to_agent_id="owner", offer_passed_by=["owner"]), CHAIN, r, {}, MONDAY_NOON_IST, TZ)
    # Then the rule chain decides, and the trace says why the owner was passed over
    assert plan.agent_id == "other" and plan.skipped == {"owner": "passed_on_offer"}
    assert (
        plan.rules[0].why
        == "reopened lead: previous owner owner let the offer of this lead pass; the rule chain decides"
    )


def test_a_pool_that_gains_a_member_in_place_is_screened_with_them() -> None:
    # Given a decision on a pool of one, with a pool cap and an offer timeout
    r = roster(Agent(agent_id="a", name="A"), Agent(agent_id="b", name="B", daily_cap=1), max_open_leads=2)
    r.pools["p"].agent_ids.remove("b")
    r.pools["p"].offer_timeout_s = 60
    assert decide(lead(), CHAIN, r, {}, MONDAY_NOON_IST, TZ).candidates == ["a"]
    # When the pool's member list gains an agent in place
    r.pools["p"].agent_ids.append("b")
    plan = decide(lead(), CHAIN, r, {"b": 1}, MONDAY_NOON_IST, TZ)
    # Then they are screened too (at their cap), and the plan carries the pool's backlog cap and
    # offer timeout
    assert plan.candidates == ["a"] and plan.skipped == {"b": "capped"}
    assert plan.max_open_leads == 2 and plan.offer_timeout_s == 60


def test_only_eligible_agents_at_their_soft_cap_are_demoted() -> None:
    # Given soft caps of 1: one agent with no lead today, one with one, one with one but off shift
    off = Shift(days=[0], start=time(20), end=time(21))
    r = roster(Agent(agent_id="fresh", name="F", soft_cap=1), Agent(agent_id="full", name="U", soft_cap=1),
               Agent(agent_id="away", name="W", soft_cap=1, shifts=[off]))  # fmt: skip
    # When a lead is decided
    plan = decide(lead(), CHAIN, r, {"full": 1, "away": 1}, MONDAY_NOON_IST, TZ)
    # Then only the eligible agent at their soft cap is demoted
    assert plan.demoted == ["full"] and plan.skipped == {"away": "off_shift"} and plan.agent_id == "fresh"


def test_every_rule_walked_past_is_in_the_trace_in_order() -> None:
    # Given a rule that may match by its city but fails on tags, then one for another city
    chain = RuleChain.model_validate({"default_pool_id": "p", "rules": [
        {"rule_id": "r0", "pool_id": "p", "when": {"all": [{"field": "city", "op": "eq", "value": "Pune"},
                                                           {"field": "tags", "op": "exists", "value": True}]}},
        {"rule_id": "r1", "pool_id": "p", "when": {"field": "city", "op": "eq", "value": "Delhi"}},
        {"rule_id": "r2", "pool_id": "p", "when": {"field": "city", "op": "eq", "value": "Pune"}},
    ]})  # fmt: skip
    r = roster(Agent(agent_id="a", name="A"))
    # When a Pune lead without tags is decided
    plan = decide(lead(city="Pune", budget=5), chain, r, {}, MONDAY_NOON_IST, TZ)
    # Then the third rule decides, and the trace lists the two before it, in order, as not matched
    assert plan.rule_id == "r2"
    assert [(t.rule_id, t.matched) for t in plan.rules] == [("r0", False), ("r1", False), ("r2", True)]
