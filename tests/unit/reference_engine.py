"""The routing engine as it was before issue #15's last speed-up: the straightforward walk.

Kept as the reference the differential property test (test_engine_differential.py) compares the
fast engine with: one rule after another, one agent after another, each check in its order. Its
eligibility check is the old per-agent one, copied here so that a change to the fast path's
helpers cannot change the reference with it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from leadrelay.models import AgentStatus, Lead, RuleTrace, SkipReason, Strategy
from leadrelay.routing.eligibility import AgentFacts, backlog_cap, facts_of, hard_cap
from leadrelay.routing.engine import DEFAULT_RULE_ID, Plan, _back_to_owner, _with_accrued_turns
from leadrelay.routing.roster import Roster
from leadrelay.routing.rules import Rule, RuleChain, evaluate, holds
from leadrelay.routing.strategies import pick

_STATUS_REASONS = {
    AgentStatus.ON_BREAK: SkipReason.ON_BREAK,
    AgentStatus.ON_LEAVE: SkipReason.ON_LEAVE,
    AgentStatus.UNAVAILABLE: SkipReason.UNAVAILABLE,
    AgentStatus.BANNED: SkipReason.BANNED,
}


def _micros(clock) -> int:  # type: ignore[no-untyped-def]
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * 1_000_000 + clock.microsecond


def _covers(window, micros: int, weekday: int) -> bool:  # type: ignore[no-untyped-def]
    if not window.overnight:
        return weekday in window.days and window.start <= micros <= window.end
    if micros >= window.start:
        return weekday in window.days
    return micros <= window.end and (weekday - 1) % 7 in window.days


def reason_for(facts: AgentFacts, now: datetime, local_now: datetime, assigned_today: int, require_language: bool,
               language: str | None, chain_cap: int | None) -> SkipReason | None:  # fmt: skip
    status = facts.status if facts.until is None or now < facts.until else AgentStatus.AVAILABLE
    if status is not AgentStatus.AVAILABLE:
        return _STATUS_REASONS[status]
    if facts.checked_out:
        return SkipReason.CHECKED_OUT
    micros, weekday = _micros(local_now.time()), local_now.weekday()
    if facts.shifts and not any(_covers(window, micros, weekday) for window in facts.shifts):
        return SkipReason.OFF_SHIFT
    cap = hard_cap(facts.agent, chain_cap)
    if cap is not None and assigned_today >= cap:
        return SkipReason.CAPPED
    if require_language and language and language not in facts.languages:
        return SkipReason.LANGUAGE
    return None


def _rules_in_order(chain: RuleChain) -> list[Rule]:
    rules = list(chain.rules)
    if chain.default_pool_id:
        rules.append(Rule(rule_id=DEFAULT_RULE_ID, name="default pool", pool_id=chain.default_pool_id))
    return rules


def reference_decide(
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
    # Worked out once per decision, not once per agent: the moment, the lead's city and language.
    chain_cap = chain.daily_cap_per_agent
    language = lead.language
    city = lead.city.strip().casefold() if lead.city and lead.city.strip() else None
    traces: list[RuleTrace | Rule] = []
    walked = (lead, local_now)
    # Never offered again to an agent who declined it or let the offer expire.
    passed = frozenset(lead.offer_passed_by)
    owner = lead.return_to_agent_id
    if owner:
        back = _back_to_owner(lead, owner, chain, roster, counts_today, now, local_now, exclude_agents)
        if isinstance(back, Plan):
            return back
        traces.append(back)
    last_skipped: dict[str, str] = {}
    for rule in _rules_in_order(chain):
        if rule.when is None:
            why = "matches every lead"
        elif not holds(rule.when, lead, local_now):
            traces.append(rule)
            continue
        else:
            _, why = evaluate(rule.when, lead, local_now)
        trace = RuleTrace(rule_id=rule.rule_id, matched=True, why=why)
        traces.append(trace)
        pool = roster.pools.get(rule.pool_id)
        if pool is None:
            trace.why += f"; pool {rule.pool_id!r} does not exist"
            if rule.fall_through:
                trace.fell_through = True
                continue
            why = f"pool {rule.pool_id!r} does not exist"
            return Plan(None, rule.rule_id, rule.pool_id, None, why, steps=traces, walked_for=walked)
        candidates: list[str] = []
        skipped: dict[str, str] = {}
        demoted: set[str] = set()
        require_language = rule.require_language
        territory = city if rule.require_territory else None
        for agent_id in pool.agent_ids:
            agent = roster.agents.get(agent_id)
            facts = facts_of(agent) if agent is not None else None
            if facts is None:
                skipped[agent_id] = SkipReason.UNKNOWN_AGENT.value
                continue
            if agent_id in exclude_agents:
                skipped[agent_id] = SkipReason.ALREADY_HAD_LEAD.value
                continue
            if agent_id in passed:
                skipped[agent_id] = SkipReason.PASSED_ON_OFFER.value
                continue
            today = counts_today.get(agent_id, 0)
            reason = reason_for(facts, now, local_now, today, require_language, language, chain_cap)
            if reason is not None:
                skipped[agent_id] = reason.value
                continue
            backlog = backlog_cap(facts.max_open_leads, pool.max_open_leads)
            if backlog is not None and roster.load(agent_id) >= backlog:
                skipped[agent_id] = SkipReason.BACKLOG_FULL.value
                continue
            if territory is not None and territory not in facts.territories:
                skipped[agent_id] = SkipReason.TERRITORY.value
                continue
            candidates.append(agent_id)
            if facts.soft_cap is not None and today >= facts.soft_cap:
                demoted.add(agent_id)
        strategy = rule.strategy or pool.strategy
        if candidates:
            chosen = pick(strategy, pool.pool_id, candidates, demoted, roster, lead, skipped)
            accrued = None
            if pool.accrued_turns and chosen.strategy is Strategy.ROUND_ROBIN:
                chosen, accrued = _with_accrued_turns(chosen, pool.pool_id, candidates, demoted, roster, skipped)
            winner = chosen.agent_id
            return Plan(
                agent_id=winner,
                rule_id=rule.rule_id,
                pool_id=pool.pool_id,
                strategy=chosen.strategy.value,
                reason=f"rule {rule.rule_id!r} matched; {chosen.reason}",
                candidates=candidates,
                skipped=skipped,
                demoted=sorted(demoted),
                steps=traces,
                walked_for=walked,
                require_language=rule.require_language,
                daily_cap=hard_cap(roster.agents[winner], chain.daily_cap_per_agent),
                vtime=chosen.vtime,
                pool_vtime=chosen.pool_vtime,
                load_seen=chosen.load_seen,
                max_open_leads=backlog_cap(roster.agents[winner].max_open_leads, pool.max_open_leads),
                offer_timeout_s=pool.offer_timeout_s,
                accrued=accrued,
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
            strategy.value,
            f"rule {rule.rule_id!r} matched but nobody in pool {pool.pool_id!r} is eligible",
            skipped=skipped,
            steps=traces,
            walked_for=walked,
        )
    why = "no rule matched and there is no default pool" if not last_skipped else "nobody eligible"
    return Plan(None, None, None, None, why, skipped=last_skipped, steps=traces, walked_for=walked)
