"""Offers under contention on the moto server: 16 routers at once, agents accepting and declining
at random while the tick expires what they leave, racing each other on the same offers."""

from __future__ import annotations

import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.clock import SystemClock, local_day
from leadrelay.errors import Refused
from leadrelay.models import Agent, LeadStatus, Pool, Source, Strategy
from leadrelay.models.source import hash_key
from leadrelay.routing.offers import OfferDesk
from leadrelay.routing.router import RoutingContention
from leadrelay.routing.rules import RuleChain
from leadrelay.store.assignments import SLA_CLOCK_QUEUE
from tests.integration.local_fixtures import moto_server, own_tables  # noqa: F401 (fixture)

pytestmark = pytest.mark.concurrency

LEADS = 40
ROUTERS = 16
DAILY_CAP = {"a1": 6}
BACKLOG_CAP = {"a2": 4}
AGENTS = ("a1", "a2", "a3", "a4", "a5", "a6")


class LaterClock:
    """The tick's clock an hour ahead: every offer made now is already due to expire."""

    def now(self) -> datetime:
        return SystemClock().now() + timedelta(hours=1)


@pytest.fixture
def org(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:  # noqa: F811
    names = own_tables(moto_server, monkeypatch, "o")
    repo = wiring.org_repository()
    for agent_id in AGENTS:
        repo.put_agent(Agent(agent_id=agent_id, name=agent_id, daily_cap=DAILY_CAP.get(agent_id),
                             max_open_leads=BACKLOG_CAP.get(agent_id)))  # fmt: skip
    repo.put_pool(Pool(pool_id="all", name="All", agent_ids=list(AGENTS), strategy=Strategy.ROUND_ROBIN,
                       offer_timeout_s=60))  # fmt: skip
    repo.publish_rule_chain(RuleChain(default_pool_id="all"))
    repo.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))
    yield names
    wiring.reset()


def _new_lead(i: int, name: str | None = None) -> str:
    import json

    from leadrelay.capture import WebhookRequest

    body = json.dumps({"phone": f"98{i:08d}", "name": name or f"Lead {i}"}).encode()
    request = WebhookRequest(source_id="web", method="POST", path="/hooks/web", body=body, query={},
                             headers={"content-type": "application/json", "x-api-key": "k"},
                             request_id=str(uuid.uuid4()))  # fmt: skip
    result = wiring.capture_service().capture(request)
    assert result.status == 202, result.body
    return str(result.body["lead_id"])  # type: ignore[index]


def test_offers_under_16_routers_with_random_accepts_declines_and_expiries_keep_every_invariant(
    org: dict[str, str],
) -> None:
    # Given 40 leads waiting, in a pool that offers each for a minute; a1 has a daily cap of 6,
    # a2 may hold at most 4 open leads
    lead_ids = [_new_lead(i) for i in range(LEADS)]
    work: queue.Queue[str] = queue.Queue()
    for lead_id in lead_ids:
        work.put(lead_id)
    leads = wiring.lead_repository()
    desk = wiring.offer_desk()
    tick_desk = OfferDesk(leads=leads, org=wiring.org_repository(), offers=wiring.offer_store(), clock=LaterClock(),
                          timezone="Asia/Kolkata", sla_queue=SLA_CLOCK_QUEUE)  # fmt: skip
    done = threading.Event()
    actions = Counter[str]()
    lock = threading.Lock()

    def router_loop(seed: int) -> None:
        # When 16 routers take leads off the stream; each offered agent accepts, declines or
        # leaves it (the tick then expires it), at random
        rng, router = random.Random(seed), wiring.router()
        while not done.is_set():
            try:
                lead_id = work.get(timeout=0.05)
            except queue.Empty:
                continue
            lead = leads.get(lead_id, consistent=True)
            if lead is not None and lead.status is LeadStatus.NEW:
                try:
                    router.route(lead)
                except RoutingContention:  # the event source mapping retries the record
                    with lock:
                        actions["contention_retried"] += 1
                    work.put(lead_id)
                    continue
            lead = leads.get(lead_id, consistent=True)
            if lead is None or lead.offer_id is None or lead.offered_agent_id is None:
                continue
            action = rng.choices(["accept", "decline", "leave"], weights=[4, 3, 3])[0]
            time.sleep(rng.uniform(0, 0.01))  # the tick gets a chance to race the agent
            try:
                if action == "accept":
                    desk.accept(lead.offered_agent_id, lead.offer_id)
                elif action == "decline":
                    desk.decline(lead.offered_agent_id, lead.offer_id)
                    work.put(lead_id)  # pending again: the stream hands it to a router
            except Refused:
                action += "_lost_race"
            with lock:
                actions[action] += 1

    def tick_loop() -> None:
        while not done.wait(0.03):
            for lead_id in tick_desk.expire_due(limit=50).lead_ids:
                work.put(lead_id)

    def settled() -> bool:
        states = [leads.get(lead_id, consistent=True) for lead_id in lead_ids]
        return all(s is not None and s.status in (LeadStatus.ASSIGNED, LeadStatus.UNASSIGNED) for s in states)

    ticker = threading.Thread(target=tick_loop, daemon=True)
    ticker.start()
    with ThreadPoolExecutor(max_workers=ROUTERS) as pool:
        futures = [pool.submit(router_loop, seed) for seed in range(ROUTERS)]
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not (work.empty() and settled()):
            time.sleep(0.5)
        done.set()
        for future in futures:
            future.result()
    ticker.join()

    # Then every lead ended assigned to exactly one agent or unassigned (nobody left to offer)
    final = {lead_id: leads.get(lead_id, consistent=True) for lead_id in lead_ids}
    assert all(lead is not None and lead.status in (LeadStatus.ASSIGNED, LeadStatus.UNASSIGNED)
               for lead in final.values()), Counter(str(lead.status) for lead in final.values() if lead)  # fmt: skip
    owners = Counter(lead.assigned_agent_id for lead in final.values() if lead and lead.assigned_agent_id)
    for lead_id, lead in final.items():
        assert lead is not None
        trail = leads.routing_decisions(lead_id)
        offered = [d.agent_id for d in trail if d.outcome == "offered"]
        # no agent was offered the same lead twice
        assert len(offered) == len(set(offered)), (lead_id, offered)
        assigned = [d for d in trail if d.outcome == "assigned"]
        if lead.status is LeadStatus.ASSIGNED:
            # exactly one acceptance, by the agent of the last offer, who owns it
            assert len(assigned) == 1 and assigned[0].agent_id == lead.assigned_agent_id == offered[-1]
        else:
            # (the test's tick runs an hour ahead, so its expiries sort last in the trail)
            routed = [d.outcome for d in trail if d.outcome in ("offered", "unassigned")]
            assert assigned == [] and routed[-1] == "unassigned"
        # every offer was settled once: offers = accepted + declined + expired
        settled_outcomes = [d.outcome for d in trail if d.outcome in ("assigned", "declined", "expired")]
        assert len(settled_outcomes) == len(offered), [d.outcome for d in trail]
    # and no offer is left open
    assert wiring.offer_store().open_offers() == []
    # and the caps held, with the counters agreeing with the leads (every pass released its hold)
    day = local_day(SystemClock().now(), "Asia/Kolkata")
    counts = wiring.org_repository().day_counts(day)
    roster = wiring.org_repository().load_roster()
    for agent_id in AGENTS:
        assert counts.get(agent_id, 0) == owners.get(agent_id, 0), (agent_id, counts, owners)
        assert roster.open_leads.get(agent_id, 0) == owners.get(agent_id, 0), (agent_id, roster.open_leads, owners)
    assert owners["a1"] <= DAILY_CAP["a1"] and owners["a2"] <= BACKLOG_CAP["a2"]
    # and the run really mixed all three answers, with some lost races
    assert actions["accept"] > 0 and actions["decline"] > 0 and actions["leave"] > 0, actions
    assert sum(owners.values()) + sum(1 for lead in final.values() if lead and lead.assigned_agent_id is None) == LEADS


@pytest.mark.parametrize("strategy", [Strategy.ROUND_ROBIN, Strategy.LEAST_LOADED])
def test_backlog_caps_hold_when_16_routers_race_for_the_last_places(org: dict[str, str], strategy: Strategy) -> None:
    # Given three agents who may each hold three open leads (a pool default), in two pools that
    # share them (so no round-robin stamp serialises the race: only the open-leads counter can),
    # and no offers
    repo = wiring.org_repository()
    for pool_id in ("north", "south"):
        repo.put_pool(Pool(pool_id=pool_id, name=pool_id, agent_ids=["a3", "a4", "a5"], strategy=strategy,
                           max_open_leads=3))  # fmt: skip
    repo.publish_rule_chain(RuleChain.model_validate({
        "rules": [{"rule_id": "north", "name": "North", "when": {"field": "name", "op": "prefix", "value": "North"},
                   "pool_id": "north"}],
        "default_pool_id": "south",
    }))  # fmt: skip
    lead_ids = [_new_lead(100 + i, "North" if i % 2 else "South") for i in range(14)]
    leads = wiring.lead_repository()

    def route(lead_id: str) -> None:
        router = wiring.router()
        for _ in range(20):  # the event source mapping retries a record that lost its races
            lead = leads.get(lead_id, consistent=True)
            assert lead is not None
            try:
                router.route(lead)
                return
            except RoutingContention:
                continue

    # When 16 routers route 14 leads at once
    with ThreadPoolExecutor(max_workers=ROUTERS) as pool:
        list(pool.map(route, lead_ids))
    # Then each agent holds exactly three, the other five wait unassigned, and the counters agree
    final = [leads.get(lead_id, consistent=True) for lead_id in lead_ids]
    owners = Counter(lead.assigned_agent_id for lead in final if lead and lead.assigned_agent_id)
    assert owners == {"a3": 3, "a4": 3, "a5": 3}
    assert sum(1 for lead in final if lead and lead.status is LeadStatus.UNASSIGNED) == 5
    loads = wiring.org_repository().load_roster().open_leads
    assert {agent: loads.get(agent, 0) for agent in ("a3", "a4", "a5")} == {"a3": 3, "a4": 3, "a5": 3}
    waiting = next(lead for lead in final if lead and lead.status is LeadStatus.UNASSIGNED)
    assert set(leads.routing_decisions(waiting.lead_id)[-1].skipped.values()) == {"backlog_full"}
