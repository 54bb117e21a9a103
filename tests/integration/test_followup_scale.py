"""The tick at scale and under overlap: thousands of due follow-ups processed across ten or more
bounded ticks with none lost or doubled; ticks running at the same time (threads, moto server)
change nothing twice. `make soak-followups` runs the first at full size (10,000 in ticks of 1,000)."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import boto3
import pytest

from leadrelay import definitions, wiring
from leadrelay.local.aws import base_env, create_table
from leadrelay.local.demo import seed
from leadrelay.models.followup import Followup
from leadrelay.store.dynamo import to_item
from leadrelay.store.followups import Q_FOLLOWUP_DUE, Q_FOLLOWUP_MISS, followup_item
from tests.integration.flow import Flow
from tests.integration.local_fixtures import moto_server  # noqa: F401 (fixture)

# 2,000 due follow-ups in ticks of at most 200 (the tick's default size) prove what 10,000 in ticks
# of 1,000 do: each tick bounded, a backlog ten ticks deep drained, each reminded once, none left.
# Measured here: ~10 s for 2,000, 83 s idle (up to 284 s on a loaded machine) for 10,000, which
# runs as `make soak-followups` (FOLLOWUP_SCALE=N sets the number; ticks are a tenth of it).
FOLLOWUPS = int(os.environ.get("FOLLOWUP_SCALE", "2000"))
TICK_BATCH = max(FOLLOWUPS // 10, 1)


def _count(table: str, queue: str, until: str = "9999") -> int:
    ddb = boto3.client("dynamodb")
    kwargs: dict[str, Any] = {"TableName": table, "IndexName": "by_due", "Select": "COUNT",
                              "KeyConditionExpression": "due_pk = :q AND due_at <= :u",
                              "ExpressionAttributeValues": {":q": {"S": queue}, ":u": {"S": until}}}  # fmt: skip
    total = 0
    while True:
        response = ddb.query(**kwargs)
        total += response["Count"]
        if "LastEvaluatedKey" not in response:
            return total
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _timeline_kinds(table: str) -> Counter[str]:
    """Every timeline entry's kind (a scan: only a test may read the whole table)."""
    ddb = boto3.client("dynamodb")
    kinds: Counter[str] = Counter()
    kwargs: dict[str, Any] = {"TableName": table, "FilterExpression": "begins_with(sk, :tl)",
                              "ExpressionAttributeValues": {":tl": {"S": "TL#"}}, "ProjectionExpression": "kind, lead_id"}  # fmt: skip
    while True:
        response = ddb.scan(**kwargs)
        kinds.update(f"{item['kind']['S']}|{item['lead_id']['S']}" for item in response["Items"])
        if "LastEvaluatedKey" not in response:
            return kinds
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@pytest.mark.concurrency
@pytest.mark.timeout(1200)
def test_thousands_of_due_follow_ups_are_each_reminded_once_across_bounded_ticks(aws: dict[str, str], clock) -> None:
    # Given FOLLOWUPS (2,000; 10,000 in the soak) open follow-ups on as many leads, all due within the last hour
    table = aws["LEADS_TABLE"]
    ddb = boto3.client("dynamodb")
    now = clock.now()
    batch: list[dict[str, Any]] = []
    for n in range(FOLLOWUPS):
        followup = Followup(followup_id=f"F{n:06d}", lead_id=f"L{n:06d}", agent_id=f"a{n % 7}", team_id="t",
                            due_at=now - timedelta(minutes=n % 60), reason="outcome:busy", created_at=now)  # fmt: skip
        batch.append({"PutRequest": {"Item": to_item(followup_item(followup, timedelta(hours=24)))}})
        if len(batch) == 25:
            ddb.batch_write_item(RequestItems={table: batch})
            batch = []
    assert _count(table, Q_FOLLOWUP_DUE) == FOLLOWUPS
    # When ticks run, each doing at most a tenth of them
    tick = wiring.followup_tick(batch=TICK_BATCH)
    done: list[int] = []
    while _count(table, Q_FOLLOWUP_DUE) and len(done) < 50:
        done.append(tick.run().counts.get("followups_due", 0))
    # Then every one was reminded exactly once, across at least ten bounded ticks, none left due
    assert max(done) <= TICK_BATCH and len(done) >= 10 and sum(done) == FOLLOWUPS
    assert tick.run().counts.get("followups_due", 0) == 0
    assert _count(table, Q_FOLLOWUP_DUE) == 0
    assert _count(table, Q_FOLLOWUP_MISS) == FOLLOWUPS
    reminders = _timeline_kinds(table)
    assert len(reminders) == FOLLOWUPS and set(reminders.values()) == {1}


@pytest.fixture
def server_demo(moto_server: Any, monkeypatch: pytest.MonkeyPatch, clock: Any) -> Any:  # noqa: F811
    suffix = uuid.uuid4().hex[:8]
    names = {"LEADS_TABLE": f"f-leads-{suffix}", "ORG_TABLE": f"f-org-{suffix}", "EVENT_BUS_NAME": f"f-bus-{suffix}"}
    for key, value in {**base_env(moto_server.endpoint), **names}.items():
        monkeypatch.setenv(key, value)
    wiring.reset()
    ddb = boto3.client("dynamodb")
    for table in definitions.TABLES:
        create_table(ddb, table, names[table.env_var])
    boto3.client("events").create_event_bus(Name=names["EVENT_BUS_NAME"])
    sources = {s["id"]: s for s in seed(demo=True).sources}
    yield Flow(names["LEADS_TABLE"]), sources, names
    wiring.reset()


@pytest.mark.concurrency
def test_overlapping_ticks_remind_once_and_move_each_late_lead_once(server_demo: Any, clock: Any) -> None:
    flow, sources, names = server_demo
    assert flow.call("PUT", "/settings/followups", body={"sla": {"first_contact_minutes": 30}})[0] == 200
    # Given 12 NCR leads: half called (busy: a follow-up in an hour), half nobody called
    called, ignored = [], []
    for n in range(12):
        _, body = flow.post("website", {"phone": f"98765{n:05d}", "city": "Noida"}, sources["website"]["key"])
        flow.run_router()
        lead = flow.get(f"/leads/{body['lead_id']}")[1]
        if n % 2:
            agent = lead["assigned_agent_id"]
            status, _ = flow.call("POST", f"/leads/{lead['lead_id']}/activities", role="agent", agent_id=agent,
                                  username=agent, body={"type": "call", "outcome": "busy"})  # fmt: skip
            assert status == 201
            called.append(lead["lead_id"])
        else:
            ignored.append(lead["lead_id"])
    assigned_before = sum(a["assigned_today"] for a in flow.get("/agents")[1]["items"])
    # When an hour passes and four ticks run at the same time, twice
    clock.advance(minutes=61)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(2):
            list(pool.map(lambda _: wiring.followup_tick().run(), range(4)))
    # Then each called lead was reminded once
    kinds = _timeline_kinds(names["LEADS_TABLE"])
    assert all(kinds[f"followup.due|{lead_id}"] == 1 for lead_id in called)
    # And each ignored lead moved exactly once, to one new owner, and the day counters agree
    for lead_id in ignored:
        triggers = [d["trigger"] for d in flow.get(f"/leads/{lead_id}/routing")[1]["items"]]
        assert triggers == ["auto", "sla"], triggers
        assert kinds[f"lead.sla_breached|{lead_id}"] == 1
    assigned_after = sum(a["assigned_today"] for a in flow.get("/agents")[1]["items"])
    assert assigned_after == assigned_before + len(ignored)
    roster = wiring.org_repository().load_roster()
    assert sum(roster.load(agent) for agent in roster.agents) == 12
