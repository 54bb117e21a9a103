"""EventBridge Scheduler's one-time offer timers on the laptop (docs/routing.md#offers).

The product creates real schedules (on moto) in the offers' group; moto does not fire them, so
the ticker asks `due(until)` for those whose `at(...)` time has come on the stack's clock, fires
each into the followup function with its target input, and deletes it after (as
ActionAfterCompletion DELETE does).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from leadrelay.definitions import OFFER_TIMERS
from leadrelay.local.aws import ACCOUNT_ID, REGION

log = logging.getLogger("leadrelay.local.offer_timers")

LOCAL_GROUP = "leadrelay-local-offers"
LOCAL_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/leadrelay-local-offer-scheduler"
LOCAL_TARGET_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:leadrelay-local-followup"
LOCAL_DLQ_NAME = "leadrelay-local-offer-timer-dlq"


def create_group(scheduler: Any, sqs: Any) -> dict[str, str]:
    """The schedule group and a DLQ on moto; the env vars the product reads them from."""
    with suppress(scheduler.exceptions.ConflictException):
        scheduler.create_schedule_group(Name=LOCAL_GROUP)
    url = sqs.create_queue(QueueName=LOCAL_DLQ_NAME)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {OFFER_TIMERS.group_env: LOCAL_GROUP, OFFER_TIMERS.role_env: LOCAL_ROLE_ARN,
            OFFER_TIMERS.target_env: LOCAL_TARGET_ARN, OFFER_TIMERS.dlq_env: dlq_arn}  # fmt: skip


def fires_at(expression: str) -> datetime | None:
    """`at(2026-11-23T06:31:15)` (UTC) as a time; None for any other expression."""
    if not (expression.startswith("at(") and expression.endswith(")")):
        return None
    return datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)


class LocalOfferTimers:
    """Finds the offer timers due on the stack's clock; `invoke(event)` calls the followup handler."""

    def __init__(self, scheduler: Any, invoke: Callable[[dict[str, Any]], Any], group: str = LOCAL_GROUP) -> None:
        self.scheduler = scheduler
        self.invoke = invoke
        self.group = group
        self.fired = 0

    def due(self, until: datetime) -> list[tuple[datetime, Callable[[], Any]]]:
        found: list[tuple[datetime, Callable[[], Any]]] = []
        pages = self.scheduler.get_paginator("list_schedules").paginate(GroupName=self.group)
        for page in pages:
            for summary in page.get("Schedules", []):
                schedule = self.scheduler.get_schedule(Name=summary["Name"], GroupName=self.group)
                at = fires_at(schedule.get("ScheduleExpression", ""))
                if at is not None and at <= until:
                    found.append((at, self._firing(schedule)))
        return found

    def _firing(self, schedule: dict[str, Any]) -> Callable[[], Any]:
        def fire() -> Any:
            # Deleted first, as after a completed invocation: a failing target is not fired again
            # by the next look (Scheduler would retry, then dead-letter; the tick still expires it).
            with suppress(self.scheduler.exceptions.ResourceNotFoundException):
                self.scheduler.delete_schedule(Name=schedule["Name"], GroupName=self.group)
            self.fired += 1
            return self.invoke(json.loads(schedule["Target"]["Input"]))

        return fire
