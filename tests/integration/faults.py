"""Fault injection through botocore's event hooks: moto never throttles and never reports a
transaction conflict, so tests make the client see the errors DynamoDB would send.

    with Faults(dynamo_client()) as faults:
        faults.fail("TransactWriteItems", throttled, times=2)

Each fault is raised from `before-call.<service>.<Operation>` as the `ClientError` botocore would
raise after its own retries gave up, shaped as the service answers (error code, message, and for a
cancelled transaction one `CancellationReasons` entry per item)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

ErrorFactory = Callable[[str, dict[str, Any]], BaseException]


def throttled(operation: str, _: dict[str, Any]) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput."},
         "ResponseMetadata": {"HTTPStatusCode": 400}},
        operation,
    )  # fmt: skip


def throughput_exceeded(operation: str, _: dict[str, Any]) -> ClientError:
    message = "The level of configured provisioned throughput for the table was exceeded."
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": message},
         "ResponseMetadata": {"HTTPStatusCode": 400}},
        operation,
    )  # fmt: skip


def transaction_conflict(operation: str, request: dict[str, Any]) -> ClientError:
    """TransactionCanceledException with TransactionConflict on the first item, None elsewhere."""
    items = request.get("TransactItems") or [{}]
    reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}] + [
        {"Code": "None"} for _ in items[1:]
    ]
    codes = ", ".join(r["Code"] for r in reasons)
    return ClientError(
        {"Error": {"Code": "TransactionCanceledException",
                   "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"},
         "CancellationReasons": reasons, "ResponseMetadata": {"HTTPStatusCode": 400}},
        operation,
    )  # fmt: skip


def service_unavailable(operation: str, _: dict[str, Any]) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ServiceUnavailable", "Message": "injected: the service is down"},
         "ResponseMetadata": {"HTTPStatusCode": 503}},
        operation,
    )  # fmt: skip


class Killed(BaseException):
    """The function's process dies here (a Lambda timeout): not an `Exception`, so no handler code
    catches it, and the invocation returns nothing — as when Lambda stops a function."""


def killed(operation: str, _: dict[str, Any]) -> Killed:
    return Killed(f"killed before {operation}")


class Faults:
    """Hooks on one boto3 client; each `fail` registers a fault, `clear` (or leaving) removes all."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.service = client.meta.service_model.service_name
        self.calls: dict[str, int] = {}
        self.raised: dict[str, int] = {}
        self._hooks: list[tuple[str, Callable[..., None]]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Faults:
        return self

    def __exit__(self, *_: object) -> None:
        self.clear()

    def fail(
        self,
        operation: str,
        error: ErrorFactory,
        *,
        times: int | None = None,
        after: int = 0,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Make `operation` fail with `error`: after `after` calls that pass, `times` times (None:
        every time), only for requests `when` accepts."""
        state = {"seen": 0, "failed": 0}

        def hook(params: dict[str, Any], **_: Any) -> None:
            request = _request(params)
            with self._lock:
                self.calls[operation] = self.calls.get(operation, 0) + 1
                if when is not None and not when(request):
                    return
                state["seen"] += 1
                if state["seen"] <= after or (times is not None and state["failed"] >= times):
                    return
                state["failed"] += 1
                self.raised[operation] = self.raised.get(operation, 0) + 1
            raise error(operation, request)

        event = f"before-call.{self.service}.{operation}"
        self.client.meta.events.register(event, hook)
        self._hooks.append((event, hook))

    def clear(self) -> None:
        for event, hook in self._hooks:
            self.client.meta.events.unregister(event, hook)
        self._hooks.clear()


def _request(params: dict[str, Any]) -> dict[str, Any]:
    """The API parameters of a JSON-protocol call, from the serialized request botocore built."""
    body = params.get("body") or b"{}"
    try:
        return dict(json.loads(body))
    except (TypeError, ValueError):
        return {}
