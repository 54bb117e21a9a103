"""Performance weighting through the API: the back-test of a pool's weighting (rates from the
dashboard's counters) answers a run id; only that id enables it on the pool, with the weights the
run replayed; routing then follows them."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.models import Agent, Strategy
from tests.helpers import ManualClock
from tests.integration.flow import Flow
from tests.integration.test_offers import org_with, post, route

SETTING = {"days": 30, "min_share": 0.2, "contact_weight": 1, "conversion_weight": 4}


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    return Flow(aws["LEADS_TABLE"])


def dashboard_cell(table: str, day: str, agent_id: str, assigned: int, contacted: int, won: int) -> None:
    """A counter cell as the dashboard consumer keeps it (dashboard/aggregates.py)."""
    item = {"pk": f"DASH#{day[:7]}", "sk": f"{day}#-#web#{agent_id}", "day": day, "team_id": "-", "source_id": "web",
            "agent_id": agent_id, "assigned": assigned, "contacted": contacted, "won": won}  # fmt: skip
    boto3.resource("dynamodb").Table(table).put_item(Item=item)


def pool_doc(flow: Flow) -> dict[str, Any]:
    pool = next(p for p in flow.get("/pools")[1]["items"] if p["pool_id"] == "sales")
    pool.pop("pool_id")
    return pool


def test_weighting_is_enabled_only_with_a_back_test_run_that_showed_the_shift(
    flow: Flow, aws: dict[str, str], clock: ManualClock
) -> None:
    # Given a weighted pool of three, where asha contacts and converts far more than chitra
    org_with(*(Agent(agent_id=a, name=a.title()) for a in ("asha", "bala", "chitra")),
             strategy=Strategy.WEIGHTED_ROUND_ROBIN)  # fmt: skip
    for agent_id, counts in {"asha": (40, 38, 12), "bala": (40, 28, 4), "chitra": (40, 12, 0)}.items():
        dashboard_cell(aws["ORG_TABLE"], "2026-11-20", agent_id, *counts)
    for n in range(12):  # leads of the last days, for the back-test to replay
        post(flow, f"98765{n:05}")
        route(flow)
        clock.advance(minutes=3)
    doc = pool_doc(flow)
    # When an admin enables weighting without a back-test: refused, saying how
    status, body = flow.call("PUT", "/pools/sales", body={**doc, "performance_weighting": SETTING})
    assert status == 409 and body["error"] == "backtest_required", body
    assert "POST /routing/backtest" in body["message"]
    # And a manager may not run a back-test that could enable it
    status, body = flow.call("POST", "/routing/backtest", role="manager", team_id="ncr",
                             body={"performance_weighting": {"sales": SETTING}})  # fmt: skip
    assert status == 403, body
    # When the admin back-tests the weighting (the live chain as the draft)
    status, report = flow.call("POST", "/routing/backtest", body={"performance_weighting": {"sales": SETTING}})
    assert status == 200, report
    shown = report["performance_weighting"]["sales"]
    # Then the report shows the rates, the weights (never below the guaranteed 20 %) and the shift
    assert shown["rates"]["asha"]["conversion_rate"] == 0.3 and shown["rates"]["chitra"]["contact_rate"] == 0.3
    assert all(float(w) >= 20 for w in shown["weights"].values())
    assert shown["live"] == {"asha": 4, "bala": 4, "chitra": 4}
    assert shown["draft"]["asha"] > 4 > shown["draft"]["chitra"] and shown["shifted"] is True
    # When the admin enables it with another setting than the run replayed: refused
    other = {**SETTING, "min_share": 0.25, "backtest_id": report["backtest_id"]}
    status, body = flow.call("PUT", "/pools/sales", body={**doc, "performance_weighting": other})
    assert status == 409 and body["error"] == "backtest_mismatch", body
    # When the admin enables it with the run's id
    enabled = {**SETTING, "backtest_id": report["backtest_id"], "weights": {"asha": 100}}
    status, body = flow.call("PUT", "/pools/sales", body={**doc, "performance_weighting": enabled})
    # Then the pool has the run's weights (not the request's)
    assert status == 200, body
    assert body["performance_weighting"]["weights"] == shown["weights"]
    # And GET → PUT of the same document is accepted as it is
    assert flow.call("PUT", "/pools/sales", body=pool_doc(flow))[0] == 200
    # And routing follows the weights: over 30 more leads asha gets the most, chitra at least 20 %
    before = Counter(lead["assigned_agent_id"] for lead in flow.get("/leads", query={"limit": "100"})[1]["items"])
    for n in range(30):
        post(flow, f"97765{n:05}")
        route(flow)
    after = Counter(lead["assigned_agent_id"] for lead in flow.get("/leads", query={"limit": "100"})[1]["items"])
    got = after - before
    assert got["asha"] > got["bala"] > got["chitra"] >= 0.2 * 30 - 1, got
    decision = flow.get(f"/leads/{flow.get('/leads')[1]['items'][0]['lead_id']}/routing")[1]["items"][-1]
    assert decision["strategy"] == "weighted_round_robin" and "weight" in decision["reason"]


def test_a_back_test_of_weighting_refuses_a_pool_it_cannot_hold_for(flow: Flow) -> None:
    org_with(Agent(agent_id="asha", name="Asha"), Agent(agent_id="bala", name="Bala"))
    # A round-robin pool: weighting needs weighted round-robin
    status, body = flow.call("POST", "/routing/backtest", body={"performance_weighting": {"sales": SETTING}})
    assert status == 422 and body["error"] == "weighting_needs_weighted_round_robin", body
    # An unknown pool
    status, body = flow.call("POST", "/routing/backtest", body={"performance_weighting": {"nope": SETTING}})
    assert status == 422 and body["error"] == "unknown_pool", body
    # Minimum shares adding up to more than everything
    wiring.org_repository().put_pool(
        wiring.org_repository()
        .load_roster()
        .pools["sales"]
        .model_copy(update={"strategy": Strategy.WEIGHTED_ROUND_ROBIN, "agent_ids": ["asha", "bala"]})
    )
    status, body = flow.call("POST", "/routing/backtest",
                             body={"performance_weighting": {"sales": {**SETTING, "min_share": 0.5}}})  # fmt: skip
    assert status == 200, body  # 2 × 0.5 = 1: allowed (no room to shift, so nothing moves)
    assert body["performance_weighting"]["sales"]["shifted"] is False
