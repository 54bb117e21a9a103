"""The LeadsWaiting alarm's metric: leads the router has not decided, or nobody took, after N minutes."""

from __future__ import annotations

from typing import Any

from leadrelay import wiring
from leadrelay.definitions import LEAD_WAITING_ALARM_MINUTES
from leadrelay.health import leads_waiting
from leadrelay.models import Agent, AgentStatus, Pool, Source
from leadrelay.models.source import hash_key
from leadrelay.routing.rules import RuleChain
from tests.integration.flow import Flow


def test_a_lead_counts_as_waiting_once_it_has_waited_past_the_limit_for_the_router_or_a_person(
    aws: dict[str, str], clock: Any
) -> None:
    # Given one agent, on leave, so a routed lead stays unassigned
    org = wiring.org_repository()
    org.put_agent(Agent(agent_id="a1", name="a1", status=AgentStatus.ON_LEAVE))
    org.put_pool(Pool(pool_id="all", name="All", agent_ids=["a1"]))
    org.publish_rule_chain(RuleChain(default_pool_id="all"))
    org.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))
    flow, repo = Flow(aws["LEADS_TABLE"]), wiring.lead_repository()
    # When a lead arrives and the router has not seen it yet
    assert flow.post("web", {"phone": "9811300001"}, "k")[0] == 202
    # Then it is not counted before the limit, and counted after it
    assert leads_waiting(repo, clock.now()) == 0
    clock.advance(minutes=LEAD_WAITING_ALARM_MINUTES + 1)
    assert leads_waiting(repo, clock.now()) == 1
    # When the router decides it (unassigned: nobody available), it waits for a person instead
    flow.run_router()
    assert leads_waiting(repo, clock.now()) == 0
    clock.advance(minutes=LEAD_WAITING_ALARM_MINUTES + 1)
    assert leads_waiting(repo, clock.now()) == 1


def test_an_assigned_lead_is_not_waiting(aws: dict[str, str], clock: Any) -> None:
    org = wiring.org_repository()
    org.put_agent(Agent(agent_id="a1", name="a1"))
    org.put_pool(Pool(pool_id="all", name="All", agent_ids=["a1"]))
    org.publish_rule_chain(RuleChain(default_pool_id="all"))
    org.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))
    flow = Flow(aws["LEADS_TABLE"])
    flow.post("web", {"phone": "9811300002"}, "k")
    flow.run_router()
    clock.advance(hours=2)
    assert leads_waiting(wiring.lead_repository(), clock.now()) == 0
