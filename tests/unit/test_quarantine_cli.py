"""`leadrelay quarantine list | replay`: against a fake API on loopback (no stack needed)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from leadrelay.cli import build_parser
from leadrelay.local.quarantine_cli import describe

ITEM = {"request_id": "01REQ", "received_at": "2026-01-05T08:49:14.000Z", "source_id": "google-ads",
        "error": "invalid_google_key", "reason": "google_key does not match this source's key",
        "replayed_lead_ids": []}  # fmt: skip


class FakeApi:
    """GET /quarantine and POST /quarantine/{id}/replay, recording what was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.calls.append(("GET", self.path, self.headers.get("Authorization", "")))
                self._answer(200, {"items": [ITEM], "next": "CURSOR2" if "cursor" not in self.path else None})

            def do_POST(self) -> None:
                api.calls.append(("POST", self.path, self.headers.get("Authorization", "")))
                if "/01REQ/" in self.path:
                    self._answer(200, {"request_id": "01REQ", "replayed": True, "lead_ids": ["01LEAD"]})
                elif "/01BAD/" in self.path:
                    self._answer(422, {"replayed": False, "capture": {"status": 403, "body": {
                        "error": "invalid_google_key", "message": "google_key does not match"}}})  # fmt: skip
                else:
                    self._answer(404, {"error": "not_found", "message": "there is no quarantined request"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FakeApi]:
    fake = FakeApi()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    info = {"api_url": fake.url, "sources": [], "users": [{"username": "admin", "role": "admin", "token": "T0K"}]}
    (tmp_path / "local.json").write_text(json.dumps(info))
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def run(argv: list[str]) -> tuple[int, str, str]:
    args = build_parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    from leadrelay.local import quarantine_cli

    runner = quarantine_cli.run_list if args.quarantine_command == "list" else quarantine_cli.run_replay
    return runner(args, out=out, err=err), out.getvalue(), err.getvalue()


def test_list_prints_one_line_per_request_with_the_reason_and_the_next_cursor(api: FakeApi, tmp_path: Path) -> None:
    code, out, _ = run(["quarantine", "list", "--limit", "5", "--state-dir", str(tmp_path)])
    assert code == 0
    assert "01REQ" in out and "invalid_google_key: google_key does not match" in out and "--cursor CURSOR2" in out
    assert api.calls == [("GET", "/quarantine?limit=5", "Bearer T0K")]
    code, out, _ = run(["quarantine", "list", "--json", "--cursor", "CURSOR2", "--state-dir", str(tmp_path)])
    assert code == 0 and json.loads(out)["items"][0]["request_id"] == "01REQ"
    assert api.calls[-1][1] == "/quarantine?limit=50&cursor=CURSOR2"


def test_replay_says_which_leads_it_became_or_why_it_still_fails(api: FakeApi, tmp_path: Path) -> None:
    code, out, _ = run(["quarantine", "replay", "01REQ", "--state-dir", str(tmp_path)])
    assert (code, out.strip()) == (0, "replayed 01REQ → leads 01LEAD")
    assert api.calls[-1] == ("POST", "/quarantine/01REQ/replay", "Bearer T0K")
    code, _, err = run(["quarantine", "replay", "01BAD", "--state-dir", str(tmp_path)])
    assert code == 1 and "403 invalid_google_key" in err and "still in quarantine" in err
    code, _, err = run(["quarantine", "replay", "nope", "--state-dir", str(tmp_path)])
    assert code == 1 and "404 not_found" in err


def test_without_a_running_stack_it_says_how_to_start_one(tmp_path: Path) -> None:
    code, _, err = run(["quarantine", "list", "--state-dir", str(tmp_path)])
    assert code == 2 and "start the stack first" in err
    (tmp_path / "local.json").write_text(json.dumps({"api_url": "http://127.0.0.1:9", "users": [
        {"role": "admin", "token": "t"}]}))  # fmt: skip
    code, _, err = run(["quarantine", "replay", "x", "--state-dir", str(tmp_path)])
    assert code == 2 and "does not answer" in err


def test_replay_needs_a_request_id_and_the_line_shows_a_replay() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["quarantine", "replay"])
    line = describe({**ITEM, "replayed_lead_ids": ["01A", "01B"], "reason": "x" * 300})
    assert "[replayed → 01A, 01B]" in line and "x" * 120 not in line
