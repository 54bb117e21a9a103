"""The fast engine decides exactly as the straightforward one did, for any chain, roster and lead.

`decide()` evaluates only the rules its chain index says may match and screens a pool with a
per-roster index (routing/rules.py `ChainIndex`, routing/eligibility.py `RosterIndex`). The
reference (`reference_engine.reference_decide`) is the engine as it was before: every rule in
order, every agent one by one. Given random chains, rosters, counters and leads, when both decide,
then the plans are identical: winner, rule, pool, strategy, reason, candidates, skipped agents and
their reasons in pool order, demotions, caps, the strategy's state, and every rule trace.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from leadrelay.models import Agent, AgentStatus, Lead, Pool, Shift, Strategy
from leadrelay.models.agent import Presence
from leadrelay.models.lead import LeadStatus
from leadrelay.routing.engine import Plan, decide
from leadrelay.routing.roster import Roster, RoundRobinState
from leadrelay.routing.rules import ChainIndex, RuleChain, holds
from leadrelay.routing.strategies import pick_round_robin
from tests.unit.reference_engine import reference_decide

TZ = "Asia/Kolkata"
# A Wednesday noon in Kolkata; the decisions below move around it by up to a week.
BASE = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)
AGENT_IDS = ["a0", "a1", "a2", "a3", "a4", "a5"]
POOL_IDS = ["p0", "p1", "p2"]
# Values spelled the ways leads and rules spell them: case, outer spaces, empty, numbers as text.
TEXTS = ["Pune", " pune ", "PUNE", "Delhi", "delhi ", "", "  ", "411014", "4110", "110001", "mr", "hi", "4.5e6"]
NUMBERS = [0, 1, 9, 23, 411014, 110001, Decimal("4500000"), Decimal("1e6"), Decimal("2.5")]
TEXT_FIELDS = ["city", "state", "pincode", "language", "source_id", "product", "utm_source", "campaign_id", "extra.x"]
NUMERIC_FIELDS = ["budget", "pincode", "hour", "weekday", "extra.x"]

texts = st.sampled_from(TEXTS)
numbers = st.sampled_from(NUMBERS)


@st.composite
def field_conditions(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "prefix", "between", "gt", "gte", "lt", "lte",
                               "exists", "contains"]))  # fmt: skip
    if op in ("between", "gt", "gte", "lt", "lte"):
        field = draw(st.sampled_from(NUMERIC_FIELDS))
        # Bounds at the leads' own values too: a bound equal to the value decides gt from gte.
        top = {"hour": 23, "weekday": 6}.get(field)
        bounds = st.integers(0, top) if top else st.sampled_from([0, 1, 2, 9, 23, 4110, 110001, 411014, 4500000])
        low = draw(bounds)
        if op == "between":
            high = draw(bounds)
            return {"field": field, "op": op, "value": [min(low, high), max(low, high)]}
        return {"field": field, "op": op, "value": low}
    if op == "exists":
        return {
            "field": draw(st.sampled_from([*TEXT_FIELDS, "tags", "budget"])),
            "op": op,
            "value": draw(st.booleans()),
        }
    if draw(st.integers(0, 5)) == 0:  # hour and weekday compare as numbers
        field = draw(st.sampled_from(["hour", "weekday"]))
        options = draw(st.lists(st.integers(0, 6), min_size=1, max_size=3))
        if op in ("in", "not_in"):
            return {"field": field, "op": op, "value": options}
        if op in ("eq", "ne"):
            return {"field": field, "op": op, "value": options[0]}
    field = draw(st.sampled_from([*TEXT_FIELDS, "tags", "budget"]))
    options = draw(st.lists(st.one_of(texts, numbers), min_size=1, max_size=3))
    if op in ("in", "not_in"):
        return {"field": field, "op": op, "value": options}
    if op == "prefix" and draw(st.booleans()):
        return {"field": field, "op": op, "value": [str(option) for option in options]}
    return {"field": field, "op": op, "value": options[0]}


conditions = st.recursive(
    field_conditions(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"all": parts}),
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"any": parts}),
        inner.map(lambda part: {"not": part}),
    ),
    max_leaves=5,
)


@st.composite
def chains(draw: st.DrawFn) -> RuleChain:
    rules = []
    for index in range(draw(st.integers(0, 7))):
        rules.append(
            {
                "rule_id": f"r{index}",
                "when": draw(st.none() | conditions),
                "pool_id": draw(st.sampled_from([*POOL_IDS, "gone"])),
                "fall_through": draw(st.booleans()),
                "require_language": draw(st.booleans()),
                "require_territory": draw(st.booleans()),
                "strategy": draw(st.none() | st.sampled_from(list(Strategy))),
            }
        )
    spec = {
        "version": 1,
        "rules": rules,
        "default_pool_id": draw(st.none() | st.sampled_from(POOL_IDS)),
        "daily_cap_per_agent": draw(st.none() | st.integers(0, 4)),
    }
    try:
        return RuleChain.model_validate(spec)
    except ValidationError:  # e.g. contradictory ranges inside an `all`
        assume(False)
        raise


@st.composite
def shifts(draw: st.DrawFn) -> Shift:
    start = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30, 59])), draw(st.sampled_from([0, 59])))
    end = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30, 59])), draw(st.sampled_from([0, 59])))
    return Shift(days=draw(st.lists(st.integers(0, 6), min_size=1, max_size=7)), start=start, end=end)


@st.composite
def agents(draw: st.DrawFn, agent_id: str) -> Agent:
    status = draw(st.sampled_from(list(AgentStatus)))
    until = draw(st.none() | st.integers(-6 * 24, 6 * 24).map(lambda halves: BASE + timedelta(minutes=30 * halves)))
    return Agent(
        agent_id=agent_id,
        name=agent_id,
        status=status,
        status_until=until,
        languages=draw(st.lists(st.sampled_from(["mr", "hi", "en"]), max_size=2)),
        territories=draw(st.lists(st.sampled_from(["Pune", " pune ", "Delhi", "Mumbai"]), max_size=2)),
        shifts=draw(st.lists(shifts(), max_size=2)),
        daily_cap=draw(st.none() | st.integers(0, 4)),
        soft_cap=draw(st.none() | st.integers(0, 3)),
        weight=draw(st.integers(1, 4)),
        presence=draw(st.sampled_from(list(Presence))),
        max_open_leads=draw(st.none() | st.integers(0, 3)),
    )


@st.composite
def rosters(draw: st.DrawFn) -> Roster:
    roster = Roster()
    for agent_id in draw(st.lists(st.sampled_from(AGENT_IDS), unique=True, max_size=len(AGENT_IDS))):
        roster.agents[agent_id] = draw(agents(agent_id))
    for pool_id in POOL_IDS:
        if draw(st.integers(0, 5)) == 0:
            continue  # a pool the chain names may be gone
        roster.pools[pool_id] = Pool(
            pool_id=pool_id,
            name=pool_id,
            # Unknown agents and an agent listed twice happen in stored pools too.
            agent_ids=draw(st.lists(st.sampled_from([*AGENT_IDS, "ghost"]), max_size=8)),
            strategy=draw(st.sampled_from(list(Strategy))),
            max_open_leads=draw(st.none() | st.integers(0, 3)),
            accrued_turns=draw(st.booleans()),
        )
    for pool_id, pool in roster.pools.items():
        for agent_id in pool.agent_ids:
            if draw(st.booleans()):
                roster.round_robin[(pool_id, agent_id)] = RoundRobinState(
                    last_assigned_ms=draw(st.integers(0, 5)),
                    total=draw(st.integers(0, 5)),
                    exists=True,
                    missed=draw(st.integers(0, 2)),
                )
    roster.open_leads = draw(st.dictionaries(st.sampled_from(AGENT_IDS), st.integers(-1, 4)))
    return roster


lead_values = st.none() | texts
extras = st.dictionaries(st.just("x"), st.none() | texts | numbers | st.lists(texts | numbers, max_size=2))


@st.composite
def leads(draw: st.DrawFn) -> Lead:
    return Lead(
        lead_id="L1",
        source_id=draw(st.sampled_from(["website", "Pune", "mr"])),
        source_kind="generic",
        received_at=BASE,
        city=draw(lead_values),
        state=draw(lead_values),
        pincode=draw(lead_values),
        language=draw(st.none() | st.sampled_from(["mr", "hi", "en", ""])),
        product=draw(lead_values),
        budget=draw(st.none() | st.sampled_from([Decimal(0), Decimal("2.5"), Decimal("4500000"), Decimal(411014)])),
        tags=draw(st.lists(texts, max_size=2)),
        extra=draw(extras),
        status=draw(st.sampled_from([LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.WON])),
        assigned_agent_id=draw(st.none() | st.sampled_from(AGENT_IDS)),
        return_to_agent_id=draw(st.none() | st.sampled_from([*AGENT_IDS, "ghost"])),
        offer_passed_by=draw(st.lists(st.sampled_from(AGENT_IDS), max_size=2)),
    )


@st.composite
def decisions(draw: st.DrawFn) -> tuple[Lead, datetime, dict[str, int], frozenset[str]]:
    # On a half-hour grid, as shifts start and end (Kolkata is UTC+05:30), at the minute's first
    # or last second and a microsecond after: the moments around which eligibility changes.
    now = BASE + timedelta(
        minutes=30 * draw(st.integers(-7 * 48, 7 * 48)),
        seconds=draw(st.sampled_from([0, 59])),
        microseconds=draw(st.sampled_from([0, 0, 1])),
    )
    counts = draw(st.dictionaries(st.sampled_from(AGENT_IDS), st.integers(0, 5)))
    excluded = frozenset(draw(st.lists(st.sampled_from(AGENT_IDS), max_size=2)))
    return draw(leads()), now, counts, excluded


def outcome(call: Any) -> dict[str, Any] | str:
    """Everything a plan says, or the error it raised."""
    try:
        plan: Plan = call()
    except Exception as error:
        return f"raised {type(error).__name__}"
    said = {f.name: getattr(plan, f.name) for f in dataclasses.fields(plan) if f.name != "steps"}
    said["rules"] = [trace.model_dump() for trace in plan.rules]
    said["deciding_rules"] = [trace.model_dump() for trace in plan.deciding_rules]
    said["rules_not_matched"] = plan.rules_not_matched
    return said


def both(lead: Lead, chain: RuleChain, roster: Roster, counts: dict[str, int], now: datetime,
         excluded: frozenset[str]) -> tuple[Any, Any]:  # fmt: skip
    fast = outcome(lambda: decide(lead, chain, roster, counts, now, TZ, excluded))
    slow = outcome(lambda: reference_decide(lead, chain, roster, counts, now, TZ, excluded))
    return fast, slow


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(chain=chains(), roster=rosters(), runs=st.lists(decisions(), min_size=1, max_size=4))
def test_the_fast_engine_decides_exactly_as_the_reference(chain: RuleChain, roster: Roster, runs: list[Any]) -> None:
    # Given one chain and roster, kept between decisions as a warm router keeps them
    for lead, now, counts, excluded in runs:
        # When both engines decide the same lead at the same moment
        fast, slow = both(lead, chain, roster, counts, now, excluded)
        # Then the plans are identical, down to every skipped agent's reason and every trace
        assert fast == slow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(chain=chains(), roster=rosters(), first=decisions(), replacement=agents("a0"), members=st.lists(
    st.sampled_from(AGENT_IDS), max_size=6))  # fmt: skip
def test_a_changed_agent_or_pool_is_seen_by_the_next_decision(
    chain: RuleChain, roster: Roster, first: Any, replacement: Agent, members: list[str]
) -> None:
    # Given a decision that built the indexes of this roster
    lead, now, counts, excluded = first
    decide(lead, chain, roster, counts, now, TZ, excluded)
    # When an agent is replaced, one removed and a pool's members change in place
    roster.agents["a0"] = replacement
    roster.agents.pop("a1", None)
    if "p0" in roster.pools:
        roster.pools["p0"].agent_ids[:] = members
    # Then the next decision still matches the reference
    fast, slow = both(lead, chain, roster, counts, now, excluded)
    assert fast == slow


@settings(max_examples=150, deadline=None)
@given(cond=conditions, lead=leads(), minutes=st.integers(0, 7 * 24 * 60))
def test_a_rule_the_index_leaves_out_never_holds(cond: dict[str, Any], lead: Lead, minutes: int) -> None:
    # Given one rule with any condition
    try:
        chain = RuleChain.model_validate({"rules": [{"rule_id": "r", "when": cond, "pool_id": "p"}]})
    except ValidationError:
        assume(False)
        raise
    rule = chain.rules[0]
    local_now = (BASE + timedelta(minutes=minutes)).astimezone(ZoneInfo(TZ))
    # When the index says which rules may match the lead
    may = ChainIndex(chain.rules).candidates(lead, local_now)
    # Then a rule that holds is always among them
    if holds(rule.when, lead, local_now):  # type: ignore[arg-type]
        assert may == [0]


@given(stamps=st.lists(st.integers(0, 3), min_size=1, max_size=8))
def test_round_robin_picks_the_earliest_stamp_then_pool_order(stamps: list[int]) -> None:
    # Given candidates with stamps, some equal
    roster = Roster()
    candidates = [f"c{index}" for index in range(len(stamps))]
    for agent_id, stamp in zip(candidates, stamps, strict=True):
        roster.round_robin[("p", agent_id)] = RoundRobinState(stamp, 1, True)
    # When round-robin picks, Then it is the first candidate with the earliest stamp
    assert pick_round_robin("p", candidates, set(), roster) == candidates[stamps.index(min(stamps))]


def test_an_agent_is_on_shift_until_the_last_microsecond_of_its_end_and_not_after() -> None:
    # Given an agent whose shift ends at 12:30:00 in Kolkata, and a roster kept between leads
    agent = Agent(agent_id="a", name="A", shifts=[Shift(start=time(9), end=time(12, 30))])
    roster = Roster(agents={"a": agent}, pools={"p": Pool(pool_id="p", name="p", agent_ids=["a"])})
    chain = RuleChain.model_validate({"default_pool_id": "p"})
    lead = Lead(lead_id="L1", source_id="website", source_kind="generic", received_at=BASE)
    end = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 12:30 in Kolkata
    # When leads come at the end of the shift, a microsecond after, and at the end again
    moments = [end, end + timedelta(microseconds=1), end, end - timedelta(microseconds=1)]
    got = [decide(lead, chain, roster, {}, at, TZ).skipped for at in moments]
    # Then the agent takes them at the end and before it, and is off shift just after it
    assert got == [{}, {"a": "off_shift"}, {}, {}]


def test_leave_that_ends_now_is_over_for_the_next_lead() -> None:
    # Given an agent on leave until noon UTC, and a roster kept between leads
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    agent = Agent(agent_id="a", name="A", status=AgentStatus.ON_LEAVE, status_until=noon)
    roster = Roster(agents={"a": agent}, pools={"p": Pool(pool_id="p", name="p", agent_ids=["a"])})
    chain = RuleChain.model_validate({"default_pool_id": "p"})
    lead = Lead(lead_id="L1", source_id="website", source_kind="generic", received_at=BASE)
    # When leads come just before noon, at noon, and just before it again
    moments = [noon - timedelta(microseconds=1), noon, noon - timedelta(seconds=1)]
    got = [decide(lead, chain, roster, {}, at, TZ).agent_id for at in moments]
    # Then the leave holds until noon and is over at noon
    assert got == [None, "a", None]
