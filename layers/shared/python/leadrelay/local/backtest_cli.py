"""`leadrelay route backtest`: replay recent leads through a draft rule chain beside the live one,
on a running stack, through `POST /routing/backtest`, and print the comparison. Nothing is written.

The stack is found through `<state-dir>/local.json`, as for `leadrelay route simulate`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from leadrelay.local.route_cli import SimulateError, api_call, chain_spec, stack_access

# How many unassigned leads and changed leads the text report lists one by one.
LISTED = 10


def read_draft(path: str) -> dict[str, Any]:
    """The draft rule chain from a JSON file."""
    try:
        with open(path, encoding="utf-8") as handle:
            draft = json.load(handle)
    except OSError as exc:
        raise SimulateError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise SimulateError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(draft, dict):
        raise SimulateError(
            f'{path} must hold a rule chain object, e.g. {{"rules": [], "default_pool_id": "everyone"}}'
        )
    # What `route show` prints, and what GET /routing/rules answers (its version stamp dropped).
    return chain_spec(draft)


def request_backtest(
    api_url: str, token: str, body: dict[str, Any], timeout: float = 120
) -> tuple[int, dict[str, Any]]:
    return api_call(api_url, token, "POST", "/routing/backtest", body, timeout)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(header), "  ".join("-" * width for width in widths)] + [line(row) for row in rows]


def describe(report: dict[str, Any]) -> str:
    """The report as a person reads it: agents side by side, rules hit, unassigned, what changed."""
    live, draft, window = report["live"], report["draft"], report["window"]
    names = report.get("agent_names", {})
    lines = [
        f"Back-test over {window['leads']} leads"
        + (f" from {window['from']} to {window['to']}" if window.get("from") else "")
        + (" (cut to the newest --limit leads)" if window.get("truncated") else ""),
        f"live = rule chain v{live['rule_chain_version']}, draft = the draft",
        "",
    ]
    rows = []
    for agent_id in sorted(set(live["agents"]) | set(draft["agents"])):
        before = live["agents"].get(agent_id, {"assigned": 0, "cap_hit_days": []})
        after = draft["agents"].get(agent_id, {"assigned": 0, "cap_hit_days": []})
        name = names.get(agent_id)
        delta = after["assigned"] - before["assigned"]
        rows.append([
            f"{agent_id} ({name})" if name else agent_id,
            str(before["assigned"]),
            str(after["assigned"]),
            f"{delta:+d}" if delta else "",
            f"{len(before['cap_hit_days'])}/{len(after['cap_hit_days'])}",
        ])  # fmt: skip
    lines += _table(["agent", "live", "draft", "change", "cap hits live/draft"], rows)
    rules = [*live["rules"], *(rule for rule in draft["rules"] if rule not in live["rules"])]
    counts = [[rule, str(live["rules"].get(rule, 0)), str(draft["rules"].get(rule, 0))] for rule in rules]
    lines += ["", *_table(["rule", "live", "draft"], counts)]
    lines += ["", f"assigned: live {live['assigned']}, draft {draft['assigned']}"]
    lines.append(f"unassigned: live {live['unassigned']}, draft {draft['unassigned']}")
    for label, side in (("live", live), ("draft", draft)):
        for row in side["unassigned_leads"][:LISTED]:
            lines.append(f"  {label}: {row['lead_id']} ({row['received_at']}): {row['reason']}")
        if len(side["unassigned_leads"]) > LISTED:
            lines.append(f"  {label}: … and {len(side['unassigned_leads']) - LISTED} more")
    diff = report["diff"]
    lines += ["", f"changed: {diff['changed']} of {window['leads']} leads "
              f"({diff['rule_changed']} by rule, {diff['agent_changed']} by agent)"]  # fmt: skip
    for row in diff["leads"][:LISTED]:
        before, after = row["live"], row["draft"]
        lines.append(
            f"  {row['lead_id']}: {before['rule_id']}/{before['agent_id'] or 'nobody'}"
            f" → {after['rule_id']}/{after['agent_id'] or 'nobody'}"
        )
    if diff["changed"] > LISTED:
        lines.append(f"  … and {diff['changed'] - LISTED} more (--json lists them)")
    lines += ["", *(f"note: {note}" for note in report.get("notes", []))]
    return "\n".join(lines)


def run_backtest(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        draft = read_draft(args.draft)
        api_url, token = stack_access(args.state_dir)
        status, body = request_backtest(api_url, token, {"draft": draft, "days": args.days, "limit": args.limit})
    except SimulateError as exc:
        print(f"leadrelay route backtest: {exc}", file=err)
        return 2
    if status != 200:
        print(f"leadrelay route backtest: {status} {body.get('error')}: {body.get('message')}", file=err)
        return 1
    print(json.dumps(body, indent=2) if args.json else describe(body), file=out)
    return 0
