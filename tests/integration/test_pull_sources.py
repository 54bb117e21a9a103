"""Pull pollers on moto against fake provider APIs on loopback: IndiaMART v2 (windows, 204, 429,
401, 500, catch-up, racing pollers), 99acres XML, MagicBricks and Housing.com — each record a lead
with an E.164 phone, the source's tags and its raw copy, or quarantined with the reason."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.models import Source, SourceKind
from leadrelay.models.source import hash_key
from leadrelay.pull.indiamart import indiamart_time
from leadrelay.pull.poller import SourcePoller
from leadrelay.pull.state import PollStateStore
from leadrelay.store.quarantine import QuarantineStore
from tests.helpers import LambdaContext, ManualClock
from tests.integration.fake_provider import FakeProvider, Seen, json_answer
from tests.integration.hooks import fixture, send

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
KEY = "GLUSR-S3CRET-KEY-0042"


def enquiry(query_id: str, mobile: str, **changes: Any) -> dict[str, Any]:
    lead: dict[str, Any] = fixture("indiamart.json")["RESPONSE"]
    lead.update(UNIQUE_QUERY_ID=query_id, SENDER_MOBILE=mobile, SENDER_EMAIL="", **changes)
    return lead


def leads_answer(*records: dict[str, Any]) -> tuple[int, str, bytes]:
    return json_answer({"CODE": 200, "STATUS": "SUCCESS", "MESSAGE": "", "TOTAL_RECORDS": len(records),
                        "RESPONSE": list(records)})  # fmt: skip


def add_source(kind: SourceKind, source_id: str, **settings: Any) -> Source:
    source = Source(source_id=source_id, kind=kind, name=source_id, key_hash=hash_key("k"), settings=settings,
                    tags=["pulled", kind.value])  # fmt: skip
    wiring.org_repository().put_source(source)
    return source


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    fake.thread.start()
    yield fake
    fake.delay_s = 0
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def poller(aws: dict[str, str], clock: ManualClock) -> SourcePoller:
    return SourcePoller(org=wiring.org_repository(), capture=wiring.capture_service, clock=clock)


@pytest.fixture
def indiamart(aws: dict[str, str], provider: FakeProvider) -> Source:
    return add_source(SourceKind.INDIAMART, "im-pull", glusr_crm_key=KEY, pull_url=f"{provider.url}/v2/")


def state(source_id: str) -> Any:
    found = PollStateStore(wiring.org_repository().table).get(source_id)
    assert found is not None
    return found


def lead_ids(aws: dict[str, str]) -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=aws["LEADS_TABLE"])["Items"]
    return sorted(i["pk"]["S"][5:] for i in items if i["pk"]["S"].startswith("LEAD#") and i["sk"]["S"] == "LEAD")


def everything_stored(aws: dict[str, str]) -> str:
    """Every item of both tables except the sources themselves (where the key must live), as text."""
    dump = []
    for table in aws.values():
        for item in boto3.client("dynamodb").scan(TableName=table)["Items"]:
            if item["pk"]["S"] != "SOURCES":
                dump.append(json.dumps(item))
    return "\n".join(dump)


# -- IndiaMART -------------------------------------------------------------------------------------


def test_indiamart_records_become_leads_and_a_repeat_from_the_overlapping_window_is_a_duplicate(
    poller: SourcePoller,
    indiamart: Source,
    provider: FakeProvider,
    clock: ManualClock,
    aws: dict[str, str],
) -> None:
    # Given IndiaMART answers two enquiries, then (next window, overlapping) one of them again and a new one
    first_at = clock.now()
    provider.answers(leads_answer(enquiry("9001", "+91-9811100001"), enquiry("9002", "9811100002")),
                     leads_answer(enquiry("9002", "9811100002"), enquiry("9003", "9811100003")))  # fmt: skip
    # When the poller runs, and again five minutes later
    (one,) = poller.poll_all()
    clock.advance(minutes=5)
    (two,) = poller.poll_all()
    # Then the first call asked for the last 24 hours in IST, the second from 5 minutes before the first's end
    assert [s.query["start_time"] for s in provider.seen] == [indiamart_time(first_at - timedelta(hours=24)),
                                                              indiamart_time(first_at - timedelta(minutes=5))]  # fmt: skip
    assert provider.seen[1].query["end_time"] == indiamart_time(clock.now())
    assert provider.seen[0].query["glusr_crm_key"] == KEY
    assert (one.counts, two.counts) == ({"records": 2, "created": 2}, {"records": 2, "duplicate": 1, "created": 1})
    # And each lead has an E.164 phone, the source's tags and its raw copy, the key masked
    ids = lead_ids(aws)
    leads = [wiring.lead_repository().get(i) for i in ids]
    assert sorted(lead.phone for lead in leads if lead) == ["+919811100001", "+919811100002", "+919811100003"]
    assert all(lead and {"pulled", "indiamart", "indiamart:direct"} <= set(lead.tags) for lead in leads)
    repeated = next(lead for lead in leads if lead and lead.external_id == "9002")
    raws = wiring.lead_repository().raw_requests(repeated.lead_id)
    assert sorted(r["outcome"] for r in raws) == ["created", "duplicate"]
    assert all(r["method"] == "PULL" and "glusr_crm_key=***" in r["path"] for r in raws)
    assert json.loads(raws[0]["body"])["UNIQUE_QUERY_ID"] == "9002"
    assert KEY not in everything_stored(aws)
    # And the poll state says what happened
    polled = state("im-pull")
    assert polled.last_result["ok"] is True and polled.last_result["created"] == 1 and polled.failures == 0
    assert polled.window_end == clock.now()


def test_no_second_call_inside_five_minutes_and_204_moves_the_window_on(
    poller: SourcePoller,
    indiamart: Source,
    provider: FakeProvider,
    clock: ManualClock,
) -> None:
    provider.answers(json_answer({"CODE": 204, "STATUS": "SUCCESS", "MESSAGE": "There are no leads"}))
    (first,) = poller.poll_all()
    assert first.status == "polled" and first.code == "204"
    for _ in range(4):
        clock.advance(minutes=1)
        assert [o.status for o in poller.poll_all()] == ["not_due"]
    assert len(provider.seen) == 1
    clock.advance(minutes=1)
    poller.poll_all()
    assert len(provider.seen) == 2
    assert state("im-pull").last_result["message"] == "There are no leads"


def test_429_backs_off_at_least_fifteen_minutes_and_keeps_the_window(
    poller: SourcePoller,
    indiamart: Source,
    provider: FakeProvider,
    clock: ManualClock,
) -> None:
    start = clock.now()
    provider.answers(json_answer({"CODE": 429, "STATUS": "FAILURE", "MESSAGE": "Too many requests"}),
                     leads_answer(enquiry("9101", "9811100004")))  # fmt: skip
    (failed,) = poller.poll_all()
    assert (failed.status, failed.code) == ("failed", "429")
    assert state("im-pull").next_call_at == start + timedelta(minutes=15)
    clock.advance(minutes=14)
    poller.poll_all()
    assert len(provider.seen) == 1
    clock.advance(minutes=1)
    (retried,) = poller.poll_all()
    assert retried.status == "polled" and len(provider.seen) == 2
    # the retry starts where the failed call started (less the overlap): nothing skipped
    assert provider.seen[0].query["start_time"] == indiamart_time(start - timedelta(hours=24))
    assert provider.seen[1].query["start_time"] == indiamart_time(start - timedelta(hours=24, minutes=5))


def test_401_is_recorded_with_indiamarts_message_and_retried_only_hourly(
    poller: SourcePoller,
    indiamart: Source,
    provider: FakeProvider,
    clock: ManualClock,
) -> None:
    provider.answers(json_answer({"CODE": 401, "STATUS": "FAILURE", "MESSAGE": f"Invalid key {KEY}"}))
    poller.poll_all()
    polled = state("im-pull")
    assert polled.last_result["ok"] is False and polled.last_result["code"] == "401"
    assert polled.last_result["message"] == "Invalid key ***" and polled.last_result["failure"] == "auth"
    assert polled.last_success_at is None and polled.failures == 1
    for _ in range(11):
        clock.advance(minutes=5)
        poller.poll_all()
    assert len(provider.seen) == 1  # not hammered
    clock.advance(minutes=5)
    poller.poll_all()
    assert len(provider.seen) == 2 and state("im-pull").failures == 2  # still failing, visibly
    # and the admin sees it on the source, without the key
    import api_handler

    from tests.helpers import api_event, claims

    response = api_handler.handler(api_event("GET", "/sources/im-pull", claims=claims("admin")), LambdaContext())
    view = json.loads(response["body"])
    assert response["statusCode"] == 200 and view["pull"]["configured"] is True
    assert view["pull"]["failures"] == 2 and view["pull"]["last_result"]["message"] == "Invalid key ***"
    assert view["pull"]["next_call_at"] and KEY not in response["body"]
    listed = json.loads(
        api_handler.handler(api_event("GET", "/sources", claims=claims("admin")), LambdaContext())["body"]
    )
    kinds = {item["source_id"]: "pull" in item for item in listed["items"]}
    assert kinds["im-pull"] is True


def test_500_and_a_400_are_retried_later_and_the_window_only_moves_after_a_success(
    poller: SourcePoller,
    indiamart: Source,
    provider: FakeProvider,
    clock: ManualClock,
) -> None:
    provider.answers(json_answer({"CODE": 500, "MESSAGE": "Internal error"}),
                     json_answer({"CODE": 400, "MESSAGE": "Invalid time"}, status=200),
                     leads_answer(enquiry("9201", "9811100005")))  # fmt: skip
    poller.poll_all()
    assert state("im-pull").next_call_at == clock.now() + timedelta(minutes=5)
    clock.advance(minutes=5)
    poller.poll_all()  # 400: the second failure in a row waits 10 minutes
    assert state("im-pull").last_result["message"] == "Invalid time" and state("im-pull").failures == 2
    clock.advance(minutes=9)
    poller.poll_all()
    assert len(provider.seen) == 2
    clock.advance(minutes=1)
    (ok,) = poller.poll_all()
    assert ok.status == "polled" and state("im-pull").failures == 0 and state("im-pull").window_end == clock.now()
    # every retry asked from the same place (the first window's start, less the overlap)
    assert len({s.query["start_time"] for s in provider.seen[1:]}) == 1


def test_a_provider_that_does_not_answer_in_time_is_a_recorded_failure(
    poller: SourcePoller,
    provider: FakeProvider,
    clock: ManualClock,
    aws: dict[str, str],
) -> None:
    add_source(SourceKind.INDIAMART, "im-slow", glusr_crm_key=KEY, pull_url=f"{provider.url}/v2/", pull_timeout_s=1)
    provider.delay_s = 2
    (outcome,) = poller.poll_all()
    assert (outcome.status, outcome.code) == ("failed", "unreachable")
    assert state("im-slow").last_success_at is None and "did not answer" in state("im-slow").last_result["message"]


def test_a_long_gap_is_caught_up_one_seven_day_window_per_call_five_minutes_apart(
    poller: SourcePoller,
    provider: FakeProvider,
    clock: ManualClock,
    aws: dict[str, str],
) -> None:
    add_source(SourceKind.INDIAMART, "im-gap", glusr_crm_key=KEY, pull_url=f"{provider.url}/v2/",
               pull_lookback_hours=24 * 16)  # fmt: skip
    provider.answers(json_answer({"CODE": 204, "MESSAGE": "No data"}))
    calls: list[datetime] = []
    for _ in range(20):  # a tick a minute for 20 minutes
        if any(o.status == "polled" for o in poller.poll_all()):
            calls.append(clock.now())
        clock.advance(minutes=1)
    # a call every 5 minutes, never closer, and not one in between
    assert [c - calls[0] for c in calls] == [timedelta(minutes=m) for m in (0, 5, 10, 15)]
    assert len(provider.seen) == 4
    windows = [(s.query["start_time"], s.query["end_time"]) for s in provider.seen]
    assert windows[0] == (indiamart_time(calls[0] - timedelta(days=16)), indiamart_time(calls[0] - timedelta(days=9)))
    first_end = calls[0] - timedelta(days=9)
    assert windows[1] == (indiamart_time(first_end - timedelta(minutes=5)),
                          indiamart_time(first_end + timedelta(days=7, minutes=-5)))  # fmt: skip
    assert windows[2][1] == indiamart_time(calls[2])  # caught up after three 7-day-at-most windows
    assert windows[3] == (indiamart_time(calls[2] - timedelta(minutes=5)), indiamart_time(calls[3]))  # then as usual
    assert state("im-gap").window_end == calls[3]


def test_a_malformed_record_is_quarantined_with_its_reason_and_the_others_are_stored(
    poller: SourcePoller,
    indiamart: Source,
    provider: FakeProvider,
    aws: dict[str, str],
) -> None:
    broken = {"UNIQUE_QUERY_ID": "9301", "SENDER_NAME": "No Contact", "SENDER_MOBILE": "12345"}
    provider.answers(leads_answer(enquiry("9300", "9811100006"), broken, enquiry("9302", "9811100007")))
    (outcome,) = poller.poll_all()
    assert outcome.counts == {"records": 3, "created": 2, "quarantined": 1}
    (kept,) = QuarantineStore(aws["LEADS_TABLE"]).page(limit=10)[0]
    assert kept["error"] == "invalid_contact" and "12345" in kept["reason"]
    assert json.loads(kept["body"])["UNIQUE_QUERY_ID"] == "9301" and "glusr_crm_key=***" in kept["path"]
    assert state("im-pull").last_result["quarantined"] == 1


def test_a_run_short_of_time_defers_the_source_to_the_next_tick(
    poller: SourcePoller, indiamart: Source, provider: FakeProvider
) -> None:
    provider.answers(leads_answer(enquiry("9400", "9811100008")))
    # Less time left than a call's timeout plus the margin: not even started
    (outcome,) = poller.poll_all(remaining_s=lambda: 25.0)
    assert outcome.status == "deferred" and provider.seen == []
    assert PollStateStore(wiring.org_repository().table).get("im-pull") is None  # nothing claimed
    (outcome,) = poller.poll_all(remaining_s=lambda: 55.0)
    assert outcome.status == "polled" and len(provider.seen) == 1


def test_sources_without_credentials_or_switched_off_are_not_polled(
    poller: SourcePoller,
    provider: FakeProvider,
    aws: dict[str, str],
) -> None:
    add_source(SourceKind.INDIAMART, "im-push-only", pull_url=f"{provider.url}/v2/")
    off = add_source(SourceKind.INDIAMART, "im-off", glusr_crm_key=KEY, pull_url=f"{provider.url}/v2/")
    wiring.org_repository().put_source(off.model_copy(update={"active": False}))
    add_source(SourceKind.GENERIC, "web", glusr_crm_key=KEY)
    assert poller.poll_all() == [] and provider.seen == []
    assert PollStateStore(wiring.org_repository().table).list() == []


def test_the_pull_schedule_polls_and_the_tick_does_not(
    indiamart: Source,
    provider: FakeProvider,
    aws: dict[str, str],
) -> None:
    import followup_handler

    provider.answers(leads_answer(enquiry("9401", "9811100008")))
    followup_handler.handler({"detail-type": "Scheduled Event", "detail": {"task": "tick"}}, LambdaContext())
    followup_handler.handler({"detail-type": "Scheduled Event", "detail": {}}, LambdaContext())
    assert provider.seen == []
    answer = followup_handler.handler({"detail-type": "Scheduled Event", "detail": {"task": "pull"}}, LambdaContext())
    assert answer["sources"] == [{"source_id": "im-pull", "status": "polled", "code": "200", "records": 1,
                                  "created": 1}]  # fmt: skip
    assert len(provider.seen) == 1 and len(lead_ids(aws)) == 1


# -- racing pollers (moto server: one request at a time, atomic like DynamoDB) --------------------


@pytest.fixture
def served_org(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from leadrelay import definitions
    from leadrelay.clock import SystemClock, set_clock
    from leadrelay.local.aws import base_env, create_table
    from tests.integration.local_fixtures import shared_moto

    server = shared_moto()
    suffix = uuid.uuid4().hex[:8]
    names = {"LEADS_TABLE": f"p-leads-{suffix}", "ORG_TABLE": f"p-org-{suffix}", "EVENT_BUS_NAME": f"p-bus-{suffix}"}
    for key, value in {**base_env(server.endpoint), **names}.items():
        monkeypatch.setenv(key, value)
    wiring.reset()
    ddb = boto3.client("dynamodb")
    for table in definitions.TABLES:
        create_table(ddb, table, names[table.env_var])
    boto3.client("events").create_event_bus(Name=names["EVENT_BUS_NAME"])
    clock = ManualClock()
    set_clock(clock)
    yield names
    set_clock(SystemClock())
    wiring.reset()


def test_eight_pollers_racing_make_exactly_one_call(served_org: dict[str, str], provider: FakeProvider) -> None:
    from leadrelay.clock import get_clock

    add_source(SourceKind.INDIAMART, "im-race", glusr_crm_key=KEY, pull_url=f"{provider.url}/v2/")
    provider.answers(leads_answer(enquiry("9501", "9811100009")))
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def one_poller() -> None:
        poller = SourcePoller(org=wiring.org_repository(), capture=wiring.capture_service, clock=get_clock())
        start.wait()
        outcomes.extend(o.status for o in poller.poll_all())

    threads = [threading.Thread(target=one_poller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(provider.seen) == 1
    assert sorted(outcomes) == ["not_due"] * 7 + ["polled"]


# -- property portals ------------------------------------------------------------------------------


def test_99acres_responses_are_pulled_as_xml_and_an_unusable_one_is_quarantined(
    poller: SourcePoller,
    provider: FakeProvider,
    clock: ManualClock,
    aws: dict[str, str],
) -> None:
    add_source(SourceKind.NINETY_NINE_ACRES, "acres", user_name="builder", password="Pa55<word>",
               pull_url=f"{provider.url}/99api/v1/getmy99Response/x/uid/")  # fmt: skip
    xml = (FIXTURES / "99acres_pull.xml").read_text()
    unusable = (
        "<Resp><QryDtl ResType='LEAD'><QryInfo>no contact</QryInfo></QryDtl><CntctDtl><Name>X</Name></CntctDtl></Resp>"
    )
    provider.answers((200, "text/xml", xml.replace("</Xml>", f"{unusable}</Xml>").encode()))
    (outcome,) = poller.poll_all()
    # The query went as a form field `xml`, credentials inside it, times in IST
    from leadrelay.sources.ninety_nine_acres import parse_xml

    (seen,) = provider.seen
    query = parse_xml(seen.form()["xml"].encode())
    assert seen.method == "POST" and query.findtext("user_name") == "builder" and query.findtext("pswd") == "Pa55<word>"
    assert query.findtext("end_date") == "2026-11-23 12:00:00"
    assert outcome.counts == {"records": 3, "created": 2, "quarantined": 1}
    lead = wiring.lead_repository().get(next(i for i in lead_ids(aws)
                                             if wiring.lead_repository().get(i).external_id == "99Q-10001"))  # fmt: skip
    assert lead is not None and lead.phone == "+919000000008" and {"pulled", "99acres:s2m"} <= set(lead.tags)
    (raw,) = wiring.lead_repository().raw_requests(lead.lead_id)
    assert raw["body"].startswith("<Resp>") and "Test Arora" in raw["body"] and "Pa55" not in raw["body"]
    (kept,) = QuarantineStore(aws["LEADS_TABLE"]).page(limit=10)[0]
    assert kept["error"] == "missing_contact"
    assert "Pa55" not in everything_stored(aws)


def test_a_99acres_error_answer_is_a_failure_with_its_message(
    poller: SourcePoller,
    provider: FakeProvider,
    aws: dict[str, str],
) -> None:
    add_source(SourceKind.NINETY_NINE_ACRES, "acres", user_name="builder", password="wrong-password",
               pull_url=f"{provider.url}/uid/")  # fmt: skip
    provider.answers((200, "text/xml", (FIXTURES / "99acres_error.xml").read_bytes()))
    (outcome,) = poller.poll_all()
    assert (outcome.status, outcome.code, outcome.message) == ("failed", "101", "Invalid user name or password")
    assert state("acres").last_result["failure"] == "auth" and state("acres").last_success_at is None


def test_magicbricks_leads_are_pulled_by_day_and_a_repeat_the_same_day_is_a_duplicate(
    poller: SourcePoller,
    provider: FakeProvider,
    clock: ManualClock,
    aws: dict[str, str],
) -> None:
    add_source(SourceKind.MAGICBRICKS, "mb", api_key="MB-KEY-777", pull_url=f"{provider.url}/mbRating/download.json")
    provider.answers((200, "application/json", (FIXTURES / "magicbricks.json").read_bytes()))
    (first,) = poller.poll_all()
    clock.advance(minutes=10)
    (second,) = poller.poll_all()
    # whole IST days: the second window (from 11:50 IST) asks for today again
    assert [(s.query["startDate"], s.query["endDate"]) for s in provider.seen] == [("20261122", "20261123"),
                                                                                ("20261123", "20261123")]  # fmt: skip
    assert provider.seen[0].query["key"] == "MB-KEY-777"
    assert first.counts == {"records": 2, "created": 2} and second.counts == {"records": 2, "duplicate": 2}
    leads = [wiring.lead_repository().get(i) for i in lead_ids(aws)]
    assert sorted(lead.phone for lead in leads if lead) == ["+919000000005", "+919000000010"]
    raw = wiring.lead_repository().raw_requests(leads[0].lead_id)[0]  # type: ignore[union-attr]
    assert "key=***" in raw["path"] and "MB-KEY-777" not in everything_stored(aws)


def test_a_magicbricks_error_is_recorded_with_its_message(
    poller: SourcePoller,
    provider: FakeProvider,
    aws: dict[str, str],
) -> None:
    add_source(SourceKind.MAGICBRICKS, "mb", api_key="MB-KEY-777", pull_url=f"{provider.url}/download.json")
    provider.answers(
        (200, "text/xml", b"<response><status>error</status><errormsg>Invalid date range</errormsg></response>")
    )
    (outcome,) = poller.poll_all()
    assert (outcome.status, outcome.message) == ("failed", "Invalid date range")
    assert state("mb").last_result["failure"] == "provider_error"


def test_housing_is_pulled_with_the_right_hmac_and_its_leads_stored(
    poller: SourcePoller,
    provider: FakeProvider,
    clock: ManualClock,
    aws: dict[str, str],
) -> None:
    add_source(SourceKind.HOUSING, "housing", api_key="HSG-API-KEY", profile_id="4242",
               pull_url=f"{provider.url}/api/v0/get-builder-leads")  # fmt: skip

    def answer(seen: Seen) -> tuple[int, str, bytes]:
        expected = hmac.new(b"HSG-API-KEY", seen.query["current_time"].encode(), hashlib.sha256).hexdigest()
        if seen.query.get("hash") != expected:
            return json_answer({"status": False, "message": "hash mismatch"}, status=401)
        return 200, "application/json", (FIXTURES / "housing.json").read_bytes()

    provider.answer = answer
    (outcome,) = poller.poll_all()
    (seen,) = provider.seen
    assert seen.query["current_time"] == str(int(clock.now().timestamp())) and seen.query["id"] == "4242"
    assert int(seen.query["end_date"]) - int(seen.query["start_date"]) == 24 * 3600
    assert outcome.status == "polled" and outcome.counts == {"records": 1, "created": 1}
    (lead_id,) = lead_ids(aws)
    lead = wiring.lead_repository().get(lead_id)
    assert lead is not None and (lead.phone, lead.external_id, lead.city) == ("+919000000011", "HSG-5001", "Pune")
    assert "hash=***" in wiring.lead_repository().raw_requests(lead_id)[0]["path"]


def test_housing_refusing_the_hash_is_an_auth_failure(
    poller: SourcePoller,
    provider: FakeProvider,
    aws: dict[str, str],
) -> None:
    add_source(SourceKind.HOUSING, "housing", api_key="HSG-API-KEY", profile_id="4242", pull_url=provider.url)
    provider.answers(json_answer({"status": False, "message": "hash mismatch"}, status=401))
    (outcome,) = poller.poll_all()
    assert (outcome.status, outcome.message) == ("failed", "hash mismatch")
    assert state("housing").last_result["failure"] == "auth"


# -- hostile answers -------------------------------------------------------------------------------

PULL_SOURCES = {
    "indiamart": (SourceKind.INDIAMART, {"glusr_crm_key": KEY}, "/v2/"),
    "magicbricks": (SourceKind.MAGICBRICKS, {"api_key": "MB-KEY-777"}, "/download.json"),
    "housing": (SourceKind.HOUSING, {"api_key": "HSG-API-KEY", "profile_id": "4242"}, "/api/v0/get-builder-leads"),
}


@pytest.mark.parametrize("name", sorted(PULL_SOURCES))
def test_a_provider_answer_nested_past_the_webhook_limit_is_a_recorded_failure_not_a_crash(
    name: str,
    poller: SourcePoller,
    provider: FakeProvider,
    aws: dict[str, str],
) -> None:
    # Given a provider whose answer nests 100,000 levels deep (Python's JSON decoder would recurse
    # until it crashed), the depth limit webhooks have (limits.MAX_BODY_DEPTH)
    kind, settings, path = PULL_SOURCES[name]
    add_source(kind, name, pull_url=f"{provider.url}{path}", **settings)
    provider.answers((200, "application/json", b"[" * 100_000 + b"]" * 100_000))
    # When the source is polled
    (outcome,) = poller.poll_all()
    # Then the poll is a failure on record (the tick goes on), and nothing is stored as a lead
    assert outcome.status == "failed", outcome
    assert state(name).last_result["failure"] == "invalid_answer" and state(name).failures == 1
    assert lead_ids(aws) == []


def test_a_provider_answer_is_read_as_a_webhook_body_is(provider: FakeProvider) -> None:
    from leadrelay import limits
    from leadrelay.pull.http import HttpAnswer

    # NaN/Infinity are no value, a number past a float is its text, nesting past the limit refused
    assert HttpAnswer(200, b'{"a": NaN, "b": [Infinity], "c": 1e400}', "application/json").json() == {
        "a": None, "b": [None], "c": "1e400",
    }  # fmt: skip
    with pytest.raises(limits.TooDeep):
        HttpAnswer(200, b"{" * 70 + b"}" * 70, "application/json").json()


# -- the same records pushed ----------------------------------------------------------------------


def test_portal_records_pushed_to_the_webhook_become_leads_too(aws: dict[str, str]) -> None:
    for kind in (SourceKind.NINETY_NINE_ACRES, SourceKind.MAGICBRICKS, SourceKind.HOUSING):
        add_source(kind, f"push-{kind.value}")
    xml = (FIXTURES / "99acres_pull.xml").read_text()
    status, _, body = send("push-99acres", xml, key="k", headers={"Content-Type": "application/xml"})
    assert status == 200 and [lead["outcome"] for lead in body["leads"]] == ["created", "created"]
    status, _, body = send("push-magicbricks", fixture("magicbricks.json"), key="k")
    assert status == 200 and [lead["outcome"] for lead in body["leads"]] == ["created", "created"]
    status, headers, body = send("push-housing", [fixture("housing.json")["data"]["leads"][0]], key="k")
    assert status == 200 and body["leads"][0]["outcome"] == "created"
    lead = wiring.lead_repository().get(headers["x-lead-id"])
    assert lead is not None and lead.phone == "+919000000011" and lead.source_kind == "housing"
    status, _, body = send("push-99acres", "<Xml><Resp>", key="k", headers={"Content-Type": "application/xml"})
    assert status == 400 and body["error"] == "malformed_xml" and body["request_id"]
