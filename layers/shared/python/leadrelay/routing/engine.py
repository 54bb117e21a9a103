"""The routing engine: a pure function from (lead, rules, roster, counters, time) to a plan.

No I/O happens here, so the same engine serves live routing and simulation ("who would get this
lead, and why?"), and it is tested without AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from leadrelay.models import Lead, RuleTrace, Strategy
from leadrelay.routing.accrual import away, extra_turn, owed_after
from leadrelay.routing.eligibility import backlog_cap, hard_cap, moment, roster_index, skip_reason
from leadrelay.routing.roster import Roster
from leadrelay.routing.rules import ChainIndex, Rule, RuleChain, evaluate, holds
from leadrelay.routing.strategies import Pick, pick, pick_round_robin

__all__ = ["DEFAULT_RULE_ID", "RETURNING_RULE_ID", "Plan", "decide", "pick_round_robin"]

DEFAULT_RULE_ID = "default"
# The step before the rule chain for a reopened lead: back to its previous owner when eligible.
RETURNING_RULE_ID = "returning_owner"


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
    # Every rule walked, in order: a trace, or (a Rule) one that did not match, explained on demand.
    steps: list[RuleTrace | Rule] = field(default_factory=list)
    require_language: bool = False
    # The winner's hard daily cap (their own or the chain's, the lower), enforced again on commit.
    daily_cap: int | None = None
    # State the strategy moves on commit: weighted round-robin's virtual times, and least-loaded's
    # open-leads counter as read (see routing/strategies.py).
    vtime: Decimal | None = None
    pool_vtime: Decimal | None = None
    load_seen: int | None = None
    # The lead and its local time, to explain the rules that did not match when someone asks.
    walked_for: tuple[Lead, datetime] | None = None
    # The winner's backlog cap (own or the pool's), enforced again on commit on the open-leads
    # counter; and the pool's offer timeout: when set, the lead is offered, not assigned.
    max_open_leads: int | None = None
    offer_timeout_s: int | None = None
    # Accrued turns (routing/accrual.py), when the pool keeps them: who missed this turn while
    # away, and the winner's turns still owed after it.
    accrued: Accrued | None = None

    @property
    def rules(self) -> list[RuleTrace]:
        """Every rule walked, each explained (simulation shows them all)."""
        for index, step in enumerate(self.steps):
            if isinstance(step, Rule):
                assert self.walked_for is not None and step.when is not None
                _, why = evaluate(step.when, *self.walked_for)
                self.steps[index] = RuleTrace(rule_id=step.rule_id, matched=False, why=why)
        return self.steps  # type: ignore[return-value]

    @property
    def deciding_rules(self) -> list[RuleTrace]:
        """The rules that decided the outcome: the one that matched, those that matched but fell
        through, and the returning-owner step. What an audit record keeps; the others did not
        match, and the chain version with the lead says why (simulation replays it)."""
        return [
            step
            for step in self.steps
            if isinstance(step, RuleTrace) and (step.matched or step.rule_id == RETURNING_RULE_ID)
        ]

    @property
    def rules_not_matched(self) -> int:
        """How many rules of the chain were walked past because their condition did not hold."""
        return sum(
            1
            for step in self.steps
            if isinstance(step, Rule) or (not step.matched and step.rule_id != RETURNING_RULE_ID)
        )


@dataclass(frozen=True)
class Accrued:
    away: tuple[str, ...]
    winner_owed: int
    # The winner took an extra turn: their rotation place stays (see routing/accrual.py).
    extra: bool = False


def _with_accrued_turns(
    chosen: Pick, pool_id: str, candidates: list[str], demoted: set[str], roster: Roster, skipped: dict[str, str]
) -> tuple[Pick, Accrued]:
    """Round-robin's pick, unless a returning agent is owed a turn and may take an extra one now."""
    front = [agent_id for agent_id in candidates if agent_id not in demoted] or candidates
    # Round-robin's own pick takes a regular turn; an extra turn goes to someone else owed one.
    extra = extra_turn(pool_id, [agent_id for agent_id in front if agent_id != chosen.agent_id], roster)
    missed_now = tuple(away(skipped))
    if extra is not None:
        chosen = Pick(extra.agent_id, Strategy.ROUND_ROBIN, f"{extra.reason} (round-robin's turn: {chosen.agent_id})")
    took_extra = extra is not None and extra.agent_id == chosen.agent_id
    winner_owed = owed_after(roster, pool_id, chosen.agent_id, took_extra)
    reason = chosen.reason
    if missed_now:
        reason += f"; accrued turns: {', '.join(missed_now)} missed this one while away"
    return Pick(chosen.agent_id, chosen.strategy, reason), Accrued(missed_now, winner_owed, took_extra)


# Each chain's index while it is in use (a warm router keeps its chain between leads), by id, with
# the chain and what it was built from: rebuilt when a rule or the default pool changes.
_CHAINS: dict[int, tuple[RuleChain, list[Rule], str | None, ChainIndex]] = {}
_CHAINS_KEPT = 16


def _rules_in_order(chain: RuleChain) -> list[Rule]:
    rules = list(chain.rules)
    if chain.default_pool_id:
        rules.append(Rule(rule_id=DEFAULT_RULE_ID, name="default pool", pool_id=chain.default_pool_id))
    return rules


def chain_index(chain: RuleChain) -> ChainIndex:
    """The chain's rules in order, the default pool's last, indexed by the fields they test;
    built once per chain (version) and kept while the chain holds the same rules."""
    held = _CHAINS.get(id(chain))
    if held is not None and held[0] is chain and held[1] == chain.rules and held[2] == chain.default_pool_id:
        return held[3]
    if len(_CHAINS) >= _CHAINS_KEPT:
        _CHAINS.clear()
    index = ChainIndex(_rules_in_order(chain))
    _CHAINS[id(chain)] = (chain, list(chain.rules), chain.default_pool_id, index)
    return index


def _back_to_owner(
    lead: Lead,
    owner: str,
    chain: RuleChain,
    roster: Roster,
    counts_today: dict[str, int],
    now: datetime,
    local_now: datetime,
    exclude_agents: frozenset[str],
) -> Plan | RuleTrace:
    """A reopened lead goes back to the agent who had it, if they can take a lead right now
    (active, on shift, under their hard cap): they know the person. Otherwise the trace says why
    not, and the rule chain routes the lead like any other."""
    agent = roster.agents.get(owner)
    if agent is None:
        why = f"previous owner {owner} is no longer an agent"
    elif owner in exclude_agents:
        why = f"previous owner {owner} already had this lead"
    elif owner in lead.offer_passed_by:
        why = f"previous owner {owner} let the offer of this lead pass"
    else:
        today = counts_today.get(owner, 0)
        reason = skip_reason(agent, lead, now=now, local_now=local_now, assigned_today=today, require_language=False,
                             chain_cap=chain.daily_cap_per_agent)  # fmt: skip
        if reason is None:
            why = f"reopened lead: back to its previous owner {owner}"
            trace = RuleTrace(rule_id=RETURNING_RULE_ID, matched=True, why=why)
            return Plan(
                agent_id=owner, rule_id=RETURNING_RULE_ID, pool_id=None, strategy=Strategy.STICKY_OWNER.value,
                reason=why, candidates=[owner], steps=[trace],
                daily_cap=hard_cap(agent, chain.daily_cap_per_agent),
            )  # fmt: skip
        why = f"previous owner {owner} is not eligible ({reason.value})"
    return RuleTrace(rule_id=RETURNING_RULE_ID, matched=False, why=f"reopened lead: {why}; the rule chain decides")


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
    # Worked out once per decision, not once per agent: the moment, the lead's city and language.
    at = moment(now, local_now)
    chain_cap = chain.daily_cap_per_agent
    language = lead.language
    city = lead.city.strip().casefold() if lead.city and lead.city.strip() else None
    traces: list[RuleTrace | Rule] = []
    walked = (lead, local_now)
    index = chain_index(chain)
    rules = index.rules
    # Never offered again to an agent who declined it or let the offer expire.
    passed = frozenset(lead.offer_passed_by)
    owner = lead.return_to_agent_id
    if owner:
        back = _back_to_owner(lead, owner, chain, roster, counts_today, now, local_now, exclude_agents)
        if isinstance(back, Plan):
            return back
        traces.append(back)
    last_skipped: dict[str, str] = {}
    screen = roster_index(roster).screen
    walked_to = 0
    # Only the rules whose condition may hold are evaluated; the others are walked past, in
    # order, as rules that did not match (explained on demand, like every rule that did not).
    for position in index.candidates(lead, local_now):
        if position > walked_to:
            traces.extend(rules[walked_to:position])
        walked_to = position + 1
        rule = rules[position]
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
        candidates, skipped, demoted = screen(
            roster,
            pool,
            at,
            counts_today,
            chain_cap,
            language if rule.require_language and language else None,
            city if rule.require_territory else None,
            exclude_agents,
            passed,
        )
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
    traces.extend(rules[walked_to:])
    why = "no rule matched and there is no default pool" if not last_skipped else "nobody eligible"
    return Plan(None, None, None, None, why, skipped=last_skipped, steps=traces, walked_for=walked)
