"""`leadrelay route simulate`: ask a running stack who would get a lead (or each lead of a CSV),
and why, through `POST /routing/simulate`. Nothing is written anywhere.

The stack is found through `<state-dir>/local.json` (its `api_url` and the admin's token), the
file `leadrelay local` writes once it is ready.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO

# Columns a CSV may carry as lead fields; any other column goes into `extra` (as `extra.<name>`
# or a bare name), the way a generic source keeps fields it does not know.
LEAD_COLUMNS = frozenset(
    {
        "source_id", "source_kind", "name", "phone", "email", "city", "state", "pincode", "language",
        "product", "budget", "message", "tags", "utm_source", "utm_medium", "utm_campaign",
        "previous_agent_id", "at",
    }
)  # fmt: skip


class SimulateError(Exception):
    """Something the user must fix: no stack, a bad lead, a bad file."""


def lead_from_row(row: dict[str, str | None]) -> dict[str, Any]:
    """A CSV row as a simulated lead: empty cells are left out, tags split on `;` or `,`."""
    lead: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or cell is None or not cell.strip():
            continue
        name, value = column.strip(), cell.strip()
        if name == "tags":
            lead["tags"] = [tag.strip() for tag in value.replace(";", ",").split(",") if tag.strip()]
        elif name in LEAD_COLUMNS:
            lead[name] = value
        else:
            extra[name.removeprefix("extra.")] = value
    if extra:
        lead["extra"] = extra
    return lead


def read_leads(lead_json: str | None, csv_path: str | None) -> list[dict[str, Any]]:
    if lead_json is not None:
        try:
            lead = json.loads(lead_json)
        except json.JSONDecodeError as exc:
            raise SimulateError(f"--lead is not JSON: {exc}") from exc
        if not isinstance(lead, dict):
            raise SimulateError('--lead must be a JSON object, e.g. \'{"city": "Noida"}\'')
        return [lead]
    assert csv_path is not None
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            return [lead_from_row(row) for row in csv.DictReader(handle)]
    except OSError as exc:
        raise SimulateError(f"cannot read {csv_path}: {exc.strerror or exc}") from exc


def _signed_in(prefer: bool) -> tuple[str, str] | None:
    """The deployment of `leadrelay login` and a fresh token, when it should be used: when asked
    (`LEADRELAY_USE_LOGIN=1`) or when there is no local stack to talk to."""
    if not prefer:
        return None
    from leadrelay.local.login_cli import LoginError, logged_in_access

    try:
        return logged_in_access()
    except LoginError as exc:
        raise SimulateError(str(exc)) from exc


def stack_access(state_dir: str) -> tuple[str, str]:
    """The running stack's API URL and the admin's token, from local.json."""
    path = Path(state_dir) / "local.json"
    signed_in = _signed_in(prefer=bool(os.environ.get("LEADRELAY_USE_LOGIN")))
    if signed_in is not None:
        return signed_in
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError as exc:
        signed_in = _signed_in(prefer=True)
        if signed_in is not None:
            return signed_in
        raise SimulateError(
            f"{path} not found: start the stack first (`make run` or `leadrelay local --demo`), "
            "or sign in to a deployment with `leadrelay login --api-url …`"
        ) from exc
    except json.JSONDecodeError as exc:
        raise SimulateError(f"{path} is not JSON: {exc}") from exc
    token = next((u.get("token") for u in info.get("users", []) if u.get("role") == "admin"), None)
    if not info.get("api_url") or not token:
        raise SimulateError(f"{path} has no api_url or no admin token")
    return str(info["api_url"]).rstrip("/"), str(token)


def api_call(
    api_url: str, token: str, method: str, path: str, body: Any = None, timeout: float = 10
) -> tuple[int, dict[str, Any]]:
    """One call to the running stack's API as the admin: (status, JSON body). HTTP errors are
    answers, not exceptions; a stack that does not answer is a SimulateError. Every `leadrelay`
    command that talks to a running stack goes through here."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"{api_url}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except json.JSONDecodeError:
            return exc.code, {"error": "http_error", "message": str(exc)}
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise SimulateError(f"the stack at {api_url} does not answer ({exc}); is it running?") from exc


def simulate_one(api_url: str, token: str, lead: dict[str, Any], timeout: float = 10) -> tuple[int, dict[str, Any]]:
    return api_call(api_url, token, "POST", "/routing/simulate", lead, timeout)


def describe(number: int, lead: dict[str, Any], plan: dict[str, Any]) -> str:
    """A few lines a person reads: the lead, the winner, the rules tried, who was skipped and why."""
    shown = ", ".join(f"{k}={v}" for k, v in lead.items() if k not in ("phone", "email", "extra")) or "(no fields)"
    lines = [f"#{number} {shown}"]
    if plan.get("agent_id"):
        lines.append(
            f"  → {plan['agent_id']} ({plan.get('agent_name') or '?'}) by rule {plan['rule_id']!r}, "
            f"pool {plan['pool_id']!r}, {plan['strategy']}"
        )
    else:
        lines.append(f"  → nobody: {plan.get('reason')}")
    for trace in plan.get("rules", []):
        mark = "✓" if trace["matched"] else "·"
        lines.append(f"    {mark} {trace['rule_id']}: {trace['why']}")
    if plan.get("candidates"):
        lines.append(f"  candidates: {', '.join(plan['candidates'])}")
    if plan.get("skipped"):
        lines.append("  skipped: " + ", ".join(f"{a} ({why})" for a, why in plan["skipped"].items()))
    if plan.get("demoted"):
        lines.append(f"  demoted (soft cap): {', '.join(plan['demoted'])}")
    return "\n".join(lines)


def run_simulate(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        leads = read_leads(args.lead, args.csv)
        api_url, token = stack_access(args.state_dir)
        failures = 0
        for number, lead in enumerate(leads, start=1):
            status, body = simulate_one(api_url, token, lead)
            if status != 200:
                failures += 1
                print(f"#{number}: {status} {body.get('error')}: {body.get('message')}", file=err)
                continue
            print(json.dumps({"lead": lead, **body}) if args.json else describe(number, lead, body), file=out)
    except SimulateError as exc:
        print(f"leadrelay route simulate: {exc}", file=err)
        return 2
    return 1 if failures else 0


# What `GET /routing/rules` adds to a rule chain (its stamp); a draft or a PUT body leaves it out.
CHAIN_STAMP = ("version", "published_at", "published_by")


def chain_spec(chain: dict[str, Any]) -> dict[str, Any]:
    """A rule chain as `GET /routing/rules` answers it, in the form `PUT /routing/rules` and
    `route backtest --draft` take: the stamp (version, published_at, published_by) left out."""
    return {key: value for key, value in chain.items() if key not in CHAIN_STAMP}


def run_show(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """`leadrelay route show [--version N]`: the live (or a past) rule chain as JSON a person can
    edit and hand back to `route backtest --draft` or `PUT /routing/rules`."""
    try:
        api_url, token = stack_access(args.state_dir)
        path = "/routing/rules" if args.version is None else f"/routing/rules/versions/{args.version}"
        status, body = api_call(api_url, token, "GET", path)
    except SimulateError as exc:
        print(f"leadrelay route show: {exc}", file=err)
        return 2
    if status != 200:
        print(f"leadrelay route show: {status} {body.get('error')}: {body.get('message')}", file=err)
        return 1
    print(json.dumps(chain_spec(body), indent=2, ensure_ascii=False), file=out)
    return 0
