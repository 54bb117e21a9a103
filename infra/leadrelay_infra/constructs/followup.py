"""Follow-ups and SLAs: schedules tick the followup function."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from leadrelay.definitions import SCHEDULES
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import FOLLOWUP_FUNCTION
from leadrelay_infra.constructs.data import DataTables
from leadrelay_infra.constructs.function import LeadRelayFunction
from leadrelay_infra.permissions import grant_tables


class Followup(Construct):
    """The followup function and one EventBridge rule per `definitions.SCHEDULES` entry."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layer: lambda_.ILayerVersion,
        data: DataTables,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        folder, handler = FOLLOWUP_FUNCTION
        self.handler = LeadRelayFunction(
            self,
            "Handler",
            config=config,
            folder=folder,
            handler=handler,
            layer=layer,
            environment=environment,
            description="Follow-ups: due reminders, SLA re-distribution, escalation, nurture",
        )
        self.function = self.handler.function
        grant_tables(data, self.function, "followup")  # only the actions it calls (permissions.py)
        self.rules: dict[str, events.Rule] = {}
        for schedule in SCHEDULES:
            # The input is the "Scheduled Event" envelope with the schedule's own detail
            # (`{"task": …}`): one function serves every schedule and tells them apart by task.
            envelope = {
                "version": "0",
                "id": events.EventField.event_id,
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": events.EventField.account,
                "time": events.EventField.time,
                "region": events.EventField.region,
                "detail": schedule.event_detail(),
            }
            self.rules[schedule.name] = events.Rule(
                self,
                f"Schedule{schedule.name}",
                description=schedule.description or f"LeadRelay {schedule.task}",
                schedule=events.Schedule.rate(cdk.Duration.minutes(schedule.rate_minutes)),
                targets=[
                    targets.LambdaFunction(
                        self.function,
                        event=events.RuleTargetInput.from_object(envelope),
                        # A missed tick is covered by the next one a minute later.
                        retry_attempts=2,
                        max_event_age=cdk.Duration.minutes(5),
                    )
                ],
            )
