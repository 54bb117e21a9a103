"""The assignment transaction carries the roster version check, and a cancelled transaction is
read by item: the lead's condition first, then the roster version's, then a counter's or stamp's.

No AWS here: `run_transaction` is replaced by a fake table that cancels the items a test names,
with cancellation reasons lined up with the items as DynamoDB lines them up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from leadrelay.errors import TransactionFailed
from leadrelay.models import Lead, RoutingDecision, TimelineEvent
from leadrelay.models.roster import Assignment, CommitResult, Roster
from leadrelay.store import assignments as assignments_module
from leadrelay.store.assignments import AssignmentStore
from leadrelay.store.org import CONFIG, ROSTER_VERSION_SK, roster_version_check

AT = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
DAY = date(2026, 11, 23)
Item = dict[str, Any]


def lead() -> Lead:
    return Lead(lead_id="L1", source_id="website", source_kind="generic", received_at=AT)


def decision(agent_id: str | None) -> RoutingDecision:
    return RoutingDecision(decision_id="D1", lead_id="L1", at=AT, rule_chain_version=1, agent_id=agent_id,
                           pool_id="all" if agent_id else None, outcome="assigned" if agent_id else "unassigned",
                           reason="test")  # fmt: skip


def event() -> TimelineEvent:
    return TimelineEvent(event_id="D1", lead_id="L1", at=AT, kind="lead.assigned")


ASSIGNMENT = Assignment("asha", "all", None, 5)


class FakeTable:
    """Records each transaction; cancels it when `fails` picks any of its items."""

    def __init__(self, fails: Callable[[int, Item], bool] = lambda index, item: False) -> None:
        self.fails = fails
        self.transactions: list[list[Item]] = []

    def __call__(self, items: list[Item], attempts: int = 4) -> None:
        self.transactions.append(items)
        reasons = [{"Code": "ConditionalCheckFailed"} if self.fails(i, item) else {"Code": "None"}
                   for i, item in enumerate(items)]  # fmt: skip
        if any(r["Code"] != "None" for r in reasons):
            raise TransactionFailed(reasons)


def commit(table: FakeTable, monkeypatch: pytest.MonkeyPatch, agent: str | None = "asha", **kwargs: Any) -> Any:
    monkeypatch.setattr(assignments_module, "run_transaction", table)
    store = AssignmentStore("leads", "org")
    assignment = ASSIGNMENT if agent else None
    return store.commit(lead(), decision(agent), event(), assignment=assignment, day=DAY, roster=Roster(), **kwargs)


def is_roster_check(_: int, item: Item) -> bool:
    return "ConditionCheck" in item


def is_day_counter(_: int, item: Item) -> bool:
    return str(item.get("Update", {}).get("Key", {}).get("sk", {}).get("S", "")).startswith("DAY#")


def checks(items: list[Item]) -> list[Item]:
    return [item["ConditionCheck"] for item in items if "ConditionCheck" in item]


@pytest.mark.parametrize("agent", ["asha", None], ids=["assigned", "unassigned"])
def test_every_commit_checks_the_roster_version_it_was_decided_on(monkeypatch: pytest.MonkeyPatch, agent: str | None):
    table = FakeTable()
    assert commit(table, monkeypatch, agent, roster_version=7) is CommitResult.COMMITTED
    (check,) = checks(table.transactions[0])
    assert check["TableName"] == "org"
    assert check["Key"] == {"pk": {"S": CONFIG}, "sk": {"S": ROSTER_VERSION_SK}}
    assert check["ConditionExpression"] == "version = :held"
    assert check["ExpressionAttributeValues"] == {":held": {"N": "7"}}


def test_a_commit_without_a_roster_version_checks_none(monkeypatch: pytest.MonkeyPatch):
    table = FakeTable()
    commit(table, monkeypatch)
    assert checks(table.transactions[0]) == []


def test_version_zero_means_no_version_item_yet():
    check = roster_version_check("org", 0)["ConditionCheck"]
    assert check["ConditionExpression"] == "attribute_not_exists(version) OR version = :held"
    assert check["ExpressionAttributeValues"] == {":held": {"N": "0"}}


def test_a_failed_roster_check_says_the_roster_moved(monkeypatch: pytest.MonkeyPatch):
    assert commit(FakeTable(is_roster_check), monkeypatch, roster_version=3) is CommitResult.ROSTER_MOVED
    assert commit(FakeTable(is_roster_check), monkeypatch, None, roster_version=3) is CommitResult.ROSTER_MOVED


def test_a_failed_counter_is_a_lost_race_not_a_moved_roster(monkeypatch: pytest.MonkeyPatch):
    assert commit(FakeTable(is_day_counter), monkeypatch, roster_version=3) is CommitResult.STATE_CHANGED


def test_the_roster_moving_matters_more_than_a_counter_and_the_lead_more_than_both(monkeypatch: pytest.MonkeyPatch):
    both = FakeTable(lambda i, item: is_roster_check(i, item) or is_day_counter(i, item))
    assert commit(both, monkeypatch, roster_version=3) is CommitResult.ROSTER_MOVED
    everything = FakeTable(lambda i, item: i == 0 or is_roster_check(i, item))
    assert commit(everything, monkeypatch, roster_version=3) is CommitResult.LEAD_CHANGED


def test_a_cancellation_with_no_failed_condition_and_no_conflict_is_not_swallowed(monkeypatch: pytest.MonkeyPatch):
    def broken(items: list[Item], attempts: int = 4) -> None:
        raise TransactionFailed([{"Code": "ValidationError"} for _ in items])

    monkeypatch.setattr(assignments_module, "run_transaction", broken)
    with pytest.raises(TransactionFailed):
        AssignmentStore("leads", "org").commit(lead(), decision("asha"), event(), assignment=ASSIGNMENT, day=DAY,
                                               roster=Roster(), roster_version=3)  # fmt: skip
