"""WhatsApp Business Cloud API: Meta's hub.* handshake and signature (shared code), a first message
makes a lead, later ones touchpoints, retries duplicates, statuses on the timeline, batches."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from leadrelay.sources.meta import signature_of
from leadrelay.sources.whatsapp import message_text
from tests.integration.hooks import fixture, send, table_items


@pytest.fixture
def wa(aws: dict[str, str]) -> dict[str, Any]:
    return next(s for s in seed(demo=True).sources if s["kind"] == "whatsapp")


def notify(wa: dict[str, Any], body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=True).encode()
    signed = {"Content-Type": "application/json", "X-Hub-Signature-256": signature_of(raw, wa["app_secret"])}
    return send(wa["id"], raw.decode(), key=None, query={"key": wa["key"]}, headers=headers or signed)


def message(wamid: str, sender: str = "919000000007", body: str = "Price for 2BHK?", **more: Any) -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": "1749416383", "type": "text", "text": {"body": body}, **more}


def notification(*messages: dict[str, Any], contacts: list[dict[str, Any]] | None = None,
                 statuses: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    body = fixture("whatsapp_message.json")
    value = body["entry"][0]["changes"][0]["value"]
    if messages:
        value["messages"] = list(messages)
    if contacts is not None:
        value["contacts"] = contacts
    if statuses is not None:
        value["statuses"] = statuses
        if not messages:
            del value["messages"], value["contacts"]
    return body


def test_the_handshake_echoes_the_challenge_and_a_wrong_token_is_403(wa: dict[str, Any]) -> None:
    query = {"key": wa["key"], "hub.mode": "subscribe", "hub.verify_token": wa["verify_token"], "hub.challenge": "42"}
    assert send(wa["id"], None, key=None, method="GET", query=query)[::2] == (200, "42")
    status, _, body = send(wa["id"], None, key=None, method="GET", query={**query, "hub.verify_token": "x"})
    assert (status, body["error"]) == (403, "invalid_verify_token")


def test_the_reference_sample_creates_a_lead_from_an_unknown_number(wa: dict[str, Any]) -> None:
    status, headers, body = notify(wa, fixture("whatsapp_message.json"))
    assert status == 200 and body["leads"][0]["outcome"] == "created"
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.source_kind == "whatsapp"
    assert (lead.name, lead.phone, lead.message, lead.external_id) == (
        "Test Nair", "+919000000007", "Price for 2BHK?", "wamid.TEST1"
    )  # fmt: skip
    assert lead.extra["business_phone_number_id"] == "106540352242922" and lead.extra["wa_id"] == "919000000007"


def test_meta_retries_are_duplicates_and_later_messages_go_on_the_timeline_with_their_text(
    wa: dict[str, Any],
) -> None:
    first = notify(wa, fixture("whatsapp_message.json"))
    lead_id = first[1]["x-lead-id"]
    # Meta's retry of the same message (same wamid) is a duplicate, not a touchpoint
    again = notify(wa, fixture("whatsapp_message.json"))
    assert again[2]["leads"] == [{"lead_id": lead_id, "outcome": "duplicate"}]
    # A later message from the same number is a touchpoint on that lead, carrying the text
    later = notify(wa, notification(message("wamid.TEST2", body="Is parking included?")))
    assert later[2]["leads"] == [{"lead_id": lead_id, "outcome": "merged"}]
    timeline = wiring.lead_repository().timeline(lead_id)
    touch = [e for e in timeline if e.kind == "lead.touchpoint"]
    assert len(touch) == 1 and touch[0].data["message"] == "Is parking included?"
    # and its own retry is a duplicate too
    assert notify(wa, notification(message("wamid.TEST2")))[2]["leads"][0]["outcome"] == "duplicate"
    lead = wiring.lead_repository().get(lead_id)
    assert lead is not None and lead.touch_count == 2 and lead.message == "Price for 2BHK?"


def test_a_ctwa_referral_becomes_attribution_and_extra(wa: dict[str, Any]) -> None:
    referral = {"source_url": "https://fb.me/3cr4Wqqkk", "source_id": "120212345678", "source_type": "ad",
                "headline": "2BHK in Noida from ₹45 lakh", "body": "Tap to chat", "media_type": "image",
                "image_url": "https://example.com/i.jpg", "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0Cr"}  # fmt: skip
    status, headers, _ = notify(wa, notification(message("wamid.AD1", referral=referral)))
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert status == 200 and lead is not None
    assert lead.attribution.ctwa_clid == referral["ctwa_clid"]
    assert lead.extra["referral"]["source_id"] == "120212345678"
    assert lead.extra["referral"]["headline"] == "2BHK in Noida from ₹45 lakh"
    created = wiring.lead_repository().timeline(lead.lead_id)[0]
    # The ad the person clicked (referral.source_id of a source_type "ad") is the attribution's ad_id
    assert created.data["attribution"] == {"ctwa_clid": referral["ctwa_clid"], "ad_id": referral["source_id"]}


def test_a_batch_of_entries_and_messages_is_handled_message_by_message_with_one_answer(wa: dict[str, Any]) -> None:
    # Given two entries: one with two senders (Devanagari and Tamil names), one with a message and a status
    contacts = [{"profile": {"name": "राहुल शर्मा"}, "wa_id": "919811100001"},
                {"profile": {"name": "லட்சுமி நாராயணன்"}, "wa_id": "919444012345"}]  # fmt: skip
    body = notification(message("wamid.B1", "919811100001", "नमस्ते, 3BHK?"),
                        message("wamid.B2", "919444012345", "விலை என்ன?"), contacts=contacts)  # fmt: skip
    second = copy.deepcopy(body["entry"][0])
    second["changes"][0]["value"].update(
        contacts=[{"profile": {"name": "Test Gujarati"}, "wa_id": "919825000003"}],
        messages=[message("wamid.B3", "919825000003", "Hello")],
        statuses=[{"id": "wamid.OUT9", "status": "sent", "timestamp": "1", "recipient_id": "919000000099"}],
    )
    body["entry"].append(second)
    status, headers, answer = notify(wa, body)
    # Then one 200 answer lists three created leads and the acknowledged status
    assert status == 200 and [lead["outcome"] for lead in answer["leads"]] == ["created"] * 3
    assert len(answer["ignored"]) == 1 and "not a lead" in answer["ignored"][0]
    leads = [wiring.lead_repository().get(i) for i in headers["x-lead-id"].split(",")]
    assert [(lead.name, lead.phone, lead.language) for lead in leads if lead] == [
        ("राहुल शर्मा", "+919811100001", "hi"), ("லட்சுமி நாராயணன்", "+919444012345", "ta"),
        ("Test Gujarati", "+919825000003", None),
    ]  # fmt: skip


def test_a_status_for_a_leads_number_goes_on_its_timeline_once_and_an_unknown_one_is_kept_as_ignored(
    wa: dict[str, Any], aws: dict[str, str]
) -> None:
    lead_id = notify(wa, fixture("whatsapp_message.json"))[1]["x-lead-id"]
    status, headers, answer = notify(wa, fixture("whatsapp_status.json"))
    assert status == 200 and answer["leads"] == [] and "x-lead-id" not in headers
    notices = [e for e in wiring.lead_repository().timeline(lead_id) if e.kind == "lead.provider_notice"]
    assert len(notices) == 1 and notices[0].data["status"] == "delivered"
    assert notices[0].data["message_id"] == "wamid.OUT1"
    # Meta's retry of the same status adds nothing to the timeline (its raw copy is still kept)
    notify(wa, fixture("whatsapp_status.json"))
    assert len([e for e in wiring.lead_repository().timeline(lead_id) if e.kind == "lead.provider_notice"]) == 1
    outcomes = [r["outcome"] for r in wiring.lead_repository().raw_requests(lead_id)]
    assert outcomes.count("notice") == 1 and outcomes.count("duplicate") == 1
    # A failed status for a number that is no lead is acknowledged and kept raw as ignored
    failed = [{"id": "wamid.OUT2", "status": "failed", "timestamp": "2", "recipient_id": "919000000055",
               "errors": [{"code": 131026, "title": "Message undeliverable"}]}]  # fmt: skip
    status, _, answer = notify(wa, notification(statuses=failed))
    assert status == 200 and answer["leads"] == []
    kept = wiring.lead_repository().ignored(answer["request_id"])
    assert kept is not None and kept["outcome"] == "ignored" and "failed" in kept["reason"]
    assert not table_items(aws["LEADS_TABLE"], "QUARANTINE#")


@pytest.mark.parametrize("tamper", ["missing", "wrong", "body_changed"])
def test_a_bad_signature_is_refused_and_kept(wa: dict[str, Any], aws: dict[str, str], tamper: str) -> None:
    raw = json.dumps(fixture("whatsapp_message.json")).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature_of(raw, wa["app_secret"])}
    if tamper == "missing":
        del headers["X-Hub-Signature-256"]
    elif tamper == "wrong":
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    else:
        raw = raw.replace(b"2BHK", b"3BHK")
    status, _, body = notify(wa, raw, headers)
    assert (status, body["error"]) == (
        (401, "missing_signature") if tamper == "missing" else (403, "invalid_signature")
    )
    assert len(table_items(aws["LEADS_TABLE"], "QUARANTINE#")) == 1
    assert not table_items(aws["LEADS_TABLE"], "LEAD#")


def test_other_change_fields_are_acknowledged_and_a_message_without_a_sender_is_quarantined_with_200(
    wa: dict[str, Any], aws: dict[str, str]
) -> None:
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]}  # fmt: skip
    status, _, answer = notify(wa, body)
    assert status == 200 and "message_template_status_update" in answer["ignored"][0]
    broken = notification(message("wamid.X", sender="12"), contacts=[])
    status, _, answer = notify(wa, broken)
    assert status == 200 and answer["status"] == "quarantined" and answer["error"] == "invalid_contact"
    assert table_items(aws["LEADS_TABLE"], "QUARANTINE#")


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ({"type": "button", "button": {"text": "Call me"}}, "Call me"),
        ({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "x", "title": "3BHK"}}},
         "3BHK"),
        ({"type": "image", "image": {"caption": "this flat?", "id": "m1"}}, "[image] this flat?"),
        ({"type": "audio", "audio": {"id": "m2"}}, "[audio]"),
        ({"type": "location", "location": {"latitude": 28.5, "longitude": 77.3, "name": "Sector 150"}},
         "[location] Sector 150 (28.5, 77.3)"),
    ],
)  # fmt: skip
def test_message_text_for_non_text_types(msg: dict[str, Any], expected: str) -> None:
    assert message_text(msg) == expected
