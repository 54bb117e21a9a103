"""`make soak` (python -m bench.soak): many leads through the local stack while faults are injected,
then every invariant checked against a recount.

Faults, injected with botocore `before-call` hooks on the stack's own clients (the real error
shapes, as in tests/integration/faults.py): DynamoDB throttling and TransactionConflict on every
write and EventBridge refusing PutEvents (`SOAK_FAULT_RATE`, default 5 % of calls each). Webhook
senders resend on 503 as providers do, and a tenth of the leads are sent twice (a provider retry).
The route and events functions are killed in the middle of a batch (`SOAK_KILL_RATE`, default the
fault rate, of their invocations of two records or more), as a Lambda timeout would.

At the end: every lead decided (assigned or unassigned, never left pending), each with exactly one
routing decision (none doubled), no agent over a hard cap, every day counter, open-lead count and
dashboard counter cell equal to a recount, no record in the DLQ, and every timeline entry on the
bus (by event id).

`SOAK_LEADS` (default 10,000) sets the load; `SOAK_WORKERS` the concurrent senders. Writes
bench/results/soak-latest.json (or `SOAK_OUT`) with wall and CPU time; exits 1 when an invariant
fails. docs/benchmarks.md has the 10,000-lead figures.
"""

from __future__ import annotations

import json
import logging
import os
import random
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


class Killed(BaseException):
    """The function stops here, as when Lambda times it out: not an `Exception`, so no handler code
    catches it and the invocation returns nothing (the writes before it stay committed)."""


class LambdaTimeout(Exception):
    """What the event source mapping sees of a killed invocation: a function error."""


class FaultInjector:
    """Random faults on a boto3 client's operations (thread-safe, seeded), and stream functions
    killed in the middle of a batch."""

    def __init__(self, seed: int = 11) -> None:
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self._invocation = threading.local()  # the kill armed for the invocation on this thread

    def kill_mid_batch(self, name: str, handler: Any, rate: float) -> Any:
        """`handler` (a stream function), killed in `rate` of its invocations of two records or more
        after a random number of its DynamoDB writes: the records before that point are committed,
        the rest not, and the mapping sees a timed-out invocation (it bisects and retries)."""

        def invoke(event: dict[str, Any], context: Any) -> Any:
            records = len(event.get("Records") or [])
            with self.lock:
                armed = records > 1 and self.random.random() < rate
                kill_after = self.random.randint(1, records) if armed else None
            self._invocation.kill_after, self._invocation.writes = kill_after, 0
            try:
                return handler(event, context)
            except Killed:
                with self.lock:
                    self.injected[f"{name}:LambdaTimeout"] += 1
                raise LambdaTimeout(f"{name}: task timed out in the middle of a batch of {records}") from None
            finally:
                self._invocation.kill_after = None

        return invoke

    def attach_kills(self, client: Any, operations: tuple[str, ...]) -> None:
        """Count the armed invocation's calls to `operations`; the armed one is killed before it runs."""
        service = client.meta.service_model.service_name
        for operation in operations:
            client.meta.events.register(f"before-call.{service}.{operation}", self._kill_hook)

    def _kill_hook(self, **_: Any) -> None:
        kill_after = getattr(self._invocation, "kill_after", None)
        if kill_after is None:
            return
        self._invocation.writes += 1
        if self._invocation.writes > kill_after:
            self._invocation.kill_after = None
            raise Killed("the function timed out")

    def attach(self, client: Any, operations: dict[str, tuple[str, float]]) -> None:
        service = client.meta.service_model.service_name
        for operation, (code, rate) in operations.items():
            client.meta.events.register(f"before-call.{service}.{operation}", self._hook(operation, code, rate))

    def _hook(self, operation: str, code: str, rate: float) -> Any:
        def hook(params: dict[str, Any], **_: Any) -> None:
            with self.lock:
                if self.random.random() >= rate:
                    return
                self.injected[f"{operation}:{code}"] += 1
            response: dict[str, Any] = {"Error": {"Code": code, "Message": "injected by the soak run"}}
            if code == "TransactionCanceledException":
                items = json.loads(params.get("body") or b"{}").get("TransactItems") or [{}]
                response["CancellationReasons"] = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (
                    len(items) - 1
                )
            raise ClientError(response, operation)

        return hook


class BusConsumer:
    """A consumer on the local bus's queue for the whole run: every event id it receives, counted
    (redeliveries included). Draining as the events arrive keeps the queue short."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs, self.queue_url = sqs, queue_url
        self.seen: Counter[str] = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="soak-bus-consumer", daemon=True)

    def _receive(self) -> int:
        # No long poll: the local moto answers one request at a time, and a waiting receive would hold it.
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=0).get("Messages", [])  # fmt: skip
        for message in messages:
            detail = json.loads(message["Body"]).get("detail", {})
            self.seen[str(detail.get("timeline_event_id") or detail.get("event_id"))] += 1
        if messages:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url,
                                          Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                   for i, m in enumerate(messages)])  # fmt: skip
        return len(messages)

    def _run(self) -> None:
        while not self.stop.is_set():
            if not self._receive():
                self.stop.wait(0.2)

    def finish(self) -> None:
        """Stop the thread, then read what is left until the queue is empty three times running."""
        self.stop.set()
        self.thread.join()
        idle = 0
        while idle < 3:
            idle = 0 if self._receive() else idle + 1


def run(leads: int, workers: int, fault_rate: float, kill_rate: float | None = None) -> dict[str, Any]:
    import requests

    from leadrelay.events.bus import events_client
    from leadrelay.local.aws import client as aws_client
    from leadrelay.local.stack import LocalStack
    from leadrelay.store.dynamo import client as dynamo_client

    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    # Each injected timeout is logged with its traceback by the poller; the DLQ check says whether
    # any record was given up on.
    logging.getLogger("leadrelay.local.poller").setLevel(logging.CRITICAL)
    kill_rate = fault_rate if kill_rate is None else kill_rate
    faults = FaultInjector()
    sent: Counter[str] = Counter()
    answers: dict[str, str] = {}
    lock = threading.Lock()
    cpu_started, wall_started = _cpu_seconds(), time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="leadrelay-soak-") as state_dir,
        LocalStack(port=0, demo=True, state_dir=state_dir, ticker_check_seconds=3600) as stack,
    ):
        assert stack.resources is not None
        faults.attach(dynamo_client(), {
            "TransactWriteItems": ("TransactionCanceledException", fault_rate),
            "PutItem": ("ProvisionedThroughputExceededException", fault_rate),
            "UpdateItem": ("ThrottlingException", fault_rate),
        })  # fmt: skip
        faults.attach(events_client(), {"PutEvents": ("ServiceUnavailable", fault_rate)})
        # Lambda timeouts in the middle of a stream batch, for both functions on the stream.
        faults.attach_kills(dynamo_client(), ("TransactWriteItems", "PutItem", "UpdateItem"))
        faults.attach_kills(events_client(), ("PutEvents",))
        for name in ("route", "events"):
            stack.handlers[name] = faults.kill_mid_batch(name, stack.handlers[name], kill_rate)
        calls: Counter[str] = Counter()  # the stack's AWS calls, by operation (what moto had to answer)
        clients = [dynamo_client(), events_client()]
        clients += [p._streams for p in (stack.poller, stack.event_poller) if p is not None]

        def count(model: Any, **_: Any) -> None:
            with lock:
                calls[model.name] += 1

        for aws in clients:
            aws.meta.events.register("before-call", count)
        bus = BusConsumer(aws_client("sqs", stack.resources.endpoint), stack.resources.bus_events_queue_url)
        bus.thread.start()
        source = next(s for s in stack.info["sources"] if s["kind"] == "generic")
        url = f"{stack.api_url}/hooks/{source['id']}"
        session = threading.local()

        def send(n: int) -> None:
            http = getattr(session, "http", None) or requests.Session()
            session.http = http
            body = {"name": f"Soak {n}", "phone": f"9{n:09d}", "utm_source": "soak"}
            copies = 2 if n % 10 == 0 else 1  # a provider retry of the same body
            for _ in range(copies):
                for _attempt in range(20):
                    answer = http.post(url, json=body, headers={"X-Api-Key": source["key"]}, timeout=30)
                    with lock:
                        sent[str(answer.status_code)] += 1
                    if answer.status_code == 503:
                        time.sleep(0.05)  # Retry-After, shortened
                        continue
                    break
                if answer.status_code == 202:
                    with lock:
                        answers.setdefault(body["phone"], answer.json()["lead_id"])

        started = time.monotonic()
        reporter = threading.Thread(target=_report_progress, args=(stack, answers, leads, started, bus),
                                    name="soak-progress", daemon=True)  # fmt: skip
        reporter.start()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(send, range(1, leads + 1)))
        sent_s = time.monotonic() - started
        # The stream functions may be far behind the senders: wait while they make progress, and
        # give up (the invariants then say what was left undone) after two minutes without any.
        progress, progress_at = None, time.monotonic()
        while not stack.drain(30):
            seen = tuple(tuple(vars(p.stats).values()) for p in (stack.poller, stack.event_poller) if p is not None)
            if seen != progress:
                progress, progress_at = seen, time.monotonic()
            elif time.monotonic() - progress_at > 120:
                break
        stack.drain(30)
        settle_s = time.monotonic() - started - sent_s
        bus.finish()
        stack_calls = dict(calls.most_common())
        checked_at = time.monotonic()
        report = check(stack, answers, leads)
        check_s = time.monotonic() - checked_at
        dlq = aws_client("sqs", stack.resources.endpoint).get_queue_attributes(
            QueueUrl=stack.resources.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        report["dlq_messages"] = int(dlq)
        report["events"] = bus_check(report.pop("_event_ids"), bus.seen)
        report.update(
            leads=leads, workers=workers, fault_rate=fault_rate, kill_rate=kill_rate, answers=dict(sent),
            faults_injected=dict(sorted(faults.injected.items())), aws_calls=stack_calls, send_s=round(sent_s, 1),
            settle_s=round(settle_s, 1), check_s=round(check_s, 1),
            poller=dict(vars(stack.poller.stats)) if stack.poller else {},
            event_poller=dict(vars(stack.event_poller.stats)) if stack.event_poller else {},
        )  # fmt: skip
    report["wall_s"] = round(time.monotonic() - wall_started, 1)
    report["cpu_s"] = {name: round(seconds - cpu_started.get(name, 0.0), 1) for name, seconds in _cpu_seconds().items()}
    problems = [name for name, ok in report["invariants"].items() if not ok]
    if report["dlq_messages"]:
        problems.append("dlq_empty")
    if report["events"]["missing"]:
        problems.append("every_timeline_entry_on_the_bus")
    report["problems"] = problems
    return report


def _report_progress(stack: Any, answers: dict[str, str], leads: int, started: float, bus: BusConsumer) -> None:
    """A line on stderr every minute: how far the senders, the router and the events function are."""
    interval = float(os.environ.get("SOAK_PROGRESS_SECONDS") or 60)
    while not bus.stop.wait(interval):
        routed = stack.poller.stats.records_delivered if stack.poller else 0
        forwarded = stack.event_poller.stats.records_delivered if stack.event_poller else 0
        print(f"soak: {time.monotonic() - started:5.0f} s: {len(answers)}/{leads} leads accepted, {routed} routed, "
              f"{forwarded} stream records through the events function, {sum(bus.seen.values())} events on the bus; "
              f"CPU s: this process {_cpu_seconds()['stack_and_soak']:.0f}, moto {_moto_cpu_now(stack):.0f}",
              file=sys.stderr, flush=True)  # fmt: skip


def _moto_cpu_now(stack: Any) -> float:
    """The moto child's CPU seconds so far (Linux /proc), while it runs; 0 when unknown."""
    process = getattr(getattr(stack, "_moto", None), "_process", None)
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError, IndexError):
        return 0.0


def _cpu_seconds() -> dict[str, float]:
    """CPU time so far of this process (handlers, gateway, pollers, the soak) and of its children
    (moto's server), user + system: what the run cost however loaded the machine is."""
    self_usage, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"stack_and_soak": self_usage.ru_utime + self_usage.ru_stime,
            "moto_server": children.ru_utime + children.ru_stime}  # fmt: skip


def query(**kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query finds, page after page."""
    from leadrelay.store.dynamo import client, from_item

    while True:
        response = client().query(**kwargs)
        for raw in response.get("Items", []):
            yield from_item(raw)
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def partitions(table: str, keys: list[str], threads: int = 4) -> Iterator[dict[str, Any]]:
    """Every item of the partitions `keys` (one Query each, a few at a time)."""
    from leadrelay.store.dynamo import to_item

    def read(pk: str) -> list[dict[str, Any]]:
        return list(query(TableName=table, KeyConditionExpression="pk = :pk",
                          ExpressionAttributeValues=to_item({":pk": pk})))  # fmt: skip

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for items in pool.map(read, keys):
            yield from items


def check(stack: Any, answers: dict[str, str], leads: int) -> dict[str, Any]:
    """Recount everything from the tables and compare with what the stack keeps: the day counters
    and open-lead counts the router keeps, and the dashboard's counters. Reads each lead's
    partition (one Query each) and the counters' partitions; no Scan (moto pages a Scan by
    sorting the whole table again for every page)."""
    from leadrelay.clock import local_day
    from leadrelay.config import get_settings
    from leadrelay.dashboard.aggregates import followup_contribution, lead_contribution
    from leadrelay.models.timeline import TimelineEvent
    from leadrelay.store.dashboard import DashboardStore
    from leadrelay.store.leads import LIST_LEADS, lead_from_item

    settings = get_settings()
    timezone = settings.org_timezone
    definitions = DashboardStore(settings.org_table, settings.leads_table).definitions(timezone)
    stored: list[Any] = []
    decisions_per_lead: Counter[str] = Counter()
    event_ids: set[str] = set()
    dashboard_recount: dict[tuple[str, str], Counter[str]] = {}
    # Every lead the list index holds (the soak sent them all today), then each lead's partition:
    # the lead, its timeline, routing decisions and follow-ups (a Query each: no table Scan).
    lead_keys = [str(item["pk"]) for item in query(
        TableName=settings.leads_table, IndexName="by_received", KeyConditionExpression="list_pk = :list",
        ExpressionAttributeValues={":list": {"S": LIST_LEADS}}, Limit=1000, ProjectionExpression="pk",
    )]  # fmt: skip
    for item in partitions(settings.leads_table, lead_keys):
        sort_key = str(item.get("sk", ""))
        contribution = None
        if sort_key == "LEAD":
            stored.append(lead_from_item(item))
            contribution = lead_contribution(item, definitions)
        elif item.get("followup_id"):
            contribution = followup_contribution(item, definitions)
        elif sort_key.startswith("ROUTE#"):
            decisions_per_lead[str(item["pk"]).removeprefix("LEAD#")] += 1
        elif sort_key.startswith("TL#"):
            event_ids.add(TimelineEvent.model_validate(item).event_id)
        if contribution is not None:
            dashboard_recount.setdefault((contribution.pk, contribution.sk), Counter()).update(contribution.counts)

    phones = Counter(lead.phone for lead in stored)
    assigned_per_day: Counter[tuple[str, str]] = Counter()
    open_per_agent: Counter[str] = Counter()
    for lead in stored:
        if lead.assigned_agent_id and lead.assigned_at:
            assigned_per_day[(local_day(lead.assigned_at, timezone).isoformat(), lead.assigned_agent_id)] += 1
            open_per_agent[lead.assigned_agent_id] += 1  # nothing is closed or reassigned in the soak

    day_counts: dict[tuple[str, str], int] = {}
    open_leads: dict[str, int] = {}
    dashboard_cells: dict[tuple[str, str], dict[str, int]] = {}
    months = sorted(
        {pk.split("#", 1)[1] for pk, _ in dashboard_recount} | {local_day(stack.now(), timezone).isoformat()[:7]}
    )
    org_keys = ["ROSTER"] + [f"{prefix}#{month}" for prefix in ("DASH", "DASHFU") for month in months]
    for item in partitions(settings.org_table, org_keys):
        pk, sk = str(item["pk"]), str(item["sk"])
        if pk == "ROSTER" and sk.startswith("DAY#"):
            _, day, agent_id = sk.split("#", 2)
            day_counts[(day, agent_id)] = int(item.get("assigned", 0))
        elif pk == "ROSTER" and sk.startswith("LOAD#"):
            open_leads[sk.removeprefix("LOAD#")] = int(item.get("open_leads", 0))
        elif pk.startswith(("DASH#", "DASHFU#")):
            dashboard_cells[(pk, sk)] = {
                name: int(value) for name, value in item.items()
                if name not in ("pk", "sk") and isinstance(value, int | Decimal) and not isinstance(value, bool)
            }  # fmt: skip

    roster = stack.poller and _roster(stack, timezone)
    caps_held = all(
        roster is None
        or (agent := roster.agents.get(agent_id)) is None
        or agent.daily_cap is None
        or count <= agent.daily_cap
        for (_, agent_id), count in day_counts.items()
    )
    day_mismatches = {f"{day} {agent}": (day_counts.get((day, agent), 0), assigned_per_day[(day, agent)])
                      for day, agent in set(day_counts) | set(assigned_per_day)
                      if day_counts.get((day, agent), 0) != assigned_per_day[(day, agent)]}  # fmt: skip
    open_mismatches = {agent: (open_leads.get(agent, 0), open_per_agent[agent])
                       for agent in set(open_leads) | set(open_per_agent)
                       if open_leads.get(agent, 0) != open_per_agent[agent]}  # fmt: skip
    dashboard_mismatches = {}
    for cell in set(dashboard_cells) | set(dashboard_recount):
        kept = {name: value for name, value in dashboard_cells.get(cell, {}).items() if value}
        recounted = {name: value for name, value in dashboard_recount.get(cell, Counter()).items() if value}
        if kept != recounted:
            dashboard_mismatches[" ".join(cell)] = {"kept": kept, "recount": recounted}
    decided = [lead for lead in stored if lead.status.value in ("assigned", "unassigned")]
    return {
        "stored": len(stored),
        "assigned": sum(1 for lead in stored if lead.assigned_agent_id),
        "unassigned": sum(1 for lead in stored if lead.status.value == "unassigned"),
        "counters": {
            "day_counter_cells": len(day_counts),
            "open_lead_counters": len(open_leads),
            "dashboard_cells": len(dashboard_cells),
        },
        "mismatches": {
            "day_counters": day_mismatches,
            "open_leads": open_mismatches,
            "dashboard": dict(list(dashboard_mismatches.items())[:20]),
        },
        "invariants": {
            "every_sent_lead_stored_once": len(stored) == leads == len(answers) and max(phones.values()) == 1,
            "every_lead_decided": len(decided) == len(stored),
            "none_decided_twice": all(decisions_per_lead[lead.lead_id] == 1 for lead in stored),
            "day_counters_equal_a_recount": not day_mismatches,
            "open_lead_counts_equal_a_recount": not open_mismatches,
            "dashboard_counters_equal_a_recount": not dashboard_mismatches,
            "caps_held": caps_held,
        },
        "_event_ids": event_ids,
    }


def _roster(stack: Any, timezone: str) -> Any:
    from leadrelay import wiring
    from leadrelay.clock import local_day

    return wiring.org_repository().load_routing_state(local_day(stack.now(), timezone)).roster


def bus_check(event_ids: set[str], seen: Counter[str]) -> dict[str, Any]:
    """Every timeline entry reached the local bus at least once (duplicates allowed, by id)."""
    missing = sorted(event_ids - set(seen))
    return {"timeline_entries": len(event_ids), "on_the_bus": len(event_ids & set(seen)),
            "redelivered": sum(1 for i in event_ids if seen[i] > 1), "missing": missing[:20]}  # fmt: skip


def main() -> int:
    leads = int(_env("SOAK_LEADS", 10_000))
    workers = int(_env("SOAK_WORKERS", 4))
    fault_rate = _env("SOAK_FAULT_RATE", 0.05)
    kill_rate = _env("SOAK_KILL_RATE", fault_rate)
    print(f"soak: {leads} leads, {workers} senders, {fault_rate:.0%} faults per write, "
          f"{kill_rate:.0%} of stream batches killed", file=sys.stderr)  # fmt: skip
    report = run(leads, workers, fault_rate, kill_rate)
    report["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / (os.environ.get("SOAK_OUT") or "soak-latest.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, ok in report["invariants"].items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    print(f"{'ok  ' if not report['dlq_messages'] else 'FAIL'} dlq_empty ({report['dlq_messages']})")
    events = report["events"]
    print(f"{'ok  ' if not events['missing'] else 'FAIL'} every_timeline_entry_on_the_bus "
          f"({events['on_the_bus']}/{events['timeline_entries']}, {events['redelivered']} redelivered)")  # fmt: skip
    print(f"faults injected: {report['faults_injected']}; answers: {report['answers']}")
    print(f"sent in {report['send_s']} s, settled {report['settle_s']} s later, recounted in {report['check_s']} s; "
          f"wall {report['wall_s']} s, CPU {report['cpu_s']}; bench/results/{out.name}")  # fmt: skip
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
