"""Moving the roster version survives the assignment transactions that check it.

Every assignment transaction names the version item (a ConditionCheck), and DynamoDB refuses a
plain write to an item an ongoing transaction names with TransactionConflictException, which
botocore does not retry. A roster change must still move the version, or warm routers would keep
deciding on the old roster until their snapshot expired.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from leadrelay.store import org as org_module
from leadrelay.store.org import ROSTER_BUMP_ATTEMPTS, OrgRepository


class FakeClient:
    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        self.updates: list[dict[str, Any]] = []

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.updates.append(request)
        if self.failures:
            code = self.failures.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, "UpdateItem")
        return {}


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    waited: list[int] = []

    def backoff(retry: int) -> float:
        waited.append(retry)
        return 0.0

    monkeypatch.setattr(org_module, "backoff", backoff)
    return waited


def use(monkeypatch: pytest.MonkeyPatch, fake: FakeClient) -> None:
    monkeypatch.setattr(org_module, "client", lambda: fake)


def test_a_bump_refused_by_an_ongoing_assignment_is_tried_again_after_a_wait(
    monkeypatch: pytest.MonkeyPatch, waits: list[int]
) -> None:
    # Given two assignment transactions in flight when the roster changes
    fake = FakeClient(["TransactionConflictException", "TransactionConflictException"])
    use(monkeypatch, fake)
    # When the version is moved
    OrgRepository("org").roster_moved()
    # Then it was written on the third try, after two growing waits
    assert len(fake.updates) == 3 and waits == [0, 1]
    assert fake.updates[-1]["UpdateExpression"] == "ADD version :one"


def test_a_bump_that_keeps_conflicting_fails_loudly_rather_than_silently(
    monkeypatch: pytest.MonkeyPatch, waits: list[int]
) -> None:
    fake = FakeClient(["TransactionConflictException"] * ROSTER_BUMP_ATTEMPTS)
    use(monkeypatch, fake)
    with pytest.raises(ClientError):
        OrgRepository("org").roster_moved()
    assert len(fake.updates) == ROSTER_BUMP_ATTEMPTS


def test_any_other_error_is_not_retried(monkeypatch: pytest.MonkeyPatch, waits: list[int]) -> None:
    fake = FakeClient(["ValidationException"])
    use(monkeypatch, fake)
    with pytest.raises(ClientError):
        OrgRepository("org").roster_moved()
    assert len(fake.updates) == 1 and waits == []
