"""Property-portal records (99acres XML, MagicBricks JSON, Housing.com JSON) become leads; XML is
read safely; an unreadable record is refused on its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leadrelay.capture import WebhookRequest
from leadrelay.models import LeadInput, Source, SourceKind
from leadrelay.sources import PayloadError, adapter_for
from leadrelay.sources.ninety_nine_acres import ProviderXmlError, parse_xml, responses

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def source(kind: SourceKind) -> Source:
    return Source(source_id=kind.value, kind=kind, name=kind.value, key_hash="x", tags=["portal"])


def parse(kind: SourceKind, payload: dict[str, Any]) -> list[Any]:
    adapter = adapter_for(kind)
    assert adapter is not None
    return adapter.parse(payload, source(kind))


def xml_request(body: bytes, content_type: str = "application/xml") -> WebhookRequest:
    return WebhookRequest("99acres", "POST", "/hooks/99acres", {"content-type": content_type}, {}, body, "r1")


def test_a_99acres_answer_gives_one_lead_per_response_with_e164_phones() -> None:
    adapter = adapter_for(SourceKind.NINETY_NINE_ACRES)
    assert adapter is not None
    payload = adapter.decode(xml_request((FIXTURES / "99acres_pull.xml").read_bytes()))
    assert payload is not None
    first, second = adapter.parse(payload, source(SourceKind.NINETY_NINE_ACRES))
    assert isinstance(first, LeadInput) and isinstance(second, LeadInput)
    assert (first.name, first.phone, first.email) == ("Test Arora", "+919000000008", "test.arora@example.com")
    assert first.product == "3 BHK Apartment in Sector 150, Noida"
    assert first.message == "Interested in a site visit this Saturday"
    assert first.external_id == "99Q-10001"  # the query id, when 99acres sends one
    assert first.extra["rcvdon"] == "2026-11-23 11:40:12" and first.extra["prodid"] == "R12345678"
    assert "99acres:s2m" in first.tags and "portal" in first.tags
    # no query id: no invented one (the record's bytes and the phone dedupe it, see sources.portals)
    assert second.external_id is None and second.phone == "+919000000009" and second.email is None


def test_a_99acres_error_answer_names_its_code_and_message() -> None:
    with pytest.raises(ProviderXmlError) as raised:
        responses(parse_xml((FIXTURES / "99acres_error.xml").read_bytes()))
    assert (raised.value.provider_code, raised.value.provider_message) == ("101", "Invalid user name or password")


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]><Resp><CntctDtl><Phone>&a;</Phone></CntctDtl></Resp>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Resp><CntctDtl><Name>&x;</Name></CntctDtl></Resp>',
    ],
    ids=["entity_expansion", "external_entity"],
)
def test_xml_with_a_dtd_is_refused_not_expanded(body: bytes) -> None:
    with pytest.raises(PayloadError) as raised:
        parse_xml(body)
    assert raised.value.code == "forbidden_xml" and raised.value.status == 400


def test_malformed_xml_is_a_400_naming_the_problem() -> None:
    adapter = adapter_for(SourceKind.NINETY_NINE_ACRES)
    assert adapter is not None
    with pytest.raises(PayloadError) as raised:
        adapter.decode(xml_request(b"<Xml><Resp>"))
    assert raised.value.code == "malformed_xml" and raised.value.status == 400


def test_99acres_also_takes_its_xml_in_a_form_field_and_json_with_the_same_names() -> None:
    xml = (FIXTURES / "99acres_pull.xml").read_text()
    assert len(parse(SourceKind.NINETY_NINE_ACRES, {"xml": xml})) == 2
    (lead,) = parse(SourceKind.NINETY_NINE_ACRES, {"Name": "Test Roy", "Phone": "9000000012", "QryInfo": "Hi"})
    assert isinstance(lead, LeadInput) and lead.phone == "+919000000012" and lead.message == "Hi"


def test_magicbricks_leads_are_read_from_the_lead_pojo_with_their_isd_code() -> None:
    first, second = parse(SourceKind.MAGICBRICKS, json.loads((FIXTURES / "magicbricks.json").read_text()))
    assert isinstance(first, LeadInput) and isinstance(second, LeadInput)
    assert (first.name, first.phone, first.email, first.city) == ("Test Rao", "+919000000005",
                                                                  "test.rao@example.com", "Bangalore")  # fmt: skip
    assert first.product == "Test Heights" and first.message == "Interested in 3 BHK"
    assert first.extra["locality"] == "Whitefield" and first.extra["portal"] == "magicbricks"
    assert second.phone == "+919000000010" and second.email is None


@pytest.mark.parametrize(
    ("mobile", "isd", "expected"),
    [("9000000005", "91", "+919000000005"), ("9000000005", "", "+919000000005"),
     ("919000000005", "91", "+919000000005"), ("501234567", "971", "+971501234567")],
)  # fmt: skip
def test_a_portal_phone_is_ten_digits_with_the_isd_apart(mobile: str, isd: str, expected: str) -> None:
    (lead,) = parse(SourceKind.MAGICBRICKS, {"name": "x", "mobile": mobile, "isd": isd})
    assert isinstance(lead, LeadInput) and lead.phone == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"status": True, "data": {"leads": [{"lead_id": "H1", "clientName": "Test Das", "mobile": "9000000013"}]}},
        {"leads": [{"id": "H1", "name": "Test Das", "phone": "9000000013"}]},
        {"RESPONSE": [{"leadId": "H1", "client_name": "Test Das", "phone_number": "+91 90000 00013"}]},
        {"lead_id": "H1", "lead_name": "Test Das", "contact_number": "9000000013"},
    ],
    ids=["data_leads", "leads", "bare_list", "flat"],
)
def test_housing_is_read_whatever_the_envelope_and_field_spelling(payload: dict[str, Any]) -> None:
    (lead,) = parse(SourceKind.HOUSING, payload)
    assert isinstance(lead, LeadInput)
    assert (lead.name, lead.phone, lead.external_id) == ("Test Das", "+919000000013", "H1")


def test_housing_maps_project_locality_city_and_remarks() -> None:
    (lead,) = parse(SourceKind.HOUSING, json.loads((FIXTURES / "housing.json").read_text()))
    assert isinstance(lead, LeadInput)
    assert (lead.product, lead.city, lead.message) == ("Test Residency", "Pune", "Looking for 2 BHK under 90 lakh")
    assert lead.extra["locality"] == "Baner" and lead.extra["configuration"] == "2 BHK"


def test_a_record_without_a_phone_or_email_is_refused_alone_and_the_rest_become_leads() -> None:
    good, bad = parse(SourceKind.MAGICBRICKS, {"leadPojo": {"leads": [{"name": "A", "mobile": "9000000014"},
                                                                      {"name": "B", "mobile": ""}]}})  # fmt: skip
    assert isinstance(good, LeadInput)
    assert isinstance(bad, PayloadError) and bad.code == "missing_contact" and str(bad).startswith("lead 2 of 2")
