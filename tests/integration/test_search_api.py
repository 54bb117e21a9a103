"""GET /leads?q=: a lead found by a phone typed any Indian way, by email, by the start of a name in
any script, combined with the list filters and cursor paging, through an index (never a Scan)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from leadrelay.clock import get_clock
from tests.integration.flow import Flow


@pytest.fixture
def no_scans(aws: dict[str, str]) -> Iterator[list[str]]:
    """Every DynamoDB Scan in the test fails it (search must read indexes only)."""
    from leadrelay.store.dynamo import client

    calls: list[str] = []

    def refuse(**_: Any) -> None:
        calls.append("Scan")
        raise AssertionError("search must not scan the table")

    events = client().meta.events
    events.register("before-call.dynamodb.Scan", refuse)
    yield calls
    events.unregister("before-call.dynamodb.Scan", refuse)


def _lead(flow: Flow, demo: dict[str, Any], **fields: Any) -> str:
    get_clock().advance(minutes=1)  # type: ignore[attr-defined]
    status, answer = flow.post("website", fields, demo["website"]["key"])
    assert status == 202, answer
    return str(answer["lead_id"])


def _found(flow: Flow, q: str, role: str = "admin", who: dict[str, str] | None = None, **query: str) -> list[str]:
    status, body = flow.get("/leads", role=role, query={"q": q, **query}, **(who or {}))
    assert status == 200, body
    return [item["lead_id"] for item in body["items"]]


@pytest.mark.parametrize("typed", ["98765 43210", "+91-98765-43210", "098765 43210", "9876543210", "+919876543210",
                                   "(+91) 98765-43210", "91 98765 43210"])  # fmt: skip
def test_a_phone_typed_any_indian_way_finds_the_lead(flow: Flow, demo: dict[str, Any], typed: str,
                                                     no_scans: list[str]) -> None:  # fmt: skip
    # Given a lead whose phone came in one way, and another person
    wanted = _lead(flow, demo, name="Asha Verma", phone="9876543210")
    _lead(flow, demo, name="Ravi", phone="9876500000")
    # When someone types the number their way, then they find that lead only
    assert _found(flow, typed) == [wanted]
    assert no_scans == []


def test_an_email_finds_the_lead_whatever_its_case(flow: Flow, demo: dict[str, Any]) -> None:
    wanted = _lead(flow, demo, name="Asha", email="Asha.Verma@Example.com")
    _lead(flow, demo, name="Ravi", email="ravi@example.com")
    assert _found(flow, "asha.verma@example.COM") == [wanted]


def test_a_name_prefix_in_any_script_finds_the_lead(flow: Flow, demo: dict[str, Any], no_scans: list[str]) -> None:
    # Given leads named in Devanagari, Tamil, Latin with accents, and mixed
    hindi = _lead(flow, demo, name="आशा वर्मा", phone="9876500001")
    tamil = _lead(flow, demo, name="ஆஷா ராமன்", phone="9876500002")
    latin = _lead(flow, demo, name="José Fernandes", phone="9876500003")
    mixed = _lead(flow, demo, name="Priya शर्मा", phone="9876500004")
    # Then the start of any word of the name, as typed, finds each one
    assert _found(flow, "आशा") == [hindi]
    assert _found(flow, "वर्") == [hindi]
    assert _found(flow, "ஆஷா") == [tamil]
    assert _found(flow, "ராம") == [tamil]
    assert _found(flow, "jose") == [latin] and _found(flow, "FERN") == [latin]
    assert _found(flow, "शर्मा") == [mixed] and _found(flow, "pri") == [mixed]
    # And several words must each start a word of the name
    assert _found(flow, "jos fer") == [latin] and _found(flow, "jos ram") == []
    assert no_scans == []


def test_search_combines_with_the_filters_and_pages_with_a_cursor(flow: Flow, demo: dict[str, Any]) -> None:
    # Given five leads named Sunita, two of them tagged expo, all received over five minutes
    start = get_clock().now()
    ids = [_lead(flow, demo, name=f"Sunita {i}", phone=f"98765001{i:02d}", tags="expo" if i < 2 else "")
           for i in range(5)]  # fmt: skip
    # Then a tag filter narrows the search
    assert sorted(_found(flow, "sunita", tag="expo")) == sorted(ids[:2])
    # And a received range does too (half-open: [from, to))
    later = _found(flow, "sunita", received_from=(start + timedelta(minutes=3)).isoformat())
    assert sorted(later) == sorted(ids[2:])
    # And pages of two walk through all five, once each
    seen: list[str] = []
    cursor = None
    while True:
        query = {"q": "sunita", "limit": "2", **({"cursor": cursor} if cursor else {})}
        body = flow.get("/leads", query=query)[1]
        seen += [item["lead_id"] for item in body["items"]]
        cursor = body["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5


def test_search_keeps_each_role_in_its_scope(flow: Flow, demo: dict[str, Any]) -> None:
    lead = _lead(flow, demo, name="Kavya", phone="9876500777")
    flow.run_router()
    owner = flow.get(f"/leads/{lead}")[1]["assigned_agent_id"]
    assert _found(flow, "kavya", role="agent", who={"agent_id": owner}) == [lead]
    assert _found(flow, "kavya", role="agent", who={"agent_id": "nobody"}) == []


def test_a_renamed_lead_is_found_by_its_new_name_and_not_its_old_one(flow: Flow, demo: dict[str, Any]) -> None:
    lead = _lead(flow, demo, name="Aasha", phone="9876500888")
    assert flow.call("PATCH", f"/leads/{lead}", body={"name": "आशा देवी"})[0] == 200
    assert _found(flow, "aasha") == [] and _found(flow, "देवी") == [lead]


def test_an_unsearchable_q_is_a_422(flow: Flow) -> None:
    status, body = flow.get("/leads", query={"q": "a"})
    assert status == 422 and body["error"] == "invalid_query"
    status, body = flow.get("/leads", query={"q": "12345678901234567890"})
    assert status == 422 and body["error"] == "invalid_query"


def test_the_list_filters_by_tag_team_and_received_range_without_q(flow: Flow, demo: dict[str, Any]) -> None:
    start = get_clock().now()
    tagged = _lead(flow, demo, phone="9876500901", tags="expo")
    untagged = _lead(flow, demo, phone="9876500902")
    items = flow.get("/leads", query={"tag": "expo"})[1]["items"]
    assert [item["lead_id"] for item in items] == [tagged]
    cut = (start + timedelta(seconds=90)).isoformat()
    assert [i["lead_id"] for i in flow.get("/leads", query={"received_from": cut})[1]["items"]] == [untagged]
    assert [i["lead_id"] for i in flow.get("/leads", query={"received_to": cut})[1]["items"]] == [tagged]
    status, body = flow.get("/leads", query={"received_from": "2026-11-23T00:00:00"})
    assert status == 422 and "time zone" in body["message"]
    flow.run_router()
    team = flow.get(f"/leads/{tagged}")[1]["assigned_team_id"]
    assert tagged in [i["lead_id"] for i in flow.get("/leads", query={"team_id": team})[1]["items"]]
