"""The pieces behind a newcomer's first hour, without a stack: the start time of the clock, what
the terminal prints, the stand-in Graph API, and the rule chain forms the CLI reads and prints."""

from __future__ import annotations

import io
import json
from argparse import Namespace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadrelay.cli import build_parser
from leadrelay.clock import OffsetClock
from leadrelay.local.backtest_cli import read_draft
from leadrelay.local.gateway import RequestLog
from leadrelay.local.graph_standin import GraphStandIn, graph_lead
from leadrelay.local.route_cli import chain_spec
from leadrelay.local.serve import next_steps
from leadrelay.local.terminal import request_line, schedule_line, work_done
from leadrelay.models import Source, SourceKind


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def test_the_clock_starts_at_the_given_moment_and_still_only_moves_forward() -> None:
    start = datetime.fromisoformat("2026-11-23T18:20+05:30")
    clock = OffsetClock(start)
    assert abs(clock.now() - start) < timedelta(seconds=5)
    assert clock.advance(timedelta(minutes=45)) - start >= timedelta(minutes=45)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(timedelta(minutes=-1))


def test_a_start_time_without_an_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone offset"):
        OffsetClock(datetime(2026, 11, 23, 18, 20))


def test_start_at_comes_from_the_flag_or_the_environment_and_must_say_its_offset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given LEADRELAY_START_AT, When `leadrelay local` is parsed without the flag, Then it is used
    monkeypatch.setenv("LEADRELAY_START_AT", "2026-11-23T18:20+05:30")
    args = build_parser().parse_args(["local", "--demo"])
    assert args.start_at == datetime.fromisoformat("2026-11-23T18:20+05:30")
    # And the flag wins
    args = build_parser().parse_args(["local", "--start-at", "2026-11-24T03:00Z"])
    assert args.start_at == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    # And a time with no offset is a usage error that says how to write it
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["local", "--start-at", "2026-11-23T18:20"])
    assert exit_info.value.code == 2
    assert "+05:30" in capsys.readouterr().err


def test_without_start_at_the_stack_runs_on_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADRELAY_START_AT", raising=False)
    assert build_parser().parse_args(["local"]).start_at is None


def test_a_request_line_leaves_the_query_string_out_since_keys_travel_there() -> None:
    at = datetime(2026, 11, 23, 12, 50, 11, tzinfo=UTC)
    entry = RequestLog("POST", "/hooks/justdial?key=SECRET&mobile=9876543210", "ingest", 200, 0.0, 0.0412)
    assert request_line(entry, FixedClock(at)) == "12:50:11Z POST /hooks/justdial 200 ingest 41 ms"


def test_a_schedule_is_printed_only_when_it_did_something() -> None:
    class Schedule:
        name = "Tick"

    event = {"time": "2026-11-23T12:51:00Z"}
    assert schedule_line(Schedule(), event, {"at": "…", "unassigned": 3, "pending_fetches": {}}) is None
    assert schedule_line(Schedule(), event, {"task": "pull", "sources": []}) is None
    quiet_tick = {"at": "…", "unassigned": 1, "work": {"followups_due": 0, "unassigned_waiting": 1}}
    assert schedule_line(Schedule(), event, quiet_tick) is None
    assert work_done({"work": {"followups_missed": 2, "sla_escalated": 0}}) == {"work": {"followups_missed": 2}}
    assert work_done({"at": "…", "pending_fetches": {"fetched": 2}}) == {"pending_fetches": {"fetched": 2}}
    line = schedule_line(Schedule(), event, {"at": "…", "pending_fetches": {"fetched": 2}})
    assert line == '12:51:00Z schedule Tick: {"pending_fetches": {"fetched": 2}}'


def test_the_stand_in_graph_answers_a_lead_for_its_token_and_refuses_others_as_graph_does() -> None:
    graph = GraphStandIn(FixedClock(datetime(2026, 11, 23, 12, 50, tzinfo=UTC)), tokens=["page-token"])
    status, _, body = graph.answer("GET", "/_local/graph/v25.0/444444", "access_token=page-token&fields=id", [], b"")
    lead = json.loads(body)
    assert status == 200 and lead["id"] == "444444"
    assert {answer["name"] for answer in lead["field_data"]} == {"full_name", "phone_number", "email", "city"}
    assert lead == graph_lead("444444", datetime(2026, 11, 23, 12, 50, tzinfo=UTC))  # same id, same person
    status, _, body = graph.answer("GET", "/_local/graph/v25.0/444444", "access_token=stolen", [], b"")
    assert status == 400 and json.loads(body)["error"]["code"] == 190


def test_only_meta_sources_with_a_page_token_and_no_graph_url_of_their_own_are_pointed_at_it() -> None:
    class Org:
        def __init__(self, sources: list[Source]) -> None:
            self.sources = sources
            self.updates: list[tuple[str, dict]] = []

        def list_sources(self) -> list[Source]:
            return self.sources

        def update_source(self, source_id: str, changes: dict, settings: dict) -> None:
            self.updates.append((source_id, settings))

    def meta(source_id: str, **settings: str) -> Source:
        return Source(
            source_id=source_id, kind=SourceKind.META_LEAD_ADS, name=source_id, key_hash="x", settings=settings
        )

    org = Org([
        meta("demo", page_access_token="demo-token"),
        meta("real", page_access_token="t", graph_url="https://graph.facebook.com/v25.0"),
        meta("no-token"),
        Source(source_id="web", kind=SourceKind.GENERIC, name="web", key_hash="x"),
    ])  # fmt: skip
    graph = GraphStandIn(FixedClock(datetime.now(UTC)))
    assert graph.serve_sources(org, "http://127.0.0.1:3000/_local/graph/v25.0") == ["demo"]
    assert org.updates == [("demo", {"graph_url": "http://127.0.0.1:3000/_local/graph/v25.0"})]
    assert graph.tokens == {"demo-token"}


def test_route_show_drops_the_version_stamp_and_a_draft_file_may_keep_it(tmp_path) -> None:
    live = {"rules": [], "default_pool_id": "everyone", "version": 3, "published_at": "…", "published_by": "admin"}
    assert chain_spec(live) == {"rules": [], "default_pool_id": "everyone"}
    saved = tmp_path / "from-get.json"
    saved.write_text(json.dumps(live))
    assert read_draft(str(saved)) == {"rules": [], "default_pool_id": "everyone"}


def test_route_show_prints_the_chain_as_json_to_edit(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadrelay.local import route_cli

    monkeypatch.setattr(route_cli, "stack_access", lambda state_dir: ("http://stack", "token"))
    calls = []

    def fake_call(api, token, method, path, body=None, timeout=10):
        calls.append(path)
        return 200, {"rules": [], "default_pool_id": "everyone", "version": 2, "published_by": "admin"}

    monkeypatch.setattr(route_cli, "api_call", fake_call)
    out = io.StringIO()
    assert route_cli.run_show(Namespace(state_dir=".leadrelay", version=None), out=out) == 0
    assert json.loads(out.getvalue()) == {"rules": [], "default_pool_id": "everyone"}
    assert route_cli.run_show(Namespace(state_dir=".leadrelay", version=1), out=io.StringIO()) == 0
    assert calls == ["/routing/rules", "/routing/rules/versions/1"]


def test_the_next_steps_say_how_to_reach_the_cli() -> None:
    info = {"api_url": "http://127.0.0.1:3000", "sources": [{"id": "website", "key": "k", "kind": "generic"}]}
    text = next_steps(info, Path("/x/.leadrelay/local.json"), ".venv/bin/leadrelay")
    assert ".venv/bin/leadrelay --help" in text
    assert "source .venv/bin/activate" in text


def test_one_stack_per_state_folder_and_a_refused_stack_leaves_the_others_local_json(tmp_path: Path) -> None:
    from leadrelay.local.stack import LocalStack, StateDirBusy

    # Given a stack holding the folder's lock, with its local.json written
    first = LocalStack(state_dir=tmp_path)
    first._lock_state_dir()
    (tmp_path / "local.json").write_text('{"api_url": "http://127.0.0.1:3000"}')
    # When a second stack asks for the same folder, Then it is refused, naming the holder
    second = LocalStack(state_dir=tmp_path)
    with pytest.raises(StateDirBusy, match=r"another local stack \(pid \d+\) is running with the state folder"):
        second._lock_state_dir()
    # And stopping the refused stack leaves the first one's local.json alone
    second.stop()
    assert (tmp_path / "local.json").exists()
    # And once the first stops, its local.json goes and the folder is free again
    first.stop()
    assert not (tmp_path / "local.json").exists()
    third = LocalStack(state_dir=tmp_path)
    third._lock_state_dir()
    third.stop()
