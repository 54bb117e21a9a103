"""Provider identities under concurrency, on the moto server: messages from one WhatsApp user known
only by their business-scoped user id, and replays of the same signed body, arriving at once, make
one lead — the user id is claimed in the same transaction as the lead, like a phone."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from leadrelay import definitions, wiring
from leadrelay.clock import SystemClock, set_clock
from leadrelay.local.aws import base_env, create_table
from leadrelay.models import Source, SourceKind
from leadrelay.models.source import hash_key
from leadrelay.sources.meta import signature_of
from tests.integration.local_fixtures import moto_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.concurrency
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "whatsapp_username.json"
APP_SECRET = "wa-app-secret"


@pytest.fixture
def org(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    suffix = uuid.uuid4().hex[:8]
    names = {"LEADS_TABLE": f"s-leads-{suffix}", "ORG_TABLE": f"s-org-{suffix}", "EVENT_BUS_NAME": f"s-bus-{suffix}"}
    for key, value in {**base_env(moto_server.endpoint), **names}.items():
        monkeypatch.setenv(key, value)
    set_clock(SystemClock())
    wiring.reset()
    ddb = boto3.client("dynamodb")
    for table in definitions.TABLES:
        create_table(ddb, table, names[table.env_var])
    boto3.client("events").create_event_bus(Name=names["EVENT_BUS_NAME"])
    wiring.org_repository().put_source(Source(source_id="wa", kind=SourceKind.WHATSAPP, name="WhatsApp",
                                              key_hash=hash_key("k"), settings={"app_secret": APP_SECRET}))  # fmt: skip
    yield names
    wiring.reset()


def _message(n: int) -> bytes:
    body = json.loads(FIXTURE.read_text())
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=f"wamid.RACE{n}", text={"body": f"message {n}"})
    return json.dumps(body).encode()


def _deliver(raw: bytes, replay_header: str) -> str:
    from leadrelay.capture import WebhookRequest

    headers = {"content-type": "application/json", "x-api-key": "k", "x-hub-signature-256": signature_of(raw, APP_SECRET),
               "x-request-id": replay_header}  # fmt: skip
    request = WebhookRequest(source_id="wa", method="POST", path="/hooks/wa", headers=headers, query={}, body=raw,
                             request_id=str(uuid.uuid4()))  # fmt: skip
    result = wiring.capture_service().capture(request)
    assert result.status == 200, result.body
    (stored,) = result.body["leads"]  # type: ignore[index]
    return f"{stored['lead_id']}:{stored['outcome']}"


def test_eight_messages_and_four_replays_from_one_user_id_at_once_are_one_lead(org: Any) -> None:
    # Given eight different messages from a user Meta knows only by user id, and four replays of the
    # first one with other unsigned headers, all arriving at the same moment
    deliveries = [(_message(n), f"first-{n}") for n in range(8)] + [(_message(0), f"replay-{n}") for n in range(4)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda d: _deliver(*d), deliveries))
    # Then there is one lead: one created, seven touchpoints, and the four replays are duplicates
    lead_ids = {answer.split(":")[0] for answer in answers}
    assert len(lead_ids) == 1, answers
    outcomes = Counter(answer.split(":")[1] for answer in answers)
    assert outcomes == {"created": 1, "merged": 7, "duplicate": 4}
    lead = wiring.lead_repository().get(lead_ids.pop(), consistent=True)
    assert lead is not None and lead.touch_count == 8 and lead.whatsapp_user_id == "IN.1410018717833190"
