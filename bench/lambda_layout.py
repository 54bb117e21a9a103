"""Cold start in the Lambda layout: import and first-call time of each handler, as Lambda runs it.

What Lambda does on a cold start, reproduced on this machine:
- Python of the runtime's version (3.13, found like the layer build finds it);
- `sys.path` as in the runtime: the function's folder (`LAMBDA_TASK_ROOT`), then the layer's
  `python/` folder (`/opt/python`), then the runtime's own boto3/botocore (`/var/runtime`);
- the layer as `infra/build_layer.py` builds it: the shipped list, bytecode compiled by 3.13
  with unchecked hashes; native wheels for this machine's CPU instead of arm64 (the pure-Python
  files, nearly all of the import time, are the same);
- the environment the CDK gives the functions (`LAMBDA_TASK_ROOT` set; by default
  `POWERTOOLS_TRACE_DISABLED=true`, so the Tracer loads no X-Ray SDK: leadrelay/tracing.py) — and
  once more with the X-Ray SDK on (`-c xray_sdk=true`), to price it;
- bytecode writing off (Lambda's /opt and /var/task are read-only).

Each handler is imported in a fresh interpreter, then invoked twice with two events of its kind
against a moto server seeded with the demo organisation: `first_call_ms` is how much longer the
first invocation took than the second (clients, lazy imports, caches filled on first use).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("ingest", "route", "followup", "api")
# Also measured for their import (bench/run.py `cold_import_ms`): the events (stream → bus, dashboard
# counts) and export functions have no first-call pair here.
ALL_FUNCTIONS = (*FUNCTIONS, "events", "export")

_RUNNER = r"""
import json, sys, time
name, events_path = sys.argv[1], sys.argv[2]
cpu0, wall0 = time.process_time(), time.perf_counter()
module = __import__(name + "_handler")
wall1, cpu1 = time.perf_counter(), time.process_time()
imported = set(sys.modules)

class Context:
    function_name = "leadrelay-" + name
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-south-1:123456789012:function:leadrelay-" + name
    memory_limit_in_mb = 256
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/leadrelay-" + name
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 30000

calls = []
for event in json.load(open(events_path)):
    cpu, wall = time.process_time(), time.perf_counter()
    answer = module.handler(event, Context())
    ms, cpu_ms = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    said = answer.get("statusCode", answer.get("batchItemFailures")) if isinstance(answer, dict) else None
    calls.append({"ms": ms, "cpu_ms": cpu_ms, "answer": said})
result = {"import_ms": (wall1 - wall0) * 1000, "import_cpu_ms": (cpu1 - cpu0) * 1000, "calls": calls,
          "modules_at_import": len(imported), "loaded_on_first_call": sorted(set(sys.modules) - imported)[:40],
          "xray_loaded": "aws_xray_sdk.core" in imported, "boto3_loaded": "boto3" in imported,
          "version": "%d.%d" % sys.version_info[:2]}
print("RESULT " + json.dumps(result))
"""


def machine_platform() -> str:
    return "manylinux2014_aarch64" if platform.machine() in ("aarch64", "arm64") else "manylinux2014_x86_64"


def build(out: Path) -> dict[str, Path]:
    """The layer (as built for Lambda, this machine's native wheels) and the runtime's boto3."""
    sys.path.insert(0, str(REPO_ROOT / "infra"))
    import build_layer

    layer = out / "layer"
    build_layer.build_layer(layer, platform=machine_platform())
    runtime = out / "runtime"
    import boto3
    import botocore

    # The runtime's boto3 and botocore (pure Python), at the versions the tests run with.
    pip = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--only-binary=:all:", "--no-compile", "--target", str(runtime),
        f"boto3=={boto3.__version__}", f"botocore=={botocore.__version__}", "s3transfer", "jmespath",
        "python-dateutil", "six", "urllib3<2.6",
    ]  # fmt: skip
    done = subprocess.run(pip, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"could not fetch the runtime's boto3: {done.stderr.strip()[-2000:]}")
    # The Lambda runtime ships its boto3 with bytecode.
    subprocess.run(
        [build_layer.runtime_python(), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
         str(runtime)],
        capture_output=True,
        check=False,
    )  # fmt: skip
    # Each function's own code as the CDK ships it: with 3.13 bytecode (build_layer.build_function).
    functions = out / "functions"
    for name in ALL_FUNCTIONS:
        build_layer.build_function(REPO_ROOT / "functions" / name, functions / name)
    return {"layer": layer / "python", "runtime": runtime, "python": Path(build_layer.runtime_python()),
            "functions": functions}  # fmt: skip


def function_env(
    name: str, backend: dict[str, str], *, traced: bool = False, task_root: Path | None = None
) -> dict[str, str]:
    """The environment a deployed function has (infra/leadrelay_infra/constructs/function.py)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task_root or REPO_ROOT / "functions" / name),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_LAMBDA_FUNCTION_NAME": f"leadrelay-{name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "STAGE": "dev",
        "POWERTOOLS_SERVICE_NAME": name,
        "POWERTOOLS_METRICS_NAMESPACE": "LeadRelay",
        "LOG_LEVEL": "INFO",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        **backend,
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    if not traced:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def run_once(paths: dict[str, Path], name: str, events: Path, env: dict[str, str]) -> dict[str, Any]:
    task_root = paths["functions"] / name
    path = os.pathsep.join(str(p) for p in (task_root, paths["layer"], paths["runtime"]))
    env = {**env, "LAMBDA_TASK_ROOT": str(task_root), "PYTHONPATH": path}
    done = subprocess.run(
        [str(paths["python"]), "-s", "-c", _RUNNER, name, str(events)],
        env=env,
        cwd=task_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{name} in the Lambda layout failed: {done.stderr.strip()[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])  # type: ignore[no-any-return]


def _events(backend_env: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Two events of each kind, for the seeded demo organisation (two leads stored by capture)."""
    from leadrelay import wiring
    from leadrelay.capture import WebhookRequest
    from leadrelay.local.aws import patched_environ
    from leadrelay.local.demo import seed
    from tests.helpers import api_event, claims, hook_event

    with patched_environ(backend_env):
        wiring.reset()
        seeded = seed(True)
        source = next(s for s in seeded.sources if s["kind"] == "generic")
        hooks = [
            hook_event(source["id"], {"name": f"Cold Start {i}", "phone": f"98765{i:05d}", "city": "Noida"},
                       key=source["key"])
            for i in range(2)
        ]  # fmt: skip
        stored = []
        for i in range(2, 6):
            body = json.dumps({"name": f"Routed {i}", "phone": f"98765{i:05d}", "city": "Noida"}).encode()
            request = WebhookRequest(source_id=source["id"], method="POST", path=f"/hooks/{source['id']}",
                                     headers={"content-type": "application/json", "x-api-key": source["key"]},
                                     query={}, body=body, request_id=f"bench-{i}")  # fmt: skip
            result = wiring.capture_service().capture(request)
            lead_id = result.body["lead_id"]  # type: ignore[index]
            item = wiring.lead_repository()
            from leadrelay.store.dynamo import client

            raw = client().get_item(TableName=item.table, Key={"pk": {"S": f"LEAD#{lead_id}"}, "sk": {"S": "LEAD"}})
            stored.append((lead_id, raw["Item"]))
        # The reads' caller: an admin whose LeadRelay user record is in the org table (the api
        # trusts only that record; without it the reads would be answered 401).
        admin = claims("admin", "admin")
        wiring.reset()
    streams = [
        {"Records": [{"eventID": f"e{i}", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                      "awsRegion": "ap-south-1",
                      "eventSourceARN": "arn:aws:dynamodb:ap-south-1:123456789012:table/leads/stream/1",
                      "dynamodb": {"Keys": {"pk": item["pk"], "sk": item["sk"]}, "NewImage": item,
                                   "SequenceNumber": str(100 + i), "StreamViewType": "NEW_AND_OLD_IMAGES",
                                   "ApproximateCreationDateTime": 1700000000}}]}
        for i, (_, item) in enumerate(stored)
    ]  # fmt: skip
    reads = [
        api_event("GET", f"/leads/{lead_id}", resource="/leads/{lead_id}", path_parameters={"lead_id": lead_id},
                  claims=admin)
        for lead_id, _ in stored
    ]  # fmt: skip
    tick = {"version": "0", "id": "tick", "detail-type": "Scheduled Event", "source": "aws.scheduler",
            "time": "2026-03-11T09:00:00Z", "detail": {"task": "tick"}}  # fmt: skip
    return {"ingest": hooks, "route": streams[:2], "route_xray_sdk": streams[2:],
            "followup": [tick, dict(tick, id="tick2")], "api": reads[:2]}  # fmt: skip


def _refused(answer: Any) -> bool:
    """A 4xx/5xx proxy answer, or a stream batch with failed items."""
    return (isinstance(answer, int) and answer >= 400) or (isinstance(answer, list) and bool(answer))


def measure(
    runs: int = 3, functions: tuple[str, ...] = FUNCTIONS, *, import_only: bool = True, rounds: int = 0
) -> dict[str, Any]:
    """Per handler: import (min and median of `runs` fresh interpreters), first call over warm, as
    deployed by default (X-Ray SDK off); and the same with the X-Ray SDK on (`-c xray_sdk=true`),
    its price. With `import_only`, also the import of the other functions (events, export).

    `rounds` more imports of every function, one function after another in each round: this VM's
    host slows everything by ~20 % for spells of tens of seconds, and a function's back-to-back
    runs can all fall in one; interleaved, a spell touches every function alike, and the minimum
    is the least disturbed import of each (Lambda's init core is not shared)."""
    from leadrelay.local.aws import MotoServer, create_resources

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="leadrelay-lambda-layout-") as work:
        paths = build(Path(work))
        server = MotoServer()
        try:
            resources = create_resources(server.endpoint)
            backend = resources.env()
            backend.pop("POWERTOOLS_TRACE_DISABLED", None)
            backend.pop("POWERTOOLS_SERVICE_NAME", None)
            backend["STAGE"] = "dev"
            events = _events(backend)
            for name in functions:
                # Each run gets fresh events of its own (a routed lead is not routed twice).
                path, path_off = Path(work) / f"{name}.json", Path(work) / f"{name}-off.json"
                path.write_text(json.dumps(events[name]))
                path_off.write_text(json.dumps(events.get(f"{name}_xray_sdk", events[name])))
                deployed = [run_once(paths, name, path, function_env(name, backend)) for _ in range(runs)]
                xray = [run_once(paths, name, path_off, function_env(name, backend, traced=True)) for _ in range(runs)]
                first = deployed[0]["calls"]
                refused = [c["answer"] for r in deployed + xray for c in r["calls"] if _refused(c["answer"])]
                if refused:  # the figures would time an error path, not the product's
                    raise RuntimeError(f"{name}: the measured invocations answered {refused}")
                results[name] = {
                    # The least disturbed run: this machine's cores are shared, Lambda's init core is not.
                    "import_cpu_min_ms": round(min(r["import_cpu_ms"] for r in deployed), 1),
                    "import_ms": round(statistics.median(r["import_ms"] for r in deployed), 1),
                    "import_cpu_ms": round(statistics.median(r["import_cpu_ms"] for r in deployed), 1),
                    "import_runs_ms": [round(r["import_ms"], 1) for r in deployed],
                    "import_cpu_runs_ms": [round(r["import_cpu_ms"], 1) for r in deployed],
                    "import_ms_xray_sdk": round(statistics.median(r["import_ms"] for r in xray), 1),
                    "import_cpu_ms_xray_sdk": round(statistics.median(r["import_cpu_ms"] for r in xray), 1),
                    "first_call_ms": round(first[0]["ms"], 1),
                    "warm_call_ms": round(first[1]["ms"], 1),
                    "first_over_warm_ms": round(first[0]["ms"] - first[1]["ms"], 1),
                    "first_over_warm_cpu_ms": round(first[0]["cpu_ms"] - first[1]["cpu_ms"], 1),
                    # The first run's calls only: later runs see leads already routed.
                    "warm_call_cpu_ms": round(first[1]["cpu_ms"], 2),
                    "warm_call_cpu_ms_xray_sdk": round(xray[0]["calls"][1]["cpu_ms"], 2),
                    "first_call_cpu_ms_xray_sdk": round(xray[0]["calls"][0]["cpu_ms"], 2),
                    "xray_sdk_loaded": xray[0]["xray_loaded"],
                    "answers": [c["answer"] for c in first],
                    "loaded_on_first_call": deployed[0]["loaded_on_first_call"],
                    "modules_at_import": deployed[0]["modules_at_import"],
                    "boto3_imported": deployed[0]["boto3_loaded"],
                    "xray_sdk_imported": deployed[0]["xray_loaded"],
                    "python": deployed[0]["version"],
                }
            for name in (n for n in ALL_FUNCTIONS if n not in functions and n not in results and import_only):
                # Import only (no events of their kind here): the same fresh interpreter, as deployed.
                path = Path(work) / f"{name}.json"
                path.write_text("[]")
                runs_ = [run_once(paths, name, path, function_env(name, backend)) for _ in range(runs)]
                results[name] = {
                    "import_cpu_min_ms": round(min(r["import_cpu_ms"] for r in runs_), 1),
                    "import_ms": round(statistics.median(r["import_ms"] for r in runs_), 1),
                    "import_cpu_ms": round(statistics.median(r["import_cpu_ms"] for r in runs_), 1),
                    "import_cpu_runs_ms": [round(r["import_cpu_ms"], 1) for r in runs_],
                    "modules_at_import": runs_[0]["modules_at_import"],
                    "boto3_imported": runs_[0]["boto3_loaded"],
                    "xray_sdk_imported": runs_[0]["xray_loaded"],
                    "python": runs_[0]["version"],
                }
            empty = Path(work) / "no-events.json"
            empty.write_text("[]")
            for _ in range(rounds):
                for name, figures in results.items():
                    sample = run_once(paths, name, empty, function_env(name, backend))
                    figures["import_cpu_runs_ms"].append(round(sample["import_cpu_ms"], 1))
            for figures in results.values():
                samples = figures["import_cpu_runs_ms"]
                figures["import_cpu_min_ms"] = min(samples)
                figures["import_cpu_ms"] = round(statistics.median(samples), 1)
        finally:
            server.stop()
    return results


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    print(json.dumps(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 1), indent=2))
