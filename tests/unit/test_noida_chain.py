"""The Noida example from docs/routing.md, as a real rule chain the engine runs:

"99acres or MagicBricks leads from Noida Sector 137–160 → Noida-East team round-robin; else
Gurugram → Gurugram team; else budget above ₹1 crore → senior brokers; else everyone; 25 leads
per agent per day."
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from leadrelay.models import Agent, Lead, Pool
from leadrelay.routing.engine import decide
from leadrelay.routing.roster import Roster, RoundRobinState
from leadrelay.routing.rules import RuleChain, unknown_pools

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "routing" / "noida_chain.json"
TZ = "Asia/Kolkata"
NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 12:00 in Kolkata, a Monday

TEAMS = {
    "noida-east": ["neha", "vikas", "sunil"],
    "gurugram": ["gaurav", "ritu"],
    "senior-brokers": ["mr-khanna", "ms-bedi"],
}


def noida_chain() -> RuleChain:
    return RuleChain.model_validate({**json.loads(FIXTURE.read_text()), "version": 1})


def noida_roster() -> Roster:
    agents = [agent_id for members in TEAMS.values() for agent_id in members] + ["asha"]
    # Every agent's own cap is higher than the chain's 25, so the chain's cap is the one that bites.
    roster = Roster(agents={a: Agent(agent_id=a, name=a.title(), daily_cap=40) for a in agents})
    for pool_id, members in TEAMS.items():
        roster.pools[pool_id] = Pool(pool_id=pool_id, name=pool_id, agent_ids=members)
    roster.pools["everyone"] = Pool(pool_id="everyone", name="everyone", agent_ids=agents)
    return roster


def lead(source_id: str = "website", **fields: Any) -> Lead:
    return Lead(lead_id="L", source_id=source_id, source_kind="generic", received_at=NOW, **fields)


def test_the_fixture_is_a_valid_chain_whose_pools_all_exist() -> None:
    # Given the fixture file, When it is validated against the Noida roster, Then nothing is missing
    chain = noida_chain()
    assert [rule.rule_id for rule in chain.rules] == ["noida-east", "gurugram", "senior-brokers"]
    assert chain.default_pool_id == "everyone" and chain.daily_cap_per_agent == 25
    assert unknown_pools(chain, set(noida_roster().pools)) == []


def test_docs_routing_md_shows_exactly_the_fixture_chain() -> None:
    # Given docs/routing.md, Then the JSON block after the noida-chain marker is the fixture
    text = (ROOT / "docs" / "routing.md").read_text()
    block = re.search(r"<!-- noida-chain -->\s*```json\n(.*?)```", text, re.S)
    assert block is not None, "docs/routing.md lost its Noida example"
    assert json.loads(block.group(1)) == json.loads(FIXTURE.read_text())


@pytest.mark.parametrize(
    ("source_id", "fields", "rule_id", "pool_id"),
    [
        ("99acres", {"city": "Noida", "extra": {"sector": 150}}, "noida-east", "noida-east"),
        ("magicbricks", {"pincode": "201305"}, "noida-east", "noida-east"),
        ("MagicBricks", {"extra": {"sector": "137"}}, "noida-east", "noida-east"),
        ("99acres", {"city": "Noida", "extra": {"sector": 120}}, "default", "everyone"),
        ("housing", {"city": "Noida", "extra": {"sector": 150}}, "default", "everyone"),
        ("99acres", {"city": "Gurugram", "budget": Decimal(20_000_000)}, "gurugram", "gurugram"),
        ("website", {"city": "gurgaon"}, "gurugram", "gurugram"),
        ("website", {"city": "Pune", "budget": Decimal(15_000_000)}, "senior-brokers", "senior-brokers"),
        ("website", {"city": "Pune", "budget": Decimal(10_000_000)}, "default", "everyone"),
        ("website", {}, "default", "everyone"),
    ],
)
def test_each_lead_goes_to_the_team_the_business_described(
    source_id: str, fields: dict[str, Any], rule_id: str, pool_id: str
) -> None:
    # Given the Noida chain and roster, When the lead is routed
    plan = decide(lead(source_id, **fields), noida_chain(), noida_roster(), {}, NOW, TZ)
    # Then the rule and pool are the ones the sentence names, and someone from that pool gets it
    assert (plan.rule_id, plan.pool_id) == (rule_id, pool_id)
    assert plan.agent_id in noida_roster().pools[pool_id].agent_ids


def test_noida_east_leads_rotate_round_robin_through_the_team() -> None:
    # Given the Noida-East team with no leads yet
    chain, roster = noida_chain(), noida_roster()
    winners = []
    for stamp in range(1, 7):
        # When six sector-150 leads from 99acres arrive one after another
        plan = decide(lead("99acres", extra={"sector": 150}), chain, roster, {}, NOW, TZ)
        assert plan.agent_id is not None and plan.strategy == "round_robin"
        winners.append(plan.agent_id)
        roster.round_robin[("noida-east", plan.agent_id)] = RoundRobinState(stamp, 1, True)
    # Then they go round the team in order, twice
    assert winners == ["neha", "vikas", "sunil"] * 2


def test_the_chains_25_a_day_cap_skips_an_agent_whose_own_cap_is_higher() -> None:
    # Given Neha already has 25 leads today (her own cap is 40)
    plan = decide(lead("99acres", extra={"sector": 150}), noida_chain(), noida_roster(), {"neha": 25}, NOW, TZ)
    # Then she is skipped as capped and the lead goes to a teammate, whose cap on commit is 25
    assert plan.skipped == {"neha": "capped"} and plan.agent_id == "vikas" and plan.daily_cap == 25


def test_when_the_whole_noida_east_team_is_capped_the_lead_falls_through_to_everyone() -> None:
    counts = dict.fromkeys(TEAMS["noida-east"], 25)
    plan = decide(lead("99acres", extra={"sector": 150}), noida_chain(), noida_roster(), counts, NOW, TZ)
    assert plan.rules[0].fell_through and plan.rule_id == "default"
    assert plan.agent_id not in TEAMS["noida-east"]
