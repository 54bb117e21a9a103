"""Google Ads lead form webhooks: google_key, user_column_data by column_id, test leads, 200."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from leadrelay.models import RoutingState
from tests.integration.flow import Flow
from tests.integration.hooks import fixture, send, table_items


@pytest.fixture
def google(aws: dict[str, str]) -> dict[str, Any]:
    return next(s for s in seed(demo=True).sources if s["kind"] == "google_ads")


def payload(google: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = fixture("google_ads.json")
    body["google_key"] = google["google_key"]
    body.update(changes)
    return body


def test_the_reference_sample_becomes_a_lead_with_a_200_and_the_lead_id_header(google: dict[str, Any]) -> None:
    # Given Google's sample lead with the form's key, When it is pushed
    status, headers, body = send("google-ads", payload(google), key=google["key"])
    # Then Google hears 200, the lead id is in X-Lead-Id, and the lead carries every column
    assert status == 200 and body["leads"][0]["outcome"] == "created"
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None
    assert (lead.name, lead.phone, lead.email, lead.city, lead.pincode) == (
        "Test Sharma", "+919000000002", "test.sharma@example.com", "Jaipur", "302001"
    )  # fmt: skip
    assert lead.external_id == "TeSter-123-abc" and lead.attribution.gclid == "Cj0KCQ-test"
    # int64 ids are kept as strings, digit for digit, in the attribution the reports group by
    assert lead.attribution.campaign_id == "9876543210" and lead.attribution.form_id == "1234567890"
    assert (lead.attribution.adgroup_id, lead.attribution.creative_id) == ("1122334455", "5566778899")
    assert "campaign_id" not in lead.extra
    assert lead.routing_state is RoutingState.PENDING and not lead.test


@pytest.mark.parametrize(("google_key", "status", "code"), [(None, 401, "missing_google_key"),
                                                            ("wrong", 403, "invalid_google_key")])  # fmt: skip
def test_a_missing_or_wrong_google_key_is_refused_and_the_request_kept_in_quarantine(
    google: dict[str, Any], aws: dict[str, str], google_key: str | None, status: int, code: str
) -> None:
    body = payload(google)
    del body["google_key"]
    if google_key:
        body["google_key"] = google_key
    got, _, answer = send("google-ads", body, key=google["key"])
    assert (got, answer["error"]) == (status, code)
    kept = table_items(aws["LEADS_TABLE"], "QUARANTINE#")
    assert [k["error"]["S"] for k in kept] == [code]
    assert not table_items(aws["LEADS_TABLE"], "LEAD#")


def test_the_capitalised_google_key_of_googles_own_samples_is_accepted(google: dict[str, Any]) -> None:
    body = payload(google)
    body["Google_key"] = body.pop("google_key")
    assert send("google-ads", body, key=google["key"])[0] == 200


def test_first_and_last_name_work_fields_and_unknown_columns(google: dict[str, Any]) -> None:
    columns = [
        {"column_id": "FIRST_NAME", "string_value": "प्रिया"}, {"column_id": "LAST_NAME", "string_value": "शर्मा"},
        {"column_id": "WORK_PHONE", "string_value": "+91 98111 22233"},
        {"column_id": "WORK_EMAIL", "string_value": "Priya@Corp.example"},
        {"column_id": "COMPANY_NAME", "string_value": "Acme"}, {"column_id": "REGION", "string_value": "Orissa"},
        {"column_id": "YOUR_BUDGET", "column_name": "Budget?", "string_value": "50 lakh"},
        {"column_name": "Visit day", "string_value": "Sunday"},
    ]  # fmt: skip
    status, headers, _ = send("google-ads", payload(google, lead_id="L-2", user_column_data=columns),
                              key=google["key"])  # fmt: skip
    assert status == 200
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None
    assert (lead.name, lead.phone, lead.email) == ("प्रिया शर्मा", "+919811122233", "priya@corp.example")
    assert (lead.state, lead.state_code, lead.language) == ("Odisha", "OD", "hi")
    assert lead.extra["company"] == "Acme" and lead.extra["your_budget"] == "50 lakh"
    assert lead.extra["visit day"] == "Sunday"


def test_a_test_lead_is_stored_tagged_and_never_reaches_the_router(google: dict[str, Any], aws: dict[str, str]) -> None:
    flow = Flow(aws["LEADS_TABLE"])
    # Given "Send test data" from the Ads UI, When it arrives
    status, headers, _ = send("google-ads", payload(google, is_test=True), key=google["key"])
    # Then it is stored as a test lead that owes the router nothing
    assert status == 200
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.test and "test" in lead.tags
    assert lead.routing_state is RoutingState.DONE and lead.status.value == "new"
    assert flow.routable(flow.new_records()) == []


def test_a_source_set_to_route_test_leads_sends_them_to_the_router(google: dict[str, Any], aws: dict[str, str]) -> None:
    flow = Flow(aws["LEADS_TABLE"])
    source = wiring.org_repository().get_source("google-ads")
    assert source is not None
    wiring.org_repository().put_source(source.model_copy(update={"settings": {**source.settings,
                                                                              "route_test_leads": True}}))  # fmt: skip
    status, headers, _ = send("google-ads", payload(google, is_test=True), key=google["key"])
    assert status == 200
    flow.run_router()
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.test and lead.status.value == "assigned" and lead.assigned_agent_id


def test_googles_retry_of_the_same_lead_id_is_a_duplicate(google: dict[str, Any]) -> None:
    first = send("google-ads", payload(google), key=google["key"])
    again = send("google-ads", payload(google), key=google["key"])
    assert again[0] == 200 and again[2]["leads"][0]["outcome"] == "duplicate"
    assert again[1]["x-lead-id"] == first[1]["x-lead-id"]


def test_a_lead_without_a_usable_contact_is_refused_and_kept(google: dict[str, Any], aws: dict[str, str]) -> None:
    body = payload(google, user_column_data=[{"column_id": "FULL_NAME", "string_value": "Nobody"}])
    status, _, answer = send("google-ads", body, key=google["key"])
    assert (status, answer["error"]) == (422, "missing_contact") and answer["request_id"]
    assert table_items(aws["LEADS_TABLE"], "QUARANTINE#")


def test_a_source_without_a_configured_google_key_refuses_everything(aws: dict[str, str]) -> None:
    from leadrelay.models import Source, SourceKind
    from leadrelay.models.source import hash_key

    wiring.org_repository().put_source(
        Source(source_id="g2", kind=SourceKind.GOOGLE_ADS, name="g2", key_hash=hash_key("k2"))
    )
    status, _, answer = send("g2", fixture("google_ads.json"), key="k2")
    assert (status, answer["error"]) == (403, "provider_secret_missing")


def test_a_test_lead_does_not_swallow_the_real_lead_with_the_same_phone(google: dict[str, Any]) -> None:
    # Given a test lead from "Send test data", When the real person submits the form with that phone
    test = send("google-ads", payload(google, is_test=True), key=google["key"])
    real = send("google-ads", payload(google, lead_id="real-1"), key=google["key"])
    # Then the real one is a new lead, routed as usual, not a touchpoint on the test lead
    assert real[2]["leads"][0]["outcome"] == "created" and real[1]["x-lead-id"] != test[1]["x-lead-id"]
    lead = wiring.lead_repository().get(real[1]["x-lead-id"])
    assert lead is not None and not lead.test and lead.routing_state is RoutingState.PENDING
