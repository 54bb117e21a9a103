"""`leadrelay import FILE --source SOURCE_ID`: import a CSV of leads (a NoBroker export, a portal or
spreadsheet without an API) into a generic source of a running stack, through
`POST /sources/{id}/import` with the admin's token.

The file is read here, so any encoding the API would refuse over the wire (UTF-16, Windows-1252)
still works; it is sent as JSON `{"csv", "mapping"}`. When the API stops at its time budget
(`complete: false`), the file is sent again from `next_row` until every row is done.

Exit codes: 0 every row was stored (created, merged or duplicate); 1 some rows were quarantined
(the rest are in; the quarantined ones are listed, kept, and can be replayed once fixed); 2 the
import did not happen: a usage error, a file or mapping the API refused, or no stack.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from pathlib import Path
from typing import Any, TextIO

from leadrelay.local.progress import ProgressBar
from leadrelay.local.route_cli import SimulateError, api_call, stack_access

OUTCOMES = ("created", "merged", "duplicate", "quarantined")
# An import call runs at most ~25 s on the stack; leave the HTTP client room beyond that.
CALL_TIMEOUT_S = 90.0
# Guards a loop that would never end if a stack kept answering "not complete" without moving on.
MAX_CALLS = 1000


class ImportUsageError(Exception):
    """Something the user must fix before anything is imported (exit 2)."""


def read_mapping(value: str | None) -> dict[str, str | None] | None:
    """`--mapping` as inline JSON or as the path of a JSON file: {"Customer Name": "name", …}."""
    if value is None:
        return None
    path = Path(value)
    text = value
    if not value.lstrip().startswith("{") and path.is_file():
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ImportUsageError(f"cannot read {value}: {exc.strerror or exc}") from exc
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportUsageError(f"--mapping is neither a JSON object nor a JSON file: {exc}") from exc
    if not isinstance(mapping, dict) or not all(isinstance(v, str | None) for v in mapping.values()):
        raise ImportUsageError('--mapping must be a JSON object of column → field, e.g. {"Customer Name": "name"}')
    return {str(k): v for k, v in mapping.items()}


def read_file(path: str) -> str:
    """The CSV file's text, whatever its encoding (as the API would read it)."""
    from leadrelay.capture.csv_import import MAX_IMPORT_BYTES, CsvImportError, decode_csv_bytes

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImportUsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportUsageError(f"{path} is {len(data)} bytes; the limit is {MAX_IMPORT_BYTES} per import: split it")
    try:
        return decode_csv_bytes(data)
    except CsvImportError as exc:
        raise ImportUsageError(f"{path}: {exc}") from exc


def run_import_calls(api_url: str, token: str, source_id: str, text: str,
                     mapping: dict[str, str | None] | None,
                     progress: ProgressBar | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """Send the file until every row is done: (last status, the reports merged into one)."""
    body: dict[str, Any] = {"csv": text}
    if mapping is not None:
        body["mapping"] = mapping
    path = f"/sources/{urllib.parse.quote(source_id, safe='')}/import"
    merged: dict[str, Any] = {}
    start_row = 2
    for _ in range(MAX_CALLS):
        status, report = api_call(api_url, token, "POST", f"{path}?start_row={start_row}", body, CALL_TIMEOUT_S)
        if status != 200:
            return status, report
        if not merged:
            merged = {**report, "results": [], "calls": 0}
        merged["results"].extend(report.get("results") or [])
        merged["calls"] += 1
        if progress is not None:
            progress.update(len(merged["results"]), report.get("rows"))
        next_row = report.get("next_row")
        if report.get("complete") or not isinstance(next_row, int) or next_row <= start_row:
            break
        start_row = next_row
    for outcome in OUTCOMES:
        merged[outcome] = sum(1 for r in merged["results"] if r.get("outcome") == outcome)
    merged["processed"] = len(merged["results"])
    merged["complete"], merged["next_row"] = bool(report.get("complete")), report.get("next_row")
    return 200, merged


def summary(path: str, report: dict[str, Any]) -> list[str]:
    """The lines a person reads: the counts as a small table, then each quarantined row."""
    empty = report.get("empty_rows") or 0
    lines = [
        f"{path} → source {report.get('source_id')}: {report.get('rows')} rows"
        + (f" ({empty} empty {'row' if empty == 1 else 'rows'} skipped)" if empty else ""),
        "",
        f"{'outcome':<12} {'rows':>6}",
    ]
    lines += [f"{outcome:<12} {report.get(outcome, 0):>6}" for outcome in OUTCOMES]
    quarantined = [r for r in report.get("results") or [] if r.get("outcome") == "quarantined"]
    if quarantined:
        lines += ["", "quarantined rows (kept; fix the source or the file, then `leadrelay quarantine replay <id>`):"]
        for result in quarantined:
            message = str(result.get("message") or "").replace("\n", " ")
            lines.append(f"  row {result.get('row')}: {result.get('error')}: {message}  [{result.get('request_id')}]")
    if not report.get("complete", True):
        lines += ["", f"not finished: go on with the rows from {report.get('next_row')} (run the command again)"]
    return lines


def run_import(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        mapping = read_mapping(args.mapping)
        text = read_file(args.file)
        api_url, token = stack_access(args.state_dir)
        progress = ProgressBar(err, "importing")
        status, report = run_import_calls(api_url, token, args.source, text, mapping, progress)
        progress.finish()
    except (ImportUsageError, SimulateError) as exc:
        print(f"leadrelay import: {exc}", file=err)
        return 2
    if status != 200:
        print(f"leadrelay import: {status} {report.get('error')}: {report.get('message')}", file=err)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False), file=out)
    else:
        print("\n".join(summary(args.file, report)), file=out)
    return 1 if report.get("quarantined") or not report.get("complete", True) else 0
