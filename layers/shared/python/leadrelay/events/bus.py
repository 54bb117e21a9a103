"""Puts forwarded events on the EventBridge bus (the events function's only AWS call)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


class EventNotDelivered(Exception):
    """EventBridge refused the entry; the stream record is retried."""


@lru_cache(maxsize=1)
def events_client() -> Any:
    """Short timeouts and few retries: the stream retries a record whose event did not leave, so
    a slow bus costs a retry of the batch, never a stuck function.

    botocore's client factory, as `store.dynamo.client` uses: importing boto3 would load s3transfer
    on the events function's cold start for nothing (honours AWS_ENDPOINT_URL for the local stack)."""
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        "events",
        config=Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"}),
    )


def put(entries: list[dict[str, Any]]) -> None:
    """Put a record's entries (at most 10) on the bus in one call; raise `EventNotDelivered` when
    EventBridge did not take every one (the record is retried whole: consumers drop duplicates)."""
    response = events_client().put_events(Entries=entries)
    if response.get("FailedEntryCount"):
        failed = [
            f"{entry['DetailType']}: {result.get('ErrorCode')} {result.get('ErrorMessage')}"
            for entry, result in zip(entries, response.get("Entries") or [], strict=False)
            if result.get("ErrorCode")
        ]
        raise EventNotDelivered("; ".join(failed) or "EventBridge refused the entries")
