"""`make soak` (python -m bench.soak): many leads through the local stack while faults are injected,
then every invariant checked against a recount.

Faults, injected with botocore `before-call` hooks on the stack's own clients (the real error
shapes, as in tests/integration/faults.py): DynamoDB throttling and TransactionConflict on every
write and EventBridge refusing PutEvents (`SOAK_FAULT_RATE`, default 5 % of calls each). Webhook
senders resend on 503 as providers do, and a tenth of the leads are sent twice (a provider retry).

At the end: every lead decided (assigned or unassigned, never left pending), each with exactly one
routing decision (none doubled), no agent over a hard cap, every day counter equal to a recount of
the leads assigned that day, no record in the DLQ, and every timeline entry on the bus (by event id).

`SOAK_LEADS` (default 10,000) sets the load; `SOAK_WORKERS` the concurrent senders. Writes
bench/results/soak-latest.json; exits 1 when an invariant fails.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


class FaultInjector:
    """Random faults on a boto3 client's operations (thread-safe, seeded)."""

    def __init__(self, seed: int = 11) -> None:
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter[str] = Counter()

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


def run(leads: int, workers: int, fault_rate: float) -> dict[str, Any]:
    import requests

    from leadrelay.clock import local_day
    from leadrelay.events.bus import events_client
    from leadrelay.local.aws import client as aws_client
    from leadrelay.local.stack import LocalStack
    from leadrelay.store.dynamo import client as dynamo_client

    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    faults = FaultInjector()
    sent: Counter[str] = Counter()
    answers: dict[str, str] = {}
    lock = threading.Lock()
    with (
        tempfile.TemporaryDirectory(prefix="leadrelay-soak-") as state_dir,
        LocalStack(port=0, demo=True, state_dir=state_dir, ticker_check_seconds=3600) as stack,
    ):
        faults.attach(dynamo_client(), {
            "TransactWriteItems": ("TransactionCanceledException", fault_rate),
            "PutItem": ("ProvisionedThroughputExceededException", fault_rate),
            "UpdateItem": ("ThrottlingException", fault_rate),
        })  # fmt: skip
        faults.attach(events_client(), {"PutEvents": ("ServiceUnavailable", fault_rate)})
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
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(send, range(1, leads + 1)))
        sent_s = time.monotonic() - started
        deadline = time.monotonic() + 120
        while not stack.drain(30) and time.monotonic() < deadline:
            pass
        stack.drain(30)
        settle_s = time.monotonic() - started - sent_s
        assert stack.resources is not None
        report = check(stack, answers, leads, local_day)
        dlq = aws_client("sqs", stack.resources.endpoint).get_queue_attributes(
            QueueUrl=stack.resources.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        report["dlq_messages"] = int(dlq)
        report["events"] = bus_check(stack, report.pop("_event_ids"))
        report.update(
            leads=leads, workers=workers, fault_rate=fault_rate, answers=dict(sent),
            faults_injected=dict(faults.injected), send_s=round(sent_s, 1), settle_s=round(settle_s, 1),
            poller=dict(vars(stack.poller.stats)) if stack.poller else {},
            event_poller=dict(vars(stack.event_poller.stats)) if stack.event_poller else {},
        )  # fmt: skip
    problems = [name for name, ok in report["invariants"].items() if not ok]
    if report["dlq_messages"]:
        problems.append("dlq_empty")
    if report["events"]["missing"]:
        problems.append("every_timeline_entry_on_the_bus")
    report["problems"] = problems
    return report


def check(stack: Any, answers: dict[str, str], leads: int, local_day: Any) -> dict[str, Any]:
    """Recount everything from the table and compare with what the stack keeps."""
    from leadrelay import wiring

    repo, org = wiring.lead_repository(), wiring.org_repository()
    stored: list[Any] = []
    cursor = None
    while True:
        page, cursor = repo.list_leads(cursor=cursor, limit=200)
        stored.extend(page)
        if not cursor:
            break
    phones = Counter(lead.phone for lead in stored)
    decisions_per_lead = {lead.lead_id: len(repo.routing_decisions(lead.lead_id)) for lead in stored}
    assigned_per_day: Counter[tuple[str, str]] = Counter()
    event_ids: set[str] = set()
    for lead in stored:
        if lead.assigned_agent_id and lead.assigned_at:
            assigned_per_day[(local_day(lead.assigned_at, "Asia/Kolkata").isoformat(), lead.assigned_agent_id)] += 1
        event_ids.update(event.event_id for event in repo.timeline(lead.lead_id))
    counters_match = True
    caps_held = True
    roster = org.load_routing_state(local_day(stack.now(), "Asia/Kolkata")).roster
    for day in {d for d, _ in assigned_per_day}:
        counts = org.day_counts(datetime.fromisoformat(day).date())
        for agent_id in set(counts) | {a for d, a in assigned_per_day if d == day}:
            if counts.get(agent_id, 0) != assigned_per_day[(day, agent_id)]:
                counters_match = False
            agent = roster.agents.get(agent_id)
            if agent is not None and agent.daily_cap is not None and counts.get(agent_id, 0) > agent.daily_cap:
                caps_held = False
    decided = [lead for lead in stored if lead.status.value in ("assigned", "unassigned")]
    return {
        "stored": len(stored),
        "assigned": sum(1 for lead in stored if lead.assigned_agent_id),
        "unassigned": sum(1 for lead in stored if lead.status.value == "unassigned"),
        "invariants": {
            "every_sent_lead_stored_once": len(stored) == leads == len(answers) and max(phones.values()) == 1,
            "every_lead_decided": len(decided) == len(stored),
            "none_decided_twice": all(count == 1 for count in decisions_per_lead.values()),
            "counters_equal_a_recount": counters_match,
            "caps_held": caps_held,
        },
        "_event_ids": event_ids,
    }


def bus_check(stack: Any, event_ids: set[str]) -> dict[str, Any]:
    """Every timeline entry reached the local bus at least once (duplicates allowed, by id)."""
    from leadrelay.local.aws import client as aws_client

    sqs = aws_client("sqs", stack.resources.endpoint)
    seen: Counter[str] = Counter()
    idle = 0
    while idle < 3:
        messages = sqs.receive_message(QueueUrl=stack.resources.bus_events_queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0).get("Messages", [])  # fmt: skip
        if not messages:
            idle += 1
            continue
        idle = 0
        for message in messages:
            detail = json.loads(message["Body"]).get("detail", {})
            seen[str(detail.get("timeline_event_id") or detail.get("event_id"))] += 1
        sqs.delete_message_batch(QueueUrl=stack.resources.bus_events_queue_url,
                                 Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                          for i, m in enumerate(messages)])  # fmt: skip
    missing = sorted(event_ids - set(seen))
    return {"timeline_entries": len(event_ids), "on_the_bus": len(event_ids & set(seen)),
            "redelivered": sum(1 for i in event_ids if seen[i] > 1), "missing": missing[:20]}  # fmt: skip


def main() -> int:
    leads = int(_env("SOAK_LEADS", 10_000))
    workers = int(_env("SOAK_WORKERS", 4))
    fault_rate = _env("SOAK_FAULT_RATE", 0.05)
    print(f"soak: {leads} leads, {workers} senders, {fault_rate:.0%} faults per write", file=sys.stderr)
    report = run(leads, workers, fault_rate)
    report["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "soak-latest.json").write_text(json.dumps(report, indent=2) + "\n")
    for name, ok in report["invariants"].items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    print(f"{'ok  ' if not report['dlq_messages'] else 'FAIL'} dlq_empty ({report['dlq_messages']})")
    events = report["events"]
    print(f"{'ok  ' if not events['missing'] else 'FAIL'} every_timeline_entry_on_the_bus "
          f"({events['on_the_bus']}/{events['timeline_entries']}, {events['redelivered']} redelivered)")  # fmt: skip
    print(f"faults injected: {report['faults_injected']}; answers: {report['answers']}")
    print(f"sent in {report['send_s']} s, settled {report['settle_s']} s later; bench/results/soak-latest.json")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
