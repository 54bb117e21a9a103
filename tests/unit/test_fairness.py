"""The fairness ledger's arithmetic, pure: eligible minutes from shifts and check-in/out entries,
expected against actual shares, the lead mix by source."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from leadrelay.models import Agent, Pool, Shift, Strategy
from leadrelay.routing.fairness import eligible_minutes, fairness

DAY = datetime(2026, 11, 23, tzinfo=UTC) - timedelta(hours=5, minutes=30)  # Monday 00:00 in Kolkata


def entry(kind: str, agent_id: str, minutes: int, source_kind: str = "generic", pool_id: str = "p") -> dict:
    return {"kind": kind, "agent_id": agent_id, "at": DAY + timedelta(minutes=minutes), "pool_id": pool_id,
            "source_kind": source_kind}  # fmt: skip


def test_eligible_minutes_are_shift_minutes_while_checked_in() -> None:
    # Given an agent on a 09:00–17:59 shift (nine hours of minutes) who checks out 13:00–14:00
    agent = Agent(agent_id="a", name="A", shifts=[Shift(start=time(9), end=time(17, 59))])
    presence = [(DAY + timedelta(hours=13), "checked_out"), (DAY + timedelta(hours=14), "checked_in")]
    # Then the day counts eight hours
    assert eligible_minutes(agent, presence, DAY, DAY + timedelta(days=1), "Asia/Kolkata") == 8 * 60
    # and without entries in the window, the agent's presence now holds for all of it
    assert eligible_minutes(agent, [], DAY, DAY + timedelta(days=1), "Asia/Kolkata") == 9 * 60
    away = agent.model_copy(update={"presence": "checked_out"})
    assert eligible_minutes(away, [], DAY, DAY + timedelta(days=1), "Asia/Kolkata") == 0


def test_expected_share_follows_eligible_minutes_and_weights_and_counts_every_outcome() -> None:
    # Given a weighted pool: b (weight 2) was there half the day, a (weight 1) all day
    agents = {"a": Agent(agent_id="a", name="A"), "b": Agent(agent_id="b", name="B", weight=2)}
    pool = Pool(pool_id="p", name="P", agent_ids=["a", "b"], strategy=Strategy.WEIGHTED_ROUND_ROBIN)
    entries = [
        entry("checked_in", "b", 12 * 60), entry("offered", "a", 60), entry("accepted", "a", 61),
        entry("offered", "b", 800, "indiamart"), entry("expired", "b", 802), entry("offered", "a", 803),
        entry("declined", "a", 804), entry("assigned", "b", 900, "indiamart"),
        entry("assigned", "a", 901, pool_id="other"),
    ]  # fmt: skip
    # When the ledger is worked out for the day
    report = fairness(entries, agents, pool, DAY, DAY + timedelta(days=1), "Asia/Kolkata")
    rows = {row["agent_id"]: row for row in report["items"]}
    # Then the minutes and shares follow presence and weight (a: 1440×1, b: 720×2: half each)
    assert rows["a"]["eligible_minutes"] == 1440 and rows["b"]["eligible_minutes"] == 720
    assert rows["a"]["expected_share"] == rows["b"]["expected_share"] == 0.5
    # and every outcome is counted in the pool only (a's lead of another pool is not)
    assert (rows["a"]["offers"], rows["a"]["accepted"], rows["a"]["passed"], rows["a"]["assigned"]) == (2, 1, 1, 1)
    assert (rows["b"]["offers"], rows["b"]["expired"], rows["b"]["assigned"]) == (1, 1, 1)
    assert report["leads_assigned"] == 2 and rows["b"]["by_source"] == {"indiamart": 1}
    assert rows["a"]["difference"] == rows["b"]["difference"] == 0.0
