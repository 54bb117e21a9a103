"""The ingest handler on moto: auth, bodies, errors, dedupe — and nothing lost after auth."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from tests.helpers import LambdaContext, hook_event
from tests.integration.flow import Flow


@pytest.fixture
def key(aws: dict[str, str]) -> str:
    return {s["id"]: s for s in seed(demo=True).sources}["website"]["key"]


@pytest.fixture
def flow(aws: dict[str, str], key: str) -> Flow:
    return Flow(aws["LEADS_TABLE"])


def quarantined(table: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("QUARANTINE#")]


@pytest.mark.parametrize(
    ("source", "use_key", "status", "code"),
    [("website", None, 401, "missing_key"), ("website", "wrong-key", 403, "invalid_key"),
     ("nowhere", "k", 404, "unknown_source")],
)  # fmt: skip
def test_requests_without_the_right_key_are_refused_with_a_json_reason(
    flow: Flow, source: str, use_key: str | None, status: int, code: str
) -> None:
    got, body = flow.post(source, {"phone": "9876543210"}, use_key)
    assert (got, body["error"]) == (status, code)
    assert body["message"]


def test_the_key_may_come_in_the_query_string_for_providers_that_cannot_set_headers(flow: Flow, key: str) -> None:
    status, body = flow.post("website", {"phone": "9876543210"}, None, query={"key": key})
    assert status == 202 and body["outcome"] == "created"


def test_form_encoded_bodies_are_accepted_and_unknown_fields_kept_as_extra(flow: Flow, key: str) -> None:
    status, body = flow.post("website", {"name": "Asha", "mobile": "+91 98111 22233", "site_visit": "Sunday",
                                         "utm_campaign": "diwali"}, key, form=True)  # fmt: skip
    assert status == 202
    _, lead = flow.get(f"/leads/{body['lead_id']}")
    assert lead["phone"] == "+919811122233" and lead["extra"] == {"site_visit": "Sunday"}
    assert lead["attribution"] == {"utm_campaign": "diwali"}


def test_a_get_with_query_fields_is_a_lead_too(flow: Flow, key: str) -> None:
    event = hook_event("website", None, method="GET", query={"key": key, "name": "Query Lead", "phone": "9811100000"})
    import ingest_handler

    response = ingest_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 202


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ("{not json", {"Content-Type": "application/json"}, 400, "malformed_json"),
        ('["a", "list"]', {"Content-Type": "application/json"}, 422, "invalid_body"),
        ("<lead/>", {"Content-Type": "application/xml"}, 415, "unsupported_media_type"),
        ('{"name": "No Contact"}', {"Content-Type": "application/json"}, 422, "missing_contact"),
        ('{"phone": "12345"}', {"Content-Type": "application/json"}, 422, "invalid_contact"),
        ("", {"Content-Type": "application/json"}, 400, "empty_body"),
    ],
)
def test_bad_input_gets_a_clear_error_and_the_raw_request_is_kept_in_quarantine(
    flow: Flow, key: str, aws: dict[str, str], body: str, headers: dict[str, str], status: int, code: str
) -> None:
    got, answer = flow.post("website", body, key, headers=headers)
    assert (got, answer["error"]) == (status, code)
    assert answer["message"] and answer["request_id"]
    kept = quarantined(aws["LEADS_TABLE"])
    assert len(kept) == 1
    assert kept[0]["body"]["S"] == body and kept[0]["error"]["S"] == code
    assert kept[0]["headers"]["M"]["x-api-key"]["S"] == "***"


def test_an_oversized_body_is_refused_with_413_and_kept(flow: Flow, key: str, aws: dict[str, str]) -> None:
    body = json.dumps({"phone": "9876543210", "message": "x" * 300_000})
    got, answer = flow.post("website", body, key, headers={"Content-Type": "application/json"})
    assert (got, answer["error"]) == (413, "payload_too_large")
    assert quarantined(aws["LEADS_TABLE"])


def test_the_same_external_id_again_is_a_duplicate_of_the_first_lead(flow: Flow, key: str) -> None:
    first = flow.post("website", {"phone": "9876543210", "external_id": "crm-1"}, key)[1]
    again = flow.post("website", {"phone": "9876543210", "external_id": "crm-1", "name": "retry"}, key)[1]
    assert first["outcome"] == "created"
    assert again == {"lead_id": first["lead_id"], "outcome": "duplicate"}


def test_a_provider_retry_of_the_identical_body_is_a_duplicate(flow: Flow, key: str) -> None:
    body = {"phone": "9876543210", "name": "Same Body"}
    first = flow.post("website", body, key)[1]
    assert flow.post("website", body, key)[1] == {"lead_id": first["lead_id"], "outcome": "duplicate"}


def test_the_same_person_from_another_form_is_merged_as_a_touchpoint(flow: Flow, key: str) -> None:
    first = flow.post("website", {"phone": "9876543210", "utm_source": "google"}, key)[1]
    second = flow.post("website", {"phone": "+91 98765 43210", "email": "r@x.in", "utm_source": "facebook"}, key)[1]
    assert second == {"lead_id": first["lead_id"], "outcome": "merged"}
    _, lead = flow.get(f"/leads/{first['lead_id']}")
    assert lead["touch_count"] == 2
    _, timeline = flow.get(f"/leads/{first['lead_id']}/timeline")
    assert [e["kind"] for e in timeline["items"]] == ["lead.created", "lead.touchpoint"]
    assert timeline["items"][1]["data"]["attribution"] == {"utm_source": "facebook"}


def test_a_bad_phone_with_a_good_email_is_kept_with_a_warning(flow: Flow, key: str) -> None:
    status, body = flow.post("website", {"phone": "12", "email": "Asha@Example.com"}, key)
    assert status == 202 and body["warnings"]
    _, lead = flow.get(f"/leads/{body['lead_id']}")
    assert lead["email"] == "asha@example.com" and lead["phone"] is None and lead["extra"]["phone_raw"] == "12"


def test_every_accepted_request_keeps_its_raw_copy_beside_the_lead(flow: Flow, key: str) -> None:
    body = flow.post("website", {"phone": "9876543210", "external_id": "x1"}, key)[1]
    flow.post("website", {"phone": "9876543210", "external_id": "x1"}, key)
    raws = wiring.lead_repository().raw_requests(body["lead_id"])
    assert [r["outcome"] for r in raws] == ["created", "duplicate"]


def test_utm_tags_on_the_webhook_url_are_kept_when_the_body_has_none(flow: Flow, key: str) -> None:
    status, body = flow.post("website", {"phone": "9876543210", "utm_medium": "cpc"}, key,
                             query={"key": key, "utm_source": "google", "utm_medium": "ignored"})  # fmt: skip
    assert status == 202
    _, lead = flow.get(f"/leads/{body['lead_id']}")
    assert lead["attribution"] == {"utm_source": "google", "utm_medium": "cpc"}
