"""`leadrelay route simulate`: turning a lead or a CSV into simulation requests, and its errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from leadrelay.cli import build_parser
from leadrelay.local.route_cli import SimulateError, describe, lead_from_row, read_leads, run_simulate, stack_access


def test_a_csv_row_becomes_a_lead_with_unknown_columns_in_extra_and_empty_cells_left_out() -> None:
    row = {"city": " Noida ", "budget": "1.2 crore", "tags": "vip; nri", "extra.sector": "150", "project": "Sky",
           "email": "", "source_id": "99acres"}  # fmt: skip
    assert lead_from_row(row) == {"city": "Noida", "budget": "1.2 crore", "tags": ["vip", "nri"],
                                  "source_id": "99acres", "extra": {"sector": "150", "project": "Sky"}}  # fmt: skip


def test_read_leads_from_a_csv_file(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("city,source_id,extra.sector\nNoida,99acres,150\nGurugram,website,\n", encoding="utf-8")
    assert read_leads(None, str(path)) == [
        {"city": "Noida", "source_id": "99acres", "extra": {"sector": "150"}},
        {"city": "Gurugram", "source_id": "website"},
    ]


@pytest.mark.parametrize(("lead", "words"), [("{nope", "not JSON"), ("[1]", "JSON object")])
def test_a_bad_lead_argument_is_explained(lead: str, words: str) -> None:
    with pytest.raises(SimulateError, match=words):
        read_leads(lead, None)


def test_without_a_running_stack_the_command_says_how_to_start_one(tmp_path: Path) -> None:
    args = build_parser().parse_args(["route", "simulate", "--lead", "{}", "--state-dir", str(tmp_path)])
    err = io.StringIO()
    assert run_simulate(args, out=io.StringIO(), err=err) == 2
    assert "start the stack first" in err.getvalue()
    with pytest.raises(SimulateError, match="no api_url"):
        (tmp_path / "local.json").write_text('{"users": []}')
        stack_access(str(tmp_path))


def test_lead_and_csv_are_mutually_exclusive_and_one_is_required() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["route", "simulate"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["route", "simulate", "--lead", "{}", "--csv", "x.csv"])


def test_the_text_answer_shows_the_winner_the_rules_and_who_was_skipped_but_no_phone() -> None:
    plan = {"agent_id": "anjali", "agent_name": "Anjali Verma", "rule_id": "ncr", "pool_id": "ncr",
            "strategy": "round_robin", "candidates": ["anjali"], "skipped": {"meera": "off_shift"}, "demoted": [],
            "rules": [{"rule_id": "ncr", "matched": True, "why": "city='Noida' in [...]"}]}  # fmt: skip
    text = describe(1, {"city": "Noida", "phone": "9876543210"}, plan)
    assert "→ anjali (Anjali Verma) by rule 'ncr'" in text and "meera (off_shift)" in text
    assert "✓ ncr" in text and "9876543210" not in text
