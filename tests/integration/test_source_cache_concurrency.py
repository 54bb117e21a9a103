"""A warm ingest's cached sources under concurrency, on the moto server: 16 threads post webhooks
while the key is rotated; no request with the old key that started after the rotation returned is
accepted (capture/source_cache.py), and the new key works from the first request after it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.capture import WebhookRequest
from leadrelay.models import Source, SourceKind
from leadrelay.models.source import hash_key
from leadrelay.store.leads import LeadRepository
from tests.integration.local_fixtures import moto_server, own_tables  # noqa: F401 (fixture)

pytestmark = pytest.mark.concurrency
OLD, NEW = "old-key", "new-key"


@pytest.fixture
def org(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:  # noqa: F811
    names = own_tables(moto_server, monkeypatch, "c")
    wiring.org_repository().create_source(Source(source_id="web", kind=SourceKind.GENERIC, name="Website",
                                                 key_hash=hash_key(OLD)))  # fmt: skip
    yield names
    wiring.reset()


def _post(key: str, n: int) -> int:
    body = f'{{"name": "Lead {n}", "phone": "98{n:08d}"}}'.encode()
    request = WebhookRequest(source_id="web", method="POST", path="/hooks/web",
                             headers={"content-type": "application/json", "x-api-key": key}, query={}, body=body,
                             request_id=str(uuid.uuid4()))  # fmt: skip
    return wiring.capture_service().capture(request).status


@dataclass
class Sent:
    key: str
    started_ns: int
    status: int


def test_no_request_with_the_old_key_is_accepted_after_the_rotation_returned(org: dict[str, str]) -> None:
    # Given a warm ingest (the process's source cache) holding the source with the old key
    assert _post(OLD, 0) == 202
    sent: list[Sent] = []
    lock = threading.Lock()
    rotated_ns: list[int] = []
    stop = threading.Event()
    counter = iter(range(1, 1_000_000))

    def sender(worker: int) -> None:
        while not stop.is_set():
            with lock:
                n = next(counter)
                rotated = bool(rotated_ns)
            key = NEW if rotated and n % 2 else OLD  # after the rotation: both keys, alternately
            started = time.monotonic_ns()
            status = _post(key, n)
            with lock:
                sent.append(Sent(key, started, status))

    # When 16 threads post webhooks and, meanwhile, the key is rotated
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(sender, w) for w in range(16)]
        time.sleep(1.0)
        wiring.org_repository().update_source("web", {"key_hash": hash_key(NEW)})  # what rotate-key does
        with lock:
            rotated_ns.append(time.monotonic_ns())
        time.sleep(1.5)
        stop.set()
        for future in futures:
            future.result()
    after = [s for s in sent if s.started_ns > rotated_ns[0]]
    before = [s for s in sent if s.started_ns <= rotated_ns[0]]
    # Then old-key requests were taken before the rotation, and some were sent after it
    assert any(s.status == 202 for s in before if s.key == OLD)
    assert sum(1 for s in after if s.key == OLD) >= 5 and sum(1 for s in after if s.key == NEW) >= 5
    # And every old-key request that started after the rotation returned was refused
    assert {s.status for s in after if s.key == OLD} == {403}
    # And every new-key request (all started after it) was accepted
    assert {s.status for s in sent if s.key == NEW} == {202}


def test_a_source_changed_mid_flight_is_read_again_once_and_the_request_decided_on_it(
    org: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a warm ingest holding the source with the old key
    assert _post(OLD, 0) == 202
    reads: list[str] = []
    org_repo = wiring.org_repository()
    real_get = org_repo.get_source
    monkeypatch.setattr(org_repo, "get_source", lambda source_id: reads.append(source_id) or real_get(source_id))
    # When the key is rotated after the request's key check and before its write (another container)
    real_create = LeadRepository.create
    rotated: list[bool] = []

    def create(self: LeadRepository, *args: Any, **kwargs: Any) -> Any:
        if not rotated:
            rotated.append(True)
            org_repo.update_source("web", {"key_hash": hash_key(NEW)})
        return real_create(self, *args, **kwargs)

    monkeypatch.setattr(LeadRepository, "create", create)
    status = _post(OLD, 1)
    # Then the guarded write found the source moved: one read, and the old key refused
    assert status == 403 and reads == ["web"]
    leads, _ = wiring.lead_repository().list_leads(source_id="web", limit=10)
    assert len(leads) == 1
    # And the new key is taken on the next request, without another read
    assert _post(NEW, 2) == 202 and reads == ["web"]
