"""`leadrelay import FILE --source ID`: reading the file and mapping, going on from `next_row`, the
summary and the exit codes, against a fake API (no stack needed)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from leadrelay.cli import build_parser
from leadrelay.local import import_cli
from leadrelay.local.import_cli import ImportUsageError, read_mapping


def rows_report(rows: list[dict[str, Any]], *, start_row: int, next_row: int | None, total: int = 3) -> dict[str, Any]:
    return {"source_id": "nobroker", "rows": total, "empty_rows": 0, "start_row": start_row, "results": rows,
            "complete": next_row is None, "next_row": next_row, "columns": {"Phone": "phone"}}  # fmt: skip


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """local.json for a stack, and a fake `api_call` answering from `answers` in turn."""
    (tmp_path / "local.json").write_text(json.dumps({"api_url": "http://stack", "users": [
        {"username": "admin", "role": "admin", "token": "T"}]}))  # fmt: skip
    state: dict[str, Any] = {"dir": tmp_path, "calls": [], "answers": []}

    def fake_api_call(api_url: str, token: str, method: str, path: str, body: Any = None,
                      timeout: float = 10) -> tuple[int, dict[str, Any]]:  # fmt: skip
        state["calls"].append((method, path, token, body))
        answer: tuple[int, dict[str, Any]] = state["answers"].pop(0)
        return answer

    monkeypatch.setattr(import_cli, "api_call", fake_api_call)
    return state


def run(stack: dict[str, Any], *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(["import", *argv, "--state-dir", str(stack["dir"])])
    out, err = io.StringIO(), io.StringIO()
    code = import_cli.run_import(args, out, err)
    return code, out.getvalue(), err.getvalue()


def csv_file(stack: dict[str, Any], data: bytes) -> str:
    path = Path(stack["dir"]) / "leads.csv"
    path.write_bytes(data)
    return str(path)


def test_every_row_stored_exits_0_with_a_table(stack: dict[str, Any]) -> None:
    path = csv_file(stack, "Name,Phone\nप्रिया,9876543210\n".encode("utf-16"))
    stack["answers"] = [(200, rows_report([{"row": 2, "outcome": "created", "lead_id": "01A"}], start_row=2,
                                          next_row=None, total=1))]  # fmt: skip
    code, out, err = run(stack, path, "--source", "nobroker")
    assert code == 0, err
    method, call_path, token, body = stack["calls"][0]
    assert (method, call_path, token) == ("POST", "/sources/nobroker/import?start_row=2", "T")
    assert body == {"csv": "Name,Phone\nप्रिया,9876543210\n"}  # read from UTF-16 here, sent as JSON text
    assert "created           1" in out and "quarantined       0" in out


def test_quarantined_rows_exit_1_and_are_listed_and_an_unfinished_import_goes_on_from_next_row(
    stack: dict[str, Any],
) -> None:
    path = csv_file(stack, b"Name,Phone\nA,9876543210\nB,\nC,9876543211\n")
    stack["answers"] = [
        (200, rows_report([{"row": 2, "outcome": "created", "lead_id": "01A"}], start_row=2, next_row=3)),
        (200, rows_report([{"row": 3, "outcome": "quarantined", "error": "missing_contact",
                            "message": "a lead needs a phone or an email", "request_id": "01Q"},
                           {"row": 4, "outcome": "duplicate", "lead_id": "01B"}], start_row=3, next_row=None)),
    ]  # fmt: skip
    code, out, err = run(stack, path, "--source", "nobroker", "--mapping", '{"Name": "name"}')
    assert code == 1, err
    assert [c[1] for c in stack["calls"]] == ["/sources/nobroker/import?start_row=2",
                                              "/sources/nobroker/import?start_row=3"]  # fmt: skip
    assert stack["calls"][1][3]["mapping"] == {"Name": "name"}
    assert "row 3: missing_contact: a lead needs a phone or an email  [01Q]" in out
    assert "created           1" in out and "duplicate         1" in out and "quarantined       1" in out


def test_the_json_report_merges_every_call(stack: dict[str, Any]) -> None:
    path = csv_file(stack, b"Phone\n9876543210\n9876543211\n")
    stack["answers"] = [
        (200, rows_report([{"row": 2, "outcome": "created", "lead_id": "01A"}], start_row=2, next_row=3, total=2)),
        (200, rows_report([{"row": 3, "outcome": "merged", "lead_id": "01A"}], start_row=3, next_row=None, total=2)),
    ]
    code, out, _ = run(stack, path, "--source", "nobroker", "--json")
    report = json.loads(out)
    assert code == 0 and (report["created"], report["merged"], report["processed"], report["calls"]) == (1, 1, 2, 2)
    assert report["complete"] is True and [r["row"] for r in report["results"]] == [2, 3]


def test_a_stack_that_does_not_move_on_is_not_asked_forever(stack: dict[str, Any]) -> None:
    path = csv_file(stack, b"Phone\n9876543210\n")
    stack["answers"] = [(200, rows_report([], start_row=2, next_row=2))]
    code, out, _ = run(stack, path, "--source", "nobroker")
    assert code == 1 and len(stack["calls"]) == 1 and "not finished" in out


def test_an_api_refusal_exits_2_with_its_message(stack: dict[str, Any]) -> None:
    path = csv_file(stack, b"Name,City\nA,Pune\n")
    stack["answers"] = [(422, {"error": "no_contact_column", "message": "no column is a phone or an email"})]
    code, _, err = run(stack, path, "--source", "nobroker")
    assert code == 2 and "422 no_contact_column: no column is a phone or an email" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [(["missing.csv", "--source", "x"], "cannot read"),
     (["{file}", "--source", "x", "--mapping", "[1, 2]"], "JSON object"),
     (["{file}", "--source", "x", "--mapping", "not json"], "neither a JSON object nor a JSON file"),
     (["{workbook}", "--source", "x"], "Excel workbook")],
)  # fmt: skip
def test_usage_errors_exit_2_before_any_call(stack: dict[str, Any], argv: list[str], words: str) -> None:
    good = csv_file(stack, b"Phone\n9876543210\n")
    workbook = Path(stack["dir"]) / "leads.xlsx"
    workbook.write_bytes(b"PK\x03\x04 a zip")
    argv = [a.format(file=good, workbook=workbook) for a in argv]
    code, _, err = run(stack, *argv)
    assert code == 2 and words in err and stack["calls"] == []


def test_no_stack_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"Phone\n9876543210\n")
    args = build_parser().parse_args(["import", str(path), "--source", "x", "--state-dir", str(tmp_path / "none")])
    err = io.StringIO()
    assert import_cli.run_import(args, io.StringIO(), err) == 2 and "start the stack first" in err.getvalue()


def test_a_mapping_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text('{"Customer Name": "name", "Sr No": null}')
    assert read_mapping(str(path)) == {"Customer Name": "name", "Sr No": None}
    assert read_mapping('{"Contact": "phone"}') == {"Contact": "phone"}
    with pytest.raises(ImportUsageError):
        read_mapping('{"Contact": 5}')


def test_the_source_option_is_required() -> None:
    with pytest.raises(SystemExit) as usage:
        build_parser().parse_args(["import", "leads.csv"])
    assert usage.value.code == 2
