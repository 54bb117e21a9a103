"""Concurrency on the moto server: many threads ingest and route at once, and the invariants in
ARCHITECTURE.md hold — one owner per lead, caps never exceeded, round-robin fair, leave honoured."""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.clock import SystemClock, local_day
from leadrelay.local.stack import RESOLVER_LOCK, ContainerPool
from leadrelay.models import Agent, AgentStatus, Pool, Source
from leadrelay.models.source import hash_key
from leadrelay.routing.rules import RuleChain
from tests.helpers import LambdaContext
from tests.integration.local_fixtures import ingested_lead_event, moto_server, own_tables  # noqa: F401 (fixture)

pytestmark = pytest.mark.concurrency

# a5 is on leave throughout; a6 keeps going on and off a break while the leads arrive.
CAPS = {"a1": 20, "a2": 30, "a3": None, "a4": None, "a5": None, "a6": None}
LEADS = int(__import__("os").environ.get("CONCURRENCY_LEADS", "200"))
THREADS = int(__import__("os").environ.get("CONCURRENCY_THREADS", "16"))


@pytest.fixture
def org(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # noqa: F811
    names = own_tables(moto_server, monkeypatch, "c")
    boto3.client("events").create_event_bus(Name=names["EVENT_BUS_NAME"])
    repo = wiring.org_repository()
    for agent_id, cap in CAPS.items():
        status = AgentStatus.ON_LEAVE if agent_id == "a5" else AgentStatus.AVAILABLE
        repo.put_agent(Agent(agent_id=agent_id, name=agent_id, daily_cap=cap, status=status))
    repo.put_pool(Pool(pool_id="all", name="All", agent_ids=list(CAPS)))
    repo.publish_rule_chain(RuleChain(default_pool_id="all"))
    repo.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))
    yield names
    wiring.reset()


def test_200_leads_from_16_threads_keep_every_routing_invariant_under_random_availability_changes(
    org: dict[str, str],
) -> None:
    # Each router is its own Lambda container, with its own copy of the handler module; webhooks
    # take turns, because Powertools' REST resolver keeps the current event on a class attribute.
    functions = Path(__file__).resolve().parents[2] / "functions"
    ingest = ContainerPool(functions / "ingest", "ingest", 1, RESOLVER_LOCK)
    route = ContainerPool(functions / "route", "route", THREADS)

    deliveries = Counter[str]()
    lock = threading.Lock()

    def one_lead(i: int) -> str:
        # Given a webhook lead, stored by ingest
        lead_id, event = ingested_lead_event(ingest, org["LEADS_TABLE"], f"9{i:09d}", i)
        # When the stream delivers it twice (a redelivery), retrying failed records as the ESM does
        for _ in range(2):
            for _attempt in range(20):
                with lock:
                    deliveries[lead_id] += 1
                try:
                    if route(event, LambdaContext()) == {"batchItemFailures": []}:
                        break
                except Exception:  # a failed invocation: the event source mapping retries it
                    continue
            else:
                pytest.fail(f"lead {lead_id} was never routed")
        return lead_id

    done = threading.Event()

    def flip_a6() -> None:
        # Availability changes at random moments, racing the routers.
        rng, repo = random.Random(7), wiring.org_repository()
        while not done.wait(rng.uniform(0.005, 0.05)):
            repo.set_availability("a6", rng.choice(["available", "on_break"]), None)

    flipper = threading.Thread(target=flip_a6, daemon=True)
    flipper.start()
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            lead_ids = list(pool.map(one_lead, range(LEADS)))
    finally:
        done.set()
        flipper.join()
    assert len(set(lead_ids)) == LEADS, "every webhook made its own lead"

    leads = [wiring.lead_repository().get(lead_id, consistent=True) for lead_id in lead_ids]
    owners = Counter(lead.assigned_agent_id for lead in leads if lead and lead.status.value == "assigned")
    # Then every lead is assigned exactly once (no lead left new; one decision each)
    assert all(lead is not None and lead.status.value in ("assigned", "unassigned") for lead in leads)
    for lead_id in lead_ids:
        assert len(wiring.lead_repository().routing_decisions(lead_id)) == 1
    # and no cap is exceeded, with the day counters agreeing with the leads
    day = local_day(SystemClock().now(), "Asia/Kolkata")
    counters = wiring.org_repository().day_counts(day)
    decisions = [wiring.lead_repository().routing_decisions(lead_id)[0] for lead_id in lead_ids]
    assert {local_day(d.at, "Asia/Kolkata") for d in decisions} == {day}, "every decision was made today"
    decided = Counter(d.agent_id for d in decisions if d.agent_id)
    for agent_id, cap in CAPS.items():
        assert counters.get(agent_id, 0) == owners.get(agent_id, 0), (counters, owners, decided)
        if cap is not None:
            assert owners[agent_id] <= cap
    assert owners["a1"] == CAPS["a1"] and owners["a2"] == CAPS["a2"]
    # and the agent on leave got none, while the two uncapped agents split the rest within one
    assert owners["a5"] == 0
    # a6 took leads only while available; a3 and a4, always available and uncapped, alternate
    assert 0 < owners["a6"] < owners["a3"]
    assert sum(owners.values()) == LEADS
    assert abs(owners["a3"] - owners["a4"]) <= 1


def test_a_closed_lead_whose_person_arrives_twelve_times_at_once_is_reopened_once(org: dict[str, str]) -> None:
    from leadrelay.capture import WebhookRequest
    from leadrelay.models import LeadStatus
    from leadrelay.store.lifecycle import LeadLifecycle, StatusChange

    def arrive(n: int) -> str:
        body = json.dumps({"phone": "9876512345", "external_id": f"form-{n}", "message": f"again {n}"}).encode()
        request = WebhookRequest(source_id="web", method="POST", path="/hooks/web", body=body, query={},
                                 headers={"content-type": "application/json", "x-api-key": "k"},
                                 request_id=str(uuid.uuid4()))  # fmt: skip
        result = wiring.capture_service().capture(request)
        assert result.status == 202, result.body
        return str(result.body["lead_id"])  # type: ignore[index]

    # Given a lead, routed, then closed as lost by its agent
    lead_id = arrive(0)
    repo = wiring.lead_repository()
    lead = repo.get(lead_id, consistent=True)
    assert lead is not None
    owner = wiring.router().route(lead).decision.agent_id  # type: ignore[union-attr]
    lead = repo.get(lead_id, consistent=True)
    assert lead is not None and lead.assigned_agent_id == owner
    lifecycle = LeadLifecycle(leads=repo, org_table=org["ORG_TABLE"],
                              clock=SystemClock())  # fmt: skip
    lifecycle.change(lead, StatusChange(LeadStatus.LOST, "test", "not now"))
    # When the person arrives twelve times at once (twelve forms, twelve threads)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(arrive, range(1, 13)))
    # Then every arrival is a touchpoint on the one lead, and it was reopened exactly once
    assert set(answers) == {lead_id}
    lead = repo.get(lead_id, consistent=True)
    assert lead is not None and lead.status is LeadStatus.NEW and lead.reopen_count == 1
    assert lead.touch_count == 13 and lead.return_to_agent_id == owner
    kinds = Counter(event.kind for event in repo.timeline(lead_id))
    assert kinds["lead.reopened"] == 1 and kinds["lead.touchpoint"] == 11
    assert len(repo.touchpoints(lead_id)) == 12
    # And eight routers racing on the reopened lead give it one owner: its previous agent
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: wiring.router().route(lead), range(8)))
    assert sum(1 for outcome in outcomes if outcome.decision is not None) == 1
    routed = repo.get(lead_id, consistent=True)
    assert routed is not None and routed.assigned_agent_id == owner and routed.status is LeadStatus.ASSIGNED
