"""The concurrency tests again, on moto as released: no `moto_speed` patches in the server, so the
transaction atomicity they rely on is moto's own, not ours. Fewer leads (moto copies whole tables
per transaction item without the patches); the same invariants."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadrelay.local.aws import MotoServer
from tests.integration import test_concurrency
from tests.integration.test_concurrency import (  # noqa: F401 (collected here, with this module's moto_server)
    org,
    test_200_leads_from_16_threads_keep_every_routing_invariant_under_random_availability_changes,
    test_a_closed_lead_whose_person_arrives_twelve_times_at_once_is_reopened_once,
)

pytestmark = pytest.mark.concurrency

PLAIN_LEADS = 24
PLAIN_THREADS = 4
# Caps scaled to the smaller run, so that both capped agents still fill up.
PLAIN_CAPS = {**test_concurrency.CAPS, "a1": 3, "a2": 4}


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer(in_process=False, speed=False)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fewer_leads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(test_concurrency, "LEADS", PLAIN_LEADS)
    monkeypatch.setattr(test_concurrency, "THREADS", PLAIN_THREADS)
    monkeypatch.setattr(test_concurrency, "CAPS", PLAIN_CAPS)
