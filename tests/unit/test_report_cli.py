"""`leadrelay report` and `leadrelay dashboard rebuild`: tables, charts and exit codes, with the API
answered by a stand-in (the e2e suite runs them against the real stack)."""

from __future__ import annotations

import argparse
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from leadrelay.cli import build_parser
from leadrelay.dashboard.aggregates import Definitions
from leadrelay.dashboard.view import Window, build_dashboard
from leadrelay.local import report_cli

CELLS = [
    {"day": "2026-11-23", "team_id": "ncr", "source_id": "google-ads", "agent_id": "rahul", "received": 60,
     "assigned": 60, "contacted": 50, "contacted_within_sla": 40, "qualified": 10, "won": 3, "lost": 20,
     "won_value": 1_800_000_00, "s:won": 3, "s:lost": 20, "s:contacted": 37, "ha:3": 60, "hc:4": 30, "hc:6": 20},
    {"day": "2026-11-23", "team_id": "ncr", "source_id": "indiamart", "agent_id": "anjali", "received": 40,
     "assigned": 40, "contacted": 38, "contacted_within_sla": 35, "qualified": 20, "won": 12, "lost": 5,
     "won_value": 8_200_000_00, "s:won": 12, "s:lost": 5, "s:qualified": 8, "s:assigned": 15, "ha:2": 40,
     "hc:2": 38},
]  # fmt: skip
ANSWER = build_dashboard(CELLS, [], window=Window(date(2026, 11, 23), date(2026, 11, 23)), today=date(2026, 11, 23),
                         definitions=Definitions())  # fmt: skip


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    calls: list[tuple[str, str, Any]] = []
    answers: dict[str, list[tuple[int, dict[str, Any]]]] = {
        "GET": [(200, ANSWER)],
        "POST": [(200, {"leads": 500, "applied": 3, "unchanged": 497, "next": "c1"}),
                 (200, {"leads": 120, "applied": 0, "unchanged": 120, "next": None})],
    }  # fmt: skip

    def fake_call(api_url: str, token: str, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        calls.append((method, path, dict(body) if isinstance(body, dict) else body))
        return answers[method].pop(0)

    monkeypatch.setattr(report_cli, "api_call", fake_call)
    monkeypatch.setattr(report_cli, "stack_access", lambda state_dir: ("http://stack", "token"))
    return calls


def test_report_prints_volume_next_to_revenue_and_writes_four_charts_and_an_overview(
    api: list[Any], tmp_path: Path
) -> None:
    out = io.StringIO()
    code = report_cli.run_report(args("report", "--from", "2026-11-23", "--team", "ncr", "--out", str(tmp_path)), out)
    assert code == 0
    assert api[0][:2] == ("GET", "/dashboard?from=2026-11-23&team_id=ncr")
    text = out.getvalue()
    assert "google-ads" in text and "60.0%" in text and "18.0%" in text  # 60% of leads, 18% of revenue
    assert "₹80,00,000" not in text and "₹82,00,000" in text  # rupees grouped the Indian way
    for name in ("sources", "funnel", "speed", "leaderboard", "dashboard"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_without_charts_writes_nothing(api: list[Any], tmp_path: Path) -> None:
    assert report_cli.run_report(args("report", "--no-charts", "--out", str(tmp_path / "x")), io.StringIO()) == 0
    assert not (tmp_path / "x").exists()


def test_a_refused_report_exits_2_with_the_apis_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_cli, "stack_access", lambda state_dir: ("http://stack", "token"))
    monkeypatch.setattr(report_cli, "api_call", lambda *a, **k: (400, {"error": "invalid_date", "message": "bad day"}))
    err = io.StringIO()
    assert report_cli.run_report(args("report", "--from", "2026-13-01"), io.StringIO(), err) == 2
    assert "invalid_date: bad day" in err.getvalue()


def test_rebuild_calls_again_with_the_cursor_until_done(api: list[Any]) -> None:
    out = io.StringIO()
    assert report_cli.run_rebuild(args("dashboard", "rebuild", "--since", "2026-11-01"), out) == 0
    assert [call[2] for call in api] == [{"since": "2026-11-01"}, {"since": "2026-11-01", "cursor": "c1"}]
    assert out.getvalue().splitlines()[-1] == "re-counted 620 leads, 3 changed"


@pytest.mark.parametrize(("rupees", "text"), [(0, "₹0"), (999, "₹999"), (1000, "₹1,000"), (123456, "₹1,23,456"),
                                              (12345678.5, "₹1,23,45,678")])  # fmt: skip
def test_money_is_grouped_in_lakhs_and_crores(rupees: float, text: str) -> None:
    assert report_cli._money(rupees) == text
