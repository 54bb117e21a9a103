"""A warm ingest keeps its sources (capture/source_cache.py): one DynamoDB call per new lead, and
still "a rotated key or a disabled source is refused from the very next request" (store/org.py).

On moto in-process, through the ingest handler and the API, the way a Lambda container keeps them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.capture.source_cache import SourceCache
from leadrelay.local.demo import seed
from leadrelay.models import Source
from leadrelay.store.dynamo import client
from tests.integration.flow import Flow

_phones = itertools.count(9_800_000_000)


def a_lead(**fields: Any) -> dict[str, Any]:
    return {"name": "Asha", "phone": str(next(_phones)), **fields}


class Calls:
    """Every DynamoDB call the process makes, by operation (a botocore before-call hook)."""

    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()

    def __call__(self, model: Any = None, **_: Any) -> None:
        self.operations[model.name] += 1

    def reset(self) -> Counter[str]:
        seen, self.operations = self.operations, Counter()
        return seen


@pytest.fixture
def key(aws: dict[str, str]) -> str:
    return {s["id"]: s for s in seed(demo=True).sources}["website"]["key"]


@pytest.fixture
def flow(aws: dict[str, str], key: str) -> Flow:
    return Flow(aws["LEADS_TABLE"])


@pytest.fixture
def calls(aws: dict[str, str]) -> Iterator[Calls]:
    counter = Calls()
    client().meta.events.register("before-call.dynamodb", counter, unique_id="test-source-cache-calls")
    yield counter
    client().meta.events.unregister("before-call.dynamodb", unique_id="test-source-cache-calls")


def quarantined(table: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("QUARANTINE#")]


def test_a_steady_stream_of_new_leads_costs_one_dynamodb_call_per_lead_after_the_first(
    flow: Flow, key: str, calls: Calls
) -> None:
    # Given a warm ingest that has taken one lead from the website source
    assert flow.post("website", a_lead(), key)[0] == 202
    first = calls.reset()
    assert first == {"GetItem": 1, "TransactWriteItems": 1}
    # When twenty more new leads arrive
    for _ in range(20):
        status, body = flow.post("website", a_lead(), key)
        assert (status, body["outcome"]) == (202, "created")
    # Then each cost exactly one call: the capture transaction, which checks the source's revision
    assert calls.reset() == {"TransactWriteItems": 20}
    leads, _ = wiring.lead_repository().list_leads(source_id="website", limit=50)
    assert len(leads) == 21


def test_a_rotated_key_is_refused_on_the_very_next_request_and_the_new_key_accepted(
    flow: Flow, key: str, calls: Calls
) -> None:
    # Given a warm ingest that keeps the website source
    assert flow.post("website", a_lead(), key)[0] == 202
    # When an admin rotates the key through the API
    status, rotated = flow.call("POST", "/sources/website/rotate-key")
    assert status == 200
    calls.reset()
    # Then the very next request with the old key is refused: its guarded write was cancelled
    # (nothing written), the source read again, and the capture decided again with it
    status, body = flow.post("website", a_lead(), key)
    assert (status, body["error"]) == (403, "invalid_key")
    assert calls.reset() == {"TransactWriteItems": 1, "GetItem": 1}
    leads, _ = wiring.lead_repository().list_leads(source_id="website", limit=50)
    assert len(leads) == 1
    # And the very next request with the new key is accepted with one call (the source is current)
    calls.reset()
    status, body = flow.post("website", a_lead(), rotated["key"])
    assert (status, body["outcome"]) == (202, "created")
    assert calls.reset() == {"TransactWriteItems": 1}


def test_a_new_key_is_accepted_on_the_next_request_while_the_container_still_holds_the_old_source(
    flow: Flow, key: str
) -> None:
    # Given a warm ingest whose cached source still has the old key
    assert flow.post("website", a_lead(), key)[0] == 202
    # When the key is rotated and the new key arrives first
    new_key = flow.call("POST", "/sources/website/rotate-key")[1]["key"]
    status, body = flow.post("website", a_lead(), new_key)
    # Then it is accepted (the refusal was confirmed against the source as it is now, and decided again)
    assert (status, body["outcome"]) == (202, "created")
    # And the old key is refused from then on
    assert flow.post("website", a_lead(), key)[0] == 403


def test_a_disabled_source_refuses_the_next_request_and_keeps_its_payload_in_quarantine(
    flow: Flow, key: str, aws: dict[str, str], calls: Calls
) -> None:
    # Given a warm ingest that keeps the website source
    assert flow.post("website", a_lead(), key)[0] == 202
    # When an admin switches the source off
    status, _ = flow.call("PATCH", "/sources/website", body={"active": False})
    assert status == 200
    calls.reset()
    # Then the very next request is refused, and nothing was written but its quarantined copy
    lead = a_lead(name="Ravi Disabled")
    status, body = flow.post("website", lead, key)
    assert (status, body["error"]) == (403, "source_disabled")
    seen = calls.reset()
    assert seen["GetItem"] == 1 and seen["TransactWriteItems"] == 1  # the guarded attempt, cancelled
    kept = [q for q in quarantined(aws["LEADS_TABLE"]) if q.get("error", {}).get("S") == "source_disabled"]
    assert len(kept) == 1 and "Ravi Disabled" in kept[0]["body"]["S"]
    leads, _ = wiring.lead_repository().list_leads(source_id="website", limit=50)
    assert len(leads) == 1


def test_a_field_mapping_change_applies_on_the_next_request(flow: Flow, key: str) -> None:
    # Given a warm ingest that keeps the website source, which knows nothing of "mob"
    assert flow.post("website", a_lead(), key)[0] == 202
    # When an admin maps the provider's "mob" and "cust_nm" fields
    mapping = {"mob": "phone", "cust_nm": "name"}
    assert flow.call("PATCH", "/sources/website", body={"settings": {"field_mapping": mapping}})[0] == 200
    # Then the very next request is read with the new mapping
    status, body = flow.post("website", {"cust_nm": "Meera Mapped", "mob": "9822233344"}, key)
    assert status == 202, body
    _, lead = flow.get(f"/leads/{body['lead_id']}")
    assert (lead["name"], lead["phone"]) == ("Meera Mapped", "+919822233344")


def test_a_source_changed_after_the_cached_read_is_read_again_exactly_once(flow: Flow, key: str, calls: Calls) -> None:
    # Given a warm ingest holding the website source at its current revision
    assert flow.post("website", a_lead(), key)[0] == 202
    org = wiring.org_repository()
    before = org.get_source("website")
    assert before is not None and before.revision >= 1
    # When the source changes behind the container's back (another container's API call) in a
    # way the cached copy cannot see: a tag added
    org.update_source("website", {"tags": ["branch-pune"]})
    calls.reset()
    status, body = flow.post("website", a_lead(), key)
    # Then the guarded write failed, the source was read once, and the capture ran again with it
    assert (status, body["outcome"]) == (202, "created")
    assert calls.reset() == {"TransactWriteItems": 2, "GetItem": 1}
    _, lead = flow.get(f"/leads/{body['lead_id']}")
    assert "branch-pune" in lead["tags"]
    # And the next lead costs one call again
    calls.reset()
    assert flow.post("website", a_lead(), key)[0] == 202
    assert calls.reset() == {"TransactWriteItems": 1}


def test_a_duplicate_decided_on_a_cached_copy_is_confirmed_first(flow: Flow, key: str, calls: Calls) -> None:
    # Given a lead already taken through a warm ingest
    lead = a_lead()
    assert flow.post("website", lead, key)[0] == 202
    calls.reset()
    # When the very same request is sent again
    status, body = flow.post("website", lead, key)
    # Then it is a duplicate, decided after confirming the source (the cost of today's path)
    assert (status, body["outcome"]) == (202, "duplicate")
    seen = calls.reset()
    assert seen["GetItem"] == 1 and seen["PutItem"] == 1


def test_the_same_person_again_is_a_touchpoint_written_under_the_guard(flow: Flow, key: str, calls: Calls) -> None:
    # Given a lead from a phone number
    lead = a_lead()
    assert flow.post("website", lead, key)[0] == 202
    calls.reset()
    # When the same person enquires again with a new message
    status, body = flow.post("website", {**lead, "message": "again"}, key)
    # Then it is a touchpoint, written with the source's condition and no read of the source
    assert (status, body["outcome"]) == (202, "merged")
    assert calls.reset() == {"TransactWriteItems": 2}


def test_a_put_source_moves_the_revision_so_a_cached_copy_never_passes_the_guard(flow: Flow, key: str) -> None:
    # Given a source written whole (the demo seed, an operator's script) and cached by a warm ingest
    assert flow.post("website", a_lead(), key)[0] == 202
    org = wiring.org_repository()
    source = org.get_source("website")
    assert source is not None
    # When it is written whole again with a change
    org.put_source(source.model_copy(update={"name": "Website (renamed)", "revision": 0}))
    # Then its revision moved, and the next lead is captured with the renamed source
    after = org.get_source("website")
    assert after is not None and after.revision == source.revision + 1 and after.name == "Website (renamed)"
    status, body = flow.post("website", a_lead(), key)
    assert status == 202
    timeline = wiring.lead_repository().timeline(body["lead_id"])
    assert "Website (renamed)" in timeline[0].summary


def test_a_source_written_before_revisions_existed_is_guarded_as_revision_zero(
    flow: Flow, key: str, aws: dict[str, str], calls: Calls
) -> None:
    # Given a source item without a revision attribute (written by an older release)
    ddb = boto3.client("dynamodb")
    ddb.update_item(TableName=aws["ORG_TABLE"], Key={"pk": {"S": "SOURCES"}, "sk": {"S": "website"}},
                    UpdateExpression="REMOVE revision")  # fmt: skip
    assert flow.post("website", a_lead(), key)[0] == 202
    calls.reset()
    # When more leads arrive, then they cost one call each
    assert flow.post("website", a_lead(), key)[0] == 202
    assert calls.reset() == {"TransactWriteItems": 1}
    # And when it is disabled, the next request is refused
    wiring.org_repository().update_source("website", {"active": False})
    assert flow.post("website", a_lead(), key)[0] == 403


def test_the_cache_is_bounded_and_forgets_entries_after_their_time() -> None:
    # Given a cache of two entries living 300 s, on a clock the test moves
    now = [0.0]
    cache = SourceCache(size=2, ttl_s=300.0, clock=lambda: now[0])

    def source(source_id: str) -> Source:
        return Source(source_id=source_id, name=source_id, key_hash="-")

    cache.put("t", source("a"))
    cache.put("t", source("b"))
    # When a third is added after "a" was used again, then the least recently used one goes
    assert cache.get("t", "a") is not None
    cache.put("t", source("c"))
    assert cache.get("t", "b") is None and cache.get("t", "a") is not None and len(cache) == 2
    # And an entry is forgotten when its time is up, and it belongs to its table only
    now[0] = 299.9
    assert cache.get("t", "c") is not None and cache.get("other", "c") is None
    now[0] = 300.0
    assert cache.get("t", "c") is None


def test_a_source_removed_behind_a_warm_container_is_unknown_on_the_next_request(
    flow: Flow, key: str, aws: dict[str, str]
) -> None:
    # Given a warm ingest holding the website source
    assert flow.post("website", a_lead(), key)[0] == 202
    # When the source item is removed from the table (an operator's clean-up; the API has no DELETE)
    boto3.client("dynamodb").delete_item(TableName=aws["ORG_TABLE"],
                                         Key={"pk": {"S": "SOURCES"}, "sk": {"S": "website"}})  # fmt: skip
    # Then the next request is answered as for a source that does not exist, and nothing is stored
    status, body = flow.post("website", a_lead(), key)
    assert (status, body["error"]) == (404, "unknown_source")
    leads, _ = wiring.lead_repository().list_leads(source_id="website", limit=50)
    assert len(leads) == 1


def _names_the_source(request: dict[str, Any]) -> bool:
    return any("ConditionCheck" in item for item in request.get("TransactItems", []))


def _source_item_busy(operation: str, request: dict[str, Any]) -> Exception:
    """TransactionCanceledException with TransactionConflict on the last item: the source's
    ConditionCheck, which overlapping captures of one source all name."""
    from botocore.exceptions import ClientError

    items = request["TransactItems"]
    reasons = [{"Code": "None"} for _ in items[:-1]] + [{"Code": "TransactionConflict"}]
    return ClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
         "CancellationReasons": reasons, "ResponseMetadata": {"HTTPStatusCode": 400}},
        operation,
    )  # fmt: skip


def test_a_source_item_too_busy_for_the_guard_degrades_to_a_fresh_read_and_an_unguarded_write(
    flow: Flow, key: str, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadrelay.store import transactions
    from tests.integration.faults import Faults

    monkeypatch.setattr(transactions, "_sleep", lambda _: None)
    # Given a warm ingest keeping the website source
    assert flow.post("website", a_lead(), key)[0] == 202
    calls.reset()
    with Faults(client()) as faults:
        # When DynamoDB reports the source item in another transaction on every guarded attempt
        faults.fail("TransactWriteItems", _source_item_busy, when=_names_the_source)
        status, body = flow.post("website", a_lead(), key)
    # Then after run_transaction's four tries the lead is still stored, not refused with 503:
    # the source read afresh, and the capture written without the guard (no shared item)
    assert (status, body["outcome"]) == (202, "created")
    assert faults.raised["TransactWriteItems"] == 4 and faults.calls["TransactWriteItems"] == 5
    assert calls.reset() == {"TransactWriteItems": 1, "GetItem": 1}  # (the hook sees the calls sent)
    leads, _ = wiring.lead_repository().list_leads(source_id="website", limit=50)
    assert len(leads) == 2
    # And the next webhook, the burst over, is one guarded call again
    calls.reset()
    assert flow.post("website", a_lead(), key)[0] == 202
    assert calls.reset() == {"TransactWriteItems": 1}
