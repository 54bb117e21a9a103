"""Offer expiry exact to the second: an offer whose timeout the minute tick cannot keep gets a
one-time EventBridge Scheduler schedule (on moto), set from its `lead.offered` timeline entry by
the events function; fired (as the local stack's ticker fires it) it expires the offer, and
only if it is still open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from leadrelay.definitions import OFFER_TIMERS
from leadrelay.local.offer_timers import LOCAL_GROUP, LocalOfferTimers, create_group
from leadrelay.models import Agent
from tests.helpers import LambdaContext, ManualClock
from tests.integration.flow import Flow
from tests.integration.test_offers import as_agent, lead, offers_of, org_with, post, route, trail


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    return Flow(aws["LEADS_TABLE"])


@pytest.fixture
def scheduler(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    client = boto3.client("scheduler")
    for name, value in create_group(client, boto3.client("sqs")).items():
        monkeypatch.setenv(name, value)
    yield client


def offered_entry(flow: Flow, lead_id: str) -> dict[str, Any]:
    """The lead's latest `lead.offered` timeline entry, as the stream hands it to the events function."""
    from leadrelay.store.dynamo import from_item

    items = boto3.client("dynamodb").query(
        TableName="test-leads",
        KeyConditionExpression="pk = :pk AND begins_with(sk, :tl)",
        ExpressionAttributeValues={":pk": {"S": f"LEAD#{lead_id}"}, ":tl": {"S": "TL#"}},
    )["Items"]
    entries = [from_item(item) for item in items]
    return [e for e in entries if e["kind"] == "lead.offered"][-1]


def set_timer(entry: dict[str, Any]) -> None:
    import events_handler

    events_handler.set_offer_timer(entry)


def followup(event: dict[str, Any]) -> dict[str, Any]:
    import followup_handler

    return followup_handler.handler(event, LambdaContext())


def test_a_20_second_offer_gets_its_own_schedule_that_expires_it_at_its_second(
    flow: Flow, scheduler: Any, clock: ManualClock
) -> None:
    # Given a pool that offers each lead for 20 seconds
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"), offer_timeout_s=20)
    clock.advance(seconds=0.25)
    lead_id = post(flow, "9876500101")
    route(flow)
    [offer] = offers_of(flow, "asha")
    # When the events function sees the lead.offered entry
    set_timer(offered_entry(flow, lead_id))
    # Then there is a one-time schedule for the offer, at its expiry (rounded up to the second),
    # deleted after completion, invoking the followup function with a retry policy and a DLQ
    name = f"offer-{offer['offer_id']}"
    schedule = scheduler.get_schedule(Name=name, GroupName=LOCAL_GROUP)
    assert schedule["ScheduleExpression"] == "at(2026-11-23T06:30:21)"  # offered 06:30:00.25 + 20 s
    assert schedule["ScheduleExpressionTimezone"] == "UTC" and schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    target = schedule["Target"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": OFFER_TIMERS.retry_attempts,
                                     "MaximumEventAgeInSeconds": OFFER_TIMERS.max_event_age_s}  # fmt: skip
    assert target["DeadLetterConfig"]["Arn"].endswith("offer-timer-dlq")
    assert json.loads(target["Input"])["detail"] == {"task": "expire_offer", "offer_id": offer["offer_id"],
                                                     "agent_id": "asha"}  # fmt: skip
    # And setting it again (a redelivered stream record) changes nothing
    set_timer(offered_entry(flow, lead_id))
    timers = LocalOfferTimers(scheduler, followup)
    # When the clock reaches 20 s, not yet: nothing is due before the schedule's second
    assert timers.due(clock.now() + timedelta(seconds=20)) == []
    # When it fires at 21 s (as the local ticker fires it on its clock)
    clock.advance(seconds=21)
    [(fires_at, fire)] = timers.due(clock.now())
    assert fires_at.second == 21
    result = fire()
    # Then the offer passed on at once, not at the next minute's tick, and the schedule is gone
    assert result["expired"] == 1, result
    assert lead(flow, lead_id)["status"] == "new"
    assert [d["outcome"] for d in trail(flow, lead_id)] == ["offered", "expired"]
    assert timers.due(clock.now() + timedelta(hours=1)) == []
    # And the same timer delivered again is a no-op
    again = followup({"detail": {"task": "expire_offer", "offer_id": offer["offer_id"], "agent_id": "asha"}})
    assert again["expired"] == 0 and again["already_settled"] == 1
    route(flow)
    assert offers_of(flow, "bala")[0]["lead_id"] == lead_id


def test_a_timer_for_an_offer_accepted_meanwhile_changes_nothing(
    flow: Flow, scheduler: Any, clock: ManualClock
) -> None:
    org_with(Agent(agent_id="asha", name="Asha"), offer_timeout_s=30)
    lead_id = post(flow, "9876500102")
    route(flow)
    [offer] = offers_of(flow, "asha")
    set_timer(offered_entry(flow, lead_id))
    assert as_agent(flow, "asha", "POST", f"/offers/{offer['offer_id']}/accept")[0] == 200
    clock.advance(seconds=31)
    [(_, fire)] = LocalOfferTimers(scheduler, followup).due(clock.now())
    assert fire()["expired"] == 0
    assert lead(flow, lead_id)["assigned_agent_id"] == "asha"


def test_a_timer_early_by_clock_skew_leaves_the_offer_to_the_tick(
    flow: Flow, scheduler: Any, clock: ManualClock
) -> None:
    org_with(Agent(agent_id="asha", name="Asha"), offer_timeout_s=30)
    lead_id = post(flow, "9876500103")
    route(flow)
    [offer] = offers_of(flow, "asha")
    clock.advance(seconds=10)
    early = followup({"detail": {"task": "expire_offer", "offer_id": offer["offer_id"], "agent_id": "asha"}})
    assert early["expired"] == 0 and lead(flow, lead_id)["status"] == "offered"


def test_whole_minute_offers_are_left_to_the_tick(flow: Flow, scheduler: Any) -> None:
    # Given a pool that offers for exactly two minutes (a multiple of the tick)
    org_with(Agent(agent_id="asha", name="Asha"), offer_timeout_s=120)
    lead_id = post(flow, "9876500104")
    route(flow)
    set_timer(offered_entry(flow, lead_id))
    # Then no schedule is made: the minute tick keeps it
    assert scheduler.list_schedules(GroupName=LOCAL_GROUP)["Schedules"] == []
