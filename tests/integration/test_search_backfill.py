"""The search backfill on moto: leads stored before the search index existed get their search
items from `POST /search/reindex` (and `leadrelay search reindex`), in bounded slices with a
resumable cursor, idempotently, without touching leads already indexed, and without a Scan."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from leadrelay.clock import get_clock
from leadrelay.store.search import SearchBackfill
from tests.integration.flow import Flow


@pytest.fixture
def writes(aws: dict[str, str]) -> Iterator[list[str]]:
    """The DynamoDB operations the test makes from here on; a Scan fails it."""
    from leadrelay.store.dynamo import client

    calls: list[str] = []

    def record(event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation == "Scan":
            raise AssertionError("the backfill reads the by_received index, never a Scan")
        calls.append(operation)

    events = client().meta.events
    events.register("before-call.dynamodb", record)
    yield calls
    events.unregister("before-call.dynamodb", record)


def _lead(flow: Flow, demo: dict[str, Any], **fields: Any) -> str:
    get_clock().advance(minutes=1)  # type: ignore[attr-defined]
    status, answer = flow.post("website", fields, demo["website"]["key"])
    assert status == 202, answer
    return str(answer["lead_id"])


def _search_items(aws: dict[str, str], lead_id: str) -> set[str]:
    items = boto3.client("dynamodb").query(
        TableName=aws["LEADS_TABLE"], KeyConditionExpression="pk = :pk AND begins_with(sk, :search)",
        ExpressionAttributeValues={":pk": {"S": f"LEAD#{lead_id}"}, ":search": {"S": "SEARCH#"}},
    )["Items"]  # fmt: skip
    return {item["sk"]["S"] for item in items}


def _forget(aws: dict[str, str], lead_id: str, keep: str = "") -> set[str]:
    """Delete a lead's search items (but those starting `keep`), as before the index existed."""
    gone = {sk for sk in _search_items(aws, lead_id) if not (keep and sk.startswith(keep))}
    for sk in gone:
        boto3.client("dynamodb").delete_item(TableName=aws["LEADS_TABLE"],
                                             Key={"pk": {"S": f"LEAD#{lead_id}"}, "sk": {"S": sk}})  # fmt: skip
    return gone


def _found(flow: Flow, q: str) -> list[str]:
    status, page = flow.get("/leads", query={"q": q})
    assert status == 200, page
    return [item["lead_id"] for item in page["items"]]


def _reindex_all(flow: Flow, max_leads: int) -> tuple[dict[str, int], int]:
    totals = {"leads": 0, "indexed": 0, "items": 0, "changed": 0}
    body: dict[str, Any] = {"max_leads": max_leads}
    calls = 0
    while True:
        status, answer = flow.call("POST", "/search/reindex", body=body)
        assert status == 200, answer
        calls += 1
        assert answer["leads"] <= max_leads
        for name in totals:
            totals[name] += answer[name]
        if answer["next"] is None:
            return totals, calls
        body["cursor"] = answer["next"]


def test_old_leads_become_findable_in_bounded_resumable_slices(
    flow: Flow, demo: dict[str, Any], aws: dict[str, str], writes: list[str]
) -> None:
    # Given three leads: one stored before the index existed, one that lost only its name terms,
    # and one indexed as usual
    old = _lead(flow, demo, name="Kavya Iyer", phone="9876511001", email="kavya@example.in")
    half = _lead(flow, demo, name="आशा वर्मा", phone="9876511002")
    indexed = _lead(flow, demo, name="Ravi Kumar", phone="9876511003")
    forgotten = _forget(aws, old) | _forget(aws, half, keep="SEARCH#PHONE")
    before = _search_items(aws, indexed)
    assert _found(flow, "kavya") == [] and _found(flow, "98765 11001") == [] and _found(flow, "आशा") == []
    # When the backfill runs two leads at a time, each call continuing from the last one's cursor
    totals, calls = _reindex_all(flow, max_leads=2)
    # Then every lead was read once over several calls, and only the missing items were written
    assert calls == 2 and totals == {"leads": 3, "indexed": 2, "items": len(forgotten), "changed": 0}
    assert "Scan" not in writes
    # And the old leads are found by phone, email and name; the indexed one is untouched
    assert _found(flow, "+91-98765-11001") == [old] and _found(flow, "kavya@example.in") == [old]
    assert _found(flow, "kav iy") == [old] and _found(flow, "आशा") == [half]
    assert _search_items(aws, indexed) == before
    # When it runs again, it writes nothing at all
    writes.clear()
    again, _ = _reindex_all(flow, max_leads=500)
    assert again == {"leads": 3, "indexed": 0, "items": 0, "changed": 0}
    assert not {"PutItem", "TransactWriteItems", "BatchWriteItem", "UpdateItem"} & set(writes)


def test_a_lead_edited_meanwhile_keeps_only_its_new_terms(
    flow: Flow, demo: dict[str, Any], aws: dict[str, str]
) -> None:
    # Given an old lead the backfill has read (as it stood then)
    lead_id = _lead(flow, demo, name="Meena Pillai", phone="9876511004")
    _forget(aws, lead_id)
    read = flow.get(f"/leads/{lead_id}")[1]
    # When someone renames it before the backfill writes (the edit writes the new name's terms)
    status, patched = flow.call(
        "PATCH", f"/leads/{lead_id}", body={"name": "Meenakshi Rao", "version": read["version"]}
    )
    assert status == 200, patched
    from leadrelay import wiring

    stale = wiring.lead_repository().get(lead_id, consistent=True)
    assert stale is not None
    stale = stale.model_copy(update={"name": "Meena Pillai", "version": read["version"]})
    backfill = SearchBackfill(aws["LEADS_TABLE"])
    from leadrelay.store.search import Reindexed

    done = Reindexed()
    backfill._index([stale], done)
    # Then the backfill skips it: the old name is not resurrected, the new one is found
    assert (done.changed, done.items) == (1, 0)
    assert _found(flow, "meena pil") == []
    assert _found(flow, "meenakshi") == [lead_id]


def test_only_admins_run_the_backfill_and_a_bad_cursor_is_a_400(flow: Flow) -> None:
    assert flow.call("POST", "/search/reindex", role="agent", body={}, agent_id="anjali")[0] == 403
    assert flow.call("POST", "/search/reindex", role="manager", body={}, team_id="ncr")[0] == 403
    status, answer = flow.call("POST", "/search/reindex", body={"cursor": "not-a-cursor"})
    assert status == 400 and answer["error"] == "invalid_cursor"
    assert flow.call("POST", "/search/reindex", body={"max_leads": 0})[0] == 422


def test_the_cli_calls_until_every_lead_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadrelay.local import search_cli

    answers = iter([(200, {"leads": 500, "indexed": 3, "items": 7, "changed": 0, "next": "c1"}),
                    (200, {"leads": 20, "indexed": 1, "items": 2, "changed": 1, "next": None})])  # fmt: skip
    bodies: list[dict[str, Any]] = []
    monkeypatch.setattr(search_cli, "stack_access", lambda state_dir: ("http://api", "token"))
    monkeypatch.setattr(search_cli, "api_call", lambda url, token, method, path, body, timeout: (
        bodies.append(dict(body)) or next(answers)))  # fmt: skip
    out = io.StringIO()
    assert search_cli.run_reindex(argparse.Namespace(batch=500, state_dir=".leadrelay"), out=out) == 0
    assert bodies == [{"max_leads": 500}, {"max_leads": 500, "cursor": "c1"}]
    assert out.getvalue().splitlines()[-1] == "read 520 leads: 4 lacked search items and got 9; 1 changed meanwhile"
