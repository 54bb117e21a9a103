"""Which stream records are domain events, and what leaves for the bus (pure, no AWS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadrelay import definitions
from leadrelay.events.forward import MAX_DETAIL_BYTES, NotAnEvent, entries_for
from leadrelay.local.patterns import matches_any

ROOT = Path(__file__).resolve().parents[2]


def record(event_name: str, image: dict[str, dict[str, str]]) -> dict[str, object]:
    return {"eventName": event_name, "dynamodb": {"NewImage": image, "Keys": {"pk": image["pk"], "sk": image["sk"]}}}


def passes(event_name: str, pk: str, sk: str) -> bool:
    # The events function's mapping also carries the dashboard's records (lead and follow-up items,
    # tests/unit/test_dashboard_aggregates.py); these are the ones it forwards as domain events.
    return matches_any(definitions.EVENT_FILTER_PATTERNS, record(event_name, {"pk": {"S": pk}, "sk": {"S": sk}}))


def test_the_filter_passes_new_timeline_entries_and_quarantined_requests_only() -> None:
    # A timeline entry and a quarantined request are events when they are written
    assert passes("INSERT", "LEAD#01", "TL#2026-11-26T10:00:00.000Z#01E")
    assert passes("INSERT", "QUARANTINE#req-1", "RAW")
    # An erasure rewriting an entry, or TTL removing it, is not an event
    assert not passes("MODIFY", "LEAD#01", "TL#2026-11-26T10:00:00.000Z#01E")
    assert not passes("REMOVE", "LEAD#01", "TL#2026-11-26T10:00:00.000Z#01E")
    # The lead itself, its raw copies and its routing audit are not events
    for sk in ("LEAD", "RAW#2026", "ROUTE#2026", "TOUCH#2026"):
        assert not passes("INSERT", "LEAD#01", sk)


def timeline_item(kind: str, data: dict[str, object] | None = None) -> dict[str, object]:
    return {"pk": "LEAD#L1", "sk": "TL#2026-11-26T10:00:00.000Z#E1", "event_id": "E1", "lead_id": "L1",
            "kind": kind, "at": "2026-11-26T10:00:00.000Z", "actor": "maya", "summary": "x",
            "data": data or {}}  # fmt: skip


def test_a_timeline_entry_becomes_one_event_named_by_its_kind_with_its_id() -> None:
    [entry] = entries_for(timeline_item("followup.missed", {"followup_id": "F1"}), "bus-1")
    assert entry["EventBusName"] == "bus-1" and entry["Source"] == definitions.EVENT_SOURCE
    assert entry["DetailType"] == "followup.missed" and entry["Time"] == "2026-11-26T10:00:00.000Z"
    detail = json.loads(entry["Detail"])
    assert detail == {"event_id": "E1", "timeline_event_id": "E1", "lead_id": "L1", "kind": "followup.missed",
                      "at": "2026-11-26T10:00:00.000Z", "actor": "maya", "data": {"followup_id": "F1"}}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "types"),
    [
        ("lead.touchpoint", ["lead.merged"]),
        ("lead.reopened", ["lead.reopened", "lead.merged"]),
        ("lead.reassigned", ["lead.reassigned", "lead.assigned"]),
        ("lead.assigned", ["lead.assigned"]),
    ],
)
def test_kinds_keep_the_names_they_were_published_under_before(kind: str, types: list[str]) -> None:
    entries = entries_for(timeline_item(kind), "bus")
    assert [e["DetailType"] for e in entries] == types
    ids = [json.loads(e["Detail"])["event_id"] for e in entries]
    assert len(set(ids)) == len(ids) and ids[0] == "E1"


def test_the_person_never_leaves_in_an_event() -> None:
    data = {"source_id": "web", "message": "call Ravi on 98765", "fields": {"name": "Ravi"},
            "nested": [{"email": "r@x.in", "agent_id": "a1"}], "Phone": "+91"}  # fmt: skip
    detail = json.loads(entries_for(timeline_item("lead.touchpoint", data), "bus")[0]["Detail"])
    assert detail["data"] == {"source_id": "web", "nested": [{"agent_id": "a1"}]}
    assert "summary" not in detail


def test_a_huge_entry_still_leaves_with_its_ids() -> None:
    detail = json.loads(entries_for(timeline_item("lead.x", {"blob": "x" * (MAX_DETAIL_BYTES + 1)}), "b")[0]["Detail"])
    assert detail["event_id"] == "E1" and detail["data"] == {"truncated": True}


def test_a_quarantined_request_leaves_as_lead_quarantined_keyed_by_its_request_id() -> None:
    item = {"pk": "QUARANTINE#req-9", "sk": "RAW", "request_id": "req-9", "source_id": "website",
            "error": "malformed_json", "received_at": "2026-11-26T10:00:00.000Z", "body": "{secret"}  # fmt: skip
    [entry] = entries_for(item, "bus")
    assert entry["DetailType"] == "lead.quarantined"
    assert json.loads(entry["Detail"]) == {"event_id": "req-9", "timeline_event_id": "req-9", "request_id": "req-9",
                                           "source_id": "website", "error": "malformed_json",
                                           "at": "2026-11-26T10:00:00.000Z"}  # fmt: skip


def test_anything_else_is_refused_loudly() -> None:
    with pytest.raises(NotAnEvent):
        entries_for({"pk": "LEAD#1", "sk": "LEAD"}, "bus")


def test_no_code_outside_the_events_function_calls_put_events() -> None:
    # Publishing after a commit can lose an event; only the stream consumer may put events.
    callers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("layers/shared/python/leadrelay", "functions")
        for path in (ROOT / folder).rglob("*.py")
        if "put_events" in path.read_text()
    ]
    assert callers == ["layers/shared/python/leadrelay/events/bus.py"]


def test_the_events_function_forwards_exactly_what_the_event_patterns_describe() -> None:
    # It tells events apart by hand (the dashboard's records share its mapping; Lambda has no matcher)
    from events_handler import is_domain_event

    for event_name in ("INSERT", "MODIFY", "REMOVE"):
        for pk, sk in (("LEAD#01", "TL#2026-11-26T10:00:00.000Z#01E"), ("QUARANTINE#req-1", "RAW"),
                       ("LEAD#01", "LEAD"), ("LEAD#01", "RAW#2026"), ("FOLLOWUP#F1", "FOLLOWUP")):  # fmt: skip
            shaped = record(event_name, {"pk": {"S": pk}, "sk": {"S": sk}})
            assert is_domain_event(shaped) == matches_any(definitions.EVENT_FILTER_PATTERNS, shaped), (event_name, sk)
