"""Shared pieces for the local-stack integration tests: one moto server per test process, tables from
`definitions`, a small seed, and fake handlers that record what they are given.

Import what a module needs: `from tests.integration.local_fixtures import moto_server, ...`
(pytest only auto-loads conftest.py, which is not ours).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from leadrelay import definitions
from leadrelay.local.aws import MotoServer, client, create_table
from leadrelay.local.seed import Seed, SeedUser

_server: MotoServer | None = None
_server_lock = threading.Lock()


def shared_moto() -> MotoServer:
    """The process's moto server (started on first use; a daemon thread, gone with the process)."""
    global _server
    with _server_lock:
        if _server is None:
            _server = MotoServer()
        return _server


@pytest.fixture(scope="session")
def moto_server() -> MotoServer:
    return shared_moto()


@pytest.fixture
def leads_table(moto_server: MotoServer) -> tuple[str, str]:
    """A fresh leads table built from the shared definition: (name, stream ARN)."""
    name = f"test-leads-{uuid.uuid4().hex[:8]}"
    stream_arn = create_table(client("dynamodb", moto_server.endpoint), definitions.LEADS_TABLE, name)
    return name, stream_arn


def small_seed(demo: bool) -> Seed:
    """A seed with one source and one user per role (the real one is leadrelay.local.demo)."""
    return Seed(
        sources=[{"id": "website", "key": "website-key", "kind": "generic"}],
        users=[
            SeedUser(username="admin", role="admin"),
            SeedUser(username="maya", role="manager", team_id="team-north"),
            SeedUser(username="arjun", role="agent", agent_id="agent-arjun", team_id="team-north"),
        ],
    )


class RecordingHandler:
    """A fake Lambda handler: remembers each event, answers with `respond(event)`."""

    def __init__(self, respond: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._respond = respond
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.events.append(event)
        if self._respond is not None:
            return self._respond(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


def own_tables(server: MotoServer, monkeypatch: pytest.MonkeyPatch, prefix: str) -> dict[str, str]:
    """Tables (from the shared definitions) and a bus name of the test's own on the shared moto
    server, the environment pointed at them, the system clock and fresh wiring: {env var: name}."""
    from leadrelay import wiring
    from leadrelay.clock import SystemClock, set_clock
    from leadrelay.local.aws import base_env

    suffix = uuid.uuid4().hex[:8]
    names = {"LEADS_TABLE": f"{prefix}-leads-{suffix}", "ORG_TABLE": f"{prefix}-org-{suffix}",
             "EVENT_BUS_NAME": f"{prefix}-bus-{suffix}"}  # fmt: skip
    for key, value in {**base_env(server.endpoint), **names}.items():
        monkeypatch.setenv(key, value)
    set_clock(SystemClock())
    wiring.reset()
    ddb = client("dynamodb", server.endpoint)
    for table in definitions.TABLES:
        create_table(ddb, table, names[table.env_var])
    return names


def ingested_lead_event(ingest: Any, leads_table: str, phone: str, sequence: int) -> tuple[str, dict[str, Any]]:
    """A webhook lead stored through the ingest function (source `web`, key `k`), and the stream
    event that carries its INSERT to the router: (lead id, Lambda DynamoDB event)."""
    import json

    import boto3

    from tests.helpers import LambdaContext, hook_event, stream_event

    response = ingest(hook_event("web", {"phone": phone}, key="k"), LambdaContext())
    assert response["statusCode"] == 202, response
    lead_id = json.loads(response["body"])["lead_id"]
    key = {"pk": {"S": f"LEAD#{lead_id}"}, "sk": {"S": "LEAD"}}
    item = boto3.client("dynamodb").get_item(TableName=leads_table, Key=key)["Item"]
    record = {"eventID": str(uuid.uuid4()), "eventName": "INSERT",
              "dynamodb": {"Keys": {"pk": item["pk"], "sk": item["sk"]}, "NewImage": item,
                           "SequenceNumber": str(sequence), "StreamViewType": "NEW_AND_OLD_IMAGES"}}  # fmt: skip
    return lead_id, stream_event([record], "arn:aws:dynamodb:ap-south-1:123456789012:table/x/stream/1")
