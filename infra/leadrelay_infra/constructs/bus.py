"""The domain event bus, and an audit rule that keeps every LeadRelay event in a log group."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from leadrelay.definitions import EVENT_SOURCE
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import bus_name


@jsii.implements(events.IRuleTarget)
class _LogGroupTarget:
    """A rule target writing to a log group whose resource policy this stack owns.

    `aws_events_targets.CloudWatchLogGroup` installs that policy through a Node.js custom
    resource (an extra Lambda with a wildcard role); a plain AWS::Logs::ResourcePolicy does the
    same job declaratively.
    """

    def __init__(self, log_group: logs.LogGroup) -> None:
        self._log_group = log_group

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._log_group.log_group_arn)


class EventBus(Construct):
    """`leadrelay-<stage>` bus; rule `Audit` sends every event from our source to the audit log."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name(config.stage))
        # EventBridge only delivers to log groups named /aws/events/...
        self.audit_log = logs.LogGroup(
            self,
            "AuditLog",
            log_group_name=f"/aws/events/{bus_name(config.stage)}/audit",
            retention=config.audit_log_retention,
            removal_policy=config.removal_policy,
        )
        policy = logs.ResourcePolicy(
            self,
            "AuditLogPolicy",
            resource_policy_name=f"leadrelay-{config.stage}-audit-events",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.audit_log.log_group_arn],
                )
            ],
        )
        self.audit_rule = events.Rule(
            self,
            "Audit",
            event_bus=self.bus,
            description="Every LeadRelay domain event, kept in the audit log.",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            targets=[cast(events.IRuleTarget, _LogGroupTarget(self.audit_log))],
        )
        self.audit_rule.node.add_dependency(policy)
        cdk.Tags.of(self.audit_log).add("leadrelay:purpose", "audit")
