"""Razorpay: X-Razorpay-Signature over the raw body, payment_link.paid as a lead with the amount in
integer paise, the event id making retries duplicates, the same payer again a touchpoint, other
events acknowledged and kept as ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from leadrelay.sources.razorpay import paise, rupees, signature_of
from tests.integration.hooks import fixture, send, table_items


@pytest.fixture
def rzp(aws: dict[str, str]) -> dict[str, Any]:
    return next(s for s in seed(demo=True).sources if s["kind"] == "razorpay")


def deliver(rzp: dict[str, Any], body: dict[str, Any] | bytes, event_id: str | None = "evt_TEST1",
            headers: dict[str, str] | None = None) -> Any:  # fmt: skip
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if headers is None:
        headers = {"Content-Type": "application/json", "X-Razorpay-Signature": signature_of(raw, rzp["webhook_secret"])}
        if event_id:
            headers["x-razorpay-event-id"] = event_id
    return send(rzp["id"], raw.decode(), key=None, query={"key": rzp["key"]}, headers=headers)


def paid(**customer: Any) -> dict[str, Any]:
    body = fixture("razorpay_payment_link_paid.json")
    body["payload"]["payment_link"]["entity"]["customer"].update(customer)
    return body


def test_a_paid_payment_link_is_a_lead_with_the_amount_in_integer_paise(rzp: dict[str, Any]) -> None:
    status, headers, body = deliver(rzp, fixture("razorpay_payment_link_paid.json"))
    assert status == 200 and body["leads"][0]["outcome"] == "created"
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.source_kind == "razorpay"
    assert (lead.name, lead.phone, lead.email) == ("Test Shah", "+919000000008", "test.shah@example.com")
    assert lead.extra["amount_paise"] == 150000 and type(lead.extra["amount_paise"]) is int
    assert lead.extra["currency"] == "INR" and lead.extra["payment_id"] == "pay_TEST0000000001"
    assert lead.extra["payment_link_id"] == "plink_TEST0000000001" and lead.extra["reference_id"] == "TS1989"
    assert lead.extra["description"] == "Site visit booking" and lead.extra["notes"] == {"project": "Sky Towers"}
    # Deduped on the payment inside the signed body; the event id header is only kept as a hint
    assert lead.external_id == "pay_TEST0000000001" and lead.extra["event_id"] == "evt_TEST1" and "paid" in lead.tags
    assert lead.extra["order_id"] == "order_TEST0000000001"
    assert lead.message == "Paid ₹1,500.00 (payment link plink_TEST0000000001): Site visit booking"


def test_razorpay_retries_are_duplicates_and_the_same_payer_again_is_a_touchpoint_with_the_amount(
    rzp: dict[str, Any],
) -> None:
    lead_id = deliver(rzp, fixture("razorpay_payment_link_paid.json"))[1]["x-lead-id"]
    # The same event again (Razorpay retries with the same x-razorpay-event-id): duplicate
    assert deliver(rzp, fixture("razorpay_payment_link_paid.json"))[2]["leads"] == [
        {"lead_id": lead_id, "outcome": "duplicate"}
    ]
    # A second payment by the same person (phone written another way): a touchpoint with its amount
    second = paid(contact="09000000008")
    second["payload"]["payment_link"]["entity"].update(id="plink_TEST2", amount_paid=99999, description="Booking")
    second["payload"]["payment"]["entity"]["id"] = "pay_TEST2"
    status, _, body = deliver(rzp, second, event_id="evt_TEST2")
    assert status == 200 and body["leads"] == [{"lead_id": lead_id, "outcome": "merged"}]
    touches = wiring.lead_repository().touchpoints(lead_id)
    assert len(touches) == 1 and touches[0]["fields"]["extra"]["amount_paise"] == 99999
    event = next(e for e in wiring.lead_repository().timeline(lead_id) if e.kind == "lead.touchpoint")
    assert event.data["message"] == "Paid ₹999.99 (payment link plink_TEST2): Booking"


def test_without_the_event_id_header_the_ids_in_the_body_or_the_body_catches_retries(rzp: dict[str, Any]) -> None:
    lead_id = deliver(rzp, fixture("razorpay_payment_link_paid.json"), event_id=None)[1]["x-lead-id"]
    lead = wiring.lead_repository().get(lead_id)
    assert lead is not None and lead.external_id == "pay_TEST0000000001" and "event_id" not in lead.extra
    # A body with neither a payment nor a payment link id: the identical body within 48 h is the retry
    bare = paid(contact="9811122233", email="other@example.com")
    del bare["payload"]["payment"], bare["payload"]["payment_link"]["entity"]["id"]
    first = deliver(rzp, bare, event_id=None)
    assert first[2]["leads"][0]["outcome"] == "created" and first[2]["warnings"]
    assert deliver(rzp, bare, event_id=None)[2]["leads"][0]["outcome"] == "duplicate"


@pytest.mark.parametrize("tamper", ["missing", "wrong", "body_changed", "api_secret"])
def test_a_bad_signature_is_refused_and_kept_in_quarantine(
    rzp: dict[str, Any], aws: dict[str, str], tamper: str
) -> None:
    raw = json.dumps(fixture("razorpay_payment_link_paid.json")).encode()
    headers = {"Content-Type": "application/json", "X-Razorpay-Signature": signature_of(raw, rzp["webhook_secret"])}
    if tamper == "missing":
        del headers["X-Razorpay-Signature"]
    elif tamper == "wrong":
        headers["X-Razorpay-Signature"] = "0" * 64
    elif tamper == "api_secret":  # signed with the API key secret instead of the webhook secret
        headers["X-Razorpay-Signature"] = signature_of(raw, "rzp_api_key_secret")
    else:
        raw = raw.replace(b"150000", b"1500")
    status, _, body = deliver(rzp, raw, headers=headers)
    assert (status, body["error"]) == (
        (401, "missing_signature") if tamper == "missing" else (403, "invalid_signature")
    )
    assert len(table_items(aws["LEADS_TABLE"], "QUARANTINE#")) == 1
    assert not table_items(aws["LEADS_TABLE"], "LEAD#")


@pytest.mark.parametrize("event", ["payment.failed", "refund.processed", "payment_link.cancelled", "payment.captured"])
def test_other_events_are_200_kept_raw_and_ignored(rzp: dict[str, Any], aws: dict[str, str], event: str) -> None:
    status, headers, body = deliver(rzp, fixture("razorpay_payment_link_paid.json") | {"event": event})
    assert status == 200 and body["leads"] == [] and "x-lead-id" not in headers
    kept = wiring.lead_repository().ignored(body["request_id"])
    assert kept is not None and kept["outcome"] == "ignored" and event in kept["reason"] and "ignored" in kept["reason"]
    assert not table_items(aws["LEADS_TABLE"], "QUARANTINE#") and not table_items(aws["LEADS_TABLE"], "LEAD#")


def test_payment_captured_can_be_a_lead_event_for_checkout_payments(rzp: dict[str, Any]) -> None:
    org = wiring.org_repository()
    source = org.get_source(rzp["id"])
    assert source is not None
    org.put_source(source.model_copy(update={"settings": {**source.settings, "lead_events": ["payment.captured"]}}))
    body = fixture("razorpay_payment_link_paid.json") | {"event": "payment.captured"}
    payment = body["payload"]["payment"]["entity"]
    body["payload"] = {
        "payment": {"entity": {**payment, "notes": {"name": "தமிழ் செல்வி"}, "contact": "+91 98400 12345"}}
    }
    status, headers, _ = deliver(rzp, body, event_id="evt_CAPT")
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert status == 200 and lead is not None
    assert (lead.name, lead.phone, lead.language, lead.extra["amount_paise"]) == (
        "தமிழ் செல்வி", "+919840012345", "ta", 150000
    )  # fmt: skip


def test_a_signed_event_that_cannot_be_a_lead_is_quarantined_but_answered_200(
    rzp: dict[str, Any], aws: dict[str, str]
) -> None:
    body = paid(contact="", email="")
    body["payload"]["payment"]["entity"].update(contact=None, email=None)
    status, _, answer = deliver(rzp, body)
    assert status == 200 and answer["status"] == "quarantined" and answer["error"] == "missing_contact"
    assert len(table_items(aws["LEADS_TABLE"], "QUARANTINE#")) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [(150000, 150000), ("150000", 150000), (150000.0, 150000), (1500.5, None), ("1.2e3", 1200), ("abc", None),
     (True, None), ("NaN", None)],
)  # fmt: skip
def test_amounts_are_integer_paise_never_floats(value: Any, expected: int | None) -> None:
    assert paise(value) == expected
    assert rupees(12345678, "INR") == "₹123,456.78" and rupees(5, "USD") == "USD 0.05"
