"""IndiaMART push: every envelope, QUERY_TYPE, <br> messages, placeholder names, always 200."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from tests.integration.hooks import fixture, send, table_items


@pytest.fixture
def key(aws: dict[str, str]) -> str:
    return next(s for s in seed(demo=True).sources if s["kind"] == "indiamart")["key"]


def enquiry(**changes: Any) -> dict[str, Any]:
    lead: dict[str, Any] = fixture("indiamart.json")["RESPONSE"]
    lead.update(changes)
    return lead


def test_the_wrapped_reference_sample_becomes_a_lead(key: str) -> None:
    status, headers, body = send("indiamart", fixture("indiamart.json"), key=None, query={"key": key})
    assert status == 200 and body["leads"][0]["outcome"] == "created"
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None
    assert (lead.name, lead.phone, lead.email, lead.city) == ("Test Patel", "+919000000003", "test.patel@example.com",
                                                              "Bharuch")  # fmt: skip
    assert (lead.state, lead.state_code, lead.pincode) == ("Gujarat", "GJ", "394116")
    assert lead.product == "Industrial Sealant" and lead.external_id == "2769560468"
    assert lead.message == "Kindly send price.\nQuantity : 100 Piece"
    assert lead.extra["enquiry_type"] == "direct" and lead.extra["sender_company"] == "Test Industries"
    assert "indiamart:direct" in lead.tags


@pytest.mark.parametrize("shape", ["flat", "array", "bare_list", "wrapped_list"])
def test_every_envelope_shape_integrators_report_is_read(key: str, shape: str) -> None:
    one, two = enquiry(), enquiry(UNIQUE_QUERY_ID="2769560469", SENDER_MOBILE="+91-9811122233", SENDER_EMAIL="")
    body: Any = {
        "flat": one,
        "array": {"CODE": 200, "STATUS": "SUCCESS", "RESPONSE": [one, two]},
        "bare_list": [one, two],
        "wrapped_list": {"RESPONSE": [one, two], "TOTAL_RECORDS": 2},
    }[shape]
    status, headers, answer = send("indiamart", body, key=key)
    assert status == 200
    expected = 1 if shape == "flat" else 2
    assert [lead["outcome"] for lead in answer["leads"]] == ["created"] * expected
    assert len(headers["x-lead-id"].split(",")) == expected


@pytest.mark.parametrize(("code", "meaning"), [("W", "direct"), ("B", "buy_lead"), ("P", "call"),
                                               ("WA", "whatsapp"), ("BIZ", "catalog_view"), ("Q", "other")])  # fmt: skip
def test_query_type_is_mapped(key: str, code: str, meaning: str) -> None:
    _, headers, _ = send("indiamart", enquiry(QUERY_TYPE=code), key=key)
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.extra["enquiry_type"] == meaning and lead.extra["query_type"] == code


def test_the_placeholder_buyer_name_means_no_name_and_messy_phones_are_normalised(key: str) -> None:
    _, headers, _ = send("indiamart", enquiry(SENDER_NAME="Indiamart Buyer", SENDER_MOBILE="0091-98111 22233"), key=key)
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.name is None and lead.phone == "+919811122233"


def test_a_tamil_name_gives_a_tamil_language_hint(key: str) -> None:
    _, headers, _ = send("indiamart", enquiry(SENDER_NAME="முருகன் செல்வம்"), key=key)
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.name == "முருகன் செல்வம்" and lead.language == "ta"


def test_indiamarts_retry_is_a_duplicate_and_still_200(key: str) -> None:
    first = send("indiamart", fixture("indiamart.json"), key=key)
    again = send("indiamart", fixture("indiamart.json"), key=key)
    assert again[0] == 200 and again[2]["leads"][0]["outcome"] == "duplicate"
    assert again[1]["x-lead-id"] == first[1]["x-lead-id"]


def test_an_unreadable_enquiry_is_quarantined_and_indiamart_still_hears_200(key: str, aws: dict[str, str]) -> None:
    # Given a batch with one good enquiry and one with no contact at all
    bad = enquiry(UNIQUE_QUERY_ID="X", SENDER_MOBILE="", SENDER_EMAIL="")
    status, _, answer = send("indiamart", {"RESPONSE": [enquiry(), bad]}, key=key)
    # Then the good one is stored, the request is kept in quarantine for the bad one, and it is 200
    assert status == 200 and len(answer["leads"]) == 1
    assert answer["quarantined"][0]["error"] == "missing_contact"
    kept = table_items(aws["LEADS_TABLE"], "QUARANTINE#")
    assert [k["error"]["S"] for k in kept] == ["partial_batch"]
    # And a body that is no lead at all is quarantined, still with a 200
    status, _, answer = send("indiamart", {"RESPONSE": "nothing"}, key=key)
    assert status == 200 and answer["status"] == "quarantined" and answer["request_id"]


def test_a_wrong_key_is_still_refused(key: str) -> None:
    assert send("indiamart", fixture("indiamart.json"), key="wrong")[0] == 403
