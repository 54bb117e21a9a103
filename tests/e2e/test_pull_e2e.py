"""End to end over HTTP: an admin puts an IndiaMART CRM key on the IndiaMART source through the
sources API, the stack's clock moves on, and the PullSources schedule brings the enquiries in —
from a fake IndiaMART on loopback, through the real poller, capture and router."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import LocalStackClient
from tests.integration.fake_provider import FakeProvider, json_answer

pytestmark = pytest.mark.e2e


@pytest.fixture
def indiamart_api() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_an_indiamart_key_set_through_the_api_brings_enquiries_in_on_schedule(
    local_stack: LocalStackClient, indiamart_api: FakeProvider
) -> None:
    query_id = str(uuid.uuid4().int)[:10]
    mobile = "9" + str(uuid.uuid4().int)[:9]
    enquiry = {"UNIQUE_QUERY_ID": query_id, "QUERY_TYPE": "W", "QUERY_TIME": "2026-11-23 15:44:28",
               "SENDER_NAME": "Test Joshi", "SENDER_MOBILE": f"+91-{mobile}", "SENDER_CITY": "Pune",
               "QUERY_MESSAGE": "Kindly send price.<br>Quantity : 100 Piece<br>"}  # fmt: skip
    indiamart_api.answers(json_answer({"CODE": 200, "STATUS": "SUCCESS", "TOTAL_RECORDS": 1, "RESPONSE": [enquiry]}))
    source = local_stack.source("indiamart")
    key = f"E2E-KEY-{uuid.uuid4().hex[:8]}"
    patched = local_stack.request("PATCH", f"/sources/{source['id']}", as_user="admin",
                                  json={"settings": {"glusr_crm_key": key, "pull_url": f"{indiamart_api.url}/v2/"}})  # fmt: skip
    assert patched.status_code == 200, patched.text
    # The next minute's schedule polls the source
    # An advance may wait up to 10 s for the router after its ticks: give it a minute on a loaded machine
    assert (
        local_stack.post("/_local/clock", as_user="admin", json={"advance_minutes": 1}, timeout=60).status_code == 200
    )
    deadline = time.monotonic() + 5
    while not indiamart_api.seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(indiamart_api.seen) == 1
    call = indiamart_api.seen[0]
    assert call.query["glusr_crm_key"] == key and len(call.query["start_time"]) == len("07-Dec-202109:00:00")
    # The enquiry is a lead, routed like any other
    lead = None
    while time.monotonic() < deadline + 5:
        leads = local_stack.get("/leads", as_user="admin", params={"source_id": source["id"], "limit": 50}).json()
        lead = next((item for item in leads["items"] if item["external_id"] == query_id), None)
        if lead is not None and lead["status"] == "assigned":
            break
        time.sleep(0.05)
    assert lead is not None and lead["phone"] == f"+91{mobile}" and lead["status"] == "assigned", lead
    assert lead["message"] == "Kindly send price.\nQuantity : 100 Piece"
    # The admin sees the poll's result on the source, with the key masked
    view = local_stack.get(f"/sources/{source['id']}", as_user="admin")
    assert view.json()["pull"]["last_result"]["ok"] is True and key not in view.text
    # Within IndiaMART's five minutes, another tick does not call again
    local_stack.post("/_local/clock", as_user="admin", json={"advance_minutes": 2}, timeout=60)
    time.sleep(0.3)
    assert len(indiamart_api.seen) == 1
    # Stop polling: the other tests' clock moves must not call this fake after it is gone
    stopped = local_stack.request("PATCH", f"/sources/{source['id']}", as_user="admin",
                                  json={"settings": {"glusr_crm_key": None}})  # fmt: skip
    assert stopped.status_code == 200 and "glusr_crm_key" not in stopped.json()["settings"]
