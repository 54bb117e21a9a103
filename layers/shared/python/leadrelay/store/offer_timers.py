"""One-time offer timers in EventBridge Scheduler (routing/offer_timer.py says which and when).

Each is a schedule in the offers' group, `at(...)` in UTC with no flexible window, deleted after
it fires (ActionAfterCompletion DELETE), invoking the followup function with the timer's detail
under a role that may invoke only that function, with a retry policy and a dead-letter queue.
Setting one twice is a no-op (the name is the offer's), so a redelivered stream record is too."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from leadrelay.definitions import OFFER_TIMERS
from leadrelay.models.offer import OfferTimer


@lru_cache(maxsize=1)
def scheduler_client() -> Any:
    return boto3.client("scheduler")


def envelope(detail: dict[str, Any]) -> dict[str, Any]:
    """The event the followup function receives: a Scheduled Event shape with the timer's detail."""
    return {"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": detail}


class SchedulerTimers:
    def __init__(self, group: str, role_arn: str, target_arn: str, dlq_arn: str) -> None:
        self.group, self.role_arn, self.target_arn, self.dlq_arn = group, role_arn, target_arn, dlq_arn

    @classmethod
    def from_environment(cls) -> SchedulerTimers | None:
        """None when the stage has no offer timers configured (the tick alone expires offers)."""
        names = (OFFER_TIMERS.group_env, OFFER_TIMERS.role_env, OFFER_TIMERS.target_env, OFFER_TIMERS.dlq_env)
        values = [os.environ.get(name) for name in names]
        if not all(values):
            return None
        return cls(*values)  # type: ignore[arg-type]

    def set(self, timer: OfferTimer) -> bool:
        """Create the timer's schedule; False when it already exists (set before)."""
        try:
            scheduler_client().create_schedule(
                Name=timer.name,
                GroupName=self.group,
                ScheduleExpression=timer.expression,
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": self.target_arn,
                    "RoleArn": self.role_arn,
                    "Input": json.dumps(envelope(timer.detail())),
                    "RetryPolicy": {
                        "MaximumRetryAttempts": OFFER_TIMERS.retry_attempts,
                        "MaximumEventAgeInSeconds": OFFER_TIMERS.max_event_age_s,
                    },
                    "DeadLetterConfig": {"Arn": self.dlq_arn},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConflictException":
                return False
            raise
        return True
