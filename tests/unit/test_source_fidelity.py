"""Source fidelity: every documented field that carries a lead's data, time or attribution is kept.

Fixtures in tests/fixtures/sources/ follow each provider's published examples (fake people):
- google_ads_documented.json: Google Ads lead form webhook, "Implementation" (POST schema, with
  the newer asset_group_id, lead_stage, lead_submit_time), developers.google.com/google-ads/webhook/docs/implementation
- google_ads_send_test_data.json: the payload of "Send test data", developers.google.com/google-ads/webhook/docs/testing
- meta_lead_graph_fields.json: a lead read with every field of Graph API "User Lead Gen Info",
  developers.facebook.com/docs/marketing-api/reference/user-lead-gen-info/
- indiamart.json / indiamart_call.json: IndiaMART CRM API v2 / Push fields (help.indiamart.com,
  "lms-crm-integration-v2"); a PNS phone-call enquiry has no product name and no message
- justdial.json: JustDial's push fields as integrators document them (no public spec)
- whatsapp_message.json / whatsapp_username.json: WhatsApp Cloud API messages webhook, and the
  2026 username payload of "Business-scoped user IDs",
  developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids
- razorpay_payment_link_paid.json: Razorpay "Payment Links Webhook Events", payment_link.paid,
  razorpay.com/docs/webhooks/payment-links
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from leadrelay.models import LeadInput, Source, SourceKind
from leadrelay.sources import PayloadError
from leadrelay.sources.fields import local_time
from leadrelay.sources.google_ads import GoogleAdsAdapter
from leadrelay.sources.indiamart import IndiaMartAdapter
from leadrelay.sources.justdial import JustDialAdapter
from leadrelay.sources.meta import lead_from_graph
from leadrelay.sources.razorpay import RazorpayAdapter
from leadrelay.sources.whatsapp import WhatsAppAdapter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def source(kind: SourceKind, **settings: Any) -> Source:
    return Source(source_id=kind.value, kind=kind, name=kind.value, key_hash="x", settings=settings)


def one(items: list[Any]) -> LeadInput:
    assert len(items) == 1 and isinstance(items[0], LeadInput), items
    return items[0]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# -- Google Ads ------------------------------------------------------------------------------


def test_google_campaign_ad_group_creative_and_asset_group_ids_are_attribution_digit_for_digit() -> None:
    # Given Google's documented lead, with an int64 campaign id at its maximum
    lead = one(GoogleAdsAdapter().parse(sample("google_ads_documented.json"),
                                        source(SourceKind.GOOGLE_ADS, google_key="s3cret-per-form")))  # fmt: skip
    # Then every id is in attribution, as a string with every digit
    tags = lead.attribution
    assert (tags.campaign_id, tags.adgroup_id, tags.creative_id, tags.asset_group_id, tags.form_id) == (
        "9223372036854775807", "20000000001", "30000000001", "6543210987", "1234567890123"
    )  # fmt: skip
    assert tags.gclid == "EAIaIQobChMI-test_gclid-AbC"  # verbatim
    assert not {"campaign_id", "adgroup_id", "creative_id", "asset_group_id", "form_id"} & set(lead.extra)


def test_google_lead_submit_time_is_the_source_time_and_unknown_fields_stay_in_extra() -> None:
    lead = one(GoogleAdsAdapter().parse(sample("google_ads_documented.json"),
                                        source(SourceKind.GOOGLE_ADS, google_key="s3cret-per-form")))  # fmt: skip
    assert lead.source_time == datetime(2026, 1, 5, 8, 49, 14, 123000, tzinfo=UTC)
    assert lead.extra["lead_stage"] == "SUBMITTED" and lead.extra["api_version"] == "1.0"
    assert lead.extra["new_field_google_adds_later"] == "kept"
    # The work phone is a second number, the qualifying question is kept, the key is not
    assert (lead.phone, lead.alt_phone) == ("+919000000011", "+914023456789")
    assert lead.extra["which_project?"] == "Test Residency" and "google_key" not in lead.extra


def test_googles_send_test_data_zero_ids_are_no_ad_group_and_no_time_is_no_source_time() -> None:
    lead = one(GoogleAdsAdapter().parse(sample("google_ads_send_test_data.json"),
                                        source(SourceKind.GOOGLE_ADS, google_key="s3cret-per-form")))  # fmt: skip
    assert lead.test and lead.attribution.campaign_id == "123456"
    assert lead.attribution.adgroup_id is None and lead.attribution.creative_id is None  # 0 = none
    assert lead.source_time is None and not lead.warnings


def test_a_google_submit_time_that_is_not_a_time_is_a_warning_not_a_refusal() -> None:
    body = sample("google_ads_documented.json") | {"lead_submit_time": "yesterday"}
    lead = one(GoogleAdsAdapter().parse(body, source(SourceKind.GOOGLE_ADS, google_key="s3cret-per-form")))
    assert lead.source_time is None and any("lead_submit_time" in w for w in lead.warnings)


# -- Meta Lead Ads ---------------------------------------------------------------------------


def test_a_meta_lead_carries_campaign_ad_set_ad_and_platform_so_instagram_is_told_from_facebook() -> None:
    graph = sample("meta_lead_graph_fields.json")
    notice = {"leadgen_id": graph["id"], "page_id": "153125381133", "adgroup_id": "999"}
    lead = lead_from_graph(graph, notice, source(SourceKind.META_LEAD_ADS))
    tags = lead.attribution
    assert (tags.campaign_id, tags.campaign_name) == ("120210000000000003", "Diwali Leads Pune")
    assert (tags.adgroup_id, tags.adgroup_name) == ("120210000000000002", "Pune 25-45")  # Graph's ad set wins
    assert (tags.ad_id, tags.ad_name, tags.form_id) == ("120210000000000001", "Diwali 2BHK - carousel", "4561")
    assert (tags.platform, tags.is_organic) == ("instagram", False)
    # created_time (+0000) is the enquiry's time; the page stays in extra
    assert lead.source_time == utc(2026, 1, 5, 8, 49, 14) and lead.extra["page_id"] == "153125381133"


def test_a_meta_lead_without_the_new_fields_falls_back_to_the_notifications_ids() -> None:
    graph = sample("meta_lead.json")
    lead = lead_from_graph(graph, {"adgroup_id": "777", "ad_id": "1231"}, source(SourceKind.META_LEAD_ADS))
    assert (lead.attribution.adgroup_id, lead.attribution.ad_id, lead.attribution.form_id) == ("777", "1231", "4561")
    assert lead.attribution.platform is None and lead.attribution.is_organic is None


def test_graph_is_asked_for_every_documented_field_that_carries_attribution() -> None:
    from leadrelay.sources.graph import LEAD_FIELDS

    asked = set(LEAD_FIELDS.split(","))
    assert {"campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name", "is_organic", "platform",
            "created_time", "form_id", "field_data", "custom_disclaimer_responses"} <= asked  # fmt: skip


# -- IndiaMART -------------------------------------------------------------------------------


def test_indiamart_query_time_is_ist_without_an_offset_and_becomes_utc() -> None:
    (lead,) = IndiaMartAdapter().parse(sample("indiamart.json"), source(SourceKind.INDIAMART))
    assert isinstance(lead, LeadInput)
    # 2026-01-05 15:44:28 IST = 10:14:28 UTC
    assert lead.source_time == utc(2026, 1, 5, 10, 14, 28)


def test_a_phone_call_enquiry_takes_its_product_from_the_category_and_its_message_from_the_subject() -> None:
    (lead,) = IndiaMartAdapter().parse(sample("indiamart_call.json"), source(SourceKind.INDIAMART))
    assert isinstance(lead, LeadInput)
    assert lead.product == "Industrial Sealants" and lead.message == "Buyer called you for Industrial Sealant"
    assert lead.name is None  # "Indiamart Buyer" is a placeholder
    assert (lead.phone, lead.alt_phone) == ("+919000000013", "+919000000014")
    # 23:10 IST on the 5th is 17:40 UTC the same day; the call's details are kept
    assert lead.source_time == utc(2026, 1, 5, 17, 40, 5)
    assert lead.extra["call_duration"] == "47" and lead.extra["receiver_mobile"] == "9000000099"
    assert lead.extra["receiver_catalog"] == "https://www.indiamart.com/test-industries/"


def test_an_indiamart_product_name_when_sent_wins_over_the_category() -> None:
    (lead,) = IndiaMartAdapter().parse(sample("indiamart.json"), source(SourceKind.INDIAMART))
    assert isinstance(lead, LeadInput)
    assert lead.product == "Industrial Sealant" and lead.message == "Kindly send price.\nQuantity : 100 Piece"
    assert lead.extra["query_mcat_name"] == "Sealants" and lead.extra["subject"].startswith("Requirement")


# -- JustDial --------------------------------------------------------------------------------


def test_justdials_landline_is_kept_as_a_second_number_beside_the_mobile() -> None:
    lead = one(JustDialAdapter().parse(sample("justdial.json"), source(SourceKind.JUSTDIAL)))
    assert (lead.phone, lead.phone_type) == ("+919000000004", "mobile")
    assert lead.alt_phone == "+912220000000"  # 022-20000000, a Mumbai landline


def test_justdials_date_and_time_are_ist_and_become_the_source_time() -> None:
    lead = one(JustDialAdapter().parse(sample("justdial.json"), source(SourceKind.JUSTDIAL)))
    assert lead.source_time == utc(2026, 1, 5, 7, 40, 11)  # 13:10:11 IST
    assert lead.extra["date"] == "2026-01-05" and lead.extra["time"] == "13:10:11"  # as sent, too


def test_a_justdial_landline_alone_is_the_phone() -> None:
    body = sample("justdial.json")
    del body["mobile"]
    lead = one(JustDialAdapter().parse(body, source(SourceKind.JUSTDIAL)))
    assert (lead.phone, lead.phone_type, lead.alt_phone) == ("+912220000000", "landline", None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2026-01-05 13:10:11", utc(2026, 1, 5, 7, 40, 11)), ("05-01-2026 13:10:11", utc(2026, 1, 5, 7, 40, 11)),
     ("05-Jan-2026 13:10:11", utc(2026, 1, 5, 7, 40, 11)), ("2026-01-05T13:10:11+05:30", utc(2026, 1, 5, 7, 40, 11)),
     ("2026-01-05T07:40:11Z", utc(2026, 1, 5, 7, 40, 11)), ("soon", None), ("", None)],
)  # fmt: skip
def test_wall_clock_times_without_an_offset_are_read_as_ist(raw: str, expected: datetime | None) -> None:
    assert local_time(raw) == expected


# -- WhatsApp --------------------------------------------------------------------------------


def test_a_whatsapp_message_timestamp_is_its_source_time() -> None:
    lead = one(WhatsAppAdapter().parse(sample("whatsapp_message.json"), source(SourceKind.WHATSAPP)))
    assert lead.source_time == datetime.fromtimestamp(1749416383, tz=UTC)


def test_a_username_without_a_phone_is_still_a_lead_known_by_its_business_scoped_user_id() -> None:
    # Given the 2026 payload: no `from`, no `wa_id`, only the user id and the username
    lead = one(WhatsAppAdapter().parse(sample("whatsapp_username.json"), source(SourceKind.WHATSAPP)))
    # Then it is a lead with the name, the message, the user id and the username
    assert lead.phone is None and lead.email is None
    assert (lead.whatsapp_user_id, lead.whatsapp_username) == ("IN.1410018717833190", "@test.menon")
    assert (lead.name, lead.message, lead.external_id) == ("Test Menon", "Is the 3BHK still available?",
                                                           "wamid.TESTUSER1")  # fmt: skip


def test_a_phone_user_keeps_the_user_id_and_username_when_meta_sends_them_too() -> None:
    body = sample("whatsapp_message.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(user_id="IN.99887766", parent_user_id="IN.ENT.11223344")
    value["contacts"][0]["profile"]["username"] = "@nair"
    value["messages"][0]["from_user_id"] = "IN.99887766"
    lead = one(WhatsAppAdapter().parse(body, source(SourceKind.WHATSAPP)))
    assert (lead.phone, lead.whatsapp_user_id, lead.whatsapp_username) == ("+919000000007", "IN.99887766", "@nair")
    assert lead.extra["parent_user_id"] == "IN.ENT.11223344"


def test_a_message_with_neither_a_phone_nor_a_user_id_is_refused() -> None:
    body = sample("whatsapp_username.json")
    value = body["entry"][0]["changes"][0]["value"]
    del value["contacts"], value["messages"][0]["from_user_id"]
    (item,) = WhatsAppAdapter().parse(body, source(SourceKind.WHATSAPP))
    assert isinstance(item, PayloadError) and item.code == "missing_contact"


# -- Razorpay --------------------------------------------------------------------------------


def test_razorpay_takes_the_order_from_the_payment_and_keeps_a_payer_who_is_not_the_customer() -> None:
    body = sample("razorpay_payment_link_paid.json")
    payment = body["payload"]["payment"]["entity"]
    payment.update(contact="+919000000015", email="payer@example.com", order_id="order_FROMPAYMENT")
    body["payload"]["order"]["entity"]["id"] = "order_OTHER"
    lead = one(RazorpayAdapter().parse(body, source(SourceKind.RAZORPAY)))
    assert lead.extra["order_id"] == "order_FROMPAYMENT"
    # The link's customer is the lead; the payer who differs is kept beside them
    assert (lead.phone, lead.email) == ("+919000000008", "test.shah@example.com")
    assert lead.alt_phone == "+919000000015"
    assert (lead.extra["payer_contact"], lead.extra["payer_email"]) == ("+919000000015", "payer@example.com")
    # Deduped on the payment inside the signed body; the event's account kept
    assert lead.external_id == "pay_TEST0000000001" and lead.extra["event_account_id"] == "acc_TEST0000000001"
    assert lead.source_time == datetime.fromtimestamp(1749416100, tz=UTC)


# -- the attribution report groups by the ad platform's campaign ------------------------------


def test_the_attribution_report_groups_leads_by_platform_and_campaign() -> None:
    from leadrelay.models import Attribution, Lead, LeadStatus
    from leadrelay.reports import attribution_report

    def lead(lead_id: str, kind: str, status: LeadStatus = LeadStatus.NEW, **tags: Any) -> Lead:
        return Lead(lead_id=lead_id, source_id=kind, source_kind=kind, received_at=utc(2026, 1, 5),
                    status=status, attribution=Attribution(**tags))  # fmt: skip

    leads = [
        lead("L1", "meta_lead_ads", LeadStatus.WON, campaign_id="C1", campaign_name="Diwali", platform="instagram"),
        lead("L2", "meta_lead_ads", campaign_id="C1", campaign_name="Diwali", platform="instagram"),
        lead("L3", "meta_lead_ads", campaign_id="C1", campaign_name="Diwali", platform="facebook"),
        lead("L4", "google_ads", campaign_id="9223372036854775807"),
        lead("L5", "generic", utm_campaign="brand"),  # UTM only: not an ad platform campaign
    ]
    rows = attribution_report(leads)["first_touch"]["by_ad_campaign"]
    assert [(r["platform"], r["campaign_id"], r["campaign_name"], r["leads"], r["won"]) for r in rows] == [
        ("instagram", "C1", "Diwali", 2, 1), ("facebook", "C1", "Diwali", 1, 0),
        ("google_ads", "9223372036854775807", "(none)", 1, 0),
    ]  # fmt: skip


# -- property portals: the enquiry time they write (IST) ----------------------------------------


def test_portal_enquiry_times_are_ist_and_become_the_source_time() -> None:
    from leadrelay.sources.housing import HousingAdapter
    from leadrelay.sources.ninety_nine_acres import ninety_nine_acres_lead, parse_xml, record_of, responses

    housing = HousingAdapter().parse(sample("housing.json"), source(SourceKind.HOUSING))
    assert isinstance(housing[0], LeadInput) and housing[0].source_time == utc(2026, 11, 23, 4, 35)
    assert housing[0].extra["created_date"] == "2026-11-23 10:05:00"  # as sent, too
    root = parse_xml((FIXTURES / "99acres_pull.xml").read_bytes())
    acres = source(SourceKind.NINETY_NINE_ACRES)
    times = [ninety_nine_acres_lead(record_of(resp), acres).source_time for resp in responses(root)]
    assert times == [utc(2026, 11, 23, 6, 10, 12), utc(2026, 11, 23, 6, 22, 40)]


def test_fields_a_provider_adds_later_at_the_top_level_are_kept_in_extra() -> None:
    notice = {"leadgen_id": "1", "page_id": "2", "created_time": 1440120384, "new_notice_field": "n"}
    graph = sample("meta_lead.json") | {"new_graph_field": "g", "nested": {"dropped": True}}
    meta = lead_from_graph(graph, notice, source(SourceKind.META_LEAD_ADS))
    assert meta.extra["new_notice_field"] == "n" and meta.extra["new_graph_field"] == "g" and "nested" not in meta.extra
    body = sample("razorpay_payment_link_paid.json") | {"new_event_field": 7}
    razorpay = one(RazorpayAdapter().parse(body, source(SourceKind.RAZORPAY)))
    assert razorpay.extra["event_new_event_field"] == 7 and razorpay.extra["event_created_at"] == 1749416100
    message = sample("whatsapp_message.json")
    message["entry"][0]["changes"][0]["value"]["messages"][0]["new_message_field"] = "w"
    assert one(WhatsAppAdapter().parse(message, source(SourceKind.WHATSAPP))).extra["new_message_field"] == "w"


def test_one_payment_seen_as_payment_captured_and_payment_link_paid_has_one_dedupe_key() -> None:
    adapter, rzp = RazorpayAdapter(), source(SourceKind.RAZORPAY, lead_events=["payment_link.paid", "payment.captured"])
    link_paid = sample("razorpay_payment_link_paid.json")
    captured = {"entity": "event", "event": "payment.captured", "contains": ["payment"],
                "payload": {"payment": link_paid["payload"]["payment"]}, "created_at": 1749416090}  # fmt: skip
    assert one(adapter.parse(link_paid, rzp)).external_id == one(adapter.parse(captured, rzp)).external_id


def test_rules_route_on_the_ad_platforms_campaign_and_old_extra_rules_still_match() -> None:
    from leadrelay.models import Attribution, Lead
    from leadrelay.routing.rules import FieldCondition, evaluate

    lead = Lead(lead_id="L1", source_id="fb", source_kind="meta_lead_ads", received_at=utc(2026, 1, 5),
                attribution=Attribution(campaign_id="C1", campaign_name="Diwali", platform="instagram"))  # fmt: skip
    now = utc(2026, 1, 5, 6)

    def holds(field: str, op: str, value: str) -> bool:
        return evaluate(FieldCondition.model_validate({"field": field, "op": op, "value": value}), lead, now)[0]

    assert holds("platform", "eq", "Instagram") and not holds("platform", "eq", "facebook")
    assert holds("campaign_name", "prefix", "diw")
    # A rule written when Google's campaign id was kept in extra
    assert holds("extra.campaign_id", "eq", "C1")
