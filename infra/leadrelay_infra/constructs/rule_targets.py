"""Every EventBridge rule target gets a dead-letter queue and a retry policy, whoever wrote the
rule: an Aspect over the stack adds what a target does not set itself."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from leadrelay_infra.config import StageConfig
from leadrelay_infra.nag import acknowledge

# A target that cannot be invoked is retried this often, for at most this long, then dead-lettered.
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE_S = 3600


class RuleTargetDlq(Construct):
    """The queue undeliverable rule events land in (schedules, the audit rule, any later rule)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=config.removal_policy,
        )
        acknowledge(self.queue, "AwsSolutions-SQS3", "This queue is itself the DLQ of every EventBridge rule target.")
        stack = cdk.Stack.of(self)
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/*"}
                },
            )
        )
        cdk.Aspects.of(stack).add(_DeadLetterEveryTarget(self.queue))


@jsii.implements(cdk.IAspect)
class _DeadLetterEveryTarget:
    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, events.CfnRule):
            return
        targets: Any = cdk.Stack.of(node).resolve(node.targets) or []
        for index, target in enumerate(targets):
            keys = {str(k).lower() for k in target}
            if "deadletterconfig" not in keys:
                node.add_property_override(f"Targets.{index}.DeadLetterConfig", {"Arn": self.queue.queue_arn})
            if "retrypolicy" not in keys:
                node.add_property_override(
                    f"Targets.{index}.RetryPolicy",
                    {"MaximumRetryAttempts": RETRY_ATTEMPTS, "MaximumEventAgeInSeconds": MAX_EVENT_AGE_S},
                )
