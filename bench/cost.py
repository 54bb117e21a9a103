"""`make cost`: LeadRelay's AWS bill per month, in rupees, for a volume of agents and leads.

Fixed costs come from the synthesized CloudFormation template of the stage (KMS keys,
dashboards, alarms, schedules, functions and their memory) and from the code (custom metrics:
every `metrics.add_metric(name=…)` per service). Per-lead costs come from the figures `make
bench` measured (bench/results/latest.json: write and read units by real item sizes, AWS calls
by service, handler CPU, log bytes), or conservative defaults when there is none yet.

Prices: ap-south-1 (Mumbai), USD, from the AWS Price List (DynamoDB:
https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonDynamoDB/current/ap-south-1/index.json;
https://aws.amazon.com/lambda/pricing/; https://aws.amazon.com/api-gateway/pricing/) as copied by
secondary sources ([fig]); the rest are AWS list prices that are the same in every commercial region as far as we
know ([list]): check both in the AWS Pricing Calculator before quoting.

Free tier: the bill is shown WITHOUT Lambda's and DynamoDB's free tiers (a customer's account may
use them up elsewhere), and WITH CloudWatch's always-free allowances, stated: 10 custom metrics,
10 alarm metrics (standard resolution), 3 dashboards of up to 50 metrics, 5 GB of logs (ingestion,
storage and Logs Insights scans), 1M API requests — per account and region, shared with anything
else the account runs. The default deployment is designed to fit them; `--no-free-tier` prices it
as if they were used up.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
LATEST = REPO_ROOT / "bench" / "results" / "latest.json"
INR_PER_USD = 88.0  # RBI reference rate, late 2026: roughly; pass --inr-per-usd to change it
VOLUMES = {"10x3000": (10, 3_000), "50x30000": (50, 30_000), "500x300000": (500, 300_000)}
DAYS_PER_MONTH = 30

PRICES = {  # USD
    "ddb_write_per_million": (0.71, "[fig] DynamoDB on-demand write request units, Mumbai"),
    "ddb_read_per_million": (0.1425, "[fig] DynamoDB on-demand read request units, Mumbai"),
    "ddb_storage_gb_month": (0.285, "[fig] DynamoDB storage, Mumbai (25 GB free, not counted)"),
    "lambda_gb_second": (0.0000133334, "[fig] Lambda arm64 duration"),
    "lambda_per_million": (0.20, "[fig] Lambda requests"),
    "rest_api_per_million": (3.50, "[fig] API Gateway REST API (not verified for Mumbai)"),
    "events_per_million": (1.00, "[fig] EventBridge custom events"),
    "scheduler_per_million": (1.00, "[fig] EventBridge Scheduler, after 14M free a month"),
    "logs_ingest_gb": (0.67, "[fig] CloudWatch Logs ingestion, Mumbai"),
    "kms_key_month": (1.00, "[fig] KMS customer-managed key"),
    "kms_per_10k_requests": (0.03, "[fig] KMS requests"),
    "custom_metric_month": (0.30, "[list] CloudWatch custom metric (first 10,000)"),
    "alarm_metric_month": (0.10, "[list] CloudWatch standard-resolution alarm, per metric"),
    "dashboard_month": (3.00, "[list] CloudWatch dashboard"),
    "sns_email_per_100k": (2.00, "[list] SNS email notifications (alarms only: negligible)"),
    "s3_storage_gb_month": (0.025, "[fig] S3 Standard storage, Mumbai"),
    "s3_put_per_1k": (0.005, "[fig] S3 PUT/POST (multipart create, part, complete), Mumbai"),
    "s3_get_per_1k": (0.0004, "[fig] S3 GET/HEAD, Mumbai"),
    "transfer_out_gb": (
        0.1093,
        "[fig] data transfer out to the internet, Mumbai (first 100 GB/month free, not counted)",
    ),
}
FREE = {"custom_metrics": 10, "alarm_metrics": 10, "dashboards": 3, "log_gb": 5.0, "scheduler_invocations": 14_000_000}

# Used when there is no bench result yet: a lead as measured on the local stack (issue #15). The
# write units include the router's roster version check (a ConditionCheck in its transaction, 2
# units); its calls are that transaction alone while its roster snapshot is held. Likewise ingest's
# source revision check (2 units), its one call a lead while its source is cached (no source read).
# Since 2026-11-27 they include the stream's events function (the dashboard's marker reads and
# counter transactions, `python -m bench.pipeline 60 5 2`: 11.5 write and 4.7 read units a lead).
DEFAULT_PER_LEAD = {
    "write_units": 45.5,
    "read_units": 4.7,
    "handler_cpu_ms": {"ingest": 6.0, "route": 9.0},
    "aws_calls": {"ingest": 1.0, "route": 1.0},
    "events": 2.0,
    # The stream's events function per lead: its CPU and calls (PutEvents, and the dashboard's
    # marker reads and counter transactions), measured by the bench of 2026-11-27.
    "events_function": {"cpu_ms": 20.4, "calls": 11.5},
    "log_bytes": 3000,
}
# Lambda runs a function at 1 vCPU from 1,769 MB; below, CPU shrinks in proportion to memory.
FULL_VCPU_MB = 1769
# Time a handler waits on AWS per call, a mix of PutItem/GetItem (p50 ≈ 8 ms) and
# TransactWriteItems (p50 ≈ 25 ms) [fig]: about half the calls per lead are transactions.
AWS_WAIT_MS_PER_CALL = 15.0
LAMBDA_REPORT_LOG_BYTES = 350  # START, END and REPORT lines per invocation
API_READS_PER_AGENT_DAY = 150  # the app's own calls: lists, lead views, activity posts
# A scheduled invocation of the followup function with nothing due, counted on moto with the demo
# organisation (2026-11-27): the minute tick makes 11 eventually consistent reads (10 queries of
# its queues and the open offers, 1 GetItem), 0.5 read units each; the minute pull 1 query. The
# two schedules alternate, so per invocation on average:
SCHEDULED_CALLS = (11 + 1) / 2
SCHEDULED_READ_UNITS = (11 + 1) * 0.5 / 2
STORED_BYTES_PER_LEAD = 8_000  # lead, raw request, touchpoint, timeline, decision, counters
MONTHS_KEPT = 12
# Large exports (the export function and the exports bucket, definitions.EXPORTS): a manager or
# admin exports the month's leads about once a working day; each is priced as a background export
# even when it is small enough for the synchronous answer (an upper bound).
EXPORTS_PER_MONTH = 22
EXPORT_ROW_BYTES = 341  # measured: a typical lead's CSV row (docs/api.md#large-exports)
EXPORT_CPU_MS_PER_ROW = 0.07  # measured: 5,000 rows formatted in 350 ms of one CPU
EXPORT_READ_UNITS_PER_ROW = 0.5  # an index query reads a ~2 KB lead for half a read unit
EXPORT_RETENTION_DAYS = 2  # definitions.EXPORTS.retention_days


@dataclass
class TemplateFacts:
    """What the synthesized stack costs whatever the volume."""

    stage: str
    kms_keys: int = 0
    dashboards: int = 0
    dashboard_metrics: int = 0
    alarm_metrics: int = 0
    schedule_invocations_per_month: int = 0
    functions: dict[str, int] = field(default_factory=dict)  # logical id -> memory MB
    options: dict[str, bool] = field(default_factory=dict)


def _rate_per_month(expression: str) -> int:
    match = re.match(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression or "")
    if not match:
        return 0
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    per_day = {"minute": 1440, "hour": 24, "day": 1}[unit] / count
    return int(per_day * DAYS_PER_MONTH)


def facts_from_template(template: dict[str, Any], stage: str) -> TemplateFacts:
    facts = TemplateFacts(stage=stage)
    for resource in template.get("Resources", {}).values():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::KMS::Key":
            facts.kms_keys += 1
        elif kind == "AWS::CloudWatch::Dashboard":
            facts.dashboards += 1
            body = json.dumps(props.get("DashboardBody", ""))
            facts.dashboard_metrics += body.count('\\"metrics\\"') or 1
        elif kind == "AWS::CloudWatch::Alarm":
            # Billed per metric: its one metric, or each metric a metric-math alarm reads (the
            # expression entries themselves are not metrics)
            facts.alarm_metrics += max(1, sum(1 for entry in props.get("Metrics", []) if "MetricStat" in entry))
        elif kind == "AWS::Scheduler::Schedule":
            facts.schedule_invocations_per_month += _rate_per_month(props.get("ScheduleExpression", ""))
        elif kind == "AWS::Events::Rule" and props.get("ScheduleExpression"):
            facts.schedule_invocations_per_month += _rate_per_month(props["ScheduleExpression"])
        elif kind == "AWS::Lambda::Function":
            name = str(
                props.get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME") or len(facts.functions)
            )
            facts.functions[name] = int(props.get("MemorySize", 128))
    return facts


def synthesize(stage: str = "dev", context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stage's CloudFormation template (no layer build, no cdk-nag: only resources count)."""
    sys.path.insert(0, str(REPO_ROOT / "infra"))
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from leadrelay_infra.application import create_app

    with tempfile.TemporaryDirectory(prefix="leadrelay-cost-") as out:
        ctx = {"stage": stage, **(context or {})}
        if stage == "prod":
            ctx.setdefault("allowed_origins", "https://app.example.in")
        app, stack = create_app(outdir=out, context=ctx, skip_bundling=True, nag=False)
        return app.synth().get_stack_by_name(stack.stack_name).template  # type: ignore[no-any-return]


_NAMED_METRIC = re.compile(r"add_metric\(\s*name=")


def custom_metrics(roots: tuple[Path, ...] = (REPO_ROOT / "functions", REPO_ROOT / "layers")) -> dict[str, Any]:
    """Every custom metric the code can emit, as `service/name`, and the calls whose name is not
    a literal (a name built from values makes a new paid metric per value)."""
    names: set[str] = set()
    unbounded: list[str] = []
    for root in roots:
        for path in root.rglob("*.py"):
            if "/local/" in str(path) or "__pycache__" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if not _NAMED_METRIC.search(text):
                continue
            service = _service_of(text) or path.parent.name
            tree = ast.parse(text)
            fixed = _fixed_name_tables(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
                    name = next((kw.value for kw in node.keywords if kw.arg == "name"), None)
                    if isinstance(name, ast.Constant) and isinstance(name.value, str):
                        names.add(f"{service}/{name.value}")
                    elif isinstance(name, ast.Name) and name.id in fixed:
                        names.update(f"{service}/{value}" for value in fixed[name.id])
                    else:
                        where = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
                        unbounded.append(f"{where}:{node.lineno}")
    return {"metrics": sorted(names), "count": len(names), "names_built_from_values": unbounded}


def _fixed_name_tables(tree: ast.Module) -> dict[str, list[str]]:
    """Loop variables that run over a module-level table of literal names: `for key, metric in
    _TABLE.items()` (or `.values()`) gives `metric` the table's string values."""
    tables = {
        target.id: [v.value for v in node.value.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
        and all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.value.values)
        for target in node.targets
        if isinstance(target, ast.Name)
    }  # fmt: skip
    found: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.For) and isinstance(node.iter, ast.Call)):
            continue
        method = node.iter.func
        if not (isinstance(method, ast.Attribute) and isinstance(method.value, ast.Name)):
            continue
        table = tables.get(method.value.id)
        if table is None:
            continue
        if method.attr == "values" and isinstance(node.target, ast.Name):
            found[node.target.id] = table
        elif method.attr == "items" and isinstance(node.target, ast.Tuple) and len(node.target.elts) == 2:
            value = node.target.elts[1]
            if isinstance(value, ast.Name):
                found[value.id] = table
    return found


def _service_of(text: str) -> str | None:
    match = re.search(r'Metrics\([^)]*service="([^"]+)"', text)
    return match.group(1) if match else None


def per_lead_from_bench(latest: Path = LATEST) -> tuple[dict[str, Any], str]:
    """Per-lead units from the last `make bench`, or the defaults (and where they came from)."""
    if not latest.is_file():
        return dict(DEFAULT_PER_LEAD), "defaults (no bench/results/latest.json yet)"
    return per_lead_from_report(json.loads(latest.read_text(encoding="utf-8")))


def per_lead_from_report(report: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Per-lead units from a bench report: its unloaded run when it has one."""
    pipeline = report.get("reference") or report.get("pipeline") or {}
    units = pipeline.get("capacity_units_per_lead") or {}
    calls = pipeline.get("aws_calls_per_lead") or {}
    if not units:
        return dict(DEFAULT_PER_LEAD), "defaults (the last bench did not measure capacity units)"
    return {
        "write_units": sum(units.get("write", {}).values()),
        "read_units": sum(units.get("read", {}).values()),
        "handler_cpu_ms": pipeline.get("handler_cpu_ms_per_lead") or DEFAULT_PER_LEAD["handler_cpu_ms"],
        "aws_calls": {k: calls.get(k, 0) for k in ("ingest", "route")},
        # Domain events leave through the stream's events function: its PutEvents calls (its other
        # calls are the dashboard's DynamoDB reads and writes, whose units are in the sums above).
        "events": (calls.get("events_function_by_service") or {}).get("events", DEFAULT_PER_LEAD["events"]),
        "events_function": {
            "cpu_ms": pipeline.get("events_function_cpu_ms_per_lead") or DEFAULT_PER_LEAD["events_function"]["cpu_ms"],
            "calls": calls.get("events_forwarder") or DEFAULT_PER_LEAD["events_function"]["calls"],
        },
        "log_bytes": pipeline.get("log_bytes_per_lead") or DEFAULT_PER_LEAD["log_bytes"],
    }, f"bench/results/latest.json of {report.get('at')}"


def billed_ms(cpu_ms: float, calls: float, memory_mb: int) -> float:
    """Duration of one invocation (ms): CPU at the memory's share of a vCPU, plus waits on AWS."""
    share = min(1.0, memory_mb / FULL_VCPU_MB)
    return cpu_ms / share + calls * AWS_WAIT_MS_PER_CALL


def monthly(
    agents: int,
    leads: int,
    facts: TemplateFacts,
    per_lead: dict[str, Any],
    metrics: dict[str, Any],
    *,
    memory_mb: dict[str, int] | None = None,
    free_tier: bool = True,
) -> dict[str, Any]:
    """The bill for one month, line by line, in USD."""
    memory = {"ingest": 256, "route": 256, "followup": 256, "api": 256, **(memory_mb or {})}
    price = {k: v for k, (v, _) in PRICES.items()}
    lines: dict[str, float] = {}
    api_reads = agents * API_READS_PER_AGENT_DAY * DAYS_PER_MONTH
    lines["API Gateway (webhooks + app)"] = (leads + api_reads) * price["rest_api_per_million"] / 1e6
    cpu = per_lead["handler_cpu_ms"]
    calls = per_lead["aws_calls"]
    gb_s = leads * sum(
        billed_ms(cpu.get(f, 5.0), calls.get(f, 3.0), memory[f]) / 1000 * memory[f] / 1024 for f in ("ingest", "route")
    )
    ticks = facts.schedule_invocations_per_month
    gb_s += ticks * billed_ms(5.0, SCHEDULED_CALLS, memory["followup"]) / 1000 * memory["followup"] / 1024
    gb_s += api_reads * billed_ms(4.0, 1.5, memory["api"]) / 1000 * memory["api"] / 1024
    # The stream's events function: domain events and the dashboard's counters, per lead as measured.
    events_function = per_lead.get("events_function") or DEFAULT_PER_LEAD["events_function"]
    gb_s += leads * billed_ms(events_function["cpu_ms"], events_function["calls"], 256) / 1000 * 256 / 1024
    invocations = 3 * leads + ticks + api_reads
    lines["Lambda (duration + requests)"] = (
        gb_s * price["lambda_gb_second"] + invocations * price["lambda_per_million"] / 1e6
    )
    lines["DynamoDB requests"] = (
        leads * per_lead["write_units"] * price["ddb_write_per_million"] / 1e6
        + (leads * per_lead["read_units"] + ticks * SCHEDULED_READ_UNITS + api_reads * 2)
        * price["ddb_read_per_million"]
        / 1e6
    )
    stored_gb = leads * MONTHS_KEPT * STORED_BYTES_PER_LEAD / 1e9
    lines["DynamoDB storage (a year of leads)"] = stored_gb * price["ddb_storage_gb_month"]
    lines["EventBridge events + Scheduler"] = (
        leads * per_lead["events"] * price["events_per_million"] / 1e6
        + max(0, ticks - (FREE["scheduler_invocations"] if free_tier else 0)) * price["scheduler_per_million"] / 1e6
    )
    log_gb = (leads * (per_lead["log_bytes"] + 2 * LAMBDA_REPORT_LOG_BYTES) + (ticks + api_reads) * 600) / 1e9
    lines["CloudWatch Logs"] = max(0.0, log_gb - (FREE["log_gb"] if free_tier else 0)) * price["logs_ingest_gb"]
    paid_metrics = max(0, metrics["count"] - (FREE["custom_metrics"] if free_tier else 0))
    lines["CloudWatch custom metrics"] = paid_metrics * price["custom_metric_month"]
    lines["CloudWatch alarms"] = (
        max(0, facts.alarm_metrics - (FREE["alarm_metrics"] if free_tier else 0)) * price["alarm_metric_month"]
    )
    lines["CloudWatch dashboards"] = (
        max(0, facts.dashboards - (FREE["dashboards"] if free_tier else 0)) * price["dashboard_month"]
    )
    # DynamoDB caches a table's data key for minutes, so KMS sees a few requests an hour per table
    # and connection, not one per item: ~20,000 a month for the two tables and the functions.
    kms_requests = 20_000 * facts.kms_keys
    lines["KMS (customer-managed key)"] = (
        facts.kms_keys * price["kms_key_month"] + kms_requests * price["kms_per_10k_requests"] / 1e4
    )
    rows = leads  # each export: the month's leads
    export_bytes = rows * EXPORT_ROW_BYTES
    export_mb = memory.get("export", 512)
    reads = rows / 200  # index pages of 200 rows
    parts = max(1, export_bytes // (5 * 1024 * 1024) + 1)
    export_gb_s = (
        EXPORTS_PER_MONTH * billed_ms(rows * EXPORT_CPU_MS_PER_ROW, reads + parts, export_mb) / 1000 * export_mb / 1024
    )
    lines["Large exports (export λ, S3, transfer)"] = (
        EXPORTS_PER_MONTH
        * (
            (parts + 2) * price["s3_put_per_1k"] / 1e3  # create, parts, complete
            + 3 * price["s3_get_per_1k"] / 1e3  # the download and a status read or two
            + export_bytes / 1e9 * (price["s3_storage_gb_month"] * EXPORT_RETENTION_DAYS / DAYS_PER_MONTH)
            + export_bytes / 1e9 * price["transfer_out_gb"]
            + rows * EXPORT_READ_UNITS_PER_ROW * price["ddb_read_per_million"] / 1e6
        )
        + export_gb_s * price["lambda_gb_second"]
    )
    total = sum(lines.values())
    return {"agents": agents, "leads": leads, "lines_usd": {k: round(v, 4) for k, v in lines.items()},
            "total_usd": round(total, 2), "total_inr": round(total * INR_PER_USD)}  # fmt: skip


def model(
    stage: str = "dev",
    context: dict[str, Any] | None = None,
    *,
    template: dict[str, Any] | None = None,
    free_tier: bool = True,
    per_lead: tuple[dict[str, Any], str] | None = None,
) -> dict[str, Any]:
    """The whole cost model for a stage: facts, per-lead units and the three volumes."""
    facts = facts_from_template(template if template is not None else synthesize(stage, context), stage)
    per_lead, source = per_lead if per_lead is not None else per_lead_from_bench()
    metrics = custom_metrics()
    memory = {
        name: mb for name, mb in facts.functions.items() if name in ("ingest", "route", "followup", "api", "export")
    }
    return {
        "stage": stage,
        "inr_per_usd": INR_PER_USD,
        "free_tier": "CloudWatch always-free allowances counted (10 custom metrics, 10 alarm metrics, 3 dashboards "
        "of <= 50 metrics, 5 GB logs, 1M API requests; per account and region)"
        if free_tier
        else "no free tier counted",
        "template": vars(facts),
        "custom_metrics": metrics,
        "per_lead": per_lead,
        "per_lead_source": source,
        "memory_mb": memory,
        "volumes": {
            key: monthly(a, n, facts, per_lead, metrics, memory_mb=memory, free_tier=free_tier)
            for key, (a, n) in VOLUMES.items()
        },
        "prices": {k: {"usd": v, "source": s} for k, (v, s) in PRICES.items()},
    }


def inr_per_month(result: dict[str, Any]) -> dict[str, float]:
    return {key: volume["total_inr"] for key, volume in result["volumes"].items()}


def render(result: dict[str, Any]) -> str:
    volumes = result["volumes"]
    template, metrics = result["template"], result["custom_metrics"]
    keys = list(volumes)
    unbounded = metrics["names_built_from_values"]
    lines = [
        f"LeadRelay AWS bill per month, stage {result['stage']} (₹ at ₹{result['inr_per_usd']:g}/USD)",
        f"per-lead units from {result['per_lead_source']}; free tier: {result['free_tier']}",
        f"template: {template['kms_keys']} KMS key(s), {template['dashboards']} dashboard(s), "
        f"{template['alarm_metrics']} alarm metric(s), {template['schedule_invocations_per_month']:,} "
        f"schedule runs; custom metrics in the code: {metrics['count']}"
        + (f" (NAMES BUILT FROM VALUES: {unbounded})" if unbounded else ""),
        "",
        f"{'line (USD)':40s}" + "".join(f"{k:>14s}" for k in keys),
    ]
    for line in volumes[keys[0]]["lines_usd"]:
        lines.append(f"{line:40s}" + "".join(f"{volumes[k]['lines_usd'][line]:14.3f}" for k in keys))
    lines.append(f"{'total (USD)':40s}" + "".join(f"{volumes[k]['total_usd']:14.2f}" for k in keys))
    lines.append(f"{'total (₹)':40s}" + "".join(f"{volumes[k]['total_inr']:14,d}" for k in keys))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    global INR_PER_USD
    parser = argparse.ArgumentParser(description="LeadRelay's AWS bill per month (₹)")
    parser.add_argument("--stage", default=os.environ.get("STAGE", "dev"))
    parser.add_argument(
        "--production-options",
        action="store_true",
        help="price the dashboard and the customer-managed key on (-c dashboard=true -c cmk=true)",
    )
    parser.add_argument("--no-free-tier", action="store_true", help="count no CloudWatch free allowance")
    parser.add_argument("--inr-per-usd", type=float, default=INR_PER_USD)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    INR_PER_USD = args.inr_per_usd
    context = {"dashboard": "true", "cmk": "true"} if args.production_options else None
    result = model(args.stage, context, free_tier=not args.no_free_tier)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
