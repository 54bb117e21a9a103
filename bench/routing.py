"""Routing decision cost, CPU only: the real `decide()` over synthetic rosters and rule chains.

`decide(lead, chain, roster, counts_today, now, timezone)` takes no lead store and does no I/O:
its cost depends on the chain, the pools and the roster, never on how many leads are stored.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import Any

from leadrelay.models import Agent, AgentStatus, Lead, Pool, Shift
from leadrelay.routing.engine import Plan, decide
from leadrelay.routing.roster import Roster, RoundRobinState
from leadrelay.routing.rules import RuleChain

TIMEZONE = "Asia/Kolkata"
# A Wednesday, 14:30 in Kolkata: day shifts are on, night shifts off.
NOW = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
AGENT_COUNTS = (10, 100, 1000)
RULE_COUNTS = (10, 50, 100, 500)

CITIES = [
    "Delhi",
    "New Delhi",
    "Noida",
    "Greater Noida",
    "Gurugram",
    "Ghaziabad",
    "Faridabad",
    "Bengaluru",
    "Chennai",
    "Hyderabad",
    "Kochi",
    "Coimbatore",
    "Mumbai",
    "Thane",
    "Navi Mumbai",
    "Ahmedabad",
    "Surat",
    "Vadodara",
    "Jaipur",
    "Lucknow",
    "Kanpur",
    "Indore",
    "Bhopal",
    "Nagpur",
    "Kolkata",
    "Patna",
    "Ranchi",
    "Chandigarh",
    "Mohali",
    "Ludhiana",
    "Amritsar",
    "Dehradun",
    "Visakhapatnam",
    "Vijayawada",
    "Mysuru",
    "Mangaluru",
    "Madurai",
    "Thiruvananthapuram",
    "Bhubaneswar",
    "Guwahati",
]
STATES = [
    "Delhi",
    "Uttar Pradesh",
    "Haryana",
    "Karnataka",
    "Tamil Nadu",
    "Telangana",
    "Kerala",
    "Gujarat",
    "Rajasthan",
    "West Bengal",
    "Punjab",
    "Bihar",
    "Odisha",
    "Assam",
    "Madhya Pradesh",
]
LANGUAGES = ["hi", "en", "ta", "kn", "te", "ml", "gu", "pa", "bn", "or"]
# The leads being routed: Pune, Marathi. No rule below names Pune, Maharashtra, "mr" or 411…
WORST_LEAD = {
    "city": "Pune",
    "state": "Maharashtra",
    "pincode": "411014",
    "language": "mr",
    "budget": Decimal("4500000"),
    "product": "2BHK",
}


@dataclass
class Scenario:
    """One cell of the grid: the chain, the roster, today's counters and the lead to route."""

    agents: int
    rules: int
    chain: RuleChain
    roster: Roster
    counts_today: dict[str, int]
    lead: Lead
    matching_rule: str | None  # None: no rule matches, the default pool of all agents decides


def _agent(rng: random.Random, index: int) -> tuple[Agent, int]:
    """An agent and how many leads they have had today."""
    shape = rng.random()
    if shape < 0.4:
        shifts = [Shift(days=[0, 1, 2, 3, 4, 5], start=clock_time(9), end=clock_time(18))]
    elif shape < 0.7:
        shifts = [
            Shift(days=[0, 1, 2, 3, 4], start=clock_time(12), end=clock_time(21)),
            Shift(days=[5], start=clock_time(10), end=clock_time(14)),
        ]
    elif shape < 0.9:
        shifts = [Shift(days=list(range(7)), start=clock_time(21), end=clock_time(9))]  # overnight
    else:
        shifts = []  # always on shift
    status, until = AgentStatus.AVAILABLE, None
    roll = rng.random()
    if roll < 0.05:
        status, until = AgentStatus.ON_LEAVE, NOW + timedelta(days=2)
    elif roll < 0.08:
        status = AgentStatus.ON_BREAK
    elif roll < 0.10:
        status, until = AgentStatus.ON_LEAVE, NOW - timedelta(hours=1)  # leave has lapsed
    daily_cap = rng.randint(20, 60) if rng.random() < 0.7 else None
    soft_cap = (daily_cap or 60) // 2 if rng.random() < 0.3 else None
    today = rng.randint(0, (daily_cap or 40) + 5)  # some are at their cap
    agent = Agent(
        agent_id=f"agent-{index:04d}",
        name=f"Agent {index}",
        team_id=f"team-{index % 12}",
        status=status,
        status_until=until,
        languages=rng.sample(LANGUAGES, rng.randint(1, 3)),
        territories=rng.sample(CITIES, 2),
        shifts=shifts,
        daily_cap=daily_cap,
        soft_cap=soft_cap,
    )
    return agent, today


def _condition(rng: random.Random, index: int) -> dict[str, Any]:
    """A realistic condition that does not hold for WORST_LEAD (so the engine keeps walking)."""
    kind = index % 7
    if kind == 0:
        return {"field": "city", "op": "in", "value": rng.sample(CITIES, 8)}
    if kind == 1:
        return {
            "field": "pincode",
            "op": "prefix",
            "value": rng.sample(["110", "1201", "1220", "2013", "2010", "560", "600", "500", "682"], 3),
        }
    if kind == 2:
        low = rng.randint(100, 399) * 1000
        return {"field": "pincode", "op": "between", "value": [low, low + 999]}
    if kind == 3:
        return {"field": "language", "op": "in", "value": rng.sample(LANGUAGES, 2)}
    if kind == 4:  # the first part holds, the budget does not: both are evaluated
        return {
            "all": [
                {"field": "state", "op": "in", "value": ["Maharashtra", *rng.sample(STATES, 2)]},
                {"field": "budget", "op": "gte", "value": rng.randint(6, 50) * 1_000_000},
            ]
        }
    if kind == 5:  # nothing holds: every alternative is evaluated
        return {
            "any": [
                {"field": "city", "op": "in", "value": rng.sample(CITIES, 6)},
                {"field": "state", "op": "in", "value": rng.sample(STATES, 3)},
                {"field": "pincode", "op": "prefix", "value": ["110", "560"]},
            ]
        }
    return {
        "all": [
            {"field": "budget", "op": "gte", "value": 1_000_000},
            {"not": {"field": "language", "op": "in", "value": ["mr", "hi", "en"]}},
        ]
    }


def build_scenario(agents: int, rules: int, *, matching_rule_at: int | None = None, seed: int = 7) -> Scenario:
    """`agents` agents, `rules` rules that do not match the lead, and a default pool of everyone.

    With `matching_rule_at`, the rule at that index matches the lead instead (a typical lead that
    finds its rule part-way down the chain and is decided within that rule's small pool).
    """
    rng = random.Random(seed * 1_000_003 + agents * 1009 + rules)
    roster = Roster()
    counts: dict[str, int] = {}
    for index in range(agents):
        agent, today = _agent(rng, index)
        roster.agents[agent.agent_id] = agent
        counts[agent.agent_id] = today
    agent_ids = list(roster.agents)
    rule_list = []
    for index in range(rules):
        pool_id = f"pool-{index:03d}"
        members = rng.sample(agent_ids, min(len(agent_ids), rng.randint(5, 20)))
        roster.pools[pool_id] = Pool(pool_id=pool_id, name=f"Pool {index}", agent_ids=members)
        when = _condition(rng, index)
        if index == matching_rule_at:
            when = {
                "any": [
                    {"field": "city", "op": "in", "value": ["Pune", "Mumbai"]},
                    {"field": "pincode", "op": "prefix", "value": ["411"]},
                ]
            }
        rule_list.append(
            {
                "rule_id": f"rule-{index:03d}",
                "name": f"Rule {index}",
                "when": when,
                "pool_id": pool_id,
                "fall_through": rng.random() < 0.5,
                "require_language": rng.random() < 0.2,
            }
        )
    roster.pools["everyone"] = Pool(pool_id="everyone", name="Everyone (default)", agent_ids=agent_ids)
    for pool in roster.pools.values():
        for agent_id in pool.agent_ids:
            stamp = 1_700_000_000_000 + rng.randint(0, 86_400_000)
            roster.round_robin[(pool.pool_id, agent_id)] = RoundRobinState(stamp, rng.randint(0, 500), True)
    chain = RuleChain.model_validate({"version": 1, "rules": rule_list, "default_pool_id": "everyone"})
    lead = Lead(
        lead_id="01BENCH",
        source_id="website",
        source_kind="generic",
        received_at=NOW,
        name="Bench Lead",
        phone="+919800000000",
        **WORST_LEAD,
    )
    matching = f"rule-{matching_rule_at:03d}" if matching_rule_at is not None else None
    return Scenario(agents, rules, chain, roster, counts, lead, matching)


def decide_once(scenario: Scenario) -> Plan:
    return decide(scenario.lead, scenario.chain, scenario.roster, scenario.counts_today, NOW, TIMEZONE)


def time_decide(scenario: Scenario, *, repeats: int = 7, target_s: float = 0.08) -> dict[str, Any]:
    """Median over `repeats` of (ns per decision) for batches lasting about `target_s` each."""
    plan = decide_once(scenario)  # warm up, and check the scenario does what it says
    if scenario.matching_rule is None:
        assert plan.rule_id == "default" and len(plan.rules) == scenario.rules + 1, plan.reason
    else:
        assert plan.rule_id == scenario.matching_rule, (plan.rule_id, plan.reason)
    started = time.thread_time_ns()
    decide_once(scenario)
    once_ns = max(1, time.thread_time_ns() - started)
    iterations = max(3, int(target_s * 1e9 / once_ns))
    per_decision_ns = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # collections would land at random in one repeat or another
    try:
        for _ in range(repeats):
            started = time.thread_time_ns()
            for _ in range(iterations):
                decide_once(scenario)
            per_decision_ns.append((time.thread_time_ns() - started) / iterations)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {
        "agents": scenario.agents,
        "rules": scenario.rules,
        "us": round(statistics.median(per_decision_ns) / 1000, 1),
        "min_us": round(min(per_decision_ns) / 1000, 1),
        "repeats_us": [round(ns / 1000, 1) for ns in per_decision_ns],
        "iterations_per_repeat": iterations,
        "winner": plan.agent_id,
        "decided_by": plan.rule_id,
        "candidates": len(plan.candidates),
        "skipped": len(plan.skipped),
    }


def time_first_decide(agents: int, rules: int, *, repeats: int = 5) -> float:
    """CPU (us) of the first decision on a freshly read roster and chain (median of `repeats`
    scenarios): the engine's per-roster and per-chain indexes are built then, and kept while the
    router's warm snapshot keeps that roster and chain (routing/snapshot.py)."""
    firsts = []
    for seed in range(repeats):
        scenario = build_scenario(agents, rules, seed=seed + 11)
        started = time.thread_time_ns()
        decide_once(scenario)
        firsts.append((time.thread_time_ns() - started) / 1000)
    return round(statistics.median(firsts), 1)


def run_grid(
    agent_counts: tuple[int, ...] = AGENT_COUNTS,
    rule_counts: tuple[int, ...] = RULE_COUNTS,
    *,
    repeats: int = 7,
    target_s: float = 0.08,
) -> dict[str, Any]:
    """Every cell of agents x rules, twice: the worst case (no rule matches, the default pool of
    every agent decides) and a typical lead (its rule is half-way down the chain, a small pool)."""
    worst, typical = [], []
    for agents in agent_counts:
        for rules in rule_counts:
            worst.append(time_decide(build_scenario(agents, rules), repeats=repeats, target_s=target_s))
            middle = build_scenario(agents, rules, matching_rule_at=rules // 2)
            typical.append(time_decide(middle, repeats=repeats, target_s=target_s))
    return {"worst_case": worst, "typical": typical}
