"""A newcomer's first hour, end to end: `leadrelay local` started at a chosen time, one stack per
state folder, a quiet terminal, the demo's Meta source working through the stand-in Graph API, and
the rule chain round trip at the command line."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.e2e.stack_process import LEADRELAY, StackProcess, running_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
START_AT = "2026-11-23T18:20+05:30"  # a Monday evening in IST
REQUEST_LINE = re.compile(r"^\d\d:\d\d:\d\dZ (GET|POST|PUT|PATCH|DELETE) /\S* \d{3}( \w+)? \d+ ms$")
SCHEDULE_LINE = re.compile(r"^\d\d:\d\d:\d\dZ schedule \w+: \{.+\}$")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    state_dir = tmp_path_factory.mktemp("newcomer") / "state"
    with running_stack(state_dir, start_at=START_AT) as running:
        yield running


def _admin(stack: StackProcess) -> dict[str, str]:
    token = next(u["token"] for u in stack.info["users"] if u["username"] == "admin")
    return {"Authorization": f"Bearer {token}"}


def _source(stack: StackProcess, source_id: str) -> dict[str, str]:
    return next(s for s in stack.info["sources"] if s["id"] == source_id)


def _cli(stack: StackProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEADRELAY, *args, "--state-dir", str(stack.state_dir)], capture_output=True, text=True, timeout=60
    )


def test_the_clock_starts_at_the_given_time_and_runs_on_from_there(stack: StackProcess) -> None:
    # Given a stack started with --start-at 18:20 IST, When its clock is read
    now = datetime.fromisoformat(requests.get(f"{stack.info['api_url']}/_local/clock", timeout=10).json()["now"])
    # Then it reads 18:20 IST and a little after (real time passes on), not the real time
    start = datetime.fromisoformat(START_AT)
    assert start <= now < start + timedelta(minutes=5)


def test_a_lead_at_the_start_time_goes_to_the_agent_on_shift_then(stack: StackProcess) -> None:
    # Given 18:20 IST on a Monday: of the NCR team only Rahul (12:00-21:00) is on shift
    api = stack.info["api_url"]
    answer = requests.post(
        f"{api}/hooks/website", headers={"X-Api-Key": _source(stack, "website")["key"]},
        json={"name": "Neha Gupta", "phone": "9811122244", "city": "Delhi"}, timeout=10,
    ).json()  # fmt: skip
    # When it is routed, Then it is Rahul's, whatever the hour of the real clock
    lead = _wait_for_assignment(api, answer["lead_id"], _admin(stack))
    assert lead["assigned_agent_id"] == "rahul"


def test_a_second_stack_on_the_same_state_folder_is_refused_and_the_first_keeps_its_local_json(
    stack: StackProcess,
) -> None:
    # Given a running stack, When another is started on its state folder
    second = subprocess.run(
        [LEADRELAY, "local", "--demo", "--port", "0", "--state-dir", str(stack.state_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # Then it refuses, saying why and what to do, and exits 1
    assert second.returncode == 1
    assert "another local stack" in second.stderr and str(stack.state_dir) in second.stderr
    assert "--state-dir" in second.stderr
    # And the first stack's local.json is still there, and the first stack still answers
    assert (stack.state_dir / "local.json").exists()
    assert requests.get(f"{stack.info['api_url']}/_local/clock", timeout=10).status_code == 200


def test_a_signed_meta_notification_becomes_a_full_routed_lead_through_the_stand_in_graph(stack: StackProcess) -> None:
    # Given the demo's Meta source and a notification signed with its app secret
    meta = _source(stack, "facebook-leads")
    body = (ROOT / "tests/fixtures/sources/meta_notification.json").read_bytes()
    signature = "sha256=" + hmac.new(meta["app_secret"].encode(), body, hashlib.sha256).hexdigest()
    # When Meta posts it
    answer = requests.post(
        f"{stack.info['api_url']}/hooks/facebook-leads", params={"key": meta["key"]}, data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature}, timeout=30,
    )  # fmt: skip
    # Then the lead is fetched at once (not parked), stored with the form's answers, and routed
    assert answer.status_code == 200, answer.text
    assert answer.json().get("pending_fetch") in (None, [])
    lead_id = answer.json()["leads"][0]["lead_id"]
    lead = _wait_for_assignment(stack.info["api_url"], lead_id, _admin(stack))
    assert lead["name"] and lead["phone"].startswith("+9198") and lead["city"]
    assert lead["source_kind"] == "meta_lead_ads"
    # And Meta's retry of the same notification is the same lead again
    retry = requests.post(
        f"{stack.info['api_url']}/hooks/facebook-leads", params={"key": meta["key"]}, data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature}, timeout=30,
    )  # fmt: skip
    assert retry.json()["leads"] == [{"lead_id": lead_id, "outcome": "duplicate"}]


def test_route_show_prints_what_backtest_and_put_accept(stack: StackProcess, tmp_path: Path) -> None:
    # Given the live chain as `route show` prints it, and as GET /routing/rules answers it
    shown = _cli(stack, "route", "show")
    assert shown.returncode == 0, shown.stderr
    chain = json.loads(shown.stdout)
    assert "version" not in chain and chain["default_pool_id"] == "everyone"
    (tmp_path / "shown.json").write_text(shown.stdout)
    api, admin = stack.info["api_url"], _admin(stack)
    (tmp_path / "got.json").write_text(requests.get(f"{api}/routing/rules", headers=admin, timeout=10).text)
    # When each is back-tested as a draft, Then both are accepted
    for draft in ("shown.json", "got.json"):
        report = _cli(stack, "route", "backtest", "--draft", str(tmp_path / draft), "--json")
        assert report.returncode == 0, report.stderr
        assert json.loads(report.stdout)["diff"]["changed"] == 0
    # And PUT /routing/rules publishes what `route show` printed, as the next version
    published = requests.put(f"{api}/routing/rules", headers=admin, json=chain, timeout=10)
    assert published.status_code == 200, published.text
    assert published.json()["rules"] == chain["rules"]
    # And the shipped docs/draft.json back-tests against the demo organisation
    shipped = _cli(stack, "route", "backtest", "--draft", str(ROOT / "docs" / "draft.json"))
    assert shipped.returncode == 0, shipped.stderr
    assert shipped.stdout.startswith("Back-test over ")


def test_the_terminal_shows_one_line_per_request_and_no_metrics_or_handler_logs(stack: StackProcess) -> None:
    # Given some traffic, and two hours of one-minute ticks (120 followup calls: enough for
    # Powertools to print a metrics blob at 100 values if metrics piled up)
    api, admin = stack.info["api_url"], _admin(stack)
    requests.get(f"{api}/agents", headers=admin, timeout=10)
    moved = requests.post(f"{api}/_local/clock", headers=admin, json={"advance_minutes": 120}, timeout=120)
    assert moved.status_code == 200
    log = stack.log()
    # Then the terminal tells how to reach the CLI
    assert ".venv/bin/leadrelay --help" in log or f"{LEADRELAY} --help" in log
    # And after the next steps, every line is a request line or a schedule that did something
    # (the SLA clock of the earlier leads started, or they were re-distributed), never an idle tick
    after = log.split("Stop with Ctrl-C.", 1)[1]
    lines = [line for line in after.splitlines() if line.strip() and not line.startswith("The clock started")]
    requests_seen = [line for line in lines if REQUEST_LINE.match(line)]
    schedules = [line for line in lines if SCHEDULE_LINE.match(line)]
    assert len(requests_seen) + len(schedules) == len(lines), [
        line for line in lines if not REQUEST_LINE.match(line) and not SCHEDULE_LINE.match(line)
    ]
    assert any(" POST /_local/clock 200 " in line for line in requests_seen)
    assert len(schedules) < 20, "idle ticks were printed"
    for line in schedules:
        assert not re.search(r": (0|\{\}|\[\])[,}]", line), line
    assert "_aws" not in log and "CloudWatchMetrics" not in log
    assert "No application metrics" not in log
    # And keys in query strings never reach the terminal
    assert _source(stack, "facebook-leads")["key"] not in log


def _wait_for_assignment(api: str, lead_id: str, headers: dict[str, str]) -> dict:
    import time

    deadline = time.monotonic() + 20
    while True:
        lead = requests.get(f"{api}/leads/{lead_id}", headers=headers, timeout=10).json()
        if lead.get("assigned_agent_id") or time.monotonic() > deadline:
            return lead
        time.sleep(0.1)
