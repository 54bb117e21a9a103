"""DPDP Act 2023: erasure, export, consent withdrawal (by hand and by WhatsApp STOP), retention."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from leadrelay.privacy import may_market
from tests.integration.flow import Flow
from tests.integration.test_source_whatsapp import message, notification
from tests.integration.test_source_whatsapp import notify as wa_notify

NAME, PHONE, TEN_DIGITS, EMAIL = "Meenakshi Iyer", "+919811400001", "9811400001", "meenakshi.iyer@example.in"
SECRETS = (NAME, PHONE, TEN_DIGITS, EMAIL, "Meenakshi")


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


def post(flow: Flow, body: Any, **kwargs: Any) -> tuple[int, Any]:
    return flow.post("website", body, flow.sources["website"]["key"], **kwargs)  # type: ignore[attr-defined]


def everything_the_api_shows(flow: Flow, lead_id: str) -> str:
    views = [flow.get(f"/leads/{lead_id}"), flow.get(f"/leads/{lead_id}/timeline"),
             flow.get(f"/leads/{lead_id}/routing"), flow.get("/leads"), flow.get("/quarantine")]  # fmt: skip
    assert all(status == 200 for status, _ in views), views
    return json.dumps([body for _, body in views], ensure_ascii=False)


def table_text(aws: dict[str, str]) -> str:
    items = boto3.client("dynamodb").scan(TableName=aws["LEADS_TABLE"])["Items"]
    return json.dumps(items, ensure_ascii=False)


def a_person_with_history(flow: Flow) -> str:
    """A routed lead, the same person again (a touchpoint), and a broken request that names them."""
    status, created = post(flow, {"name": NAME, "phone": TEN_DIGITS, "email": EMAIL, "message": f"I am {NAME}"})
    assert status == 202
    flow.run_router()
    assert post(flow, {"phone": TEN_DIGITS, "message": "call me, Meenakshi"})[1]["outcome"] == "merged"
    assert post(flow, "not json but " + EMAIL, headers={"Content-Type": "application/json"})[0] == 400
    return str(created["lead_id"])


def test_after_erasure_no_endpoint_and_no_item_shows_the_person_and_a_second_erasure_is_a_noop(
    flow: Flow, aws: dict[str, str]
) -> None:
    # Given a person with a lead, a touchpoint and a quarantined request
    lead_id = a_person_with_history(flow)
    assert NAME in everything_the_api_shows(flow, lead_id)
    # When an admin erases them by phone
    status, erased = flow.call("POST", "/privacy/erasure", body={"phone": TEN_DIGITS})
    # Then the answer is the erasure record: who, when, which lead, what was removed
    assert status == 200, erased
    assert erased["noop"] is False and erased["lead_ids"] == [lead_id] and erased["by"]
    assert erased["removed"]["lead"] == 1 and erased["removed"]["raw"] >= 2 and erased["removed"]["touch"] == 1
    assert erased["removed"]["dedupe_key"] == 2 and erased["removed"]["quarantine"] == 1
    # And no endpoint, and no item in the table, holds their name, phone or email
    shown = everything_the_api_shows(flow, lead_id)
    stored = table_text(aws)
    for secret in SECRETS:
        assert secret not in shown and secret not in stored, secret
    # But the anonymous lead still counts: its source, status, owner and dates
    lead = flow.get(f"/leads/{lead_id}")[1]
    assert lead["source_id"] == "website" and lead["status"] == "assigned" and lead["assigned_agent_id"]
    # When the same erasure is asked again (by phone, or by lead id)
    again = flow.call("POST", "/privacy/erasure", body={"phone": TEN_DIGITS})
    by_id = flow.call("POST", "/privacy/erasure", body={"lead_id": lead_id})
    # Then nothing is left to remove, and nothing is written
    assert again == (200, {"noop": True, "erasure_id": None, "lead_ids": [], "removed": {}})
    assert by_id[1]["noop"] is True
    assert table_text(aws).count('"ERASURE"') == 2  # one record (its sk and list_pk)
    # And the same person arriving later is a new lead, owing nothing to the erased one
    assert post(flow, {"phone": TEN_DIGITS})[1]["outcome"] == "created"


def test_erasure_by_phone_also_finds_an_older_lead_of_the_same_person(flow: Flow, aws: dict[str, str], clock) -> None:
    # Given a person's lead, and, past the dedupe window, a second lead with the same phone (the
    # dedupe key now names only the newer one)
    status, first = post(flow, {"name": NAME, "phone": TEN_DIGITS, "email": EMAIL})
    assert status == 202
    clock.advance(days=45)
    status, second = post(flow, {"name": NAME, "phone": TEN_DIGITS})
    assert status == 202 and second["outcome"] == "created" and second["lead_id"] != first["lead_id"]
    # When an admin erases them by phone
    status, erased = flow.call("POST", "/privacy/erasure", body={"phone": TEN_DIGITS})
    # Then both leads are erased, and nothing in the table holds the person any more
    assert status == 200, erased
    assert sorted(erased["lead_ids"]) == sorted([first["lead_id"], second["lead_id"]])
    stored = table_text(aws)
    for secret in (NAME, PHONE, TEN_DIGITS, EMAIL):
        assert secret not in stored, secret


def test_only_an_admin_may_erase_or_export_and_a_request_must_name_someone(flow: Flow) -> None:
    assert flow.call("POST", "/privacy/erasure", role="manager", team_id="ncr", body={"phone": TEN_DIGITS})[0] == 403
    assert flow.call("POST", "/privacy/export", role="agent", agent_id="anjali", body={"phone": TEN_DIGITS})[0] == 403
    status, answer = flow.call("POST", "/privacy/erasure", body={})
    assert status == 422 and answer["error"] == "missing_identifier"
    status, answer = flow.call("POST", "/privacy/export", body={"phone": "12"})
    assert status == 422 and answer["error"] == "invalid_identifier"


def test_export_returns_everything_held_about_the_person(flow: Flow) -> None:
    lead_id = a_person_with_history(flow)
    status, held = flow.call("POST", "/privacy/export", body={"email": EMAIL})
    assert status == 200
    (lead,) = held["leads"]
    assert lead["lead_id"] == lead_id
    kinds = {item["sk"].split("#", 1)[0] for item in lead["items"]}
    assert {"LEAD", "TL", "ROUTE", "RAW", "TOUCH"} <= kinds
    assert NAME in json.dumps(lead["items"], ensure_ascii=False)
    assert len(held["unattached_requests"]) == 1  # the quarantined request that names them


def test_withdrawing_consent_stops_marketing_at_once_and_is_kept_in_a_ledger(flow: Flow) -> None:
    # Given a lead that consented
    lead_id = post(flow, {"phone": "9811400002", "consent": True})[1]["lead_id"]
    assert may_market(wiring.lead_repository().get(lead_id))  # type: ignore[arg-type]
    # When the person withdraws consent on a call
    status, answer = flow.call("POST", f"/leads/{lead_id}/consent",
                               body={"given": False, "channel": "call", "reason": "asked on the phone"})  # fmt: skip
    # Then marketing stops at once, and the ledger and the timeline say when, how and who
    assert status == 200 and answer["consent"] is False
    assert not may_market(wiring.lead_repository().get(lead_id, consistent=True))  # type: ignore[arg-type]
    (entry,) = answer["ledger"]
    assert entry["channel"] == "call" and entry["given"] is False and entry["at"] and entry["by"]
    kinds = [e["kind"] for e in flow.get(f"/leads/{lead_id}/timeline")[1]["items"]]
    assert kinds[-1] == "lead.consent_withdrawn"
    # And giving consent is not done here
    assert flow.call("POST", f"/leads/{lead_id}/consent", body={"given": True})[0] == 422


def test_a_whatsapp_stop_withdraws_consent_once(aws: dict[str, str]) -> None:
    wa = next(s for s in seed(demo=True).sources if s["kind"] == "whatsapp")
    # Given a lead from WhatsApp
    status, headers, _ = wa_notify(wa, notification(message("wamid.first", body="Price for 2BHK?")))
    assert status == 200
    lead_id = headers["x-lead-id"]
    # When the person replies STOP (and Meta delivers the reply twice)
    for _ in range(2):
        assert wa_notify(wa, notification(message("wamid.stop", body="STOP")))[0] == 200
    # Then consent is withdrawn, with one ledger entry for the channel
    repo = wiring.lead_repository()
    lead = repo.get(lead_id, consistent=True)
    assert lead is not None and lead.consent is False and not may_market(lead)
    from leadrelay.privacy import PrivacyStore

    ledger = PrivacyStore(repo).consent_ledger(lead_id)
    assert [(e["channel"], e["given"]) for e in ledger] == [("whatsapp", False)]
    # And STOP did not become a lead or a touchpoint
    assert lead.touch_count == 1


def test_raw_copies_and_quarantine_expire_after_90_days_by_ttl(flow: Flow, aws: dict[str, str], clock: Any) -> None:
    lead_id = post(flow, {"phone": "9811400003"})[1]["lead_id"]
    request_id = post(flow, "{broken", headers={"Content-Type": "application/json"})[1]["request_id"]
    expected = int((clock.now() + timedelta(days=90)).timestamp())
    (raw,) = wiring.lead_repository().raw_requests(lead_id)
    assert int(raw["expires_at"]) == expected
    from leadrelay.store.quarantine import QuarantineStore

    assert int(QuarantineStore(aws["LEADS_TABLE"]).get(request_id)["expires_at"]) == expected  # type: ignore[index]


def test_a_closed_lead_expires_when_the_organisation_sets_a_retention(
    flow: Flow, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadrelay.config import reset_settings

    monkeypatch.setenv("CLOSED_LEAD_RETENTION_DAYS", "365")
    reset_settings()
    lead_id = post(flow, {"phone": "9811400004"})[1]["lead_id"]
    flow.run_router()
    assert flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "lost", "reason": "bought elsewhere"})[0] == 200
    item = boto3.client("dynamodb").get_item(
        TableName="test-leads", Key={"pk": {"S": f"LEAD#{lead_id}"}, "sk": {"S": "LEAD"}}
    )["Item"]
    assert int(item["expires_at"]["N"]) == int((clock.now() + timedelta(days=365)).timestamp())
    # Reopened by hand, it is kept again
    assert flow.call("PUT", f"/leads/{lead_id}/status", body={"status": "contacted"})[0] == 200
    item = boto3.client("dynamodb").get_item(
        TableName="test-leads", Key={"pk": {"S": f"LEAD#{lead_id}"}, "sk": {"S": "LEAD"}}
    )["Item"]
    assert "expires_at" not in item
    reset_settings()
