"""The buyer's check on the local stack over HTTP, with the stack's clock: "re-distribute if no
contact in 2 hours; send a lead; wait; it moves" — and a called lead stays."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import START_TIMEOUT_S, LocalStackClient, _free_port, _tail

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackClient]:
    """A stack of its own, so moving its clock disturbs no other test."""
    state_dir = tmp_path_factory.mktemp("followups-stack")
    log_path = state_dir / "stack.log"
    command = [str(Path(sys.executable).parent / "leadrelay"), "local", "--demo", "--port", str(_free_port()),
               "--state-dir", str(state_dir)]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (state_dir / "local.json").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"leadrelay local did not start:\n{_tail(log_path)}")
            time.sleep(0.1)
        yield LocalStackClient(json.loads((state_dir / "local.json").read_text()), state_dir, log_path)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def round_the_clock_pool(stack: LocalStackClient) -> None:
    """Two agents with no shifts (always on) and a rule sending Testville leads to them, so the
    test holds at whatever hour it runs (the demo's shifts leave some hours with one agent)."""
    for agent_id in ("e2e-a", "e2e-b"):
        response = stack.post("/agents", as_user="admin",
                              json={"agent_id": agent_id, "name": agent_id, "team_id": "ncr", "daily_cap": 100})  # fmt: skip
        assert response.status_code == 201, response.text
    pool = {"name": "Round the clock", "agent_ids": ["e2e-a", "e2e-b"], "team_id": "ncr"}
    assert stack.put("/pools/e2e", as_user="admin", json=pool).status_code == 200
    chain = stack.get("/routing/rules", as_user="admin").json()
    rule = {"rule_id": "e2e", "when": {"field": "city", "op": "eq", "value": "Testville"}, "pool_id": "e2e"}
    edit = {"rules": [rule, *chain["rules"]], "default_pool_id": chain.get("default_pool_id")}
    response = stack.put("/routing/rules", as_user="admin", json=edit)
    assert response.status_code == 200, response.text


def send_lead(stack: LocalStackClient, phone: str) -> dict[str, Any]:
    source = stack.source("generic")
    response = stack.post(f"/hooks/{source['id']}", headers={"X-Api-Key": source["key"]},
                          json={"name": "Ravi", "phone": phone, "city": "Testville"})  # fmt: skip
    assert response.status_code == 202, response.text
    lead_id = response.json()["lead_id"]
    for _ in range(100):
        lead = stack.get(f"/leads/{lead_id}", as_user="admin").json()
        if lead["assigned_agent_id"]:
            return lead
        time.sleep(0.05)
    pytest.fail(f"lead {lead_id} was not assigned:\n{stack.log_tail()}")


def advance(stack: LocalStackClient, minutes: int) -> None:
    response = stack.post("/_local/clock", json={"advance_minutes": minutes}, as_user="admin", timeout=120)
    assert response.status_code == 200, response.text


def test_no_contact_in_two_hours_and_the_lead_moves_but_a_called_lead_stays(stack: LocalStackClient) -> None:
    # Given the rule "re-distribute if no contact in 2 hours"
    response = stack.put("/settings/followups", json={"sla": {"first_contact_minutes": 120}}, as_user="admin")
    assert response.status_code == 200, response.text
    round_the_clock_pool(stack)
    # When two leads arrive, and the second one is called (no answer; an admin logs it here)
    ignored = send_lead(stack, "9876512001")
    called = send_lead(stack, "9876512002")
    owner = called["assigned_agent_id"]
    response = stack.post(f"/leads/{called['lead_id']}/activities", as_user="admin",
                          json={"type": "call", "direction": "outbound", "outcome": "no_answer"})  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["lead"]["first_contacted_at"] is not None
    # Then after 1 h 59 min nothing has moved
    advance(stack, 119)
    assert (
        stack.get(f"/leads/{ignored['lead_id']}", as_user="admin").json()["assigned_agent_id"]
        == ignored["assigned_agent_id"]
    )
    # And after 2 hours the lead nobody called has moved to another agent, with trigger sla
    advance(stack, 2)
    moved = stack.get(f"/leads/{ignored['lead_id']}", as_user="admin").json()
    assert moved["assigned_agent_id"] not in (None, ignored["assigned_agent_id"]), stack.log_tail()
    trail = stack.get(f"/leads/{ignored['lead_id']}/routing", as_user="admin").json()["items"]
    assert [d["trigger"] for d in trail] == ["auto", "sla"]
    assert trail[-1]["previous_agent_id"] == ignored["assigned_agent_id"]
    # And the called lead stayed with its agent, its follow-up listed for them
    assert stack.get(f"/leads/{called['lead_id']}", as_user="admin").json()["assigned_agent_id"] == owner
    params = {"status": "open", "agent_id": owner}
    items = stack.get("/followups", as_user="admin", params=params).json()["items"]
    assert [f["lead_id"] for f in items] == [called["lead_id"]]
