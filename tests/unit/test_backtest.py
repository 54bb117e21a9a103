"""Back-testing a draft rule chain: past leads replayed through the live and the draft chain, with
round-robin, caps and day counters moving as the replay goes, and the difference reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from leadrelay.models import Agent, AgentStatus, Lead, Pool, Shift
from leadrelay.routing.backtest import backtest, replay
from leadrelay.routing.roster import Roster, RoundRobinState
from leadrelay.routing.rules import RuleChain

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "routing" / "noida_chain.json"
TZ = "Asia/Kolkata"
NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 12:00 in Kolkata, a Monday
DAY1 = datetime(2026, 11, 20, 5, 30, tzinfo=UTC)  # 11:00 in Kolkata, a Friday


def a_lead(number: int, at: datetime, source_id: str = "website", **fields: Any) -> Lead:
    return Lead(lead_id=f"L{number:03}", source_id=source_id, source_kind="generic", received_at=at, **fields)


def team_roster(members: list[str], cap: int | None = None, **pools: list[str]) -> Roster:
    roster = Roster(agents={a: Agent(agent_id=a, name=a.title(), daily_cap=cap) for a in members})
    roster.pools["everyone"] = Pool(pool_id="everyone", name="everyone", agent_ids=members)
    for pool_id, pool_members in pools.items():
        roster.pools[pool_id] = Pool(pool_id=pool_id, name=pool_id, agent_ids=pool_members)
    return roster


def chain(**spec: Any) -> RuleChain:
    return RuleChain.model_validate({"default_pool_id": "everyone", "version": 3, **spec})


def test_round_robin_evolves_across_the_replay_from_a_clean_slate() -> None:
    # Given three agents, one of whom has a recent live round-robin stamp (ignored: clean slate)
    roster = team_roster(["asha", "bala", "chitra"])
    roster.round_robin[("everyone", "asha")] = RoundRobinState(10**13, 99, True)
    leads = [a_lead(n, DAY1 + timedelta(minutes=n)) for n in range(7)]
    # When seven leads are replayed
    result = replay(leads, chain(), roster, now=NOW, timezone=TZ)
    # Then they go round the pool in order, and the loads differ by at most one
    assert [o.agent_id for o in result.outcomes] == ["asha", "bala", "chitra"] * 2 + ["asha"]
    assert {a: load.assigned for a, load in result.agents.items()} == {"asha": 3, "bala": 2, "chitra": 2}
    assert result.rules == {"default": 7} and result.share("asha") == round(3 / 7, 4)
    # And the caller's roster was not touched
    assert roster.round_robin[("everyone", "asha")].total == 99 and len(roster.round_robin) == 1


def test_leads_are_replayed_oldest_first_whatever_order_they_come_in() -> None:
    leads = [a_lead(n, DAY1 + timedelta(minutes=n)) for n in range(3)]
    result = replay(list(reversed(leads)), chain(), team_roster(["asha", "bala"]), now=NOW, timezone=TZ)
    assert [(o.lead_id, o.agent_id) for o in result.outcomes] == [("L000", "asha"), ("L001", "bala"), ("L002", "asha")]


def test_a_cap_of_5_with_6_leads_on_one_day_sends_the_6th_elsewhere_and_records_the_cap_hit() -> None:
    # Given Neha alone in Noida-East with a cap of 5, the rule falling through to everyone
    roster = team_roster(["neha", "asha"], cap=5, noida=["neha"])
    rules = [{"rule_id": "noida", "pool_id": "noida", "fall_through": True,
              "when": {"field": "city", "op": "eq", "value": "Noida"}}]  # fmt: skip
    leads = [a_lead(n, DAY1 + timedelta(minutes=n), city="Noida") for n in range(6)]
    # When six Noida leads arrive on one day
    result = replay(leads, chain(rules=rules), roster, now=NOW, timezone=TZ)
    # Then the first five are Neha's, the sixth goes elsewhere by the default pool
    assert [o.agent_id for o in result.outcomes] == ["neha"] * 5 + ["asha"]
    assert result.outcomes[5].rule_id == "default"
    assert result.rules == {"noida": 5, "default": 1} and result.fell_through == {"noida": 1}
    assert result.agents["neha"].cap_hit_days == [DAY1.date()] and result.agents["asha"].cap_hit_days == []
    assert result.summary()["agents"]["neha"] == {
        "assigned": 5,
        "share": round(5 / 6, 4),
        "cap_hit_days": ["2026-11-20"],
    }


def test_a_new_org_local_day_resets_the_counters() -> None:
    # Given a cap of 2 and one agent
    roster = team_roster(["neha"], cap=2)
    # 23:50 and 23:55 on the 20th in Kolkata, then 00:05 on the 21st (18:35 UTC on the 20th)
    evening = datetime(2026, 11, 20, 18, 20, tzinfo=UTC)
    leads = [a_lead(0, evening), a_lead(1, evening + timedelta(minutes=5)),
             a_lead(2, evening + timedelta(minutes=8)), a_lead(3, evening + timedelta(minutes=15))]  # fmt: skip
    # When they are replayed
    result = replay(leads, chain(), roster, now=NOW, timezone=TZ)
    # Then the third lead (still the 20th, local) finds her capped; the fourth (the 21st) is hers again
    assert [o.agent_id for o in result.outcomes] == ["neha", "neha", None, "neha"]
    assert result.agents["neha"].cap_hit_days == [datetime(2026, 11, 20).date()]
    assert "nobody" in result.outcomes[2].reason


def test_shifts_use_each_leads_own_time_and_availability_is_as_it_is_now() -> None:
    # Given a day-shift agent, a night-shift agent, and one on leave until after now
    roster = team_roster(["day", "night", "away"])
    roster.agents["day"] = roster.agents["day"].model_copy(update={"shifts": [Shift(start=time(9), end=time(18))]})
    roster.agents["night"] = roster.agents["night"].model_copy(update={"shifts": [Shift(start=time(18), end=time(9))]})
    roster.agents["away"] = roster.agents["away"].model_copy(
        update={"status": AgentStatus.ON_LEAVE, "status_until": NOW + timedelta(days=1)}
    )
    noon, night = DAY1, DAY1 + timedelta(hours=11)  # 11:00 and 22:00 in Kolkata
    # When a morning lead and a night lead are replayed
    result = replay([a_lead(0, noon), a_lead(1, night)], chain(), roster, now=NOW, timezone=TZ)
    # Then the shifts of those moments decide, and the agent on leave now gets nothing
    assert [o.agent_id for o in result.outcomes] == ["day", "night"]
    assert result.agents["away"].assigned == 0


def test_a_draft_sending_noida_leads_to_another_pool_shows_in_the_diff() -> None:
    # Given the live Noida chain and a draft sending Noida-East leads to the senior brokers instead
    live = RuleChain.model_validate({**json.loads(FIXTURE.read_text()), "version": 1})
    draft = live.model_copy(deep=True, update={"version": 0})
    draft.rules[0].pool_id = "senior-brokers"
    teams = {"noida-east": ["neha", "vikas"], "gurugram": ["gaurav"], "senior-brokers": ["mr-khanna"]}
    everyone = [a for members in teams.values() for a in members] + ["asha"]
    roster = team_roster(everyone, cap=40, **teams)
    leads = [
        a_lead(0, DAY1, "99acres", extra={"sector": 150}),
        a_lead(1, DAY1 + timedelta(minutes=1), "website", city="Gurugram"),
        a_lead(2, DAY1 + timedelta(minutes=2), "magicbricks", pincode="201305"),
        a_lead(3, DAY1 + timedelta(minutes=3), "website", city="Pune"),
    ]
    # When both are back-tested over the same leads
    report = backtest(leads, live, draft, roster, now=NOW, timezone=TZ).report()
    # Then the two Noida-East leads changed agent (same rule), and nothing else did
    assert report["diff"]["changed"] == 2 and report["diff"]["rule_changed"] == 0
    assert report["diff"]["agent_changed"] == 2
    assert [c["lead_id"] for c in report["diff"]["leads"]] == ["L000", "L002"]
    assert report["diff"]["leads"][0]["live"] == {"rule_id": "noida-east", "agent_id": "neha"}
    assert report["diff"]["leads"][0]["draft"] == {"rule_id": "noida-east", "agent_id": "mr-khanna"}
    # And the loads side by side show the move
    # (the Pune lead goes to the default pool, whose own rotation starts with Neha in both)
    live_load = {a: row["assigned"] for a, row in report["live"]["agents"].items()}
    draft_load = {a: row["assigned"] for a, row in report["draft"]["agents"].items()}
    assert live_load == {"neha": 2, "vikas": 1, "gaurav": 1, "mr-khanna": 0, "asha": 0}
    assert draft_load == {"neha": 1, "vikas": 0, "gaurav": 1, "mr-khanna": 2, "asha": 0}
    assert report["live"]["rule_chain_version"] == 1 and report["draft"]["rule_chain_version"] == 0
    assert report["window"] == {"leads": 4, "from": "2026-11-20T05:30:00.000Z", "to": "2026-11-20T05:33:00.000Z"}
    assert [row["lead_id"] for row in report["leads"]] == ["L000", "L001", "L002", "L003"]
    assert any("historical availability is not recorded" in note for note in report["notes"])


def test_leads_nobody_could_take_are_listed_with_the_reason() -> None:
    # Given a chain with a rule for Noida (its pool all on leave, no fall-through) and no default pool
    roster = team_roster(["neha", "asha"], noida=["neha"])
    roster.agents["neha"] = roster.agents["neha"].model_copy(update={"status": AgentStatus.ON_LEAVE})
    rules = [{"rule_id": "noida", "pool_id": "noida", "when": {"field": "city", "op": "eq", "value": "Noida"}}]
    draft = RuleChain.model_validate({"rules": rules})
    leads = [a_lead(0, DAY1, city="Noida"), a_lead(1, DAY1 + timedelta(minutes=1), city="Pune")]
    # When the draft is back-tested against a live chain that sends everything to everyone
    report = backtest(leads, chain(), draft, roster, now=NOW, timezone=TZ).report()
    # Then both leads are unassigned under the draft, each with why; the live chain took both
    assert report["live"]["unassigned"] == 0 and report["draft"]["unassigned"] == 2
    unassigned = {row["lead_id"]: row for row in report["draft"]["unassigned_leads"]}
    assert (
        unassigned["L000"]["rule_id"] == "noida"
        and "nobody in pool 'noida' is eligible" in unassigned["L000"]["reason"]
    )
    assert unassigned["L001"]["rule_id"] is None and "no rule matched" in unassigned["L001"]["reason"]
    assert report["draft"]["rules"] == {"noida": 1} and report["diff"]["changed"] == 2


def test_no_leads_make_an_empty_report() -> None:
    report = backtest([], chain(), chain(), team_roster(["asha"]), now=NOW, timezone=TZ).report()
    assert report["window"] == {"leads": 0, "from": None, "to": None}
    assert report["live"]["agents"] == {"asha": {"assigned": 0, "share": 0.0, "cap_hit_days": []}}
    assert report["diff"]["changed"] == 0
