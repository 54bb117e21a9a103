"""`leadrelay export [--out FILE] [filters]`: the leads of a running stack (or, after `leadrelay
login`, of any deployment) as one CSV file, through `GET /leads/export` part by part.

The file is what the API writes (UTF-8 with BOM, formula cells neutralised, `--date-format indian`
for `23-11-2026 18:05`); it imports back with `leadrelay import FILE --source …` without a mapping.
Exit codes: 0 written; 2 nothing written (usage, refused by the API, no stack).
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TextIO

from leadrelay.local.progress import ProgressBar
from leadrelay.local.route_cli import SimulateError, stack_access

PART_ROWS = 500
CALL_TIMEOUT_S = 60.0
MAX_PARTS = 10_000
FILTERS = ("status", "source_id", "agent_id", "team_id", "tag", "received_from", "received_to", "q")


def fetch_part(api_url: str, token: str, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """One part of the export: (status, headers, text)."""
    url = f"{api_url}/leads/export?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "text/csv"})
    try:
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT_S) as response:
            return response.status, dict(response.headers.items()), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise SimulateError(f"the stack at {api_url} does not answer ({exc}); is it running?") from exc


def export_all(api_url: str, token: str, query: dict[str, str], out: TextIO, progress: ProgressBar) -> int:
    """Write every part to `out`; the number of rows written. Raises SimulateError on a refusal."""
    rows = 0
    cursor: str | None = None
    for part in range(MAX_PARTS):
        params = {**query, "limit": str(PART_ROWS)}
        if part:
            params.update(header="false", cursor=cursor or "")
        status, headers, text = fetch_part(api_url, token, params)
        if status != 200:
            raise SimulateError(f"{status}: {text.strip()[:500]}")
        out.write(text)
        lower = {k.lower(): v for k, v in headers.items()}
        rows += int(lower.get("x-row-count", "0"))
        progress.update(rows)
        cursor = lower.get("x-next-cursor")
        if not cursor:
            break
    progress.finish()
    return rows


def run_export(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    query = {name: str(getattr(args, name)) for name in FILTERS if getattr(args, name, None)}
    if args.date_format:
        query["date_format"] = args.date_format
    target = Path(args.out) if args.out else None
    try:
        api_url, token = stack_access(args.state_dir)
        progress = ProgressBar(err, "exporting")
        if target is None:
            rows = export_all(api_url, token, query, out, progress)
        else:
            partial = target.with_name(target.name + ".part")
            with partial.open("w", encoding="utf-8", newline="") as file:
                rows = export_all(api_url, token, query, file, progress)
            partial.replace(target)  # a failed export never leaves a half file under the real name
    except SimulateError as exc:
        print(f"leadrelay export: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"leadrelay export: cannot write {args.out}: {exc.strerror or exc}", file=err)
        return 2
    if target is not None:
        print(f"{rows:,} leads → {target}", file=err)
    return 0
