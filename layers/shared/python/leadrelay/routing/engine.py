"""The routing engine: a pure function from (lead, rules, roster, counters, time) to a plan.

No I/O happens here, so the same engine serves live routing and simulation ("who would get this
lead, and why?"), and it is tested without AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from leadrelay.models import Lead, RuleTrace, SkipReason, Strategy
from leadrelay.routing.eligibility import hard_cap, is_demoted, skip_reason
from leadrelay.routing.roster import Roster
from leadrelay.routing.rules import Rule, RuleChain, evaluate

DEFAULT_RULE_ID = "default"


@dataclass
class Plan:
    """What the engine decided: the winner (or nobody) and the full explanation."""

    agent_id: str | None
    rule_id: str | None
    pool_id: str | None
    strategy: str | None
    reason: str
    candidates: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    demoted: list[str] = field(default_factory=list)
    rules: list[RuleTrace] = field(default_factory=list)
    require_language: bool = False
    # The winner's hard daily cap (their own or the chain's, the lower), enforced again on commit.
    daily_cap: int | None = None


def _rules_in_order(chain: RuleChain) -> list[Rule]:
    rules = list(chain.rules)
    if chain.default_pool_id:
        rules.append(Rule(rule_id=DEFAULT_RULE_ID, name="default pool", pool_id=chain.default_pool_id))
    return rules


def pick_round_robin(pool_id: str, candidates: list[str], demoted: set[str], roster: Roster) -> str:
    """Least recently assigned first; soft-capped agents behind the rest; pool order breaks ties.

    Every assignment stamps the winner with a strictly increasing time, so a newcomer or an agent
    back from leave gets the next lead once and then rotates: no catch-up flood, no reset.
    """
    order = {agent_id: index for index, agent_id in enumerate(candidates)}
    return min(
        candidates,
        key=lambda agent_id: (
            agent_id in demoted,
            roster.rr(pool_id, agent_id).last_assigned_ms,
            order[agent_id],
        ),
    )


def decide(
    lead: Lead,
    chain: RuleChain,
    roster: Roster,
    counts_today: dict[str, int],
    now: datetime,
    timezone: str,
    exclude_agents: frozenset[str] = frozenset(),
) -> Plan:
    """Walk the rule chain and pick an agent for `lead`, explaining every step."""
    local_now = now.astimezone(ZoneInfo(timezone))
    traces: list[RuleTrace] = []
    last_skipped: dict[str, str] = {}
    for rule in _rules_in_order(chain):
        if rule.when is None:
            matched, why = True, "matches every lead"
        else:
            matched, why = evaluate(rule.when, lead, local_now)
        # Built without validation: one trace per rule walked, and every value here is already typed.
        trace = RuleTrace.model_construct(
            rule_id=rule.rule_id, matched=matched, why=why, fell_through=False, skipped={}
        )
        traces.append(trace)
        if not matched:
            continue
        pool = roster.pools.get(rule.pool_id)
        if pool is None:
            trace.why += f"; pool {rule.pool_id!r} does not exist"
            if rule.fall_through:
                trace.fell_through = True
                continue
            return Plan(None, rule.rule_id, rule.pool_id, None, f"pool {rule.pool_id!r} does not exist", rules=traces)
        candidates: list[str] = []
        skipped: dict[str, str] = {}
        demoted: set[str] = set()
        for agent_id in pool.agent_ids:
            agent = roster.agents.get(agent_id)
            if agent is None:
                skipped[agent_id] = SkipReason.UNKNOWN_AGENT.value
                continue
            if agent_id in exclude_agents:
                skipped[agent_id] = SkipReason.ALREADY_HAD_LEAD.value
                continue
            today = counts_today.get(agent_id, 0)
            reason = skip_reason(
                agent,
                lead,
                now=now,
                local_now=local_now,
                assigned_today=today,
                require_language=rule.require_language,
                chain_cap=chain.daily_cap_per_agent,
            )
            if reason is not None:
                skipped[agent_id] = reason.value
                continue
            candidates.append(agent_id)
            if is_demoted(agent, today):
                demoted.add(agent_id)
        if candidates:
            winner = pick_round_robin(pool.pool_id, candidates, demoted, roster)
            return Plan(
                agent_id=winner,
                rule_id=rule.rule_id,
                pool_id=pool.pool_id,
                strategy=Strategy.ROUND_ROBIN.value,
                reason=f"rule {rule.rule_id!r} matched; {winner} was least recently assigned in {pool.pool_id!r}",
                candidates=candidates,
                skipped=skipped,
                demoted=sorted(demoted),
                rules=traces,
                require_language=rule.require_language,
                daily_cap=hard_cap(roster.agents[winner], chain.daily_cap_per_agent),
            )
        last_skipped = skipped
        if rule.fall_through:
            trace.fell_through = True
            trace.skipped = skipped
            trace.why += "; nobody eligible, fell through"
            continue
        return Plan(
            None,
            rule.rule_id,
            pool.pool_id,
            pool.strategy.value,
            f"rule {rule.rule_id!r} matched but nobody in pool {pool.pool_id!r} is eligible",
            skipped=skipped,
            rules=traces,
        )
    why = "no rule matched and there is no default pool" if not last_skipped else "nobody eligible"
    return Plan(None, None, None, None, why, skipped=last_skipped, rules=traces)
