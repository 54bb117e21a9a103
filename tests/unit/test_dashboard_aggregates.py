"""The dashboard's counters, as a specification: whatever order and however often the stream
delivers a lead's changes, the counters equal a brute-force recount of the leads as they end up."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.dashboard.aggregates import (
    ASSIGN_MS_EDGES,
    FIRST_CONTACT_MIN_EDGES,
    Definitions,
    Marker,
    bucket,
    lead_contribution,
    lead_facts,
    paise,
    plan,
)
from leadrelay.dashboard.view import Window, attribution, build_dashboard, dashboard_csv_rows, percentile, trends
from tests.dashboard_leads import COMPARED, History, cells_by_key, generate, recount

DEFINITIONS = Definitions(categories={"site_visit": "open"})


class MemoryCounters:
    """The store's algorithm over dicts: read the marker, plan, write marker and moves together."""

    def __init__(self) -> None:
        self.markers: dict[str, Marker] = {}
        self.cells: dict[tuple[str, str], dict[str, Any]] = {}

    def apply(self, lead_id: str, image: dict[str, Any] | None, sequence_number: str | None) -> str:
        new = lead_contribution(image, DEFINITIONS)
        outcome, marker, moves = plan(self.markers.get(lead_id), new, sequence_number)
        if outcome == "stale":
            return outcome
        self.markers[lead_id] = marker
        for move in moves:
            cell = self.cells.setdefault((move.pk, move.sk), dict(move.keys))
            for name, delta in move.deltas.items():
                cell[name] = cell.get(name, 0) + delta
        return outcome

    def cell_list(self) -> list[dict[str, Any]]:
        return list(self.cells.values())


def records(histories: list[History]) -> list[tuple[str, dict[str, Any] | None, str]]:
    """Stream records: per lead in order, with increasing sequence numbers (leads interleaved)."""
    sequence = 10**20
    queues = [[(h.lead_id, image) for image in h.images] for h in histories]
    rng, out = random.Random(7), []
    while queues:
        queue = rng.choice(queues)
        lead_id, image = queue.pop(0)
        sequence += rng.randrange(1, 50)
        out.append((lead_id, image, str(sequence)))
        if not queue:
            queues.remove(queue)
    return out


def finals(histories: list[History]) -> list[dict[str, Any]]:
    return [h.images[-1] for h in histories if h.images[-1] is not None]


def test_counters_equal_a_brute_force_recount_of_10000_leads_with_random_histories() -> None:
    # Given 10,000 leads with random assignments, contacts, status changes, values and reopenings
    histories = generate(10_000, seed=1)
    counters = MemoryCounters()
    # When the stream delivers every change once, in order per lead
    for lead_id, image, sequence in records(histories):
        counters.apply(lead_id, image, sequence)
    # Then every cell equals a recount of the final leads
    assert cells_by_key(counters.cell_list(), COMPARED) == recount(finals(histories))


def test_redelivered_replayed_and_out_of_order_records_are_counted_once() -> None:
    # Given the same leads' records delivered as a flaky stream would: each batch may be delivered
    # again, a failed record is retried after later ones of the same lead succeeded, whole stretches
    # are replayed from the start
    histories = generate(1500, seed=2)
    stream = records(histories)
    rng = random.Random(3)
    counters = MemoryCounters()
    outcomes: dict[str, int] = defaultdict(int)
    position = 0
    while position < len(stream):
        batch = stream[position : position + rng.randrange(1, 20)]
        skipped = [record for record in batch if rng.random() < 0.05]
        for record in batch:
            if record not in skipped:
                outcomes[counters.apply(*record)] += 1
        for record in skipped:  # retried after the rest of its batch
            outcomes[counters.apply(*record)] += 1
        if rng.random() < 0.3:  # the whole batch again
            for record in batch:
                outcomes[counters.apply(*record)] += 1
        position += len(batch)
    for record in stream[: len(stream) // 3]:  # a replay from the trim horizon
        outcomes[counters.apply(*record)] += 1
    # Then the counters still equal the recount, and the repeats were recognised as such
    assert cells_by_key(counters.cell_list(), COMPARED) == recount(finals(histories))
    assert outcomes["stale"] > len(stream) // 3


def test_a_lost_record_is_made_good_by_the_next_change_of_the_same_lead() -> None:
    # Given a lead whose middle record never arrives (parked in the DLQ)
    history = generate(1, seed=4)[0]
    while len(history.images) < 4 or history.images[-1] is None:
        history = generate(1, seed=random.randrange(10**6))[0]
    counters = MemoryCounters()
    for index, image in enumerate(history.images):
        if index != 1:
            counters.apply(history.lead_id, image, str(100 + index))
    # Then the counters show the lead as it ends up
    assert cells_by_key(counters.cell_list(), COMPARED) == recount([history.images[-1]])


def test_a_rebuild_under_new_definitions_moves_every_lead_to_its_new_count() -> None:
    # Given counters kept under a 90-minute SLA
    histories = generate(800, seed=5)
    counters = MemoryCounters()
    for record in records(histories):
        counters.apply(*record)
    # When the SLA becomes 30 minutes and every lead is re-counted (no sequence number)
    global DEFINITIONS
    saved, DEFINITIONS = DEFINITIONS, Definitions(sla_minutes=30, categories={"site_visit": "open"})
    try:
        for history in histories:
            if history.images[-1] is not None:
                counters.apply(history.lead_id, history.images[-1], None)
    finally:
        DEFINITIONS = saved
    # Then the counters equal a recount under the new definition
    assert cells_by_key(counters.cell_list(), COMPARED) == recount(finals(histories), sla_minutes=30)


@pytest.mark.parametrize(
    ("received_at", "day"),
    [
        ("2026-11-25T18:29:59.999Z", "2026-11-25"),  # 23:59:59.999 IST
        ("2026-11-25T18:30:00.000Z", "2026-11-26"),  # 00:00 IST
        ("2026-11-25T23:00:00.000Z", "2026-11-26"),  # still the 25th in UTC
        ("2026-12-31T18:30:00.000Z", "2027-01-01"),  # a new month (and partition) at IST midnight
    ],
)
def test_a_lead_counts_on_the_organisation_local_day_it_arrived(received_at: str, day: str) -> None:
    contribution = lead_contribution({"lead_id": "L1", "source_id": "web", "received_at": received_at}, Definitions())
    assert contribution is not None
    assert contribution.keys["day"] == day
    assert contribution.pk == f"DASH#{day[:7]}"


def test_the_day_follows_the_organisation_time_zone() -> None:
    lead = {"lead_id": "L1", "source_id": "web", "received_at": "2026-11-25T20:00:00Z"}
    assert lead_contribution(lead, Definitions(timezone="Asia/Dubai")).keys["day"] == "2026-11-26"  # type: ignore[union-attr]
    assert lead_contribution(lead, Definitions(timezone="Europe/London")).keys["day"] == "2026-11-25"  # type: ignore[union-attr]


def test_test_leads_and_items_without_a_receipt_time_count_nowhere() -> None:
    assert (
        lead_contribution({"lead_id": "L1", "received_at": "2026-11-25T10:00:00Z", "test": True}, DEFINITIONS) is None
    )
    assert lead_facts({"lead_id": "L1"}) is None


def test_custom_statuses_count_in_the_category_the_organisation_gives_them() -> None:
    definitions = Definitions(categories={"booked": "won", "junk": "lost"})
    base = {"lead_id": "L1", "source_id": "web", "received_at": "2026-11-25T10:00:00Z", "value": 5000}
    booked = lead_contribution({**base, "status": "booked"}, definitions)
    junk = lead_contribution({**base, "status": "junk"}, definitions)
    assert booked is not None and booked.counts["won"] == 1 and booked.counts["won_value"] == 500_000
    assert junk is not None and junk.counts["lost"] == 1 and "won" not in junk.counts


def test_money_is_counted_in_paise_and_nonsense_values_count_as_nothing() -> None:
    assert paise("24999.50") == 2_499_950
    assert paise(0.1) == 10
    assert paise(None) == paise("abc") == paise(-5) == paise(True) == 0


def test_buckets_are_log_spaced_with_an_overflow_bucket() -> None:
    assert bucket(0, ASSIGN_MS_EDGES) == 0
    assert bucket(10, ASSIGN_MS_EDGES) == 0
    assert bucket(11, ASSIGN_MS_EDGES) == 1
    assert bucket(10**12, ASSIGN_MS_EDGES) == len(ASSIGN_MS_EDGES)
    assert FIRST_CONTACT_MIN_EDGES[:4] == (1, 2, 5, 10)
    assert list(ASSIGN_MS_EDGES) == sorted(set(ASSIGN_MS_EDGES))


def test_percentiles_report_the_upper_edge_of_the_bucket_holding_the_rank() -> None:
    edges = (10, 20, 50)
    assert percentile([0, 0, 0, 0], edges, 0.5) is None
    assert percentile([5, 4, 1, 0], edges, 0.5) == 10
    assert percentile([5, 4, 1, 0], edges, 0.9) == 20
    assert percentile([0, 0, 0, 3], edges, 0.5) == 50  # past the last edge: reported as the last edge


def _dashboard(cells: list[dict[str, Any]], window: Window) -> dict[str, Any]:
    return build_dashboard(cells, [], window=window, today=window.last, definitions=DEFINITIONS)


def test_the_dashboard_of_a_window_equals_the_brute_force_numbers_of_its_leads() -> None:
    # Given counters over 2,000 leads
    histories = generate(2000, seed=6)
    counters = MemoryCounters()
    for record in records(histories):
        counters.apply(*record)
    final = [lead for lead in finals(histories) if not lead.get("test")]
    window = Window(date(2026, 10, 10), date(2026, 10, 24), team_id="north")
    # When the dashboard of two weeks of team north is read
    answer = _dashboard(counters.cell_list(), window)
    # Then it matches the leads received those days that belong to team north
    zone = DEFINITIONS.local_day
    chosen = [lead for lead in final if lead.get("assigned_team_id") == "north"
              and window.first <= zone(datetime.fromisoformat(lead["received_at"].replace("Z", "+00:00"))) <= window.last]  # fmt: skip
    assert answer["received"] == len(chosen)
    assert answer["won"] == sum(lead["status"] == "won" for lead in chosen)
    assert answer["won_value"] * 100 == pytest.approx(
        sum(int(lead["value"] * 100) for lead in chosen if lead["status"] == "won")
    )
    for source in {lead["source_id"] for lead in chosen}:
        assert answer["by_source"][source]["received"] == sum(lead["source_id"] == source for lead in chosen)
    for agent in {lead["assigned_agent_id"] for lead in chosen}:
        mine = [lead for lead in chosen if lead["assigned_agent_id"] == agent]
        assert answer["by_agent"][agent]["lost"] == sum(lead["status"] == "lost" for lead in mine)
        assert answer["by_agent"][agent]["contacted"] == sum("first_contacted_at" in lead for lead in mine)
    assert sum(answer["by_status"].values()) == len(chosen)
    assert answer["leakage"]["not_contacted_within_sla"] == answer["received"] - answer["contacted_within_sla"]
    assert [row["agent_id"] for row in answer["leaderboard"]] == sorted(
        answer["by_agent"], key=lambda a: (-answer["by_agent"][a]["won_value"], -answer["by_agent"][a]["won"],
                                           -answer["by_agent"][a]["contacted_within_sla"], a))  # fmt: skip
    # And the speed-to-lead median is the bucket edge holding the median of the true times
    times = sorted(
        (datetime.fromisoformat(lead["assigned_at"].replace("Z", "+00:00"))
         - datetime.fromisoformat(lead["received_at"].replace("Z", "+00:00"))).total_seconds() * 1000
        for lead in chosen if lead.get("assigned_at")
    )  # fmt: skip
    median = times[(len(times) + 1) // 2 - 1]
    assert answer["speed_to_lead"]["assign_ms"]["p50"] == ASSIGN_MS_EDGES[bucket(median, ASSIGN_MS_EDGES)]


def test_each_number_links_to_the_lead_list_behind_it() -> None:
    cells = [{"day": "2026-11-20", "team_id": "north", "source_id": "facebook", "agent_id": "a1", "received": 3,
              "won": 1, "won_value": 150_000, "s:won": 1, "s:new": 2}]  # fmt: skip
    answer = _dashboard(cells, Window(date(2026, 11, 20), date(2026, 11, 26), team_id="north"))
    links = answer["links"]
    assert links["received"] == (
        "/leads?received_from=2026-11-20T00%3A00%3A00%2B05%3A30"
        "&received_to=2026-11-27T00%3A00%3A00%2B05%3A30&team_id=north&stage=received"
    )
    assert links["by_source"]["facebook"]["won_value"].endswith("source_id=facebook&stage=won")
    assert links["by_agent"]["a1"]["contacted"].endswith("agent_id=a1&stage=contacted")
    assert links["by_status"]["new"].endswith("status=new&stage=received")
    assert answer["won_value"] == 1500


def test_revenue_share_stands_next_to_volume_share_by_source() -> None:
    # Given facebook brings most leads but little revenue
    cells = [
        {"day": "2026-11-20", "team_id": "t", "source_id": "facebook", "agent_id": "a1", "received": 60,
         "won": 2, "won_value": 18_000_00},
        {"day": "2026-11-20", "team_id": "t", "source_id": "website", "agent_id": "a1", "received": 40,
         "won": 5, "won_value": 82_000_00},
    ]  # fmt: skip
    answer = _dashboard(cells, Window(date(2026, 11, 20), date(2026, 11, 20)))
    assert answer["by_source"]["facebook"]["received_share"] == 60.0
    assert answer["by_source"]["facebook"]["won_value_share"] == 18.0
    assert list(answer["by_source"]) == ["facebook", "website"]


def test_follow_ups_count_for_their_agents_due_today_and_missed_in_the_window() -> None:
    followups = [{"day": "2026-11-26", "agent_id": "a1", "fu_open": 2, "fu_missed": 1},
                 {"day": "2026-11-25", "agent_id": "a2", "fu_open": 1, "fu_missed": 3},
                 {"day": "2026-11-26", "agent_id": "a9", "fu_open": 7}]  # fmt: skip
    window = Window(date(2026, 11, 25), date(2026, 11, 26))
    answer = build_dashboard([], followups, window=window, today=date(2026, 11, 26), definitions=DEFINITIONS,
                             agents={"a1", "a2"})  # fmt: skip
    assert answer["followups"] == {"due_today": 2, "missed": 4}
    assert answer["by_agent"]["a2"]["open_followups"] == 1
    assert "a9" not in answer["by_agent"]


def test_trends_give_the_funnel_per_day_and_per_monday_week_by_source() -> None:
    cells = [{"day": day, "team_id": "t", "source_id": "web", "agent_id": "a", "received": 4, "contacted": 3,
              "qualified": 2, "won": 1, "won_value": 100} for day in ("2026-11-22", "2026-11-23", "2026-11-24")]  # fmt: skip
    window = Window(date(2026, 11, 22), date(2026, 11, 24))
    daily = trends(cells, window=window, period="day")
    assert [p["start"] for p in daily["periods"]] == ["2026-11-22", "2026-11-23", "2026-11-24"]
    weekly = trends(cells, window=window, period="week")
    # 22 Nov 2026 is a Sunday: it belongs to the week of Monday the 16th
    assert [(p["start"], p["received"]) for p in weekly["periods"]] == [("2026-11-16", 4), ("2026-11-23", 8)]
    assert weekly["periods"][1]["by_source"]["web"] == {"received": 8, "contacted": 6, "qualified": 4, "won": 2,
                                                         "won_value": 2}  # fmt: skip


def test_the_csv_has_a_header_a_total_and_a_row_per_source_agent_and_status() -> None:
    cells = [{"day": "2026-11-20", "team_id": "t", "source_id": "web", "agent_id": "a1", "received": 2, "s:new": 2}]
    rows = dashboard_csv_rows(_dashboard(cells, Window(date(2026, 11, 20), date(2026, 11, 20))))
    assert rows[0][:3] == ["group", "key", "received"]
    assert [row[:3] for row in rows[1:]] == [["total", "", 2], ["source", "web", 2], ["agent", "a1", 2],
                                             ["status", "new", 2]]  # fmt: skip


def test_a_moment_exactly_at_the_sla_counts_as_within() -> None:
    lead = {"lead_id": "L", "source_id": "w", "received_at": "2026-11-25T10:00:00Z",
            "first_contacted_at": "2026-11-25T11:30:00Z"}  # fmt: skip
    assert lead_contribution(lead, Definitions(sla_minutes=90)).counts["contacted_within_sla"] == 1  # type: ignore[union-attr]
    late = {**lead, "first_contacted_at": datetime(2026, 11, 25, 11, 30, 0, 1000, tzinfo=UTC).isoformat()}
    assert "contacted_within_sla" not in lead_contribution(late, Definitions(sla_minutes=90)).counts  # type: ignore[union-attr]


def test_the_attribution_report_from_the_counters_equals_the_one_read_from_the_leads() -> None:
    from leadrelay.reports import attribution_report
    from leadrelay.store.leads import lead_from_item

    # Given 2,000 leads, some of whose people came back through other sources and campaigns
    final = []
    for lead in finals(generate(2000, seed=8)):
        if lead.get("test"):
            continue
        final.append({**lead, "status": "qualified" if lead["status"] == "site_visit" else lead["status"]})
    counters = MemoryCounters()
    for lead in final:
        counters.apply(lead["lead_id"], lead, None)
    # When the report is made from the counters, and the old way from the leads themselves
    window = Window(date(2026, 10, 1), date(2026, 11, 30))
    from_counters = attribution(counters.cell_list(), window=window, kinds={"website": "generic"})
    from_leads = attribution_report([lead_from_item(lead) for lead in final], {"website": "generic"})
    # Then they agree on every row
    assert sum(lead.get("touch_count", 1) > 1 for lead in final) > 100
    assert from_counters == from_leads


def test_the_events_mapping_carries_lead_and_follow_up_changes_for_the_counters_and_nothing_else_new() -> None:
    from leadrelay import definitions
    from leadrelay.local.patterns import matches_any

    def passes(event_name: str, sk: str, image: dict[str, Any] | None = None) -> bool:
        keys = {"pk": {"S": "LEAD#01"}, "sk": {"S": sk}}
        dynamodb: dict[str, Any] = {"Keys": keys, "NewImage": {**keys, **(image or {})}}
        if event_name == "REMOVE":
            dynamodb["OldImage"] = dynamodb.pop("NewImage")
        return matches_any(definitions.EVENTS_STREAM.filter_patterns, {"eventName": event_name, "dynamodb": dynamodb})

    for event_name in ("INSERT", "MODIFY", "REMOVE"):
        assert passes(event_name, "LEAD")  # every change of a lead moves its counters
        assert passes(event_name, "FOLLOWUP#01", {"followup_id": {"S": "F1"}})
    assert passes("INSERT", "TL#2026-11-26T10:00:00.000Z#01E")  # the activity feed
    for sk in ("RAW#2026", "ROUTE#2026", "TOUCH#2026"):
        assert not passes("INSERT", sk)


def test_a_follow_up_counts_on_its_local_due_day_as_open_missed_or_done_and_cancelled_nowhere() -> None:
    from leadrelay.dashboard.aggregates import changes, followup_contribution

    item = {"followup_id": "F1", "agent_id": "a1", "status": "open", "due_time": "2026-11-25T19:00:00.000Z",
            "due_at": "2026-11-26T19:00:00.000Z"}  # fmt: skip
    opened = followup_contribution(item, DEFINITIONS)
    assert opened is not None and opened.keys == {"day": "2026-11-26", "agent_id": "a1"}  # 00:30 IST
    missed = followup_contribution({**item, "status": "missed"}, DEFINITIONS)
    assert [dict(change.deltas) for change in changes(opened, missed)] == [{"fu_open": -1, "fu_missed": 1}]
    assert followup_contribution({**item, "status": "cancelled"}, DEFINITIONS) is None


def test_definitions_come_from_the_organisation_settings_item_with_defaults() -> None:
    from leadrelay.store.dashboard import definitions_for

    assert definitions_for({}, "Asia/Kolkata") == Definitions(timezone="Asia/Kolkata", sla_minutes=90)
    custom = definitions_for({"first_contact_sla_minutes": 30, "status_categories": {"booked": "won"}}, "Asia/Dubai")
    assert (custom.sla_minutes, custom.timezone, custom.category("booked"), custom.category("site_visit")) == (
        30, "Asia/Dubai", "won", "open")  # fmt: skip


STATUSES = ("new", "assigned", "contacted", "qualified", "won", "lost", "site_visit")


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int]]:
    """A lead's successive images, and an order of delivery: any order, repeats allowed, the last
    image delivered at least once (as the stream guarantees, eventually)."""
    images = []
    for _ in range(draw(st.integers(1, 6))):
        image: dict[str, Any] = {"lead_id": "L", "source_id": draw(st.sampled_from(("web", "fb"))),
                                 "received_at": "2026-11-25T18:29:59.000Z", "status": draw(st.sampled_from(STATUSES)),
                                 "value": draw(st.integers(0, 10**7))}  # fmt: skip
        if draw(st.booleans()):
            agent = draw(st.sampled_from(("a1", "a4")))
            image.update(assigned_agent_id=agent, assigned_team_id="north" if agent == "a1" else "south",
                         assigned_at="2026-11-25T18:31:00.000Z")  # fmt: skip
        if draw(st.booleans()):
            image["first_contacted_at"] = draw(st.sampled_from(("2026-11-25T19:00:00Z", "2026-11-26T03:00:00Z")))
        images.append(image)
    order = draw(st.lists(st.integers(0, len(images) - 1), max_size=12))
    position = draw(st.integers(0, len(order)))
    return images, [*order[:position], len(images) - 1, *order[position:]]


@given(deliveries())
@settings(max_examples=300, deadline=None)
def test_whatever_the_order_and_repeats_a_lead_ends_up_counted_as_its_last_image(
    case: tuple[list[dict[str, Any]], list[int]],
) -> None:
    images, order = case
    counters = MemoryCounters()
    for index in order:
        counters.apply("L", images[index], str(1000 + index))
    expected = lead_contribution(images[-1], DEFINITIONS)
    assert expected is not None
    cells = {key: {k: v for k, v in cell.items() if isinstance(v, int) and v} for key, cell in counters.cells.items()}
    assert {key: cell for key, cell in cells.items() if cell} == {(expected.pk, expected.sk): dict(expected.counts)}
