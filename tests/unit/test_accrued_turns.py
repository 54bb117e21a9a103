"""Accrued turns over a simulated month: the engine decides, and the simulation moves the state
exactly as the assignment transaction does (store/assignments.py), with no AWS."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from leadrelay.clock import epoch_ms
from leadrelay.models import Agent, AgentStatus, Lead, Pool
from leadrelay.models.agent import Presence
from leadrelay.routing.accrual import MAX_CREDIT, SPACING
from leadrelay.routing.engine import decide
from leadrelay.routing.roster import Roster, next_round_robin_stamp
from leadrelay.routing.rules import RuleChain

START = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 10:00 in Kolkata
AGENTS = ("asha", "bala", "chitra", "deepa")
LEADS_PER_DAY = 12


def month(accrued_turns: bool) -> tuple[Counter[str], list[tuple[str, str]]]:
    """30 days of leads in a round-robin pool of four; deepa is on leave on days 5–12 and checked
    out on the afternoon of day 20. Returns each agent's leads and every (winner, reason)."""
    roster = Roster(
        agents={a: Agent(agent_id=a, name=a) for a in AGENTS},
        pools={"all": Pool(pool_id="all", name="All", agent_ids=list(AGENTS), accrued_turns=accrued_turns)},
    )
    chain = RuleChain(version=1, default_pool_id="all")
    owners: Counter[str] = Counter()
    trail: list[tuple[str, str]] = []
    for day in range(30):
        deepa = Agent(agent_id="deepa", name="deepa")
        if 5 <= day <= 12:
            deepa = deepa.model_copy(update={"status": AgentStatus.ON_LEAVE})
        for n in range(LEADS_PER_DAY):
            if day == 20:
                presence = Presence.CHECKED_OUT if n >= LEADS_PER_DAY // 2 else Presence.CHECKED_IN
                roster.agents["deepa"] = deepa.model_copy(update={"presence": presence})
            else:
                roster.agents["deepa"] = deepa
            now = START + timedelta(days=day, minutes=40 * n)
            lead = Lead(lead_id=f"L{day}-{n}", source_id="web", source_kind="generic", received_at=now)
            plan = decide(lead, chain, roster, {}, now, "Asia/Kolkata")
            assert plan.agent_id is not None and plan.pool_id == "all"
            # What the assignment transaction writes: the stamp and total, the owed turns left
            # (under the stamp's condition), one more missed turn for each member away.
            seen = roster.rr("all", plan.agent_id)
            stamp = next_round_robin_stamp(roster, "all", epoch_ms(now))
            moved = replace(seen, last_assigned_ms=stamp, total=seen.total + 1, exists=True)
            if plan.accrued is not None:
                moved = replace(moved, missed=plan.accrued.winner_owed)
                if plan.accrued.extra:  # a turn given back keeps the place in the rotation
                    moved = replace(moved, last_assigned_ms=seen.last_assigned_ms + 1, last_extra_ms=stamp)
                for agent_id in plan.accrued.away:
                    away = roster.rr("all", agent_id)
                    roster.round_robin[("all", agent_id)] = replace(away, missed=away.missed + 1)
            roster.round_robin[("all", plan.agent_id)] = moved
            owners[plan.agent_id] += 1
            trail.append((plan.agent_id, plan.reason))
    return owners, trail


def test_accrued_turns_are_off_by_default_and_then_a_month_of_leave_is_a_month_of_share_lost() -> None:
    # Given a pool as created without the setting
    assert Pool(pool_id="p", name="P").accrued_turns is False
    # When a month runs with deepa away for eight days and an afternoon
    owners, trail = month(accrued_turns=False)
    # Then she simply lost those leads, and nothing about accrued turns is in the audit trail
    assert owners["deepa"] < min(owners[a] for a in ("asha", "bala", "chitra")) - 20
    assert not any("accrued" in reason for _, reason in trail)


def test_with_accrued_turns_a_returning_agent_gets_missed_turns_back_gradually_and_bounded() -> None:
    # Given the same month, once without and once with accrued turns
    plain, _ = month(accrued_turns=False)
    owners, trail = month(accrued_turns=True)
    # Then deepa is given back what she is owed, bounded: MAX_CREDIT extra turns for the eight
    # days of leave (however long), and six for the afternoon she was checked out
    extras = [i for i, (agent, reason) in enumerate(trail) if "accrued turn:" in reason]
    assert len(extras) == MAX_CREDIT + LEADS_PER_DAY // 2
    # which closes most of the gap: the regular rotation among four goes on around the extra
    # turns, so a quarter of the leads they take would have been hers anyway (three quarters of
    # a lead gained per extra turn)
    assert owners["deepa"] - plain["deepa"] == len(extras) * 3 // 4
    assert sum(owners.values()) == sum(plain.values()) == 30 * LEADS_PER_DAY
    # and the others still share the rest evenly (within one of each other)
    others = [owners[a] for a in ("asha", "bala", "chitra")]
    assert max(others) - min(others) <= 1
    # and the extra turns come gradually: between two of them, at least SPACING leads go to
    # others, and never two leads in a row
    assert all(trail[i][0] == "deepa" for i in extras)
    for earlier, later in pairwise(extras):
        between = [agent for agent, _ in trail[earlier + 1 : later]]
        assert sum(1 for agent in between if agent != "deepa") >= SPACING
    # and in any three leads in a row after her return she gets at most two
    for i in range(len(trail) - 2):
        assert sum(1 for agent, _ in trail[i : i + 3] if agent == "deepa") <= 2
    # and the audit trail says when she missed a turn, and when it gave one back and why
    missed = [reason for agent, reason in trail if "deepa missed this one while away" in reason]
    assert len(missed) == 8 * LEADS_PER_DAY + LEADS_PER_DAY // 2
    assert "owed" in trail[extras[0]][1] and "at most one lead in 3" in trail[extras[0]][1]
