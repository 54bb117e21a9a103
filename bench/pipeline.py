"""Pipeline latency on the local stack: webhook → ingest → stream → router → assigned.

Everything runs in this process: moto's server (loopback, one request at a time), the API
Gateway-style gateway, the real ingest and route handlers, the stream poller and the load
generator. DynamoDB calls are counted by a botocore hook on the process-wide client and
attributed to the handler running on the calling thread.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, TextIO

from bench.stats import per_lead, percentile, summary_ms

Handler = Callable[[dict[str, Any], Any], Any]
FUNCTIONS = ("ingest", "route", "followup", "api", "events")
# Lifted so that any BENCH_LEADS can be assigned in one local day (the demo caps add up to 345,
# fewer on shift at any hour); the cap check itself still runs.
BENCH_DAILY_CAP = 1_000_000

CITIES = [  # (city, language): the demo's NCR, south and south-languages rules and the default pool
    ("Noida", "hi"),
    ("Delhi", "en"),
    ("Bengaluru", "kn"),
    ("Chennai", "ta"),
    ("Hyderabad", "te"),
    ("Kochi", "ml"),
    ("Gurugram", "pa"),
    ("Pune", "mr"),
    ("Mumbai", "en"),
    ("Ahmedabad", "gu"),
]
FIRST_NAMES = ["Aarav", "Diya", "Vihaan", "Ananya", "Ishaan", "Saanvi", "Kabir", "Myra", "Reyansh", "Aadhya"]
PRODUCTS = ["2BHK Noida Extension", "3BHK Whitefield", "Education loan", "Plot in Sohna", "Studio OMR"]


# -- attributing DynamoDB calls to handlers ------------------------------------------------------


@dataclass
class Invocation:
    """One handler call and the DynamoDB calls made on its thread while it ran."""

    function: str
    started: float
    duration_s: float = 0.0
    records: int = 0
    calls: int = 0
    error: str | None = None
    cpu_s: float = 0.0  # CPU time of the handler's thread while it ran (moto's server is another process)


class CallCounter:
    """Counts DynamoDB API calls (before-call) and HTTP attempts (before-send) per handler label.

    The label is thread-local: the gateway runs ingest on its request threads, the poller runs
    route on its own thread, so a call is attributed to whichever handler runs on its thread.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        # BENCH_PROFILE=DIR: a cProfile of each handler's warm invocations (after the warm-up),
        # written to DIR/<function>.prof at the end of the run (moto is another process: not in it).
        self.profile_dir = os.environ.get("BENCH_PROFILE") or None
        self.profiles: dict[str, Any] = {}
        self.calls: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.operations: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.seconds: defaultdict[str, float] = defaultdict(float)  # wall time inside calls, by label
        self.invocations: list[Invocation] = []
        # Every AWS call (any service) by label and service, and the routing decision items' sizes.
        self.services: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.decision_bytes: list[int] = []
        self.write_units: Counter[str] = Counter()
        self.read_units: Counter[str] = Counter()
        self.updated: defaultdict[str, list[tuple[Any, dict[str, Any], int]]] = defaultdict(list)
        self._pending: list[tuple[str, str, str, Any]] = []

    def install(self, dynamodb_client: Any) -> None:
        dynamodb_client.meta.events.register("before-call.dynamodb.*", self._before_call)
        dynamodb_client.meta.events.register("before-send.dynamodb.*", self._before_send)
        dynamodb_client.meta.events.register("after-call.dynamodb.*", self._after_call)
        decisions = "before-parameter-build.dynamodb.TransactWriteItems"
        dynamodb_client.meta.events.register(decisions, self._decision_sizes_hook)
        dynamodb_client.meta.events.register("before-parameter-build.dynamodb.*", self._write_units_hook)
        dynamodb_client.meta.events.register("after-call.dynamodb.*", self._read_units_hook)
        self.install_any(dynamodb_client)

    # The item sizes behind write/read units and decision sizes are measured after the run, not
    # in the hooks: the hooks run on the handler's thread, inside `handler_cpu_ms_per_lead`, and
    # walking every attribute value there was ~5 % of it. The hooks only keep references.
    def _later(self, kind: str, model: Any, payload: Any) -> None:
        self._pending.append((kind, self.label(), getattr(model, "name", ""), payload))

    def _write_units_hook(self, params: Any = None, model: Any = None, **_: Any) -> None:
        self._later("write", model, params)

    def _read_units_hook(self, model: Any = None, parsed: Any = None, **_: Any) -> None:
        self._later("read", model, parsed)

    def _decision_sizes_hook(self, params: Any = None, model: Any = None, **_: Any) -> None:
        self._later("decision", model, params)

    def _settle(self) -> None:
        """Measure what the hooks kept (see `_later`)."""
        with self._lock:
            pending, self._pending = self._pending, []
        for kind, label, name, payload in pending:
            if kind == "write":
                self._write_units(label, name, payload)
            elif kind == "read":
                self._read_units(label, name, payload)
            else:
                self._decision_sizes(payload)

    def _write_units(self, label: str, name: str, params: Any) -> None:
        """Write units as DynamoDB bills them: 1 per KB written (2 inside a transaction). An
        update's size is its item's, looked up after the run (`updated_keys`). A transaction's
        `ConditionCheck` writes nothing but is billed as a transactional write of the item it
        checks (the router's roster version check, ingest's source revision check: 2 units a lead each)."""
        params = params or {}
        actions: list[tuple[str, dict[str, Any], int]] = []
        if name == "TransactWriteItems":
            for action in params.get("TransactItems", []):
                for kind, body in action.items():
                    actions.append((kind, body, 2))
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            actions.append((name.removesuffix("Item"), params, 1))
        with self._lock:
            for kind, body, factor in actions:
                if kind == "Put":
                    self.write_units[label] += factor * -(-item_size(body.get("Item", {})) // 1024)
                elif kind in ("Update", "Delete", "ConditionCheck"):
                    key = (body.get("TableName"), repr(sorted(body.get("Key", {}).items())))
                    self.updated[label].append((key, body.get("Key", {}), factor))

    def _read_units(self, label: str, name: str, parsed: Any) -> None:
        """Read units: 1 per 4 KB read strongly (the reads here are), from the items returned."""
        parsed = parsed or {}
        if name == "GetItem":
            sizes = [item_size(parsed["Item"])] if parsed.get("Item") else [0]
            units = sum(max(1, -(-size // 4096)) for size in sizes)
        elif name in ("Query", "Scan"):
            total = sum(item_size(item) for item in parsed.get("Items", []))
            units = max(1, -(-total // 4096))
        elif name == "BatchGetItem":
            total = sum(item_size(i) for items in parsed.get("Responses", {}).values() for i in items)
            units = max(1, -(-total // 4096))
        else:
            return
        with self._lock:
            self.read_units[label] += units

    def install_any(self, aws_client: Any) -> None:
        """Count every call `aws_client` makes, by service (EventBridge, …)."""
        aws_client.meta.events.register("before-call", self._any_call)

    def _any_call(self, model: Any = None, **_: Any) -> None:
        service = model.service_model.service_name if model is not None else "?"
        with self._lock:
            self.services[self.label()][service] += 1

    def _decision_sizes(self, params: Any) -> None:
        for action in (params or {}).get("TransactItems", []):
            item = (action.get("Put") or {}).get("Item") or {}
            if str((item.get("sk") or {}).get("S", "")).startswith("ROUTE#"):
                with self._lock:
                    self.decision_bytes.append(item_size(item))

    def label(self) -> str:
        invocation = getattr(self._local, "invocation", None)
        return invocation.function if invocation is not None else "unattributed"

    def _before_call(self, model: Any = None, **_: Any) -> None:
        invocation: Invocation | None = getattr(self._local, "invocation", None)
        label = invocation.function if invocation is not None else "unattributed"
        with self._lock:
            self.calls[label] += 1
            self.operations[label][getattr(model, "name", "?")] += 1
        if invocation is not None:
            invocation.calls += 1
        self._local.call_started = time.monotonic()

    def _after_call(self, **_: Any) -> None:
        started = getattr(self._local, "call_started", None)
        if started is not None:
            elapsed = time.monotonic() - started
            with self._lock:
                self.seconds[self.label()] += elapsed

    def _before_send(self, **_: Any) -> None:
        with self._lock:
            self.attempts[self.label()] += 1

    def wrap(self, function: str, handler: Handler) -> Handler:
        """`handler`, with every DynamoDB call on its thread during a call attributed to `function`.

        One invocation at a time per function, as in one Lambda execution environment: the local
        gateway calls handlers from concurrent request threads, and Powertools' resolvers keep the
        current event on the module-level `app`, so concurrent calls would read each other's
        requests. The wait for the lock counts as latency (it is queueing, as for a busy function).
        """
        environment = threading.Lock()

        def labelled(event: dict[str, Any], context: Any) -> Any:
            with environment:
                return self._counted(function, handler, event, context)

        return labelled

    def _counted(self, function: str, handler: Handler, event: dict[str, Any], context: Any) -> Any:
        outer = getattr(self._local, "invocation", None)
        invocation = Invocation(function, time.monotonic(), records=len(event.get("Records") or []))
        self._local.invocation = invocation
        profile = self.profiles.get(function) if self.profile_dir else None
        cpu_started = time.thread_time()
        try:
            if profile is not None:
                return profile.runcall(handler, event, context)
            return handler(event, context)
        except BaseException as error:
            invocation.error = repr(error)
            raise
        finally:
            invocation.cpu_s = time.thread_time() - cpu_started
            invocation.duration_s = time.monotonic() - invocation.started
            self._local.invocation = outer
            with self._lock:
                self.invocations.append(invocation)

    def reset(self) -> None:
        """Forget everything counted so far (after the warm-up)."""
        if self.profile_dir:
            import cProfile

            self.profiles = {name: cProfile.Profile(time.thread_time) for name in ("ingest", "route")}  # CPU, not waits
        with self._lock:
            self._pending = []
            self.calls.clear()
            self.attempts.clear()
            self.operations.clear()
            self.seconds.clear()
            self.invocations.clear()
            self.services.clear()
            self.decision_bytes.clear()
            self.write_units.clear()
            self.read_units.clear()
            self.updated.clear()

    def write_profiles(self) -> None:
        """DIR/<function>.prof for each profiled handler (BENCH_PROFILE=DIR)."""
        if not self.profile_dir:
            return
        Path(self.profile_dir).mkdir(parents=True, exist_ok=True)
        for name, profile in self.profiles.items():
            profile.dump_stats(str(Path(self.profile_dir) / f"{name}.prof"))

    def tallies(self) -> Tallies:
        """A copy of what has been counted so far."""
        self._settle()
        with self._lock:
            return Tallies(
                calls=dict(self.calls),
                attempts=dict(self.attempts),
                operations={label: dict(ops) for label, ops in self.operations.items()},
                seconds=dict(self.seconds),
                invocations=list(self.invocations),
                services={label: dict(counts) for label, counts in self.services.items()},
                decision_bytes=list(self.decision_bytes),
                write_units=dict(self.write_units),
                read_units=dict(self.read_units),
                updated={label: list(keys) for label, keys in self.updated.items()},
            )


@dataclass
class Tallies:
    calls: dict[str, int]
    attempts: dict[str, int]
    operations: dict[str, dict[str, int]]
    seconds: dict[str, float]
    invocations: list[Invocation]
    services: dict[str, dict[str, int]]
    decision_bytes: list[int]
    write_units: dict[str, int]
    read_units: dict[str, int]
    updated: dict[str, list[tuple[Any, dict[str, Any], int]]]


def _attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value as DynamoDB counts them (numbers approximately)."""
    kind, data = next(iter(value.items()))
    if kind in ("S", "B"):
        return len(data.encode() if isinstance(data, str) else data)
    if kind == "N":
        return len(str(data).lstrip("-").replace(".", "")) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _attribute_size(v) for k, v in data.items())
    if kind == "L":
        return 3 + sum(1 + _attribute_size(v) for v in data)
    return sum(len(str(v)) for v in data)  # sets


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values."""
    return sum(len(name.encode()) + _attribute_size(value) for name, value in item.items())


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Sent:
    index: int
    scheduled: float  # when the open-loop schedule wanted it sent (monotonic)
    t0: float = 0.0  # just before the POST (monotonic)
    answered: float = 0.0
    status: int = 0
    lead_id: str | None = None
    outcome: str | None = None  # the 202 body's outcome: created, merged, duplicate, …
    error: str | None = None


@dataclass
class PipelineResult:
    leads: int
    rate: float
    workers: int
    sent: list[Sent]
    routed: dict[str, tuple[float, float]]  # lead id -> (router call started, returned), monotonic
    router_batches: list[dict[str, Any]]
    tallies: Tallies  # DynamoDB calls and handler invocations from the first POST until drained
    statuses: Counter[str]
    agents: Counter[str]
    hook_requests: int  # POST /hooks/… requests the gateway served during the run
    server_side_ms: list[float]
    poller_stats: dict[str, int]
    drained: bool
    handler_log_errors: int
    log_bytes: int = 0


def payload(index: int) -> dict[str, Any]:
    """A generic webhook lead: distinct phone (no merges), varied name, city, language, budget."""
    city, language = CITIES[index % len(CITIES)]
    return {
        "name": f"{FIRST_NAMES[index % len(FIRST_NAMES)]} Bench{index}",
        "phone": f"98{index:08d}",
        "city": city,
        "language": language,
        "product": PRODUCTS[index % len(PRODUCTS)],
        "budget": str(2_500_000 + 250_000 * (index % 20)),
        "message": "Please call me back about prices",
        "utm_source": "bench",
    }


def lead_id_of(record: dict[str, Any]) -> str | None:
    """The lead id in a stream record (Lambda's shape): NewImage.lead_id, else the LEAD#… key."""
    stream = record.get("dynamodb") or {}
    image = stream.get("NewImage") or {}
    value = (image.get("lead_id") or {}).get("S")
    if value:
        return str(value)
    pk = ((stream.get("Keys") or {}).get("pk") or {}).get("S") or ""
    return pk.removeprefix("LEAD#") or None


def lifted_caps_seed(demo: bool) -> Any:
    """The demo organisation, with daily caps raised so every benchmark lead can be assigned."""
    from leadrelay import wiring
    from leadrelay.local.demo import DEMO_AGENTS, seed

    seeded = seed(demo)
    org = wiring.org_repository()
    for agent in DEMO_AGENTS:
        if agent.daily_cap is not None:
            org.put_agent(agent.model_copy(update={"daily_cap": BENCH_DAILY_CAP}))
    return seeded


_handler_output: TextIO | None = None


def handler_output() -> TextIO:
    """Where the handlers' stdout goes (their JSON logs and EMF metrics), one file per process:
    their loggers bind sys.stdout when first loaded and keep it for later stacks."""
    global _handler_output
    if _handler_output is None:
        # Open for the life of the process, on purpose (the handlers' loggers hold it).
        _handler_output = tempfile.TemporaryFile("w+", encoding="utf-8", prefix="leadrelay-bench-")  # noqa: SIM115
    return _handler_output


@contextmanager
def stdout_to(sink: TextIO) -> Iterator[TextIO]:
    """Keep the handlers' output off the table; yields the console."""
    console = sys.stdout
    sys.stdout = sink
    try:
        yield console
    finally:
        sys.stdout = console


def count_error_lines(sink: TextIO, since: int) -> int:
    """ERROR-level JSON log lines written to `sink` after offset `since`."""
    sink.flush()
    end = sink.tell()
    sink.seek(since)
    text = sink.read()
    sink.seek(end)
    return sum(1 for line in text.splitlines() if '"level":"ERROR"' in line.replace(" ", ""))


def run_pipeline(
    leads: int, rate: float, workers: int = 8, *, progress: Callable[[str], None] = lambda _: None
) -> PipelineResult:
    import requests

    from leadrelay.local.stack import LocalStack, default_functions_dir, load_handler
    from leadrelay.store.dynamo import client

    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    counter = CallCounter()
    routed: dict[str, tuple[float, float]] = {}
    batches: list[dict[str, Any]] = []
    functions_dir = default_functions_dir()

    with tempfile.TemporaryDirectory(prefix="leadrelay-bench-") as state_dir:
        sink = handler_output()
        sink.seek(0, os.SEEK_END)
        log_from = sink.tell()
        with stdout_to(sink):
            handlers = {name: counter.wrap(name, load_handler(functions_dir, name)) for name in FUNCTIONS}
            with LocalStack(port=0, demo=True, state_dir=state_dir, seed=lifted_caps_seed, handlers=handlers) as stack:
                counter.install(client())  # the stack reset the cached client on start; this is the new one
                events_client = getattr(import_module("leadrelay.events.bus"), "events_client", None)
                if events_client is not None:  # EventBridge PutEvents (the stream's forwarder)
                    counter.install_any(events_client())

                def on_batch(result: Any) -> None:
                    returned = result.started_at + result.duration_s
                    failed = set(result.failed_sequence_numbers)
                    batches.append(
                        {
                            "records": len(result.records),
                            "outcome": result.outcome,
                            "duration_ms": result.duration_s * 1000,
                            "returned": returned,
                        }
                    )
                    if result.outcome == "error":
                        return
                    for record in result.records:
                        if record.get("dynamodb", {}).get("SequenceNumber") in failed:
                            continue
                        lead_id = lead_id_of(record)
                        if lead_id and lead_id not in routed:
                            routed[lead_id] = (result.started_at, returned)

                stack.add_route_listener(on_batch)
                hook_requests = Counter[str]()

                def on_request(request: Any) -> None:
                    if request.method == "POST" and request.path.startswith("/hooks/"):
                        hook_requests["run"] += 1

                stack.add_request_listener(on_request)
                source = next(s for s in stack.info["sources"] if s["kind"] == "generic")
                url = f"{stack.api_url}/hooks/{source['id']}"
                admin = next(u for u in stack.info["users"] if u["role"] == "admin")["token"]
                sessions = threading.local()

                def session() -> requests.Session:
                    if not hasattr(sessions, "session"):
                        sessions.session = requests.Session()
                    return sessions.session  # type: ignore[no-any-return]

                # Warm up outside the measurement: one lead through the whole path (imports, caches).
                warm = session().post(url, json=payload(leads + 1), headers={"X-Api-Key": source["key"]})
                warm.raise_for_status()
                if not stack.drain(30):
                    raise RuntimeError("the warm-up lead was not routed within 30 s")
                routed.clear()
                batches.clear()
                counter.reset()
                sink.flush()
                run_log_from = sink.seek(0, os.SEEK_END)
                hook_requests.clear()
                poller_before = dict(vars(stack.poller.stats)) if stack.poller else {}

                progress(f"posting {leads} leads at {rate:g}/s from {workers} threads …")
                start = time.monotonic() + 0.2
                sent = [Sent(i, start + i / rate) for i in range(leads)]

                def post(item: Sent) -> None:
                    delay = item.scheduled - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    item.t0 = time.monotonic()
                    try:
                        response = session().post(
                            url, json=payload(item.index), headers={"X-Api-Key": source["key"]}, timeout=30
                        )
                        item.answered = time.monotonic()
                        item.status = response.status_code
                        body = response.json()
                        item.lead_id = body.get("lead_id")
                        item.outcome = body.get("outcome")
                    except Exception as error:  # a broken request is reported, not fatal here
                        item.answered = time.monotonic()
                        item.error = repr(error)

                # Open loop: each send waits for its slot on the clock, never for earlier answers.
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-client") as pool:
                    list(pool.map(post, sent))
                drained = stack.drain(60)
                tallies = counter.tallies()
                counter.write_profiles()
                sink.flush()
                sink.seek(0, os.SEEK_END)
                log_bytes = sink.tell() - run_log_from  # the handlers' own log lines (JSON logs, EMF metrics)
                _price_updates(tallies, client())
                hook_count = hook_requests["run"]
                poller_after = dict(vars(stack.poller.stats)) if stack.poller else {}
                poller_stats = {k: v - poller_before.get(k, 0) for k, v in poller_after.items()}

                progress("checking every lead through GET /leads/{id} …")
                ids = list(dict.fromkeys(item.lead_id for item in sent if item.lead_id))
                statuses: Counter[str] = Counter()
                agents: Counter[str] = Counter()
                server_side_ms: list[float] = []

                def check(lead_id: str) -> dict[str, Any]:
                    response = session().get(
                        f"{stack.api_url}/leads/{lead_id}",
                        headers={"Authorization": f"Bearer {admin}"},
                        timeout=30,
                    )
                    response.raise_for_status()
                    return response.json()  # type: ignore[no-any-return]

                with ThreadPoolExecutor(max_workers=4) as pool:
                    views = list(pool.map(check, ids))
                for view in views:
                    statuses[view.get("status") or "?"] += 1
                    if view.get("assigned_agent_id"):
                        agents[view["assigned_agent_id"]] += 1
                    if view.get("received_at") and view.get("assigned_at"):
                        server_side_ms.append(_ms_between(view["received_at"], view["assigned_at"]))

        log_errors = count_error_lines(sink, log_from)

    return PipelineResult(
        leads=leads,
        rate=rate,
        workers=workers,
        sent=sent,
        routed=routed,
        router_batches=batches,
        tallies=tallies,
        statuses=statuses,
        agents=agents,
        hook_requests=hook_count,
        server_side_ms=server_side_ms,
        poller_stats=poller_stats,
        drained=drained,
        handler_log_errors=log_errors,
        log_bytes=log_bytes,
    )


def _ms_between(earlier: str, later: str) -> float:
    from leadrelay.clock import parse_iso

    return (parse_iso(later) - parse_iso(earlier)).total_seconds() * 1000


# -- the figures -------------------------------------------------------------------------------


def figures(result: PipelineResult) -> dict[str, Any]:
    """What the run measured, as the JSON's pipeline figures."""
    accepted = [s for s in result.sent if s.status == 202 and s.lead_id and s.outcome == "created"]
    routed = [(s, result.routed[s.lead_id]) for s in accepted if s.lead_id in result.routed]
    latencies = [(returned - s.t0) * 1000 for s, (_, returned) in routed]
    n = len(accepted)
    tallies = result.tallies
    calls = tallies.calls
    by_function: defaultdict[str, list[Invocation]] = defaultdict(list)
    for invocation in tallies.invocations:
        by_function[invocation.function].append(invocation)
    outcomes = Counter(batch["outcome"] for batch in result.router_batches)
    first_t0 = min((s.t0 for s in accepted), default=0.0)
    last_assigned = max((returned for _, (_, returned) in routed), default=first_t0)
    span = last_assigned - first_t0
    lag_ms = [max(0.0, (s.t0 - s.scheduled) * 1000) for s in result.sent]
    batches = result.router_batches
    return {
        "leads": result.leads,
        "accepted": n,
        "assigned_by_router": len(latencies),
        "leads_per_s": round(n / span, 1) if span > 0 else 0.0,
        "target_rate_per_s": result.rate,
        "client_threads": result.workers,
        "received_to_assigned_ms": _summary(latencies),
        # The same, from when the open-loop schedule meant to send (counts client-side waiting too).
        "scheduled_to_assigned_ms": _summary([(returned - s.scheduled) * 1000 for s, (_, returned) in routed]),
        "breakdown_ms": {
            "webhook_http_202": _summary([(s.answered - s.t0) * 1000 for s in accepted]),
            "stream_wait": _summary([(started - s.answered) * 1000 for s, (started, _) in routed]),
            "router_call": _summary([(returned - started) * 1000 for _, (started, returned) in routed]),
        },
        "server_side_received_to_assigned_ms": _summary(result.server_side_ms),
        "send_lag_ms": {"p99": round(percentile(lag_ms, 99), 1), "max": round(max(lag_ms), 1)} if lag_ms else {},
        "dynamodb_calls_per_lead": {
            "ingest": per_lead(calls.get("ingest", 0), n),
            "route": per_lead(calls.get("route", 0), n),
            "total": per_lead(calls.get("ingest", 0) + calls.get("route", 0), n),
        },
        "dynamodb_calls": dict(sorted(calls.items())),
        "dynamodb_operations": {k: dict(sorted(v.items())) for k, v in sorted(tallies.operations.items())},
        "dynamodb_http_attempts": dict(sorted(tallies.attempts.items())),
        "dynamodb_ms_per_lead": {k: round(v * 1000 / n, 1) for k, v in sorted(tallies.seconds.items()) if n},
        "handler_cpu_ms_per_lead": {
            function: round(sum(inv.cpu_s for inv in invocations) * 1000 / n, 2)
            for function, invocations in sorted(by_function.items())
            if n and function in ("ingest", "route")
        },
        "aws_calls_per_lead": _aws_calls(tallies.services, n),
        "decision_item_bytes": _sizes(tallies.decision_bytes),
        "log_bytes_per_lead": round(result.log_bytes / n) if n else 0,
        # Every function the stream drives per lead, the events function's dashboard writes included.
        "capacity_units_per_lead": {
            "write": {k: round(tallies.write_units.get(k, 0) / n, 2) for k in ("ingest", "route", "events")}
            if n
            else {},
            "read": {k: round(tallies.read_units.get(k, 0) / n, 2) for k in ("ingest", "route", "events")} if n else {},
        },
        "events_function_cpu_ms_per_lead": round(sum(inv.cpu_s for inv in by_function.get("events", [])) * 1000 / n, 2)
        if n
        else 0.0,
        "handler_ms_per_lead": {
            function: round(sum(inv.duration_s for inv in invocations) * 1000 / n, 1)
            for function, invocations in sorted(by_function.items())
            if n
        },
        "route_calls_per_lead_by_third": _route_calls_by_third(by_function.get("route", [])),
        "router": {
            "invocations": len(batches),
            "outcomes": dict(outcomes),
            "extra_invocations_for_retries": outcomes.get("partial", 0) + outcomes.get("error", 0),
            "mean_batch_size": round(sum(b["records"] for b in batches) / len(batches), 2) if batches else 0.0,
            "invocation_ms": _summary([b["duration_ms"] for b in batches]),
            "poller": result.poller_stats,
        },
        "lead_status_after_drain": dict(result.statuses),
        "assigned_per_agent": dict(sorted(result.agents.items())),
        "http_errors": sum(1 for s in result.sent if s.status != 202),
        "webhook_outcomes": dict(Counter(s.outcome or "none" for s in result.sent)),
        "gateway_hook_requests": result.hook_requests,
        "drained": result.drained,
        "handler_log_errors": result.handler_log_errors,
        "handler_invocations": {function: len(invs) for function, invs in sorted(by_function.items())},
    }


def _price_updates(tallies: Tallies, dynamodb: Any) -> None:
    """Add the write units of updates and deletes: each costs its item's size (as stored now)."""
    sizes: dict[Any, int] = {}
    for label, updates in tallies.updated.items():
        for key, raw_key, factor in updates:
            if key not in sizes:
                table = key[0]
                item = dynamodb.get_item(TableName=table, Key=raw_key, ConsistentRead=True).get("Item")
                sizes[key] = item_size(item) if item else 0
            tallies.write_units[label] = tallies.write_units.get(label, 0) + factor * max(1, -(-sizes[key] // 1024))


def _aws_calls(services: dict[str, dict[str, int]], leads: int) -> dict[str, Any]:
    """AWS calls per lead by handler (every service), the total, and each service's share."""
    by_handler = {name: per_lead(sum(services.get(name, {}).values()), leads) for name in ("ingest", "route")}
    by_service: Counter[str] = Counter()
    for name in ("ingest", "route"):
        by_service.update(services.get(name, {}))
    return {
        **by_handler,
        "total": per_lead(sum(by_service.values()), leads),  # the request path: ingest and route
        "by_service": {service: per_lead(count, leads) for service, count in sorted(by_service.items())},
        # Off the request path: the stream's events function (domain events on the bus, and the
        # dashboard's counters and feed since #14), every call and by service.
        "events_forwarder": per_lead(sum(services.get("events", {}).values()), leads),
        "events_function_by_service": {
            service: per_lead(count, leads) for service, count in sorted(services.get("events", {}).items())
        },
    }


def _sizes(sizes: list[int]) -> dict[str, Any]:
    if not sizes:
        return {}
    return {
        "p50": round(percentile(sizes, 50)),
        "max": max(sizes),
        "share_over_1kb": round(sum(1 for size in sizes if size > 1024) / len(sizes), 3),
    }


def _summary(values_ms: list[float]) -> dict[str, float]:
    return summary_ms(values_ms) if values_ms else {}


def _route_calls_by_third(route_invocations: list[Invocation]) -> list[float]:
    """Route DynamoDB calls per routed record in the first, middle and last third of the router's
    invocations, as the number of stored leads grows: flat if the router's reads do not depend on it."""
    if len(route_invocations) < 3:
        return []
    order = sorted(route_invocations, key=lambda inv: inv.started)
    cut = len(order) // 3
    parts = [order[:cut], order[cut : 2 * cut], order[2 * cut :]]
    return [per_lead(sum(inv.calls for inv in part), sum(inv.records for inv in part)) for part in parts]


def main(argv: list[str]) -> int:
    """`python -m bench.pipeline LEADS RATE [WORKERS]`: one run, its figures as JSON on stdout.

    A second local stack in the same process cannot start within 60 s of the first (it purges the
    DLQ, and SQS allows one purge a minute), so extra runs go through this entry point."""
    import json
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    leads, rate = int(argv[0]), float(argv[1])
    workers = int(argv[2]) if len(argv) > 2 else 8
    result = figures(run_pipeline(leads, rate, workers))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
