"""Offer expiry exact to the second (docs/routing.md#offers): the EventBridge Scheduler group the
events function creates one-time offer schedules in, the role those schedules invoke the followup
function with (that function only), and the dead-letter queue of their retry policy (the stack's rule-target DLQ). The
schedules themselves are made at run time (store/offer_timers.py), one per offer, deleted after
they fire."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from leadrelay.definitions import OFFER_TIMERS
from leadrelay_infra.nag import acknowledge


class OfferTimers(Construct):
    """Group, scheduler role and DLQ; `allow(function)` lets a function set offer timers."""

    def __init__(self, scope: Construct, construct_id: str, *, target: lambda_.IFunction, dlq: sqs.IQueue) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.group = scheduler.ScheduleGroup(self, "Group", schedule_group_name=f"{stack.stack_name.lower()}-offers")
        self.dlq = dlq  # (the stack's rule-target DLQ: one queue, one alarm)
        # Schedules of this account's group only may use the role (confused-deputy guard).
        self.role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description="Lets offer schedules invoke the followup function (only it) and dead-letter",
        )
        # The unqualified function only (the schedules target it): no version or alias wildcard.
        self.role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target.function_arn]))
        self.dlq.grant_send_messages(self.role)
        self.target = target

    def environment(self) -> dict[str, str]:
        """What the events function reads to create schedules (definitions.OFFER_TIMERS)."""
        return {
            OFFER_TIMERS.group_env: self.group.schedule_group_name,
            OFFER_TIMERS.role_env: self.role.role_arn,
            OFFER_TIMERS.target_env: self.target.function_arn,
            OFFER_TIMERS.dlq_env: self.dlq.queue_arn,
        }

    def allow(self, function: lambda_.Function) -> None:
        """`function` may create schedules in the group and hand them the role, nothing else."""
        stack = cdk.Stack.of(self)
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["scheduler:CreateSchedule"],
                resources=[
                    stack.format_arn(
                        service="scheduler",
                        resource="schedule",
                        resource_name=f"{self.group.schedule_group_name}/*",
                    )
                ],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        group = self.group.schedule_group_name
        acknowledge(
            function.role,  # type: ignore[arg-type]
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:{stack.region}:<AWS::AccountId>:schedule/{group}/*]",
            "One schedule per offer, named after it: creating them needs the group's schedules, and only that group's.",
        )
        for key, value in self.environment().items():
            function.add_environment(key, value)
