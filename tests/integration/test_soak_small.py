"""The soak run (bench/soak.py) in miniature: a few leads through the local stack with a fault on
about one write in seven, and every invariant holds at the end. `make soak` runs 10,000."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.concurrency


def test_a_small_soak_with_heavy_faults_ends_with_every_lead_decided_once_and_counters_equal_a_recount() -> None:
    from bench.soak import run

    report = run(leads=12, workers=3, fault_rate=0.15)
    assert report["problems"] == [], report
    assert report["stored"] == 12 and report["assigned"] + report["unassigned"] == 12
    assert sum(report["faults_injected"].values()) > 0, "the run injected no fault"
    assert report["events"]["on_the_bus"] == report["events"]["timeline_entries"] > 0
