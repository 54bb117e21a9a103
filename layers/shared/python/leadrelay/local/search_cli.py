"""`leadrelay search reindex`: the one-off search backfill, a slice per call of `POST /search/reindex`,
against the local stack or the deployment `leadrelay login` signed in to."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from leadrelay.local.route_cli import SimulateError, api_call, stack_access


def run_reindex(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    body: dict[str, Any] = {"max_leads": args.batch}
    totals = {"leads": 0, "indexed": 0, "items": 0, "changed": 0}
    try:
        api_url, token = stack_access(args.state_dir)
        while True:
            status, answer = api_call(api_url, token, "POST", "/search/reindex", body, 30)
            if status != 200:
                print(f"leadrelay search reindex: {status} {answer.get('error')}: {answer.get('message')}", file=err)
                return 1
            for name in totals:
                totals[name] += int(answer.get(name, 0))
            print(f"read {totals['leads']} leads: {totals['indexed']} lacked search items and got "
                  f"{totals['items']}; {totals['changed']} changed meanwhile", file=out)  # fmt: skip
            if not answer.get("next"):
                return 0
            body["cursor"] = answer["next"]
    except SimulateError as exc:
        print(f"leadrelay search reindex: {exc}", file=err)
        return 2
