"""`make bench` (python -m bench.run): benchmarks LeadRelay and checks ARCHITECTURE.md's targets.

1. Pipeline on the local stack (BENCH_LEADS leads at BENCH_RATE leads/s, open loop): the
   emulator's saturation rate; then the unloaded run at 5 leads/s that measures the product:
   received -> assigned, handler CPU per lead apart from moto (its own process), every AWS call
   by service, capacity units by real item sizes, decision item sizes, log bytes.
2. Routing decision cost, CPU only, over a grid of agents x rules.
3. Cold start in the Lambda layout (bench/lambda_layout.py): import and first call per handler.
4. The cost model (bench/cost.py) on the dev template with this run's per-lead units.

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
    for name, value in (report.get("cold_import_ms") or {}).items():
        rows.append(Target(f"cold_import_{name}", f"cold import {name} (Lambda layout)", "<= 300 ms", value, 300, "ms"))
    for name, value in (report.get("handler_cpu_ms_per_lead") or {}).items():
        rows.append(Target(f"cpu_{name}", f"{name} handler CPU per lead", "<= 4 ms", value, 4, "ms"))
    calls = (report.get("aws_calls_per_lead") or {}).get("total")
    rows.append(Target("aws_calls", "AWS calls per lead (every service)", "<= 4", calls, 4, "calls"))
    unloaded = (report.get("unloaded_received_to_assigned_ms") or {}).get("p99")
    rows.append(Target("unloaded_p99", "received -> assigned p99 at 5 leads/s", "<= 100 ms", unloaded, 100, "ms"))
    bill = (report.get("cost_inr_per_month") or {}).get("10x3000")
    rows.append(Target("cost", "AWS bill, 10 agents x 3,000 leads, default", "<= 150 INR", bill, 150, "INR"))
    return rows


def _product_figures(report: dict[str, Any]) -> None:
    """The product's figures from the unloaded run (less contention), else the loaded one."""
    source = report.get("reference") or report.get("pipeline") or {}
    if source.get("handler_cpu_ms_per_lead"):
        report["handler_cpu_ms_per_lead"] = source["handler_cpu_ms_per_lead"]
    if source.get("aws_calls_per_lead"):
        report["aws_calls_per_lead"] = source["aws_calls_per_lead"]


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
    layout = report.get("lambda_layout")
    if layout:
        out += ["", "3. Cold start in the Lambda layout (Python 3.13, layer as built, as deployed: X-Ray SDK off; "
                    "median of runs; min as cold_import_ms)"]  # fmt: skip
        rows = [
            [name, f["import_ms"], f["import_cpu_ms"], f.get("import_cpu_min_ms"), f.get("import_cpu_ms_xray_sdk"),
             f.get("first_over_warm_ms"), f.get("warm_call_cpu_ms"), f.get("warm_call_cpu_ms_xray_sdk")]
            for name, f in layout.items()
        ]  # fmt: skip
        headers = ["function", "import ms", "import CPU ms", "CPU min", "CPU, X-Ray SDK on", "first call +ms",
                   "warm CPU ms", "warm CPU, X-Ray SDK on"]  # fmt: skip
        out.append(stats.table(headers, rows, right=(1, 2, 3, 4, 5, 6, 7)))
    product = [(k, report.get(k)) for k in ("handler_cpu_ms_per_lead", "aws_calls_per_lead",
                                            "unloaded_received_to_assigned_ms", "saturation_leads_per_s",
                                            "decide_worst_us", "decide_typical_us", "decide_first_us",
                                            "cost_inr_per_month")]  # fmt: skip
    out += ["", "The product (what each predicts on AWS: docs/benchmarks.md)"]
    out += [f"  {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in product if value is not None]
    reference = report.get("reference") or {}
    if reference.get("decision_item_bytes"):
        out.append(f"  decision item bytes: {reference['decision_item_bytes']}; capacity units per lead: "
                   f"{reference.get('capacity_units_per_lead')}; log bytes per lead: "
                   f"{reference.get('log_bytes_per_lead')}; the stream's events function (dashboard counters, "
                   f"domain events), CPU ms per lead: {reference.get('events_function_cpu_ms_per_lead')}")  # fmt: skip
    if report.get("cost"):
        from bench.cost import render as render_cost

        out += ["", render_cost(report["cost"])]
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
    only = {part.strip() for part in os.environ.get("BENCH_ONLY", "pipeline,routing,imports,cost").split(",")}
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
        # At BENCH_RATE the emulator (moto serving one request at a time) is the bottleneck: what
        # the loaded run achieves is its saturation rate, not the product's.
        report["saturation_leads_per_s"] = pipeline["leads_per_s"]
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
                    "handler_cpu_ms_per_lead",
                    "aws_calls_per_lead",
                    "capacity_units_per_lead",
                    "events_function_cpu_ms_per_lead",
                    "decision_item_bytes",
                    "log_bytes_per_lead",
                )
            }
            report["unloaded_received_to_assigned_ms"] = {
                k: reference["received_to_assigned_ms"].get(k) for k in ("p50", "p99")
            }

    if "routing" in only:
        from bench.routing import run_grid, time_first_decide

        say("2/3 routing decision grid …")
        grid = run_grid()
        per_decision = (report.get("pipeline") or {}).get("dynamodb_calls_per_lead", {}).get("route")
        report["decide_worst_us"] = {
            f"{c['agents']}x{c['rules']}": c["us"]
            for c in grid["worst_case"]
            if (c["agents"], c["rules"]) in ((1000, 500), (100, 50))
        }
        report["decide_typical_us"] = {
            f"{c['agents']}x{c['rules']}": c["us"]
            for c in grid["typical"]
            if (c["agents"], c["rules"]) in ((1000, 500), (100, 50))
        }
        # The first decision on a freshly read roster builds the engine's indexes (once per
        # roster the router's warm snapshot reads, see docs/benchmarks.md).
        report["decide_first_us"] = {"1000x500": time_first_decide(1000, 500), "100x50": time_first_decide(100, 50)}
        report["routing_decision_us"] = {
            **grid,
            "lead_store_reads_per_decision": 0,
            "dynamodb_calls_per_decision": per_decision,
            "method": "time.thread_time_ns (CPU of the timing thread) around N decide() calls, N sized to ~80 ms; "
            "median of 7 repeats; "
            "GC paused while timing",
        }

    if "imports" in only:
        from bench.lambda_layout import measure

        say("3/4 cold start in the Lambda layout (layer built with Python 3.13 bytecode) …")
        layout = measure(runs=_env_int("BENCH_IMPORT_RUNS", 3), rounds=_env_int("BENCH_IMPORT_ROUNDS", 4))
        report["lambda_layout"] = layout
        # CPU time: an import on Lambda's own core is CPU-bound; wall time here includes waiting
        # for a core this machine shares (both are in lambda_layout).
        # The least disturbed of the runs (min): other processes only ever add to an import's CPU.
        report["cold_import_ms"] = {name: f["import_cpu_min_ms"] for name, f in layout.items()}
        report["first_call_ms"] = {
            name: f["first_over_warm_ms"] for name, f in layout.items() if "first_over_warm_ms" in f
        }

    _product_figures(report)
    if "cost" in only:
        from bench import cost

        say("4/4 cost model on the dev template …")
        per_lead = cost.per_lead_from_report(report)
        result = cost.model("dev", per_lead=per_lead)
        report["cost"] = result
        report["cost_inr_per_month"] = cost.inr_per_month(result)

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
