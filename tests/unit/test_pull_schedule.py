"""The pull schedule's arithmetic, on an injected clock: windows, rate limits, backoff, the
providers' time formats, and keeping credentials out of what is stored."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from leadrelay.models import Source, SourceKind
from leadrelay.pull import PullFailure, policy_from_settings
from leadrelay.pull.housing import housing_hash
from leadrelay.pull.http import masked_url, scrub
from leadrelay.pull.indiamart import POLICY as INDIAMART
from leadrelay.pull.indiamart import indiamart_time
from leadrelay.pull.magicbricks import magicbricks_date
from leadrelay.pull.ninety_nine_acres import acres_time, query_xml
from leadrelay.pull.poller import LOOKBACK_MARGIN, next_window, retry_wait
from leadrelay.pull.state import PollState
from leadrelay.sources.ninety_nine_acres import parse_xml
from tests.helpers import ManualClock

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 12:00 IST


def source(**settings: object) -> Source:
    return Source(source_id="im", kind=SourceKind.INDIAMART, name="IndiaMART", key_hash="x", settings=settings)


def failure(kind: str, retry_after: timedelta | None = None) -> PullFailure:
    return PullFailure(kind, "x", "x", retry_after=retry_after)


# -- time formats ----------------------------------------------------------------------------------


def test_indiamart_times_are_ist_with_english_months_and_no_space_before_the_hour() -> None:
    assert indiamart_time(datetime(2021, 12, 7, 3, 30, tzinfo=UTC)) == "07-Dec-202109:00:00"
    # 20:00 UTC on 31 December is already 1 January in India
    assert indiamart_time(datetime(2025, 12, 31, 20, 0, 5, tzinfo=UTC)) == "01-Jan-202601:30:05"


def test_portal_dates_and_times_are_indian_days_and_hours() -> None:
    late_evening_utc = datetime(2026, 1, 4, 19, 0, tzinfo=UTC)  # 00:30 on 5 January in India
    assert magicbricks_date(late_evening_utc) == "20260105"
    assert acres_time(late_evening_utc) == "2026-01-05 00:30:00"


def test_the_99acres_query_escapes_credentials_and_stays_well_formed_xml() -> None:
    window = next_window(None, NOW, INDIAMART)
    query = parse_xml(query_xml("builder&co", "p<w>d", window).encode())
    assert query.findtext("user_name") == "builder&co" and query.findtext("pswd") == "p<w>d"
    assert query.findtext("start_date") == "2026-11-22 12:00:00" and query.findtext("end_date") == "2026-11-23 12:00:00"


def test_the_housing_hash_is_hex_hmac_sha256_of_the_current_time_keyed_with_the_api_key() -> None:
    # Reference value computed independently: HMAC-SHA256(key=b"KEY", msg=b"1700000000")
    import hashlib
    import hmac

    expected = hmac.new(b"KEY", b"1700000000", hashlib.sha256).hexdigest()
    assert housing_hash("KEY", 1700000000) == expected and len(expected) == 64
    assert housing_hash("KEY", 1700000001) != expected


# -- windows ---------------------------------------------------------------------------------------


def test_the_first_window_starts_at_the_lookback_and_ends_now() -> None:
    window = next_window(None, NOW, INDIAMART)
    assert (window.start, window.end) == (NOW - timedelta(hours=24), NOW)


def test_the_next_window_overlaps_the_last_one_by_a_few_minutes() -> None:
    last_end = NOW - timedelta(minutes=5)
    window = next_window(last_end, NOW, INDIAMART)
    assert window.start == last_end - timedelta(minutes=5) and window.end == NOW


def test_a_long_gap_is_caught_up_in_windows_of_at_most_seven_days() -> None:
    clock = ManualClock(NOW)
    policy = policy_from_settings(source(pull_lookback_hours=24 * 20), INDIAMART)
    end, windows = None, []
    for _ in range(10):  # one window per allowed call (every 5 minutes) until it reaches "now"
        window = next_window(end, clock.now(), policy)
        windows.append(window)
        if window.end == clock.now():
            break
        end = window.end
        clock.advance(minutes=5)
    assert len(windows) == 3
    assert all(w.end - w.start <= timedelta(days=7) for w in windows)
    assert windows[0].start == NOW - timedelta(days=20)
    # each window starts 5 minutes before the previous one ended: nothing in between is skipped
    assert all(b.start == a.end - timedelta(minutes=5) for a, b in itertools.pairwise(windows))


def test_a_window_never_reaches_further_back_than_the_provider_keeps() -> None:
    policy = policy_from_settings(source(pull_lookback_hours=24 * 500), INDIAMART)
    window = next_window(None, NOW, policy)
    assert window.start == NOW - timedelta(days=365) + LOOKBACK_MARGIN
    stale = next_window(NOW - timedelta(days=400), NOW, policy)  # a source left alone for 400 days
    assert stale.start >= NOW - timedelta(days=365)


def test_settings_cannot_make_the_poller_faster_or_the_window_wider_than_the_provider_allows() -> None:
    policy = policy_from_settings(
        source(pull_interval_minutes=1, pull_window_hours=24 * 30, pull_overlap_minutes=-3), INDIAMART
    )
    assert policy.min_interval == timedelta(minutes=5)
    assert policy.max_window == timedelta(days=7)
    assert policy.overlap == timedelta(0)
    slower = policy_from_settings(source(pull_interval_minutes="30", pull_window_hours=6), INDIAMART)
    assert slower.min_interval == timedelta(minutes=30) and slower.max_window == timedelta(hours=6)
    assert policy_from_settings(source(pull_interval_minutes="soon"), INDIAMART).min_interval == timedelta(minutes=5)


# -- waiting after failures ------------------------------------------------------------------------


def test_a_provider_error_is_retried_after_the_interval_then_ever_later() -> None:
    waits = [retry_wait(n, failure("unavailable"), INDIAMART) for n in range(1, 8)]
    assert waits[:4] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert waits[-1] == INDIAMART.max_backoff  # capped
    assert waits == sorted(waits)


def test_too_many_calls_waits_at_least_fifteen_minutes() -> None:
    assert retry_wait(1, failure("rate_limited"), INDIAMART) == timedelta(minutes=15)
    assert retry_wait(1, failure("unavailable", retry_after=timedelta(minutes=30)), INDIAMART) == timedelta(minutes=30)


def test_refused_credentials_wait_an_hour_so_the_provider_is_not_hammered() -> None:
    assert retry_wait(1, failure("auth"), INDIAMART) == timedelta(hours=1)
    assert retry_wait(9, failure("auth"), INDIAMART) == timedelta(hours=2)


@pytest.mark.parametrize(("next_call", "due"), [(NOW - timedelta(seconds=1), True), (NOW, True),
                                                 (NOW + timedelta(milliseconds=1), False)])  # fmt: skip
def test_a_poll_is_due_from_its_next_call_time_on(next_call: datetime, due: bool) -> None:
    state = PollState(source_id="im", next_call_ms=int(next_call.timestamp() * 1000))
    assert state.due(NOW) is due


# -- credentials -----------------------------------------------------------------------------------


def test_credentials_are_masked_in_the_kept_url_and_in_provider_messages() -> None:
    url = "https://mapi.indiamart.com/wservce/crm/crmListing/v2/?glusr_crm_key=S3cretKey%3D%3D&start_time=x"
    assert masked_url(url, ("glusr_crm_key",)) == (
        "https://mapi.indiamart.com/wservce/crm/crmListing/v2/?glusr_crm_key=***&start_time=x"
    )
    assert scrub("key S3cretKey== is expired", ("S3cretKey==",)) == "key *** is expired"
