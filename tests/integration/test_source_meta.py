"""Meta Lead Ads: hub.* handshake, X-Hub-Signature-256 over the raw bytes, batches, and fetching
each lead from a fake Graph API on loopback — parked as a pending fetch when Graph is down."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from leadrelay.sources.meta import signature_of
from tests.integration.hooks import fixture, send, table_items


class FakeGraph:
    """Meta's Graph API on 127.0.0.1: `GET /v25.0/{leadgen_id}` answers the lead, or fails."""

    def __init__(self) -> None:
        self.failing = False
        self.calls: list[tuple[str, str]] = []
        self.queries: list[dict[str, list[str]]] = []
        self.leads: dict[str, dict[str, Any]] = {}
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urlsplit(self.path)
                leadgen_id = split.path.rsplit("/", 1)[-1]
                token = parse_qs(split.query).get("access_token", [""])[0]
                graph.calls.append((leadgen_id, token))
                graph.queries.append(parse_qs(split.query))
                if graph.failing:
                    self._answer(503, {"error": {"message": "Service temporarily unavailable"}})
                elif leadgen_id not in graph.leads:
                    self._answer(404, {"error": {"message": "Unsupported get request"}})
                else:
                    self._answer(200, graph.leads[leadgen_id])

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v25.0"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add(self, leadgen_id: str, **fields: str) -> None:
        lead = fixture("meta_lead.json")
        lead["id"] = leadgen_id
        for name, value in fields.items():
            lead["field_data"].append({"name": name, "values": [value]})
        self.leads[leadgen_id] = lead


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def meta(aws: dict[str, str], graph: FakeGraph) -> dict[str, Any]:
    entry = next(s for s in seed(demo=True).sources if s["kind"] == "meta_lead_ads")
    org = wiring.org_repository()
    source = org.get_source(entry["id"])
    assert source is not None
    settings = {**source.settings, "graph_url": graph.url, "graph_backoff_s": 0.01, "graph_timeout_s": 2}
    org.put_source(source.model_copy(update={"settings": settings}))
    return entry


def signed(meta: dict[str, Any], body: dict[str, Any] | bytes) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": signature_of(raw, meta["app_secret"])}


def notify(meta: dict[str, Any], body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> Any:
    raw, signed_headers = signed(meta, body)
    return send(meta["id"], raw.decode(), key=None, query={"key": meta["key"]}, headers=headers or signed_headers)


def notification(*leadgen_ids: str) -> dict[str, Any]:
    body = fixture("meta_notification.json")
    change = body["entry"][0]["changes"][0]
    body["entry"][0]["changes"] = [
        {**change, "value": {**change["value"], "leadgen_id": leadgen_id}} for leadgen_id in leadgen_ids
    ]
    return body


def test_the_subscription_handshake_echoes_the_challenge_as_text(meta: dict[str, Any]) -> None:
    query = {"key": meta["key"], "hub.mode": "subscribe", "hub.verify_token": meta["verify_token"],
             "hub.challenge": "1158201444"}  # fmt: skip
    status, headers, body = send(meta["id"], None, key=None, method="GET", query=query)
    assert (status, body) == (200, "1158201444") and headers["content-type"].startswith("text/plain")


def test_a_handshake_with_the_wrong_verify_token_is_403_json(meta: dict[str, Any], aws: dict[str, str]) -> None:
    query = {"key": meta["key"], "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    status, _, body = send(meta["id"], None, key=None, method="GET", query=query)
    assert (status, body["error"]) == (403, "invalid_verify_token")
    assert table_items(aws["LEADS_TABLE"], "QUARANTINE#")


def test_a_notification_is_fetched_from_graph_with_the_page_token_and_stored(
    meta: dict[str, Any], graph: FakeGraph
) -> None:
    graph.add("123123123123", budget_range="50-75 lakh")
    status, headers, body = notify(meta, fixture("meta_notification.json"))
    assert status == 200 and body["leads"][0]["outcome"] == "created"
    assert graph.calls == [("123123123123", "demo-page-token")]
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None
    assert (lead.name, lead.phone, lead.email, lead.city) == ("Test Kumar", "+919000000001",
                                                              "test.kumar@example.com", "Pune")  # fmt: skip
    assert lead.external_id == "123123123123" and lead.extra["budget_range"] == "50-75 lakh"
    assert lead.extra["page_id"] == "153125381133"


def test_a_batch_of_changes_gives_one_lead_each_and_one_answer(meta: dict[str, Any], graph: FakeGraph) -> None:
    for leadgen_id, phone in (("1", "+919811100001"), ("2", "+919811100002"), ("3", "+919811100003")):
        graph.add(leadgen_id)
        graph.leads[leadgen_id]["field_data"] = [{"name": "phone_number", "values": [phone]}]
    status, headers, body = notify(meta, notification("1", "2", "3"))
    assert status == 200 and [lead["outcome"] for lead in body["leads"]] == ["created"] * 3
    assert len(set(headers["x-lead-id"].split(","))) == 3


@pytest.mark.parametrize("tamper", ["missing", "wrong", "body_changed"])
def test_a_bad_signature_is_refused_and_kept(meta: dict[str, Any], aws: dict[str, str], tamper: str) -> None:
    raw, headers = signed(meta, fixture("meta_notification.json"))
    if tamper == "missing":
        del headers["X-Hub-Signature-256"]
    elif tamper == "wrong":
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    else:
        raw = raw.replace(b"153125381133", b"999")
    status, _, body = send(meta["id"], raw.decode(), key=None, query={"key": meta["key"]}, headers=headers)
    assert (status, body["error"]) == (
        (401, "missing_signature") if tamper == "missing" else (403, "invalid_signature")
    )
    assert len(table_items(aws["LEADS_TABLE"], "QUARANTINE#")) == 1


def test_the_signature_is_checked_over_the_raw_escaped_unicode_bytes(meta: dict[str, Any], graph: FakeGraph) -> None:
    graph.add("55")
    raw = json.dumps(notification("55") | {"note": "äöå"}, ensure_ascii=True).encode()
    assert b"\\u00e4" in raw
    assert notify(meta, raw)[0] == 200


def test_when_graph_is_down_the_lead_is_parked_then_fetched_by_the_schedule(
    meta: dict[str, Any], graph: FakeGraph, aws: dict[str, str], clock: Any
) -> None:
    # Given Graph answering 503, When Meta notifies
    graph.failing = True
    graph.add("777")
    status, _, body = notify(meta, notification("777"))
    # Then Meta still hears 200 and the lead waits as a pending fetch, retried with backoff
    assert status == 200 and body["pending_fetch"] == ["777"] and body["leads"] == []
    assert len(graph.calls) == 2  # bounded attempts (graph_attempts defaults to 2)
    parked = table_items(aws["LEADS_TABLE"], "PENDING_FETCH#")
    assert len(parked) == 1 and parked[0]["due_pk"]["S"] == "PENDING_FETCH"
    # And Meta's own retry of the same notification is still one pending fetch
    notify(meta, notification("777"))
    assert len(table_items(aws["LEADS_TABLE"], "PENDING_FETCH#")) == 1
    service = wiring.capture_service()
    # When the schedule runs before the retry is due, nothing is fetched
    assert service.retry_pending_fetches()["fetched"] == 0
    # When Graph is still down at the due time, the next try is pushed further out
    clock.advance(minutes=2)
    assert service.retry_pending_fetches() == {"fetched": 0, "still_pending": 1, "refused": 0}
    # When Graph is back and the retry is due, the lead is fetched, stored, and the parking resolved
    graph.failing = False
    clock.advance(minutes=5)
    assert service.retry_pending_fetches()["fetched"] == 1
    item = table_items(aws["LEADS_TABLE"], "PENDING_FETCH#")[0]
    assert "due_pk" not in item and item["outcome"]["S"] == "created"
    lead = wiring.lead_repository().get(item["lead_id"]["S"])
    assert lead is not None and lead.external_id == "777" and lead.phone == "+919000000001"
    assert wiring.lead_repository().raw_requests(lead.lead_id)


def test_a_lead_graph_does_not_know_is_parked_too_never_dropped(meta: dict[str, Any], aws: dict[str, str]) -> None:
    status, _, body = notify(meta, notification("404404"))
    assert status == 200 and body["pending_fetch"] == ["404404"]


def test_a_signed_notification_without_leadgen_changes_is_kept_and_answered_200(
    meta: dict[str, Any], aws: dict[str, str]
) -> None:
    body = {"object": "page", "entry": [{"id": "1", "changes": [{"field": "feed", "value": {}}]}]}
    status, _, answer = notify(meta, body)
    assert status == 200 and answer["status"] == "quarantined" and answer["error"] == "no_leads"
    assert table_items(aws["LEADS_TABLE"], "QUARANTINE#")
