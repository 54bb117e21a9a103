"""`leadrelay route backtest`: reading the draft, the side-by-side text report, and its errors."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from leadrelay.cli import build_parser
from leadrelay.local import backtest_cli
from leadrelay.local.backtest_cli import describe, read_draft, run_backtest
from leadrelay.local.route_cli import SimulateError

REPORT: dict[str, Any] = {
    "window": {"leads": 3, "from": "2026-11-20T05:30:00.000Z", "to": "2026-11-20T05:32:00.000Z", "truncated": False},
    "live": {"rule_chain_version": 4, "assigned": 3, "unassigned": 0, "unassigned_leads": [],
             "rules": {"noida-east": 2, "default": 1},
             "agents": {"neha": {"assigned": 2, "share": 0.6667, "cap_hit_days": ["2026-11-20"]},
                        "asha": {"assigned": 1, "share": 0.3333, "cap_hit_days": []}}},
    "draft": {"rule_chain_version": 0, "assigned": 2, "unassigned": 1,
              "unassigned_leads": [{"lead_id": "L3", "received_at": "2026-11-20T05:32:00.000Z", "rule_id": None,
                                    "reason": "no rule matched and there is no default pool"}],
              "rules": {"senior": 2},
              "agents": {"neha": {"assigned": 0, "share": 0.0, "cap_hit_days": []},
                         "asha": {"assigned": 2, "share": 1.0, "cap_hit_days": []}}},
    "diff": {"changed": 3, "rule_changed": 3, "agent_changed": 3,
             "leads": [{"lead_id": "L1", "live": {"rule_id": "noida-east", "agent_id": "neha"},
                        "draft": {"rule_id": "senior", "agent_id": "asha"}}]},
    "agent_names": {"neha": "Neha Gupta", "asha": "Asha Rao"},
    "notes": ["Agent availability is taken as it is now."],
}  # fmt: skip


def test_the_text_report_puts_agents_side_by_side_with_cap_hits_rules_unassigned_and_changes() -> None:
    text = describe(REPORT)
    lines = text.splitlines()
    # Then each agent's line shows live, draft, the change and cap hits live/draft
    neha = next(line for line in lines if line.startswith("neha (Neha Gupta)"))
    assert neha.split()[-4:] == ["2", "0", "-2", "1/0"]
    assert next(line for line in lines if line.startswith("asha")).split()[-4:] == ["1", "2", "+1", "0/0"]
    # And the rules hit by either chain, the unassigned counts with reasons, and what changed
    assert next(line for line in lines if line.startswith("senior")).split() == ["senior", "0", "2"]
    assert "unassigned: live 0, draft 1" in text and "draft: L3" in text and "no default pool" in text
    assert "changed: 3 of 3 leads (3 by rule, 3 by agent)" in text
    assert "L1: noida-east/neha → senior/asha" in text and "note: Agent availability" in text


def test_the_draft_must_be_a_json_object_in_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "draft.json"
    with pytest.raises(SimulateError, match="cannot read"):
        read_draft(str(path))
    path.write_text("{nope")
    with pytest.raises(SimulateError, match="not JSON"):
        read_draft(str(path))
    path.write_text("[]")
    with pytest.raises(SimulateError, match="rule chain object"):
        read_draft(str(path))
    path.write_text('{"rules": [], "default_pool_id": "everyone"}')
    assert read_draft(str(path)) == {"rules": [], "default_pool_id": "everyone"}


def _args(tmp_path: Path, *extra: str) -> Any:
    draft = tmp_path / "draft.json"
    draft.write_text('{"rules": [], "default_pool_id": "everyone"}')
    return build_parser().parse_args(["route", "backtest", "--draft", str(draft), "--state-dir", str(tmp_path), *extra])


def test_without_a_running_stack_the_command_says_how_to_start_one(tmp_path: Path) -> None:
    err = io.StringIO()
    assert run_backtest(_args(tmp_path), out=io.StringIO(), err=err) == 2
    assert "start the stack first" in err.getvalue()


def test_the_command_posts_the_draft_days_and_limit_and_prints_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a running stack (its local.json) that answers with a report
    (tmp_path / "local.json").write_text(json.dumps({"api_url": "http://127.0.0.1:9/", "users": [
        {"role": "admin", "token": "t0k"}]}))  # fmt: skip
    sent: list[tuple[str, str, dict[str, Any]]] = []

    def fake(api_url: str, token: str, body: dict[str, Any], timeout: float = 120) -> tuple[int, dict[str, Any]]:
        sent.append((api_url, token, body))
        return 200, REPORT

    monkeypatch.setattr(backtest_cli, "request_backtest", fake)
    out = io.StringIO()
    # When the back-test runs over 7 days, as JSON
    assert run_backtest(_args(tmp_path, "--days", "7", "--json"), out=out, err=io.StringIO()) == 0
    # Then the stack got the draft with the window, and the answer is printed as is
    assert sent == [("http://127.0.0.1:9", "t0k",
                     {"draft": {"rules": [], "default_pool_id": "everyone"}, "days": 7, "limit": 5000})]  # fmt: skip
    assert json.loads(out.getvalue()) == REPORT
    # And a refusal (e.g. an unknown pool) is an error with the API's message, exit code 1
    monkeypatch.setattr(backtest_cli, "request_backtest", lambda *a, **k: (422, {"error": "unknown_pool",
                                                                              "message": "no pool 'x'"}))  # fmt: skip
    err = io.StringIO()
    assert run_backtest(_args(tmp_path), out=io.StringIO(), err=err) == 1
    assert "422 unknown_pool: no pool 'x'" in err.getvalue()


def test_the_draft_is_required() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["route", "backtest"])
