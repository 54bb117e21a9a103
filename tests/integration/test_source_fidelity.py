"""Source fidelity end to end on moto: the providers' documented samples, as each provider sends
them, become leads whose `GET /leads/{id}` shows the provider's own time (`source_time`) and the
campaign attribution; WhatsApp users known only by their user id are leads and dedupe on it; the
provider URLs an admin can set are https on the provider's hosts; body secrets are never kept.

Fixtures and the documents they follow are listed in tests/unit/test_source_fidelity.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.models import Source, SourceKind
from leadrelay.models.source import hash_key
from leadrelay.pull.poller import SourcePoller
from leadrelay.pull.state import PollStateStore
from leadrelay.sources.meta import signature_of
from tests.helpers import ManualClock
from tests.integration.fake_provider import FakeProvider, json_answer
from tests.integration.flow import Flow
from tests.integration.hooks import fixture, send, table_items
from tests.integration.test_source_meta import FakeGraph


@pytest.fixture
def kinds(aws: dict[str, str], demo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["kind"]: entry for entry in demo.values()}


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def set_settings(source_id: str, **settings: Any) -> None:
    org = wiring.org_repository()
    source = org.get_source(source_id)
    assert source is not None
    org.put_source(source.model_copy(update={"settings": {**source.settings, **settings}}))


def meta_signed(entry: dict[str, Any], body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw.decode(), {"Content-Type": "application/json",
                          "X-Hub-Signature-256": signature_of(raw, entry["app_secret"])}  # fmt: skip


# -- source_time and attribution through the API -------------------------------------------------


def test_a_google_lead_shows_its_submit_time_beside_receipt_and_its_campaign_ids(
    flow: Flow, kinds: dict[str, Any]
) -> None:
    # Given Google's documented lead, pushed with the form's key
    google = kinds["google_ads"]
    body = fixture("google_ads_documented.json") | {"google_key": google["google_key"]}
    status, headers, _ = send(google["id"], body, key=google["key"])
    assert status == 200
    # When the admin reads the lead
    status, lead = flow.get(f"/leads/{headers['x-lead-id']}")
    # Then the provider's time is there in ISO UTC with ms, apart from LeadRelay's receipt
    assert status == 200 and lead["source_time"] == "2026-01-05T08:49:14.123Z"
    assert lead["received_at"] != lead["source_time"]
    assert lead["attribution"] == {"gclid": "EAIaIQobChMI-test_gclid-AbC", "campaign_id": "9223372036854775807",
                                   "adgroup_id": "20000000001", "creative_id": "30000000001",
                                   "asset_group_id": "6543210987", "form_id": "1234567890123"}  # fmt: skip
    assert lead["alt_phone"] == "+914023456789" and lead["extra"]["new_field_google_adds_later"] == "kept"


def test_a_meta_lead_is_fetched_with_its_campaign_fields_and_shows_it_came_from_instagram(
    flow: Flow, kinds: dict[str, Any], graph: FakeGraph
) -> None:
    entry = kinds["meta_lead_ads"]
    set_settings(entry["id"], graph_url=graph.url, graph_backoff_s=0.01, page_access_token="PAGE-TOKEN")
    graph.leads["123123123124"] = fixture("meta_lead_graph_fields.json")
    notification = fixture("meta_notification.json")
    notification["entry"][0]["changes"][0]["value"]["leadgen_id"] = "123123123124"
    raw, headers = meta_signed(entry, notification)
    status, answer_headers, _ = send(entry["id"], raw, key=None, query={"key": entry["key"]}, headers=headers)
    assert status == 200
    # Graph was asked for the campaign, ad set, ad, platform and organic fields by name
    asked = set(graph.queries[0]["fields"][0].split(","))
    assert {"campaign_id", "campaign_name", "adset_id", "adset_name", "ad_name", "is_organic", "platform"} <= asked
    lead = flow.get(f"/leads/{answer_headers['x-lead-id']}")[1]
    assert lead["source_time"] == "2026-01-05T08:49:14.000Z"
    assert lead["attribution"] | {} == {
        "campaign_id": "120210000000000003", "campaign_name": "Diwali Leads Pune", "adgroup_id": "120210000000000002",
        "adgroup_name": "Pune 25-45", "ad_id": "120210000000000001", "ad_name": "Diwali 2BHK - carousel",
        "form_id": "4561", "platform": "instagram", "is_organic": False,
    }  # fmt: skip


def test_a_pulled_indiamart_enquiry_a_day_late_keeps_the_time_the_buyer_asked(
    aws: dict[str, str], clock: ManualClock, provider: FakeProvider, flow: Flow
) -> None:
    # Given an enquiry made yesterday at 15:44:28 IST that IndiaMART's API hands over only today
    enquiry = fixture("indiamart.json")["RESPONSE"] | {"QUERY_TIME": "2026-11-22 15:44:28"}
    provider.answers(json_answer({"CODE": 200, "STATUS": "SUCCESS", "TOTAL_RECORDS": 1, "RESPONSE": [enquiry]}))
    source = Source(source_id="im-late", kind=SourceKind.INDIAMART, name="im-late", key_hash=hash_key("k"),
                    settings={"glusr_crm_key": "CRM-KEY", "pull_url": f"{provider.url}/v2/"})  # fmt: skip
    wiring.org_repository().put_source(source)
    # When the poller brings it in
    SourcePoller(org=wiring.org_repository(), capture=wiring.capture_service, clock=clock).poll_all()
    items = flow.get("/leads", query={"source_id": "im-late"})[1]["items"]
    # Then the lead keeps the buyer's time (in UTC), a day before it was received
    assert len(items) == 1 and items[0]["source_time"] == "2026-11-22T10:14:28.000Z"
    assert items[0]["received_at"] == "2026-11-23T06:30:00.000Z"


def test_a_justdial_lead_by_query_string_keeps_its_landline_and_its_ist_time(flow: Flow, kinds: dict[str, Any]) -> None:
    entry = kinds["justdial"]
    query = {k: str(v) for k, v in fixture("justdial.json").items()} | {"key": entry["key"]}
    status, headers, _ = send(entry["id"], None, key=None, method="GET", query=query)
    assert status == 200
    lead = flow.get(f"/leads/{headers['x-lead-id']}")[1]
    assert (lead["phone"], lead["alt_phone"]) == ("+919000000004", "+912220000000")
    assert lead["source_time"] == "2026-01-05T07:40:11.000Z"


# -- WhatsApp usernames ------------------------------------------------------------------------


def test_a_whatsapp_user_without_a_phone_is_one_lead_across_messages_deduped_on_the_user_id(
    flow: Flow, kinds: dict[str, Any]
) -> None:
    entry = kinds["whatsapp"]
    first = fixture("whatsapp_username.json")

    def deliver(body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        raw, headers = meta_signed(entry, body)
        return send(entry["id"], raw, key=None, query={"key": entry["key"]}, headers=headers)

    # Given the first message of a user Meta knows only by user id and username
    status, headers, answer = deliver(first)
    assert status == 200 and answer["leads"][0]["outcome"] == "created"
    lead_id = headers["x-lead-id"]
    lead = flow.get(f"/leads/{lead_id}")[1]
    assert (lead["phone"], lead["whatsapp_user_id"], lead["whatsapp_username"]) == (
        None, "IN.1410018717833190", "@test.menon"
    )  # fmt: skip
    # When the same user writes again (a new message id) and Meta retries the first message
    second = fixture("whatsapp_username.json")
    message = second["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id="wamid.TESTUSER2", text={"body": "And the price?"})
    assert deliver(second)[2]["leads"] == [{"lead_id": lead_id, "outcome": "merged"}]
    assert deliver(first)[2]["leads"] == [{"lead_id": lead_id, "outcome": "duplicate"}]
    # Then it is one lead with the second message on its timeline
    timeline = wiring.lead_repository().timeline(lead_id)
    touch = [e for e in timeline if e.kind == "lead.touchpoint"]
    assert len(touch) == 1 and touch[0].data["message"] == "And the price?" and touch[0].data["matched_on"] == "wauser"


# -- provider URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_id", "name", "url"),
    [("facebook-leads", "graph_url", "file:///etc/passwd"), ("facebook-leads", "graph_url", "https://evil.example/v25"),
     ("facebook-leads", "graph_url", "http://169.254.169.254/latest/meta-data/"),
     ("facebook-leads", "graph_url", "http://graph.facebook.com/v25.0"),
     ("indiamart", "pull_url", "https://attacker.example/v2/"), ("website", "pull_url", "https://portal.example/"),
     ("facebook-leads", "callback_url", "https://graph.facebook.com/")],
)  # fmt: skip
def test_a_provider_url_off_the_allow_list_is_refused_with_url_not_allowed(
    flow: Flow, source_id: str, name: str, url: str
) -> None:
    before = wiring.org_repository().get_source(source_id)
    status, answer = flow.call("PATCH", f"/sources/{source_id}", body={"settings": {name: url}})
    assert (status, answer["error"]) == (422, "url_not_allowed") and answer["message"]
    assert wiring.org_repository().get_source(source_id) == before  # nothing changed


def test_a_new_source_with_a_url_off_the_list_is_not_made_and_the_providers_own_url_is_taken(flow: Flow) -> None:
    body = {"source_id": "fb-2", "kind": "meta_lead_ads", "name": "FB 2", "settings": {"graph_url": "file:///x"}}
    assert flow.call("POST", "/sources", body=body)[1]["error"] == "url_not_allowed"
    assert wiring.org_repository().get_source("fb-2") is None
    body["settings"] = {"graph_url": "https://graph.facebook.com/v24.0"}
    assert flow.call("POST", "/sources", body=body)[0] == 201


def test_a_url_stored_by_another_path_is_still_never_called(
    aws: dict[str, str], kinds: dict[str, Any], clock: ManualClock, provider: FakeProvider
) -> None:
    # Given a Graph URL and a pull URL written straight into the table, past the API's check
    entry = kinds["meta_lead_ads"]
    set_settings(entry["id"], graph_url="https://graph.facebook.com.evil.example/v25.0", page_access_token="T")
    raw, headers = meta_signed(entry, fixture("meta_notification.json"))
    status, _, answer = send(entry["id"], raw, key=None, query={"key": entry["key"]}, headers=headers)
    # Then the lead is parked with the reason (not lost), and nothing was called
    assert status == 200 and answer["pending_fetch"] == ["123123123123"]
    parked = table_items(aws["LEADS_TABLE"], "PENDING_FETCH#")
    assert len(parked) == 1 and "graph_url" in parked[0]["last_error"]["S"]
    source = Source(source_id="im-bad", kind=SourceKind.INDIAMART, name="im-bad", key_hash=hash_key("k"),
                    settings={"glusr_crm_key": "CRM-KEY", "pull_url": "https://169.254.169.254/v2/"})  # fmt: skip
    wiring.org_repository().put_source(source)
    SourcePoller(org=wiring.org_repository(), capture=wiring.capture_service, clock=clock).poll(source)
    state = PollStateStore(wiring.org_repository().table).get("im-bad")
    assert state is not None and state.last_result["code"] == "url_not_allowed" and provider.seen == []


# -- secrets never kept ------------------------------------------------------------------------


def test_google_key_is_not_in_any_raw_copy_nor_in_the_quarantine_api(
    flow: Flow, aws: dict[str, str], kinds: dict[str, Any]
) -> None:
    google = kinds["google_ads"]
    key = google["google_key"]
    # A lead (raw copy beside it) and a request refused for want of a contact (quarantined)
    assert send(google["id"], fixture("google_ads.json") | {"google_key": key}, key=google["key"])[0] == 200
    refused = fixture("google_ads.json") | {"Google_key": key, "lead_id": "no-contact", "user_column_data": []}
    del refused["google_key"]
    status, _, answer = send(google["id"], refused, key=google["key"])
    assert (status, answer["error"]) == (422, "missing_contact") and answer["request_id"]
    items = boto3.client("dynamodb").scan(TableName=aws["LEADS_TABLE"])["Items"]
    raws = [i for i in items if "body" in i]
    assert len(raws) == 2 and all(key not in json.dumps(i) for i in items)
    assert all("***sha256:" in i["body"]["S"] for i in raws)
    quarantine = flow.get("/quarantine")[1]
    assert quarantine["items"] and key not in json.dumps(quarantine)


def test_a_wrong_verify_token_is_kept_without_the_token(aws: dict[str, str], kinds: dict[str, Any]) -> None:
    entry = kinds["whatsapp"]
    query = {"key": entry["key"], "hub.mode": "subscribe", "hub.verify_token": "guessed-token-123",
             "hub.challenge": "1"}  # fmt: skip
    status, _, answer = send(entry["id"], None, key=None, method="GET", query=query)
    assert (status, answer["error"]) == (403, "invalid_verify_token")
    kept = table_items(aws["LEADS_TABLE"], "QUARANTINE#")
    assert len(kept) == 1 and kept[0]["query"]["M"]["hub.verify_token"]["S"] == "***"
    assert "guessed-token-123" not in json.dumps(kept) and entry["key"] not in json.dumps(kept)


def test_a_credential_in_the_query_string_is_neither_a_lead_field_nor_kept_in_clear(
    flow: Flow, aws: dict[str, str], kinds: dict[str, Any]
) -> None:
    # Given a partner that delivers by URL and appends its own access token to every call
    website = kinds["generic"]
    query = {"key": website["key"], "access_token": "partner-T0KEN", "phone": "9811100555", "utm_source": "partner"}
    status, headers, _ = send(website["id"], None, key=None, method="GET", query=query)
    assert status == 202
    lead = flow.get(f"/leads/{headers['x-lead-id']}")[1]
    # Then the token is not on the lead, and the raw copy beside it has it masked
    assert "access_token" not in lead["extra"] and lead["attribution"] == {"utm_source": "partner"}
    items = table_items(aws["LEADS_TABLE"], f"LEAD#{headers['x-lead-id']}")
    raw = next(i for i in items if i["sk"]["S"].startswith("RAW#"))
    assert raw["query"]["M"]["access_token"]["S"] == "***" and "partner-T0KEN" not in json.dumps(items)


def test_a_delivery_status_for_a_user_known_by_user_id_goes_on_their_leads_timeline(kinds: dict[str, Any]) -> None:
    entry = kinds["whatsapp"]

    def deliver(body: dict[str, Any]) -> Any:
        raw, headers = meta_signed(entry, body)
        return send(entry["id"], raw, key=None, query={"key": entry["key"]}, headers=headers)

    lead_id = deliver(fixture("whatsapp_username.json"))[1]["x-lead-id"]
    # When Meta reports a message read by that user, without a phone (recipient_user_id only)
    status = fixture("whatsapp_status.json")
    entry_status = status["entry"][0]["changes"][0]["value"]["statuses"][0]
    entry_status.pop("recipient_id", None)
    entry_status["recipient_user_id"] = "IN.1410018717833190"
    answer = deliver(status)[2]
    # Then the notice is on the user's lead
    assert answer["noted_on"] == [lead_id]
    notices = [e for e in wiring.lead_repository().timeline(lead_id) if e.kind == "lead.provider_notice"]
    assert len(notices) == 1 and notices[0].data["recipient_user_id"] == "IN.1410018717833190"
