"""Which storage failures are passing (throttling, write conflicts, a slow or unreachable
endpoint) as opposed to a bug or a refusal. A request path answers a passing failure with 503
and `Retry-After`, so the sender sends again (the dedupe keys make that safe); a stream record is
retried by its mapping. Nothing was half-written: every multi-item write is one transaction."""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from leadrelay.errors import RETRY_AFTER_S, TransactionFailed, unavailable_body

__all__ = ["RETRY_AFTER_S", "TRANSIENT_CODES", "is_transient", "unavailable_body"]

TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
        "TransactionInProgressException", "TransactionConflictException", "InternalServerError",
        "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException", "LimitExceededException",
    }
)  # fmt: skip


def is_transient(error: BaseException) -> bool:
    """True for a storage failure that goes away by itself."""
    if isinstance(error, TransactionFailed):
        return error.conflicted and not error.failed_conditions()
    if isinstance(error, ClientError):
        error_info = error.response.get("Error", {})
        code = str(error_info.get("Code", ""))
        if code == "TransactionCanceledException":
            reasons = [str(r.get("Code")) for r in error.response.get("CancellationReasons") or []]
            return "ConditionalCheckFailed" not in reasons and (
                "TransactionConflict" in reasons or "ThrottlingError" in reasons
            )
        return code in TRANSIENT_CODES
    return isinstance(error, ConnectionError | HTTPClientError)
