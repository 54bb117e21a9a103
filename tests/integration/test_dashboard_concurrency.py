"""The dashboard's counters under 16 concurrent stream consumers on the moto server: records of the
same lead processed at once, out of order and again, and the counters still equal a recount."""

from __future__ import annotations

import json
import os
import queue
import random
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from leadrelay import definitions, wiring
from leadrelay.clock import SystemClock, set_clock
from leadrelay.local.aws import base_env, create_table
from leadrelay.local.stack import ContainerPool
from leadrelay.store.dynamo import to_item
from tests.dashboard_leads import COMPARED, cells_by_key, generate, recount
from tests.helpers import LambdaContext
from tests.integration.local_fixtures import moto_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.concurrency

LEADS = int(os.environ.get("DASHBOARD_CONCURRENCY_LEADS", "300"))
THREADS = 16
ARN = "arn:aws:dynamodb:ap-south-1:123456789012:table/leads/stream/2026-11-23T00:00:00.000"


@pytest.fixture
def tables(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # noqa: F811
    suffix = uuid.uuid4().hex[:8]
    names = {"LEADS_TABLE": f"d-leads-{suffix}", "ORG_TABLE": f"d-org-{suffix}", "EVENT_BUS_NAME": f"d-bus-{suffix}"}
    for key, value in {**base_env(moto_server.endpoint), **names}.items():
        monkeypatch.setenv(key, value)
    set_clock(SystemClock())
    wiring.reset()
    ddb = boto3.client("dynamodb")
    for table in definitions.TABLES:
        create_table(ddb, table, names[table.env_var])
    yield names
    wiring.reset()


def record(lead_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None, sequence: int) -> dict[str, Any]:
    """A lead item's change as Lambda delivers it."""
    dynamodb: dict[str, Any] = {"Keys": {"pk": {"S": f"LEAD#{lead_id}"}, "sk": {"S": "LEAD"}},
                                "SequenceNumber": str(sequence), "StreamViewType": "NEW_AND_OLD_IMAGES"}  # fmt: skip
    if new is not None:
        dynamodb["NewImage"] = to_item({**new, "pk": f"LEAD#{lead_id}", "sk": "LEAD"})
    if old is not None:
        dynamodb["OldImage"] = to_item({**old, "pk": f"LEAD#{lead_id}", "sk": "LEAD"})
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    return {"eventID": uuid.uuid4().hex, "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "ap-south-1", "dynamodb": dynamodb, "eventSourceARN": ARN}  # fmt: skip


def moto_cpu_s(server: Any) -> float | None:
    """CPU seconds moto's server process has used (None: it runs in this process, or no /proc)."""
    process = getattr(server, "_process", None)
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (AttributeError, OSError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_16_consumers_racing_on_the_same_leads_count_every_change_exactly_once(
    tables: dict[str, str],
    moto_server: Any,  # noqa: F811
) -> None:
    # Given a few hundred leads with random histories, as stream records (per lead in order)
    histories = generate(LEADS, seed=11, days=3, start=datetime(2026, 11, 20, tzinfo=UTC))
    rng = random.Random(12)
    sequence, records = 10**20, []
    for history in histories:
        previous = None
        for image in history.images:
            sequence += rng.randrange(1, 9)
            records.append(record(history.lead_id, previous, image, sequence))
            previous = image
    # When 16 consumers (each its own events-function container) take records from one shuffled queue, so
    # the same lead's changes race and arrive out of order, and a fifth of them come twice
    deliveries = records + rng.sample(records, len(records) // 5)
    rng.shuffle(deliveries)
    work: queue.Queue[dict[str, Any]] = queue.Queue()
    for item in deliveries:
        work.put(item)
    functions = Path(__file__).resolve().parents[2] / "functions"
    aggregate = ContainerPool(functions / "events", "events", THREADS)  # it keeps the dashboard's counters
    failures = Counter[str]()
    lock = threading.Lock()
    # As the events function's mapping does: a failed record is tried again up to its retry attempts,
    # then parked in the on-failure queue, lost to the counters (so here: the test fails).
    tries = definitions.EVENTS_STREAM.retry_attempts + 1

    def consume() -> None:
        while True:
            try:
                item = work.get_nowait()
            except queue.Empty:
                return
            for attempt in range(tries):
                response = aggregate({"Records": [item]}, LambdaContext())
                if response == {"batchItemFailures": []}:
                    break
                with lock:
                    failures[f"failed on try {attempt + 1}"] += 1
            else:
                with lock:
                    failures["parked in the on-failure queue"] += 1

    started, moto_started = time.perf_counter(), moto_cpu_s(moto_server)
    threads = [threading.Thread(target=consume) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120 * max(1, LEADS // 300))  # the full-size run (bench/dashboard_scale.py) takes minutes
    if os.environ.get("DASHBOARD_CONCURRENCY_REPORT"):  # bench/dashboard_scale.py reads this
        report = {"records": len(records), "deliveries": len(deliveries), "failures": dict(failures),
                  "consume_s": round(time.perf_counter() - started, 1),
                  "moto_cpu_s": round(moto_cpu_s(moto_server) - moto_started, 1) if moto_started is not None else None}  # fmt: skip
        Path(os.environ["DASHBOARD_CONCURRENCY_REPORT"]).write_text(json.dumps(report))
    assert work.empty() and not any(thread.is_alive() for thread in threads), "the consumers did not finish"
    assert "parked in the on-failure queue" not in failures, failures
    # Then the counters equal a brute-force recount of the leads as they ended up
    store = wiring.dashboard_store()
    cells = store.lead_cells(date(2026, 11, 1), date(2026, 11, 30))
    final = [history.images[-1] for history in histories if history.images[-1] is not None]
    assert cells_by_key(cells, COMPARED) == recount(final)
