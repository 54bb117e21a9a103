"""Domain events on the EventBridge bus: audit logging, notifications and workflows listen."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any, Protocol

from leadrelay.definitions import EVENT_SOURCE

logger = logging.getLogger(__name__)

LEAD_CREATED = "lead.created"
LEAD_MERGED = "lead.merged"
LEAD_ASSIGNED = "lead.assigned"
LEAD_UNASSIGNED = "lead.unassigned"
LEAD_QUARANTINED = "lead.quarantined"
LEAD_STATUS_CHANGED = "lead.status_changed"
LEAD_REOPENED = "lead.reopened"


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class InMemoryPublisher:
    """Keeps events in a list (unit tests, simulation)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.events.append((detail_type, detail))


@lru_cache(maxsize=1)
def _events_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("events", config=Config(retries={"max_attempts": 5, "mode": "standard"}))


class EventBridgePublisher:
    """Puts events on the organisation's bus. Details carry ids, never PII."""

    def __init__(self, bus_name: str) -> None:
        self.bus_name = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        response = _events_client().put_events(
            Entries=[
                {
                    "EventBusName": self.bus_name,
                    "Source": EVENT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                }
            ]
        )
        if response.get("FailedEntryCount"):
            # The state change is committed already; an undelivered event is logged, not retried
            # forever. (An outbox drained from the stream would make this exactly-once.)
            logger.error("event %s not delivered: %s", detail_type, response.get("Entries"))
