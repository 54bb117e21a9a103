"""The local stack keeps the outside contract: local.json, the authorizer, the local clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadrelay.clock import parse_iso

pytestmark = pytest.mark.e2e

SOURCE_KINDS = {
    "generic",
    "meta_lead_ads",
    "google_ads",
    "indiamart",
    "justdial",
    "whatsapp",
    "razorpay",
    "web_form",
    # CONTRACT.md: "more may follow" — the property portals (pulled, or pushed like any webhook)
    "99acres",
    "magicbricks",
    "housing",
}


def test_local_json_has_the_contracts_shape(local_stack):
    info = local_stack.info
    assert info["api_url"] == local_stack.api_url
    assert info["api_url"].startswith("http://127.0.0.1:")
    assert info["sources"], "the demo seeds sources"
    for source in info["sources"]:
        assert source["id"] and source["key"]
        assert source["kind"] in SOURCE_KINDS
    assert any(source["kind"] == "generic" for source in info["sources"])
    roles = {user["role"] for user in info["users"]}
    assert {"admin", "manager", "agent"} <= roles
    assert [user["username"] for user in info["users"]].count("admin") == 1
    for user in info["users"]:
        assert user["username"] and user["token"].count(".") == 2
        if user["role"] == "manager":
            assert user["team_id"]
        if user["role"] == "agent":
            assert user["agent_id"]


def test_local_json_is_readable_by_its_owner_only(local_stack):
    mode = (local_stack.state_dir / "local.json").stat().st_mode & 0o777
    assert mode == 0o600


def test_the_api_without_a_token_is_401_json(local_stack):
    response = local_stack.get("/leads")
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "unauthorized"


def test_the_api_with_a_forged_token_is_401(local_stack):
    response = local_stack.get("/leads", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert response.status_code == 401


def test_the_clock_is_read_by_anyone_and_moved_by_an_admin(local_stack):
    # Given the stack's time
    before = parse_iso(local_stack.get("/_local/clock").json()["now"])
    # When an admin advances it by 90 minutes
    # (90 ticks of every schedule, against a stack the other e2e tests have filled: allow a minute)
    response = local_stack.post("/_local/clock", json={"advance_minutes": 90}, as_user="admin", timeout=60)
    # Then the stack's time moved by that much
    assert response.status_code == 200, response.text
    moved = parse_iso(response.json()["now"])
    assert timedelta(minutes=90) <= moved - before < timedelta(minutes=91)
    now = parse_iso(local_stack.get("/_local/clock").json()["now"])
    assert now >= moved


def test_only_an_admin_moves_the_clock(local_stack):
    assert local_stack.post("/_local/clock", json={"advance_minutes": 1}).status_code == 401
    for role in ("manager", "agent"):
        response = local_stack.post("/_local/clock", json={"advance_minutes": 1}, as_user=role)
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"


def test_a_bad_advance_is_a_json_error(local_stack):
    for body in ({}, {"advance_minutes": "ten"}, {"advance_minutes": -5}):
        response = local_stack.post("/_local/clock", json=body, as_user="admin")
        assert response.status_code in (400, 422)
        assert set(response.json()) == {"error", "message"}


def test_route_simulate_cli_asks_the_running_stack_and_changes_nothing(local_stack, tmp_path):
    # Given the running demo stack and a CSV of two leads
    import json as _json
    import subprocess as _subprocess
    import sys as _sys

    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("city,language,at\nNoida,,2026-11-23T12:00:00+05:30\nChennai,Tamil,2026-11-23T12:00:00+05:30\n")
    local_stack.settle()  # leads other tests posted may still be on their way through the router
    before = local_stack.get("/agents", as_user="admin").json()["items"]
    # When `leadrelay route simulate --csv … --json` runs against it
    run = _subprocess.run(
        [_sys.executable, "-m", "leadrelay.cli", "route", "simulate", "--csv", str(csv_path), "--json",
         "--state-dir", str(local_stack.state_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # Then each lead gets its plan: the NCR lead the ncr rule, the Tamil lead the south-languages rule
    assert run.returncode == 0, run.stderr
    plans = [_json.loads(line) for line in run.stdout.splitlines()]
    assert [p["rule_id"] for p in plans] == ["ncr", "south-languages"]
    assert all(p["outcome"] == "assigned" and p["rules"] for p in plans)
    # And no agent's load moved
    local_stack.settle()
    assert local_stack.get("/agents", as_user="admin").json()["items"] == before
    # A bad lead is a non-zero exit with the API's message
    bad = _subprocess.run(
        [_sys.executable, "-m", "leadrelay.cli", "route", "simulate", "--lead", '{"pincode": "12"}',
         "--state-dir", str(local_stack.state_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 1 and "pincode" in bad.stderr
