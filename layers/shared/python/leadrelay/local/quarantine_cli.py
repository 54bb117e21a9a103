"""`leadrelay quarantine list | replay <id>`: the webhook requests kept in quarantine on a running
stack, through `GET /quarantine` and `POST /quarantine/{id}/replay` with the admin's token.

The stack is found through `<state-dir>/local.json`, like `leadrelay route simulate`.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, TextIO

from leadrelay.local.route_cli import SimulateError, api_call, stack_access


def call(api_url: str, token: str, method: str, path: str, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    """One admin API call: (status, JSON body); HTTP errors are answers, not exceptions."""
    return api_call(api_url, token, method, path, None, timeout)


def describe(item: dict[str, Any]) -> str:
    """One line per quarantined request: when, which source, why, and whether it was replayed."""
    replayed = ""
    if item.get("replayed_lead_ids"):
        replayed = f"  [replayed → {', '.join(item['replayed_lead_ids'])}]"
    reason = str(item.get("reason") or "").replace("\n", " ")
    if len(reason) > 100:
        reason = reason[:99] + "…"
    return (
        f"{item.get('request_id')}  {item.get('received_at')}  {item.get('source_id')}  "
        f"{item.get('error')}: {reason}{replayed}"
    )


def run_list(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        api_url, token = stack_access(args.state_dir)
        query: dict[str, Any] = {"limit": args.limit}
        if args.cursor:
            query["cursor"] = args.cursor
        status, body = call(api_url, token, "GET", f"/quarantine?{urllib.parse.urlencode(query)}")
    except SimulateError as exc:
        print(f"leadrelay quarantine list: {exc}", file=err)
        return 2
    if status != 200:
        print(f"leadrelay quarantine list: {status} {body.get('error')}: {body.get('message')}", file=err)
        return 1
    if args.json:
        print(json.dumps(body, ensure_ascii=False), file=out)
        return 0
    items = body.get("items") or []
    for item in items:
        print(describe(item), file=out)
    if not items:
        print("quarantine is empty", file=out)
    if body.get("next"):
        print(f"more: --cursor {body['next']}", file=out)
    return 0


def run_replay(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        api_url, token = stack_access(args.state_dir)
        request_id = urllib.parse.quote(args.request_id, safe="")
        status, body = call(api_url, token, "POST", f"/quarantine/{request_id}/replay")
    except SimulateError as exc:
        print(f"leadrelay quarantine replay: {exc}", file=err)
        return 2
    if args.json:
        print(json.dumps(body, ensure_ascii=False), file=out)
        return 0 if status == 200 else 1
    if status == 200:
        print(f"replayed {args.request_id} → leads {', '.join(body.get('lead_ids') or [])}", file=out)
        return 0
    capture = body.get("capture") or {}
    refusal: dict[str, Any] = capture["body"] if isinstance(capture.get("body"), dict) else body
    still = " (still in quarantine)" if capture else ""
    status = capture.get("status") or status  # the capture's own refusal, e.g. 403 for a wrong secret
    print(f"leadrelay quarantine replay: {status} {refusal.get('error')}: {refusal.get('message')}{still}", file=err)
    return 1
