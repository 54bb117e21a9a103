"""`leadrelay export [--out FILE] [filters]`: the leads of a running stack (or, after `leadrelay
login`, of any deployment) as one CSV file, through `GET /leads/export` part by part.

The file is what the API writes (UTF-8 with BOM, formula cells neutralised, `--date-format indian`
for `23-11-2026 18:05`); it imports back with `leadrelay import FILE --source …` without a mapping.
A large selection is answered 202 (exported in the background): the command then polls
`GET /exports/{id}` with the progress bar and downloads the finished file from its presigned URL.
Exit codes: 0 written; 2 nothing written (usage, refused by the API, no stack).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
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
POLL_EVERY_S = 1.0
POLL_FOR_S = 30 * 60.0  # the export function hands over to a successor every 15 minutes: wait for two
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
        if status == 202 and not part:
            return wait_and_download(api_url, token, json.loads(text), out, progress)
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


def _get_json(url: str, token: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT_S) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, {"message": exc.read().decode("utf-8", errors="replace")[:500]}
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise SimulateError(f"the stack at {url} does not answer ({exc}); is it running?") from exc


def wait_and_download(
    api_url: str, token: str, accepted: dict[str, object], out: TextIO, progress: ProgressBar,
    *, poll_every_s: float = POLL_EVERY_S, poll_for_s: float = POLL_FOR_S,
) -> int:  # fmt: skip
    """A background export: poll its status (the bar shows the rows written), then download the
    file from the presigned URL into `out`; the number of rows. SimulateError when it failed."""
    status_url = f"{api_url.rstrip('/')}{accepted['status_url']}"
    deadline = time.monotonic() + poll_for_s
    while True:
        code, view = _get_json(status_url, token)
        if code != 200:
            raise SimulateError(f"{code} from {accepted['status_url']}: {view.get('message', view)}")
        progress.update(int(view.get("rows") or 0))  # type: ignore[call-overload]
        if view["status"] == "done":
            break
        if view["status"] in ("failed", "expired"):
            raise SimulateError(f"the background export {view['status']}: {view.get('error') or 'no reason given'}")
        if time.monotonic() > deadline:
            raise SimulateError(f"the background export is still {view['status']}; poll {accepted['status_url']}")
        time.sleep(poll_every_s)
    try:  # a presigned URL: no Authorization header (the signature is the credential)
        with urllib.request.urlopen(str(view["url"]), timeout=CALL_TIMEOUT_S) as response:
            out.write(response.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise SimulateError(f"could not download the export file ({exc})") from exc
    progress.finish()
    return int(view.get("rows") or 0)  # type: ignore[call-overload]


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
            try:
                with partial.open("w", encoding="utf-8", newline="") as file:
                    rows = export_all(api_url, token, query, file, progress)
            except BaseException:
                partial.unlink(missing_ok=True)  # a failed export leaves no half file behind
                raise
            partial.replace(target)
    except SimulateError as exc:
        print(f"leadrelay export: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"leadrelay export: cannot write {args.out}: {exc.strerror or exc}", file=err)
        return 2
    if target is not None:
        print(f"{rows:,} leads → {target}", file=err)
    return 0
