"""Fixtures shared by the unit and integration suites."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import botocore.loaders
import botocore.session
import pytest

ROOT = Path(__file__).resolve().parents[1]
for function in ("ingest", "route", "followup", "api", "events", "export"):
    path = str(ROOT / "functions" / function)
    if path not in sys.path:
        sys.path.insert(0, path)

# Every moto test starts from a fresh boto3 session (mock_aws drops the default one), and a fresh
# session reads and parses each service's JSON model again: ~100 ms per test for DynamoDB alone
# (test_sources_api, test_routing_api and test_rbac_matrix: 47 s -> 36 s). One loader per test
# process reads each model once; the models are data botocore only reads, as the clients of one
# session already share them.
botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture
def clock() -> Iterator[object]:
    from leadrelay.clock import SystemClock, set_clock
    from tests.helpers import ManualClock

    manual = ManualClock()
    set_clock(manual)
    yield manual
    set_clock(SystemClock())


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, clock: object) -> Iterator[dict[str, str]]:
    """Moto in-process: the tables (from the shared definitions) and the event bus exist."""
    import boto3
    from moto import mock_aws

    from leadrelay import wiring
    from leadrelay.definitions import LEADS_TABLE, ORG_TABLE, TABLES

    names = {LEADS_TABLE.env_var: "test-leads", ORG_TABLE.env_var: "test-org"}
    env = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ap-south-1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "EVENT_BUS_NAME": "test-bus", **names,
        # The tests' fake providers (Graph, IndiaMART, …) listen on 127.0.0.1, as on the local stack.
        "PROVIDER_URLS_ALLOW_LOOPBACK": "true",
    }  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # The local stack's moto patches: a cancelled transaction leaves the stream as it was (moto's
    # own rollback swaps the table for a copy, so stream readers keep the cancelled records and
    # miss later ones — a reopened lead's MODIFY, for one).
    from leadrelay.local import moto_speed

    moto_speed.install()
    with mock_aws():
        wiring.reset()
        ddb = boto3.client("dynamodb")
        for table in TABLES:
            ddb.create_table(**table.create_table_kwargs(names[table.env_var]))
        boto3.client("events").create_event_bus(Name="test-bus")
        yield names
    wiring.reset()


# `make test`'s two xdist workers: which tests stay together (tests/xdist_groups.py).
from tests.xdist_groups import pytest_collection_modifyitems  # noqa: E402, F401
