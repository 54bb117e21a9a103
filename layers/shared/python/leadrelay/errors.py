"""The errors every layer may raise or catch: a domain refusal (the request is understood but cannot
be carried out as asked), a cancelled storage transaction, a rule chain changed meanwhile; and the
answer a request path gives while the store is busy. Handlers catch these without importing a store."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """`code` is the API's error code and `status` its HTTP status (409 unless said otherwise:
    the request clashes with the current state); the message says why, in words."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class StatusRefused(Refused):
    """The status cannot be set as asked."""


class RuleChainConflict(Exception):
    """The rule chain changed since the caller read it."""


class TransactionFailed(Exception):
    """A storage transaction was cancelled; `reasons` line up with its items (`store/transactions.py`)."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__(", ".join(r.get("Code", "None") for r in reasons))
        self.reasons = reasons

    def failed_conditions(self) -> list[int]:
        return [i for i, r in enumerate(self.reasons) if r.get("Code") == "ConditionalCheckFailed"]

    @property
    def conflicted(self) -> bool:
        return any(r.get("Code") == "TransactionConflict" for r in self.reasons)


# Seconds a sender is asked to wait before sending again when the store is busy (`store/transient.py`
# tells a passing failure from a bug; `wiring.is_transient` asks it).
RETRY_AFTER_S = 5


def unavailable_body() -> dict[str, str]:
    return {
        "error": "temporarily_unavailable",
        "message": f"the lead store is busy; nothing was kept, send the same request again in {RETRY_AFTER_S} s",
    }
