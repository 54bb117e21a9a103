"""What one lead or follow-up adds to the dashboard's counters (dashboard_counts.py), item by item:
the facts read from a stored item, the exact counters of one lead, the stages, follow-ups, stream
ordering and the month partitions (tests/unit/test_dashboard_aggregates.py holds the recounts)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from leadrelay.dashboard_counts import (
    CellChange,
    Contribution,
    Definitions,
    Marker,
    followup_contribution,
    in_stage,
    lead_contribution,
    lead_counts,
    lead_facts,
    months_between,
    paise,
    plan,
    sequence_key,
)

RECEIVED = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # 10:00 IST
IST = Definitions()


def item(**fields: object) -> dict[str, object]:
    return {"lead_id": "L1", "source_id": "web", "received_at": "2026-11-25T04:30:00+00:00", **fields}


@pytest.mark.parametrize(
    "received_at",
    [
        "2026-11-25T04:30:00Z",
        "2026-11-25T04:30:00",  # no offset: UTC, as the store writes it
        "2026-11-25T10:00:00+05:30",
        datetime(2026, 11, 25, 4, 30),  # a naive datetime: UTC too
        datetime(2026, 11, 25, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
)
def test_a_receipt_time_in_any_stored_form_is_the_same_moment(received_at: object) -> None:
    facts = lead_facts(item(received_at=received_at))
    assert facts is not None and facts.received_at == RECEIVED and facts.received_at.tzinfo is not None
    assert facts.received_at.utcoffset() is not None


@pytest.mark.parametrize("received_at", [None, "", "yesterday"])
def test_a_lead_without_a_readable_receipt_time_counts_nowhere(received_at: object) -> None:
    assert lead_facts(item(received_at=received_at)) is None
    assert lead_contribution(item(received_at=received_at), IST) is None


def test_the_facts_of_a_plain_stored_lead() -> None:
    # Given a lead item with only its id, source and receipt time
    facts = lead_facts(item(lead_id=7, assigned_at="", touch_count=None))
    # Then nobody holds it, it is new, unassigned, uncontacted, worth nothing, and first-touch only
    assert facts is not None
    assert (facts.lead_id, facts.source_id, facts.team_id, facts.agent_id, facts.status) == (
        "7",
        "web",
        "-",
        "-",
        "new",
    )
    assert (facts.assigned_at, facts.first_contacted_at, facts.value_paise, facts.category) == (None, None, 0, None)
    assert (facts.first_campaign, facts.last_campaign, facts.last_source_id) == (("(none)", "(none)"),) * 2 + ("web",)
    assert (facts.first_ad, facts.last_ad, facts.returning) == (None, None, False)


def test_a_new_lead_nobody_called_counts_as_received_and_nothing_it_has_not_reached() -> None:
    facts = lead_facts(item())
    assert facts is not None
    # Not contacted within the SLA is a question GET /leads answers, not a counter (received − within)
    assert lead_counts(facts, IST) == {
        "received": 1, "s:new": 1, "lt:web": 1, "fc:(none)\t(none)": 1, "lc:(none)\t(none)": 1,
    }  # fmt: skip


def test_a_won_value_kept_as_won_value_counts_when_the_lead_has_no_value() -> None:
    facts = lead_facts(item(status="won", won_value="1500.50"))
    assert facts is not None and facts.value_paise == 150_050
    both = lead_facts(item(status="won", value=200, won_value=1500))
    assert both is not None and both.value_paise == 20_000


def test_the_category_stored_with_the_status_wins_and_an_unknown_one_is_ignored() -> None:
    custom = lead_facts(item(status="booked", category="won"))
    assert custom is not None and custom.category == "won" and custom.category_in(IST) == "won"
    odd = lead_facts(item(status="booked", category="maybe"))
    assert odd is not None and odd.category is None and odd.category_in(IST) == "open"


def test_a_last_touch_that_is_not_a_record_is_no_last_touch() -> None:
    facts = lead_facts(item(last_touch="web", attribution={"utm_source": "g", "utm_campaign": "c"}))
    assert facts is not None and facts.last_source_id == "web" and facts.last_campaign == ("g", "c")


def test_an_ad_campaign_needs_an_id_or_a_name_and_names_the_missing_one_none() -> None:
    named = lead_facts(item(source_kind="meta", attribution={"campaign_name": "Diwali"}))
    assert named is not None and named.first_ad == ("meta", "(none)", "Diwali")
    numbered = lead_facts(item(source_kind="meta", attribution={"campaign_id": "42", "platform": "instagram"}))
    assert numbered is not None and numbered.first_ad == ("instagram", "42", "(none)")
    assert numbered.last_ad == numbered.first_ad
    utm_only = lead_facts(item(source_kind="meta", attribution={"utm_source": "fb"}))
    assert utm_only is not None and utm_only.first_ad is None


def test_money_rounds_half_paise_up() -> None:
    assert [paise("0.125"), paise("0.135"), paise(2), paise("1e2")] == [13, 14, 200, 10_000]
    assert [paise(None), paise(True), paise("-1"), paise("NaN"), paise("Infinity"), paise("x")] == [0] * 6


def test_the_exact_counters_of_one_assigned_contacted_won_lead() -> None:
    # Given a lead assigned exactly 10 ms after it arrived and first called 5 min 1 s after that
    assigned = RECEIVED + timedelta(milliseconds=10)
    lead = item(status="won", category="won", value="999", assigned_at=assigned.isoformat(),
                first_contacted_at=(assigned + timedelta(seconds=301)).isoformat(), assigned_agent_id="a1",
                assigned_team_id="t1", attribution={"utm_source": "g", "utm_campaign": "c"}, touch_count=2)  # fmt: skip
    facts = lead_facts(lead)
    assert facts is not None
    # Then it counts once in each stage it reached, with its value, its buckets and its attribution
    assert lead_counts(facts, IST) == {
        "received": 1, "assigned": 1, "contacted": 1, "contacted_within_sla": 1, "qualified": 1, "won": 1,
        "s:won": 1, "won_value": 99_900, "returning": 1,
        "lt:web": 1, "lt_won:web": 1, "fc:g\tc": 1, "fc_won:g\tc": 1, "lc:g\tc": 1, "lc_won:g\tc": 1,
        "ha:0": 1,  # 10 ms: the first bucket holds up to 10 ms
        "hc:3": 1,  # 5.02 minutes: past the 5-minute edge
    }  # fmt: skip
    contribution = lead_contribution(lead, IST)
    assert contribution is not None
    assert (contribution.pk, contribution.sk) == ("DASH#2026-11", "2026-11-25#t1#web#a1")
    assert contribution.keys == {"day": "2026-11-25", "team_id": "t1", "source_id": "web", "agent_id": "a1"}


def test_a_first_call_exactly_on_a_bucket_edge_counts_in_that_bucket() -> None:
    lead = item(assigned_at="2026-11-25T04:30:00.011+00:00", first_contacted_at="2026-11-25T04:35:00.011+00:00")
    facts = lead_facts(lead)
    assert facts is not None
    counts = lead_counts(facts, IST)
    assert counts["ha:1"] == 1 and counts["hc:2"] == 1  # 11 ms; exactly 5 minutes
    assert "not_contacted_within_sla" not in counts


@pytest.mark.parametrize(
    ("first_contact_after", "within", "not_within"),
    [(timedelta(minutes=90), True, False), (timedelta(minutes=91), False, True), (None, False, True)],
)
def test_a_lead_is_contacted_within_the_sla_or_not_never_both(
    first_contact_after: timedelta | None, within: bool, not_within: bool
) -> None:
    contacted = None if first_contact_after is None else (RECEIVED + first_contact_after).isoformat()
    facts = lead_facts(item(first_contacted_at=contacted))
    assert facts is not None
    assert in_stage(facts, "contacted_within_sla", IST) is within
    assert in_stage(facts, "not_contacted_within_sla", IST) is not_within


def test_an_unknown_stage_is_named_in_the_error() -> None:
    facts = lead_facts(item())
    assert facts is not None
    with pytest.raises(ValueError, match="unknown stage 'visited'"):
        in_stage(facts, "visited", IST)


def test_a_follow_up_counts_by_its_due_time_or_its_due_index_and_opens_by_default() -> None:
    due = {"followup_id": "F1", "agent_id": "a1", "due_at": "2026-11-30T20:00:00+00:00"}  # 1 Dec IST
    assert followup_contribution(due, IST) == Contribution(
        "DASHFU#2026-12", "2026-12-01#a1", {"day": "2026-12-01", "agent_id": "a1"}, {"fu_open": 1}
    )
    kept = {**due, "due_time": "2026-11-29T04:30:00+00:00", "status": "done"}
    assert followup_contribution(kept, IST) == Contribution(
        "DASHFU#2026-11", "2026-11-29#a1", {"day": "2026-11-29", "agent_id": "a1"}, {"fu_done": 1}
    )


def test_what_is_not_a_countable_follow_up_counts_nowhere() -> None:
    assert followup_contribution(None, IST) is None
    assert followup_contribution({}, IST) is None
    assert followup_contribution({"due_at": "2026-11-30T20:00:00+00:00", "status": "open"}, IST) is None
    assert followup_contribution({"followup_id": "F1", "status": "open"}, IST) is None
    cancelled = {"followup_id": "F1", "due_at": "2026-11-30T20:00:00+00:00", "status": "cancelled"}
    assert followup_contribution(cancelled, IST) is None


def test_stream_sequence_numbers_are_padded_to_forty_digits() -> None:
    assert sequence_key("123") == "0" * 37 + "123"
    assert sequence_key(None) == "0" * 40 and sequence_key("") == "0" * 40
    assert sequence_key("99") < sequence_key("100")


def test_a_plan_applies_moves_once_and_counts_revisions() -> None:
    first = lead_contribution(item(), IST)
    assigned = lead_contribution(item(assigned_at="2026-11-25T04:30:01+00:00"), IST)
    # A lead seen for the first time: applied, revision 1, the record's position kept
    outcome, marker, moves = plan(None, first, "200")
    assert (outcome, marker) == ("applied", Marker(first, sequence_key("200"), 1))
    assert moves == [CellChange(first.pk, first.sk, first.keys, dict(first.counts))]  # type: ignore[union-attr]
    # A later record that changes nothing: unchanged, revision 2, position moved on
    outcome, marker, moves = plan(marker, first, "300")
    assert (outcome, marker, moves) == ("unchanged", Marker(first, sequence_key("300"), 2), [])
    # A rebuild (no record) keeps the position and moves the counters to the new count
    outcome, rebuilt, moves = plan(marker, assigned, None)
    assert (outcome, rebuilt.seq, rebuilt.rev) == ("applied", sequence_key("300"), 3)
    assert [move.deltas for move in moves] == [{"assigned": 1, "ha:6": 1}]  # 1 s: the 1,000 ms bucket
    # A rebuild of a lead never counted starts from nothing, at position zero
    assert plan(None, None, None) == ("unchanged", Marker(None, "0" * 40, 1), [])


@pytest.mark.parametrize(
    ("first", "last", "months"),
    [
        (date(2026, 11, 5), date(2026, 11, 30), ["2026-11"]),
        (date(2026, 11, 30), date(2027, 2, 1), ["2026-11", "2026-12", "2027-01", "2027-02"]),
        (date(2026, 3, 1), date(2026, 2, 1), []),
    ],
)
def test_the_month_partitions_a_range_of_days_spans(first: date, last: date, months: list[str]) -> None:
    assert months_between(first, last) == months
