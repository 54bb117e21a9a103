"""`leadrelay report [--from --to --team]` and `leadrelay dashboard rebuild`, against a running stack.

`report` reads `GET /dashboard` (as the admin, through `<state-dir>/local.json`), prints it as tables
and writes PNG charts (leads and revenue by source, the funnel, speed to lead, the leaderboard).
`dashboard rebuild` calls `POST /dashboard/rebuild` until every lead has been re-counted.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from leadrelay.local.route_cli import SimulateError, api_call, stack_access


def _money(value: Any) -> str:
    """Rupees the Indian way: ₹12,34,567."""
    whole = round(float(value or 0))
    digits = str(abs(whole))
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        digits = ",".join(([head] if head else []) + groups) + "," + tail
    return ("-" if whole < 0 else "") + "₹" + digits


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table: first column left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def render(answer: dict[str, Any]) -> str:
    """The dashboard as terminal tables."""
    window = answer["window"]
    scope = f", team {window['team_id']}" if window.get("team_id") else ""
    parts = [f"LeadRelay dashboard {window['from']} → {window['to']} ({window['timezone']}{scope})", ""]
    parts.append(table(
        ("", "received", "assigned", "contacted", f"in SLA ({window['sla_minutes']}m)", "won", "lost", "won value"),
        [("total", answer["received"], answer["assigned"], answer["contacted"], answer["contacted_within_sla"],
          answer["won"], answer["lost"], _money(answer["won_value"]))],
    ))  # fmt: skip
    parts += ["", "By source (volume next to revenue)"]
    parts.append(table(
        ("source", "received", "% leads", "contacted", "won", "won value", "% revenue", "leaked"),
        [(source, row["received"], f"{row['received_share']}%", row["contacted"], row["won"],
          _money(row["won_value"]), f"{row['won_value_share']}%", answer["leakage"]["by_source"].get(source, 0))
         for source, row in answer["by_source"].items()],
    ))  # fmt: skip
    parts += ["", "Leaderboard"]
    parts.append(table(
        ("#", "agent", "received", "contacted", "in SLA", "won", "won value", "open f/u", "missed f/u"),
        [(row["rank"], row["agent_id"], row["received"], row["contacted"], row["contacted_within_sla"], row["won"],
          _money(row["won_value"]), answer["by_agent"][row["agent_id"]]["open_followups"],
          answer["by_agent"][row["agent_id"]]["missed_followups"]) for row in answer["leaderboard"]],
    ))  # fmt: skip
    speed = answer["speed_to_lead"]
    parts += ["", "Speed to lead (upper bucket edges)"]
    parts.append(table(
        ("", "p50", "p90", "leads"),
        [(label, speed[key]["p50"], speed[key]["p90"], speed[key]["count"])
         for label, key in (("received → assigned (ms)", "assign_ms"),
                            ("assigned → first contact (min)", "first_contact_minutes"))],
    ))  # fmt: skip
    parts += ["", "By status: " + ", ".join(f"{status} {count}" for status, count in answer["by_status"].items())]
    followups = answer["followups"]
    parts.append(f"Leakage: {answer['leakage']['not_contacted_within_sla']} not contacted within the SLA; "
                 f"follow-ups due today {followups['due_today']}, missed {followups['missed']}")  # fmt: skip
    return "\n".join(parts)


def run_report(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    query = {name: value for name, value in (("from", args.from_), ("to", args.to), ("team_id", args.team))
             if value}  # fmt: skip
    try:
        api_url, token = stack_access(args.state_dir)
        status, answer = api_call(api_url, token, "GET", "/dashboard?" + urllib.parse.urlencode(query), None, 30)
    except SimulateError as exc:
        print(f"leadrelay report: {exc}", file=err)
        return 2
    if status != 200:
        print(f"leadrelay report: {status} {answer.get('error')}: {answer.get('message')}", file=err)
        return 2 if status < 500 else 1
    if args.json:
        print(json.dumps(answer, ensure_ascii=False), file=out)
    else:
        print(render(answer), file=out)
    if args.no_charts:
        return 0
    from leadrelay.dashboard.charts import ChartsUnavailable, write_charts

    try:
        written = write_charts(answer, Path(args.out))
    except ChartsUnavailable as exc:
        print(f"leadrelay report: {exc} (or pass --no-charts)", file=err)
        return 1
    print("\ncharts: " + ", ".join(str(path) for path in written), file=err if args.json else out)
    return 0


def run_rebuild(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    body: dict[str, Any] = {"since": args.since} if args.since else {}
    totals = {"leads": 0, "applied": 0}
    try:
        api_url, token = stack_access(args.state_dir)
        while True:
            status, answer = api_call(api_url, token, "POST", "/dashboard/rebuild", body, 30)
            if status != 200:
                print(f"leadrelay dashboard rebuild: {status} {answer.get('error')}: {answer.get('message')}", file=err)
                return 1
            totals["leads"] += answer["leads"]
            totals["applied"] += answer["applied"]
            print(f"re-counted {totals['leads']} leads, {totals['applied']} changed", file=out)
            if not answer.get("next"):
                return 0
            body["cursor"] = answer["next"]
    except SimulateError as exc:
        print(f"leadrelay dashboard rebuild: {exc}", file=err)
        return 2
