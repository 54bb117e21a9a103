"""Replays: a provider's signed (or keyed) body sent again with different unsigned headers — a new
event-id header, another request id, user agent or forwarding address — is a `duplicate` of the
first, never a new lead, a touchpoint or the reopening of a closed lead. Dedupe rests on the ids
inside the body (`leadgen_id`, `lead_id`, `UNIQUE_QUERY_ID`, `leadid`, `wamid…`, `pay_…`), or on
the body itself; headers are at most a hint. One case per provider kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.sources.meta import signature_of as meta_signature
from leadrelay.sources.razorpay import signature_of as razorpay_signature
from tests.integration.flow import Flow
from tests.integration.hooks import FIXTURES, fixture, send, table_items
from tests.integration.test_source_meta import FakeGraph

JSON = {"Content-Type": "application/json"}
# What a replay changes: nothing the provider signs or the body carries.
OTHER_HEADERS = {"X-Request-Id": "replayed-0001", "User-Agent": "replayer/1.0", "X-Forwarded-For": "203.0.113.9",
                 "X-Amzn-Trace-Id": "Root=1-replay", "x-razorpay-event-id": "evt_REPLAYED",
                 "X-Meta-Delivery-Id": "another"}  # fmt: skip


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


Delivery = Callable[[dict[str, str]], tuple[int, dict[str, str], Any]]


def _meta_signed(secret: str, body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw.decode(), {**JSON, "X-Hub-Signature-256": meta_signature(raw, secret)}


def delivery(kind: str, entry: dict[str, Any], graph: FakeGraph) -> Delivery:
    """How the provider of `kind` sends its documented sample; `extra` adds unsigned headers."""
    key = {"key": entry["key"]}
    if kind in ("generic", "web_form"):
        body = json.dumps({"name": "Test Replay", "phone": "9000000021", "city": "Pune"})  # no id: the body is the key
        return lambda extra: send(entry["id"], body, key=entry["key"], headers={**JSON, **extra})
    if kind == "google_ads":
        body = json.dumps(fixture("google_ads.json") | {"google_key": entry["google_key"]})
        return lambda extra: send(entry["id"], body, key=None, query=key, headers={**JSON, **extra})
    if kind == "indiamart":
        body = (FIXTURES / "indiamart.json").read_text()
        return lambda extra: send(entry["id"], body, key=None, query=key, headers={**JSON, **extra})
    if kind == "justdial":
        query = {k: str(v) for k, v in fixture("justdial.json").items()} | key
        return lambda extra: send(entry["id"], None, key=None, method="GET", query=query, headers=extra)
    if kind == "meta_lead_ads":
        settings = {"graph_url": graph.url, "graph_backoff_s": 0.01, "page_access_token": "PAGE-TOKEN"}
        org = wiring.org_repository()
        source = org.get_source(entry["id"])
        assert source is not None
        org.put_source(source.model_copy(update={"settings": {**source.settings, **settings}}))
        graph.leads["123123123123"] = fixture("meta_lead.json") | {"id": "123123123123"}
        raw, headers = _meta_signed(entry["app_secret"], fixture("meta_notification.json"))
        return lambda extra: send(entry["id"], raw, key=None, query=key, headers={**headers, **extra})
    if kind == "whatsapp":
        raw, headers = _meta_signed(entry["app_secret"], fixture("whatsapp_message.json"))
        return lambda extra: send(entry["id"], raw, key=None, query=key, headers={**headers, **extra})
    if kind == "razorpay":
        raw_bytes = (FIXTURES / "razorpay_payment_link_paid.json").read_bytes()
        signed = {**JSON, "X-Razorpay-Signature": razorpay_signature(raw_bytes, entry["webhook_secret"]),
                  "x-razorpay-event-id": "evt_ORIGINAL"}  # fmt: skip
        return lambda extra: send(entry["id"], raw_bytes.decode(), key=None, query=key, headers={**signed, **extra})
    if kind == "99acres":
        body = (FIXTURES / "99acres_pull.xml").read_text()
        headers = {"Content-Type": "application/xml"}
        return lambda extra: send(entry["id"], body, key=None, query=key, headers={**headers, **extra})
    if kind in ("magicbricks", "housing"):
        body = (FIXTURES / f"{kind}.json").read_text()
        return lambda extra: send(entry["id"], body, key=None, query=key, headers={**JSON, **extra})
    raise AssertionError(f"no replay case for {kind}")  # a new kind needs its case here


KINDS = ["generic", "web_form", "google_ads", "indiamart", "justdial", "meta_lead_ads", "whatsapp", "razorpay",
         "99acres", "magicbricks", "housing"]  # fmt: skip


def lead_ids(aws: dict[str, str]) -> set[str]:
    return {item["pk"]["S"].split("#", 1)[1] for item in table_items(aws["LEADS_TABLE"], "LEAD#")}


def test_every_supported_kind_has_a_replay_case() -> None:
    from leadrelay.sources import SUPPORTED_KINDS

    assert {kind.value for kind in SUPPORTED_KINDS} == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_body_with_other_unsigned_headers_is_a_duplicate_and_never_reopens(
    kind: str, aws: dict[str, str], demo: dict[str, Any], flow: Flow, graph: FakeGraph, clock: Any
) -> None:
    entry = next(e for e in demo.values() if e["kind"] == kind)
    deliver = delivery(kind, entry, graph)
    # Given the provider's sample, delivered once
    status, _, _ = deliver({})
    assert status in (200, 202)
    first = lead_ids(aws)
    assert first, "the sample made no lead"
    # And the lead closed as lost (a returning person would reopen it)
    for lead_id in first:
        answer = flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "lost", "reason": "not interested"})
        assert answer[0] == 200, answer
    clock.advance(minutes=5)
    # When the same bytes arrive again with other unsigned headers
    status, _, answer = deliver(OTHER_HEADERS)
    # Then the provider hears success, nothing new exists, and nothing was touched or reopened
    assert status in (200, 202), answer
    if isinstance(answer, dict) and "leads" in answer:
        assert {item["outcome"] for item in answer["leads"]} == {"duplicate"}, answer
    elif isinstance(answer, dict) and "outcome" in answer:
        assert answer["outcome"] == "duplicate"
    assert lead_ids(aws) == first
    for lead_id in first:
        lead = wiring.lead_repository().get(lead_id)
        assert lead is not None and lead.status.value == "lost" and lead.touch_count == 1 and lead.reopen_count == 0
        kinds = [event.kind for event in wiring.lead_repository().timeline(lead_id)]
        assert "lead.touchpoint" not in kinds and "lead.reopened" not in kinds
