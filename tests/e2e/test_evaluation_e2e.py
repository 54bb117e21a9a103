"""The checks a serious buyer runs in an evaluation, end to end over HTTP against `leadrelay local`.

Each test builds its own team, agents and pools through the API and puts one rule in front of the
live chain that only its own leads match (`extra.eval_run`), then restores the chain: the shared
stack's other tests are unaffected.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


class Evaluation:
    """A private corner of the demo organisation for one test."""

    def __init__(self, stack: LocalStackClient) -> None:
        self.stack = stack
        self.run = uuid.uuid4().hex[:8]
        self.team = f"eval-{self.run}"
        live = stack.get("/routing/rules", as_user="admin").json()
        self.live = {k: live[k] for k in ("rules", "default_pool_id", "daily_cap_per_agent") if k in live}
        assert stack.put(f"/teams/{self.team}", as_user="admin", json={"name": "Evaluation"}).status_code == 200

    def agent(self, name: str, **profile: Any) -> str:
        agent_id = f"{name}-{self.run}"
        body = {"agent_id": agent_id, "name": name.title(), "team_id": self.team, **profile}
        response = self.stack.post("/agents", as_user="admin", json=body)
        assert response.status_code == 201, response.text
        return agent_id

    def pool(self, name: str, *agent_ids: str) -> str:
        pool_id = f"{name}-{self.run}"
        body = {"name": name, "agent_ids": list(agent_ids), "team_id": self.team}
        assert self.stack.put(f"/pools/{pool_id}", as_user="admin", json=body).status_code == 200
        return pool_id

    def rules(self, *rules: dict[str, Any]) -> None:
        """Put `rules` in front of the live chain, each limited to this evaluation's leads."""
        mine = {"field": "extra.eval_run", "op": "eq", "value": self.run}
        scoped = [
            {**rule, "rule_id": f"{rule['rule_id']}-{self.run}", "when": {"all": [mine, rule["when"]]}}
            if "when" in rule
            else {**rule, "rule_id": f"{rule['rule_id']}-{self.run}", "when": mine}
            for rule in rules
        ]
        chain = {**self.live, "rules": scoped + self.live.get("rules", [])}
        response = self.stack.put("/routing/rules", as_user="admin", json=chain)
        assert response.status_code == 200, response.text

    def lead(self, **fields: Any) -> dict[str, Any]:
        source = self.stack.source("generic")
        body = {"phone": "9" + str(uuid.uuid4().int)[:9], "eval_run": self.run, **fields}
        response = self.stack.post(f"/hooks/{source['id']}", json=body, headers={"X-Api-Key": source["key"]})
        assert response.status_code == 202, response.text
        lead_id = response.json()["lead_id"]
        deadline = time.monotonic() + 2
        while True:
            lead = self.stack.get(f"/leads/{lead_id}", as_user="admin").json()
            if lead["status"] != "new" or time.monotonic() > deadline:
                return lead
            time.sleep(0.02)

    def trail(self, lead_id: str) -> list[dict[str, Any]]:
        return self.stack.get(f"/leads/{lead_id}/routing", as_user="admin").json()["items"]

    def restore(self) -> None:
        self.stack.put("/routing/rules", as_user="admin", json=self.live)


@pytest.fixture
def evaluation(local_stack: LocalStackClient) -> Iterator[Evaluation]:
    evaluation = Evaluation(local_stack)
    yield evaluation
    evaluation.restore()


def test_evaluation_active_agent_awareness_an_unavailable_agent_gets_none_of_5_leads(evaluation: Evaluation) -> None:
    # Given a pool of three, one of whom marks themselves unavailable
    asha, bina, chirag = (evaluation.agent(name) for name in ("asha", "bina", "chirag"))
    evaluation.rules({"rule_id": "all", "pool_id": evaluation.pool("all", asha, bina, chirag)})
    response = evaluation.stack.put(f"/agents/{bina}/availability", as_user="admin", json={"status": "unavailable"})
    assert response.status_code == 200
    # When five test leads arrive
    owners = [evaluation.lead()["assigned_agent_id"] for _ in range(5)]
    # Then the unavailable agent gets none, and the others share them round-robin
    assert bina not in owners
    assert sorted(owners.count(agent) for agent in (asha, chirag)) == [2, 3]


def test_evaluation_three_rule_chain_language_then_territory_then_round_robin(evaluation: Evaluation) -> None:
    # Given a Tamil speaker, a Pune agent and two generalists
    tamil = evaluation.agent("tamil", languages=["ta", "en"])
    pune = evaluation.agent("pune", languages=["mr"], territories=["Pune"])
    gen1, gen2 = evaluation.agent("gen1"), evaluation.agent("gen2")
    evaluation.rules(
        {"rule_id": "language", "pool_id": evaluation.pool("speakers", tamil, pune, gen1, gen2),
         "require_language": True, "fall_through": True, "when": {"field": "language", "op": "exists", "value": True}},
        {"rule_id": "territory", "pool_id": evaluation.pool("territory", tamil, pune, gen1, gen2),
         "require_territory": True, "fall_through": True, "when": {"field": "city", "op": "exists", "value": True}},
        {"rule_id": "everyone", "pool_id": evaluation.pool("everyone", gen1, gen2)},
    )  # fmt: skip
    # When a Tamil lead, a Pune lead and two other leads arrive
    tamil_lead = evaluation.lead(language="ta", city="Chennai")
    pune_lead = evaluation.lead(city="Pune")
    others = [evaluation.lead(city="Jaipur"), evaluation.lead()]
    # Then language decides first, territory next, and round-robin takes the rest
    assert tamil_lead["assigned_agent_id"] == tamil
    assert evaluation.trail(tamil_lead["lead_id"])[0]["rule_id"] == f"language-{evaluation.run}"
    assert pune_lead["assigned_agent_id"] == pune
    assert evaluation.trail(pune_lead["lead_id"])[0]["rule_id"] == f"territory-{evaluation.run}"
    assert sorted(lead["assigned_agent_id"] for lead in others) == sorted([gen1, gen2])


def test_evaluation_audit_log_explains_every_decision(evaluation: Evaluation) -> None:
    # Given two agents, one on leave
    here, away = evaluation.agent("here"), evaluation.agent("away")
    evaluation.rules({"rule_id": "pair", "pool_id": evaluation.pool("pair", here, away)})
    evaluation.stack.put(f"/agents/{away}/availability", as_user="admin", json={"status": "on_leave"})
    # When a lead is routed
    lead = evaluation.lead()
    # Then its trail names the rule, the strategy, who was considered, who was skipped and why, and when
    [decision] = evaluation.trail(lead["lead_id"])
    assert decision["rule_id"] == f"pair-{evaluation.run}" and decision["strategy"] == "round_robin"
    assert decision["agent_id"] == here and decision["candidates"] == [here]
    assert decision["skipped"] == {away: "on_leave"}
    assert decision["at"].endswith("Z") and decision["rule_chain_version"] >= 1
    assert decision["counters_after"][here] == decision["counters_before"][here] + 1


def test_evaluation_caps_cap_5_send_6_the_sixth_goes_elsewhere(evaluation: Evaluation) -> None:
    # Given an agent capped at 5 a day, first in line, and a backup
    capped, backup = evaluation.agent("capped", daily_cap=5), evaluation.agent("backup")
    evaluation.rules(
        {"rule_id": "first", "pool_id": evaluation.pool("first", capped), "fall_through": True},
        {"rule_id": "backup", "pool_id": evaluation.pool("backup", backup)},
    )
    # When six leads arrive
    leads = [evaluation.lead() for _ in range(6)]
    # Then five go to the capped agent and the sixth elsewhere, with "capped" in its trail
    assert [lead["assigned_agent_id"] for lead in leads] == [capped] * 5 + [backup]
    sixth = evaluation.trail(leads[5]["lead_id"])[0]
    assert sixth["rules"][0]["skipped"] == {capped: "capped"}
    agents = {a["agent_id"]: a for a in evaluation.stack.get("/agents", as_user="admin").json()["items"]}
    assert agents[capped]["assigned_today"] == 5


def test_evaluation_manual_override_keeps_history(evaluation: Evaluation) -> None:
    # Given a lead assigned to Deepa (a demo agent with a login, on shift around the clock)
    successor = evaluation.agent("successor")
    evaluation.rules({"rule_id": "deepa", "pool_id": evaluation.pool("deepa", "deepa")})
    lead = evaluation.lead()
    stack = evaluation.stack
    assert lead["assigned_agent_id"] == "deepa"
    assert stack.get(f"/leads/{lead['lead_id']}", as_user="deepa").status_code == 200
    # When an admin moves it to another agent, with a reason
    response = stack.post(f"/leads/{lead['lead_id']}/reassign", as_user="admin",
                          json={"agent_id": successor, "reason": "customer asked for a Marathi speaker"})  # fmt: skip
    assert response.status_code == 200, response.text
    # Then the lead's whole history is kept, the previous agent no longer sees it,
    # and the override is recorded apart from automatic routing, with its reason
    timeline = stack.get(f"/leads/{lead['lead_id']}/timeline", as_user="admin").json()["items"]
    assert [event["kind"] for event in timeline] == ["lead.created", "lead.assigned", "lead.reassigned"]
    assert stack.get(f"/leads/{lead['lead_id']}", as_user="admin").json()["assigned_agent_id"] == successor
    assert stack.get(f"/leads/{lead['lead_id']}", as_user="deepa").status_code == 404
    trail = evaluation.trail(lead["lead_id"])
    assert [entry["trigger"] for entry in trail] == ["auto", "manual"]
    assert trail[1]["agent_id"] == successor and "Marathi" in str(trail[1])
