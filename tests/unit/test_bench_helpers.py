"""The benchmark's pure helpers: percentile maths, the table, targets, the JSON shape, and a tiny
run of the routing micro-benchmark (no timing is asserted)."""

from __future__ import annotations

import json

import pytest

from bench import stats
from bench.pipeline import lead_id_of, payload
from bench.routing import build_scenario, decide_once, run_grid
from bench.run import broken, render, targets


def test_percentile_interpolates_linearly_between_closest_ranks() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert stats.percentile(values, 0) == 15
    assert stats.percentile(values, 100) == 50
    assert stats.percentile(values, 50) == 35
    assert stats.percentile(values, 40) == pytest.approx(29.0)  # position 1.6: 20 + 0.6 * 15
    assert stats.percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    assert stats.percentile([7.0], 99) == 7
    assert stats.percentile([3.0, 1.0, 2.0], 50) == 2  # order does not matter


def test_percentile_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        stats.percentile([], 50)
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


def test_summary_and_per_lead() -> None:
    summary = stats.summary_ms([10.0, 20.0, 30.0, 40.0])
    assert summary == {"p50": 25.0, "p95": 38.5, "p99": 39.7, "min": 10.0, "max": 40.0, "mean": 25.0}
    assert stats.per_lead(199, 50) == 3.98
    assert stats.per_lead(5, 0) == 0.0


def test_table_aligns_columns() -> None:
    text = stats.table(["name", "ms"], [["ingest", 451.25], ["route", 3.5], ["none", None]], right=(1,))
    lines = text.splitlines()
    assert lines[0].startswith("name") and set(lines[1]) <= {"-", " "}
    assert lines[2].endswith("451.2") and lines[3].endswith("3.50") and lines[4].endswith("-")
    assert len({len(line) for line in lines[:3]}) == 1


def test_other_load_is_what_others_used() -> None:
    before = stats.CpuSnapshot(busy_s=100.0, own_s=10.0, wall_s=0.0)
    after = stats.CpuSnapshot(busy_s=120.0, own_s=20.0, wall_s=10.0)
    assert stats.other_load(before, after) == 1.0
    assert stats.other_load(stats.CpuSnapshot(None, 0, 0), after) is None


def test_payloads_are_distinct_people_and_stream_records_give_their_lead() -> None:
    phones = {payload(i)["phone"] for i in range(1000)}
    assert len(phones) == 1000
    assert len({payload(i)["city"] for i in range(20)}) > 5
    record = {"dynamodb": {"NewImage": {"lead_id": {"S": "01ABC"}}, "Keys": {"pk": {"S": "LEAD#01ABC"}}}}
    assert lead_id_of(record) == "01ABC"
    assert lead_id_of({"dynamodb": {"Keys": {"pk": {"S": "LEAD#01XYZ"}}}}) == "01XYZ"
    assert lead_id_of({}) is None


def test_routing_scenarios_walk_the_chain_as_described() -> None:
    worst = decide_once(build_scenario(20, 12))
    assert worst.rule_id == "default" and len(worst.rules) == 13 and worst.agent_id
    typical = decide_once(build_scenario(20, 12, matching_rule_at=6))
    assert typical.rule_id == "rule-006"


def _report() -> dict:
    grid = run_grid((10,), (10,), repeats=2, target_s=0.001)
    pipeline = {
        "leads": 3, "accepted": 3, "assigned_by_router": 3, "leads_per_s": 2.5, "target_rate_per_s": 50.0,
        "client_threads": 8,
        "received_to_assigned_ms": {"p50": 80.0, "p95": 90.0, "p99": 120.0, "min": 1, "max": 121, "mean": 5},
        "breakdown_ms": {k: {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0}
                         for k in ("webhook_http_202", "stream_wait", "router_call")},
        "send_lag_ms": {"p99": 0.1, "max": 0.2},
        "dynamodb_calls_per_lead": {"ingest": 2.0, "route": 2.0, "total": 4.0},
        "dynamodb_operations": {"ingest": {"GetItem": 3, "TransactWriteItems": 3}},
        "dynamodb_ms_per_lead": {"ingest": 1.0}, "handler_ms_per_lead": {"ingest": 2.0},
        "route_calls_per_lead_by_third": [2.0, 2.0, 2.0],
        "router": {"invocations": 2, "mean_batch_size": 1.5, "outcomes": {"ok": 2},
                   "extra_invocations_for_retries": 0},
        "lead_status_after_drain": {"assigned": 3}, "webhook_outcomes": {"created": 3},
        "gateway_hook_requests": 3, "http_errors": 0, "drained": True,
    }  # fmt: skip
    return {
        "leads": 3,
        "leads_per_s": 2.5,
        "received_to_assigned_ms": {"p50": 80.0, "p95": 90.0, "p99": 120.0},
        "dynamodb_calls_per_lead": {"ingest": 2.0, "route": 2.0, "total": 4.0},
        "machine": stats.machine(),
        "at": "2026-01-01T00:00:00Z",
        "pipeline": pipeline,
        "routing_decision_us": {**grid, "dynamodb_calls_per_decision": 2.0},
        "cold_import_ms": {"ingest": 250.0},
        "handler_cpu_ms_per_lead": {"ingest": 3.5, "route": 5.0},
        "aws_calls_per_lead": {"ingest": 2.0, "route": 2.0, "total": 4.0},
        "unloaded_received_to_assigned_ms": {"p50": 60.0, "p99": 90.0},
        "cost_inr_per_month": {"10x3000": 35, "50x30000": 219, "500x300000": 2145},
    }


def test_targets_render_and_json_shape() -> None:
    report = _report()
    checked = {t.key: t for t in targets(report)}
    assert not checked["p99_received_to_assigned"].passed  # 120 ms > 100 ms
    assert checked["dynamodb_calls_per_lead"].passed
    assert checked["routing_decision"].value is None and not checked["routing_decision"].passed  # not measured
    assert checked["cold_import_ingest"].passed
    assert checked["cpu_ingest"].passed and not checked["cpu_route"].passed  # 5 ms > 4 ms
    assert checked["aws_calls"].passed and checked["unloaded_p99"].passed and checked["cost"].passed
    text = render(report, list(checked.values()))
    assert "MISS" in text and "PASS" in text and "received -> assigned" in text
    report["targets"] = {k: t.as_json() for k, t in checked.items()}
    shape = json.loads(json.dumps(report))
    for key in (
        "leads",
        "leads_per_s",
        "received_to_assigned_ms",
        "dynamodb_calls_per_lead",
        "machine",
        "at",
    ):
        assert key in shape
    assert set(shape["received_to_assigned_ms"]) == {"p50", "p95", "p99"}
    assert set(shape["dynamodb_calls_per_lead"]) == {"ingest", "route", "total"}
    assert shape["routing_decision_us"]["worst_case"][0]["agents"] == 10
    assert shape["targets"]["p99_received_to_assigned"]["result"] == "MISS"


def test_a_run_is_broken_when_a_lead_is_lost() -> None:
    pipeline = _report()["pipeline"]
    assert broken(pipeline) == []
    pipeline["webhook_outcomes"] = {"created": 2, "duplicate": 1}
    pipeline["lead_status_after_drain"] = {"assigned": 2}
    assert len(broken(pipeline)) == 2
