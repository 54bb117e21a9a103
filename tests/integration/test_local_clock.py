"""The local stack's one clock: `/_local/clock`, the ticker that fires the schedules, local.json and
token refresh (a LocalStack on the shared moto server, with fake handlers)."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from leadrelay import definitions
from leadrelay.clock import OffsetClock, get_clock, parse_iso
from leadrelay.local.aws import client
from leadrelay.local.stack import LocalStack
from leadrelay.local.ticker import Ticker, scheduled_event
from tests.integration.local_fixtures import RecordingHandler, moto_server, small_seed  # noqa: F401


class World:
    def __init__(self) -> None:
        self.route = RecordingHandler(respond=lambda event: {"batchItemFailures": []})
        self.followup_seen: list[tuple[dict[str, Any], datetime]] = []
        self.write_pending_lead_on_tick = False
        self.stack: LocalStack | None = None

    def followup(self, event: dict[str, Any], context: Any) -> None:
        # What the handler would see: the process clock at the moment it runs.
        self.followup_seen.append((event, get_clock().now()))
        if self.write_pending_lead_on_tick and event["detail"].get("task") == "tick":
            assert self.stack is not None and self.stack.resources is not None
            table = self.stack.resources.tables[definitions.LEADS_TABLE.env_var]
            client("dynamodb", self.stack.resources.endpoint).put_item(
                TableName=table,
                Item={
                    "pk": {"S": f"LEAD#tick-{len(self.followup_seen)}"},
                    "sk": {"S": "LEAD"},
                    "routing_state": {"S": "pending"},
                },
            )


@pytest.fixture(scope="module")
def world(moto_server, tmp_path_factory):  # noqa: F811
    world = World()
    stack = LocalStack(
        port=0,
        demo=True,
        state_dir=tmp_path_factory.mktemp("state"),
        seed=small_seed,
        moto=moto_server,
        handlers={
            "ingest": RecordingHandler(),
            "api": RecordingHandler(),
            "route": world.route,
            "followup": world.followup,
        },
        ticker_check_seconds=3600,  # only the tests move time here
        token_refresh_seconds=1.0,
    )
    world.stack = stack
    with stack:
        yield world


def _admin(world: World) -> dict[str, str]:
    assert world.stack is not None
    return {"Authorization": f"Bearer {world.stack.token('admin')}"}


def _clock_url(world: World) -> str:
    assert world.stack is not None
    return f"{world.stack.api_url}/_local/clock"


def test_get_tells_the_stack_time_as_iso_with_milliseconds(world):
    response = requests.get(_clock_url(world), timeout=5)
    assert response.status_code == 200
    now = response.json()["now"]
    assert now.endswith("Z") and len(now) == len("2026-11-23T06:30:00.123Z")
    assert abs(parse_iso(now) - world.stack.clock.now()) < timedelta(seconds=5)


def test_advancing_five_minutes_runs_five_ticks_each_at_its_own_time(world):
    before = world.stack.clock.now()
    seen_before = len(world.followup_seen)
    response = requests.post(_clock_url(world), json={"advance_minutes": 5}, headers=_admin(world), timeout=10)
    assert response.status_code == 200
    after = parse_iso(response.json()["now"])
    assert timedelta(minutes=5) <= after - before < timedelta(minutes=5, seconds=5)
    # (the PullSources schedule ticks every minute too; its events say "task": "pull")
    ticks = [(event, at) for event, at in world.followup_seen[seen_before:] if event["detail"]["task"] == "tick"]
    assert len(ticks) == 5
    times = [parse_iso(event["time"]) for event, _ in ticks]
    assert times == sorted(times)
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(minutes=1)] * 4
    assert all(before < moment <= after for moment in times)
    for event, handler_now in ticks:
        # the handler ran with the clock set to its tick's time
        assert timedelta(0) <= handler_now - parse_iso(event["time"]) < timedelta(seconds=2)
        assert event["detail-type"] == "Scheduled Event"
        assert event["source"] == "aws.events"
        assert event["resources"] == ["arn:aws:events:ap-south-1:123456789012:rule/FollowupTick"]
        assert event["time"].endswith(":00Z")


def test_records_written_by_ticks_are_routed_before_the_clock_answers(world):
    world.write_pending_lead_on_tick = True
    try:
        seen = len(world.route.events)
        response = requests.post(_clock_url(world), json={"advance_minutes": 2}, headers=_admin(world), timeout=15)
    finally:
        world.write_pending_lead_on_tick = False
    assert response.status_code == 200
    routed = [r["dynamodb"]["Keys"]["pk"]["S"] for e in world.route.events[seen:] for r in e["Records"]]
    assert len(routed) == 2
    assert all(pk.startswith("LEAD#tick-") for pk in routed)


def test_moving_the_clock_needs_an_admin_token(world):
    assert requests.post(_clock_url(world), json={"advance_minutes": 1}, timeout=5).status_code == 401
    agent = {"Authorization": f"Bearer {world.stack.token('arjun')}"}
    response = requests.post(_clock_url(world), json={"advance_minutes": 1}, headers=agent, timeout=5)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"{}", 422),
        (b'{"advance_minutes": "5"}', 422),
        (b'{"advance_minutes": -1}', 422),
        (b'{"advance_minutes": true}', 422),
        (b"[5]", 422),
    ],
)
def test_a_bad_advance_is_refused_with_a_json_error(world, body, status):
    before = world.stack.clock.now()
    response = requests.post(_clock_url(world), data=body, headers=_admin(world), timeout=5)
    assert response.status_code == status
    assert set(response.json()) == {"error", "message"}
    assert world.stack.clock.now() - before < timedelta(seconds=5)


def test_local_json_lists_the_api_sources_and_one_user_per_name_with_tokens(world):
    info = json.loads(world.stack.local_json_path.read_text())
    assert info["api_url"] == world.stack.api_url
    assert info["sources"] == [{"id": "website", "key": "website-key", "kind": "generic"}]
    assert [(u["username"], u["role"]) for u in info["users"]] == [
        ("admin", "admin"),
        ("maya", "manager"),
        ("arjun", "agent"),
    ]
    by_name = {user["username"]: user for user in info["users"]}
    assert by_name["maya"]["team_id"] == "team-north"
    assert by_name["arjun"]["agent_id"] == "agent-arjun"
    assert "agent_id" not in by_name["admin"] and "team_id" not in by_name["admin"]
    assert all(user["token"].count(".") == 2 for user in info["users"])


def test_tokens_are_reissued_and_local_json_rewritten(world):
    path = world.stack.local_json_path
    first = json.loads(path.read_text())["users"][0]["token"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        current = json.loads(path.read_text())["users"][0]["token"]
        if current != first:
            break
        time.sleep(0.1)
    assert current != first
    response = requests.get(f"{world.stack.api_url}/leads", headers={"Authorization": f"Bearer {current}"}, timeout=5)
    assert response.status_code == 200


def test_the_stack_clock_is_the_process_clock(world):
    assert get_clock() is world.stack.clock


def test_a_huge_advance_runs_only_the_latest_ticks():
    # Given a ticker capped at 10 ticks per advance
    clock = OffsetClock()
    fired: list[str] = []
    ticker = Ticker(
        clock=clock,
        invoke=lambda schedule, event: fired.append(event["time"]),
        max_ticks_per_advance=10,
        schedules=definitions.SCHEDULES[:1],
    )  # one schedule (FollowupTick): its ticks are counted
    start = clock.now()
    # When the clock moves an hour
    ticker.advance(timedelta(hours=1))
    # Then only the last 10 minute ticks ran, ending at the new time
    assert len(fired) == 10
    assert ticker.ticks_skipped >= 50
    last = parse_iso(fired[-1])
    assert timedelta(0) <= clock.now() - last < timedelta(minutes=1)
    assert last - start > timedelta(minutes=55)


def test_the_background_ticker_fires_each_boundary_once():
    clock = OffsetClock()
    fired: list[str] = []
    ticker = Ticker(
        clock=clock, invoke=lambda schedule, event: fired.append(event["time"]), schedules=definitions.SCHEDULES[:1]
    )  # one schedule (FollowupTick): its ticks are counted
    assert ticker.fire_due() == 0
    clock.advance(timedelta(minutes=3))
    assert ticker.fire_due() == 3
    assert ticker.fire_due() == 0
    assert len(set(fired)) == 3


def test_a_scheduled_event_looks_like_eventbridges():
    at = datetime(2026, 11, 23, 6, 31, tzinfo=UTC)
    event = scheduled_event(definitions.SCHEDULES[0], at)
    assert event["time"] == "2026-11-23T06:31:00Z"
    assert event["version"] == "0" and event["region"] == "ap-south-1" and event["detail"] == {"task": "tick"}
