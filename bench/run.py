"""`make bench` (python -m bench.run): benchmarks LeadRelay and checks ARCHITECTURE.md's targets.

1. Pipeline latency on the local stack (BENCH_LEADS leads at BENCH_RATE leads/s, open loop),
   with DynamoDB calls counted per handler by a botocore hook; then an unloaded reference run.
2. Routing decision cost, CPU only, over a grid of agents x rules.
3. Handler import time in fresh interpreters.

Prints a table, writes bench/results/latest.json and bench/results/<UTC timestamp>.json. Exits 0
when targets are missed (the table says MISS), non-zero when the run itself breaks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import stats
from bench.stats import Target

RESULTS_DIR = Path(__file__).resolve().parent / "results"
NOTES = [
    "Local stack on loopback: the load generator, gateway, handlers and stream poller share this "
    "process's interpreter (and its GIL); moto's server runs in a child process and serves one request "
    "at a time. "
    "These are not AWS latencies. Published third-party figures for the AWS hops: stream -> Lambda "
    "https://bitesizedserverless.com/bite/serverless-messaging-latency-compared/ , DynamoDB calls from Lambda "
    "https://github.com/alexdebrie/dynamodb-performance-testing , cold starts "
    "https://github.com/cebert/aws-lambda-performance-benchmarks (docs/benchmarks.md).",
    "received_to_assigned_ms: client time.monotonic() just before the POST to the return of the router "
    "invocation that assigned the lead (its stream batch).",
    "dynamodb_calls_per_lead: botocore before-call events on the process-wide DynamoDB client, attributed "
    "to the handler running on the calling thread, divided by accepted leads (the stream poller's "
    "GetRecords calls are the event source mapping's, not the handlers', and are not counted).",
    "The demo organisation's daily caps are raised for the run so every lead can be assigned.",
    "Each handler runs one invocation at a time (one Lambda execution environment per function); time "
    "waiting for it counts as latency. The local gateway would otherwise run a handler concurrently on "
    "its request threads, and Powertools' resolver keeps the current event on the module-level app.",
    "routing_decision_us: CPU time of leadrelay.routing.engine.decide() per decision; decide() takes no "
    "lead store, so it is flat in the number of leads stored.",
]


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pipeline_section(leads: int, rate: float, workers: int) -> dict[str, Any]:
    from bench.pipeline import figures, run_pipeline

    return figures(run_pipeline(leads, rate, workers, progress=say))


def reference_section(leads: int, rate: float, workers: int) -> dict[str, Any]:
    """The same run in a fresh process (one local stack per process: see bench.pipeline.main)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.pipeline", str(leads), str(rate), str(workers)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the reference run failed: {done.stderr.strip()[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def broken(pipeline: dict[str, Any]) -> list[str]:
    """Why a pipeline run does not count (empty when it is sound)."""
    problems = []
    if pipeline["http_errors"]:
        problems.append(f"{pipeline['http_errors']} webhook(s) were not answered 202")
    if not pipeline["drained"]:
        problems.append("the stream poller did not drain within 60 s")
    others = {k: v for k, v in pipeline["webhook_outcomes"].items() if k != "created"}
    if others:
        problems.append(f"distinct webhooks were not all stored as new leads: {others}")
    statuses = pipeline["lead_status_after_drain"]
    if statuses.get("assigned", 0) != pipeline["leads"]:
        problems.append(f"not every lead is assigned after drain: {statuses}")
    if pipeline["assigned_by_router"] != pipeline["accepted"]:
        problems.append(f"the router assigned {pipeline['assigned_by_router']} of {pipeline['accepted']} leads")
    return problems


def targets(report: dict[str, Any]) -> list[Target]:
    pipeline = report.get("pipeline") or {}
    latency = pipeline.get("received_to_assigned_ms") or {}
    calls = pipeline.get("dynamodb_calls_per_lead") or {}
    rate = pipeline.get("target_rate_per_s")
    worst = {
        (c["agents"], c["rules"]): c["us"] for c in (report.get("routing_decision_us") or {}).get("worst_case", [])
    }
    rows = [
        Target(
            "p99_received_to_assigned",
            f"received -> assigned p99 at {rate:g} leads/s" if rate else "received -> assigned p99",
            "p99 <= 100 ms at 50 leads/s",
            latency.get("p99"),
            100,
            "ms",
        ),
        Target(
            "dynamodb_calls_per_lead",
            "DynamoDB calls per lead (ingest + route)",
            "<= 8",
            calls.get("total"),
            8,
            "calls",
        ),
        Target(
            "routing_decision",
            "routing decision, 1,000 agents x 500 rules",
            "<= 1 ms (1,000 us)",
            worst.get((1000, 500)),
            1000,
            "us",
        ),
    ]
    for name, figures in (report.get("import_ms") or {}).items():
        rows.append(Target(f"import_{name}", f"import {name}_handler", "<= 300 ms", figures["ms"], 300, "ms"))
    return rows


def _row(label: str, summary: dict[str, float]) -> list[Any]:
    return [label, *(summary.get(k) for k in ("p50", "p95", "p99", "max"))]


def render(report: dict[str, Any], checked: list[Target]) -> str:
    out = [f"LeadRelay benchmark  {report['at']}", f"machine: {report['machine']}"]
    load = report.get("other_load_cores")
    out.append(
        f"load average at start {report.get('load_average_at_start')}; other processes used "
        f"{'?' if load is None else load} cores on average during the run"
    )
    pipeline = report.get("pipeline")
    if pipeline:
        latency = pipeline["received_to_assigned_ms"]
        breakdown = pipeline["breakdown_ms"]
        out += [
            "",
            f"1. Pipeline on the local stack: {pipeline['leads']} leads offered at "
            f"{pipeline['target_rate_per_s']:g}/s from {pipeline['client_threads']} threads (open loop)",
        ]
        rows = [
            _row("received -> assigned (client t0 -> router return)", latency),
            _row("  webhook POST -> 202", breakdown["webhook_http_202"]),
            _row("  202 -> router call starts", breakdown["stream_wait"]),
            _row("  router call (its whole batch)", breakdown["router_call"]),
        ]
        if pipeline.get("scheduled_to_assigned_ms"):
            rows.append(_row("scheduled send -> assigned (adds client lag)", pipeline["scheduled_to_assigned_ms"]))
        reference = report.get("reference")
        if reference:
            label = f"unloaded reference: {reference['leads']} leads at {reference['target_rate_per_s']:g}/s"
            rows.append(_row(label, reference["received_to_assigned_ms"]))
        out.append(stats.table(["ms", "p50", "p95", "p99", "max"], rows, right=(1, 2, 3, 4)))
        router = pipeline["router"]
        calls = pipeline["dynamodb_calls_per_lead"]
        ops = pipeline["dynamodb_operations"]
        out += [
            "",
            f"achieved {pipeline['leads_per_s']:g} leads/s (accepted leads / (last assigned - first t0))",
            f"after drain, by GET /leads/{{id}}: {pipeline['lead_status_after_drain']} of {pipeline['leads']} leads",
            f"webhook answers: {pipeline['webhook_outcomes']} for {pipeline['gateway_hook_requests']} POSTs "
            f"the gateway served",
            f"router: {router['invocations']} invocations, mean batch {router['mean_batch_size']}, outcomes "
            f"{router['outcomes']}, extra invocations for retries: {router['extra_invocations_for_retries']}",
            f"send lag behind the open-loop schedule: p99 {pipeline['send_lag_ms'].get('p99')} ms, "
            f"max {pipeline['send_lag_ms'].get('max')} ms",
            "",
            stats.table(
                ["DynamoDB per lead", "calls", "operations", "ms in calls", "handler ms"],
                [
                    [
                        name,
                        calls[name],
                        ", ".join(f"{op} {n}" for op, n in ops.get(name, {}).items()),
                        pipeline["dynamodb_ms_per_lead"].get(name),
                        pipeline["handler_ms_per_lead"].get(name),
                    ]
                    for name in ("ingest", "route")
                ]
                + [["total", calls["total"], "", None, None]],
                right=(1, 3, 4),
            ),
            f"route calls per lead in the first, middle and last third of the run: "
            f"{pipeline['route_calls_per_lead_by_third']}",
        ]
    decisions = report.get("routing_decision_us")
    if decisions:
        out += ["", "2. Routing decision, CPU only (us per decide(), median of repeats)"]
        typical = {(c["agents"], c["rules"]): c["us"] for c in decisions["typical"]}
        rows = [
            [c["agents"], c["rules"], c["us"], typical.get((c["agents"], c["rules"]))] for c in decisions["worst_case"]
        ]
        out.append(stats.table(["agents", "rules", "worst case us", "typical us"], rows, right=(0, 1, 2, 3)))
        out.append(
            "worst case: no rule matches, the default pool of every agent decides; typical: the lead's "
            "rule is half-way down the chain, a pool of 5-20."
        )
        out.append(
            f"lead-store reads per decide(): 0 (no store parameter); DynamoDB calls per routed lead "
            f"in step 1: {decisions.get('dynamodb_calls_per_decision')}"
        )
    imports = report.get("import_ms")
    if imports:
        out += ["", "3. Handler import (fresh interpreter, median of 3)"]
        rows = [[f"{name}_handler", f["ms"], f["no_bytecode_ms"]] for name, f in imports.items()]
        out.append(stats.table(["module", "ms", "ms without .pyc"], rows, right=(1, 2)))
    out += ["", "Targets (ARCHITECTURE.md)"]
    rows = [[t.figure, t.target, t.value, t.unit, "PASS" if t.passed else "MISS"] for t in checked]
    out.append(stats.table(["figure", "target", "measured", "unit", "result"], rows, right=(2,)))
    return "\n".join(out)


def main() -> int:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    leads = _env_int("BENCH_LEADS", 300)
    rate = _env_float("BENCH_RATE", 50.0)
    workers = _env_int("BENCH_WORKERS", 8)
    reference_leads = _env_int("BENCH_REFERENCE_LEADS", 40)
    reference_rate = _env_float("BENCH_REFERENCE_RATE", 5.0)
    only = {part.strip() for part in os.environ.get("BENCH_ONLY", "pipeline,routing,imports").split(",")}
    started = datetime.now(UTC)
    cpu_before = stats.cpu_snapshot()
    report: dict[str, Any] = {
        "leads": leads,
        "leads_per_s": None,
        "received_to_assigned_ms": None,
        "dynamodb_calls_per_lead": None,
        "machine": stats.machine(),
        "at": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "load_average_at_start": stats.load_average(),
        "percentile_method": stats.PERCENTILE_METHOD,
    }
    problems: list[str] = []

    if "pipeline" in only:
        say(f"1/3 pipeline: {leads} leads at {rate:g}/s on the local stack …")
        pipeline = pipeline_section(leads, rate, workers)
        problems += broken(pipeline)
        report["pipeline"] = pipeline
        report["leads_per_s"] = pipeline["leads_per_s"]
        report["received_to_assigned_ms"] = {
            k: pipeline["received_to_assigned_ms"].get(k) for k in ("p50", "p95", "p99")
        }
        report["dynamodb_calls_per_lead"] = pipeline["dynamodb_calls_per_lead"]
        if reference_leads > 0:
            say(f"    unloaded reference: {reference_leads} leads at {reference_rate:g}/s …")
            reference = reference_section(reference_leads, reference_rate, workers)
            problems += [f"reference run: {p}" for p in broken(reference)]
            report["reference"] = {
                key: reference[key]
                for key in (
                    "leads",
                    "target_rate_per_s",
                    "leads_per_s",
                    "received_to_assigned_ms",
                    "breakdown_ms",
                    "dynamodb_calls_per_lead",
                    "dynamodb_ms_per_lead",
                    "handler_ms_per_lead",
                )
            }

    if "routing" in only:
        from bench.routing import run_grid

        say("2/3 routing decision grid …")
        grid = run_grid()
        per_decision = (report.get("pipeline") or {}).get("dynamodb_calls_per_lead", {}).get("route")
        report["routing_decision_us"] = {
            **grid,
            "lead_store_reads_per_decision": 0,
            "dynamodb_calls_per_decision": per_decision,
            "method": "time.perf_counter_ns around N decide() calls, N sized to ~80 ms; median of 7 repeats; "
            "GC paused while timing",
        }

    if "imports" in only:
        from bench.imports import measure
        from leadrelay.local.stack import default_functions_dir

        say("3/3 handler import times …")
        report["import_ms"] = measure(default_functions_dir())

    report["other_load_cores"] = stats.other_load(cpu_before, stats.cpu_snapshot())
    checked = targets(report)
    report["targets"] = {t.key: t.as_json() for t in checked}
    report["notes"] = [
        *NOTES,
        f"other processes used {report['other_load_cores']} cores on average during the run",
    ]
    if problems:
        report["problems"] = problems

    print(render(report, checked))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    stamped = RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    stamped.write_text(text, encoding="utf-8")
    (RESULTS_DIR / "latest.json").write_text(text, encoding="utf-8")
    print(f"\nwrote {RESULTS_DIR / 'latest.json'} and {stamped}")
    if problems:
        print("\nTHE RUN IS BROKEN:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    say(f"bench finished in {time.monotonic() - started:.0f} s")
    sys.exit(code)
