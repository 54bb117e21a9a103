"""Alarms that mean "a lead may be waiting", an alarm topic, and a small dashboard."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from leadrelay_infra.config import StageConfig
from leadrelay_infra.nag import acknowledge

_ONE_MINUTE = cdk.Duration.minutes(1)
_FIVE_MINUTES = cdk.Duration.minutes(5)
# A lead should be routed within seconds; a minute of stream backlog is already an incident.
ITERATOR_AGE_THRESHOLD_MS = 60_000


class Observability(Construct):
    """Alarms on routing errors, DLQ depth, stream backlog, ingest failures and API 5xx."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        key: kms.IKey | None,
        functions: dict[str, lambda_.IFunction],
        route_function: lambda_.IFunction,
        ingest_function: lambda_.IFunction,
        dlq: sqs.IQueue,
        rest_api: apigateway.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"LeadRelay {config.stage} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        if key is None:
            acknowledge(
                self.topic,
                "AwsSolutions-SNS2",
                "Alarm notifications carry alarm names and states, never lead data. CloudWatch "
                "cannot publish to a topic under the AWS-managed SNS key, and a customer-managed key "
                "costs $1 a month: it encrypts this topic when the stage turns it on (cmk=true).",
            )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))

        iterator_age = route_function.metric("IteratorAge", statistic=cloudwatch.Stats.MAXIMUM, period=_ONE_MINUTE)
        dlq_depth = dlq.metric_approximate_number_of_messages_visible(
            statistic=cloudwatch.Stats.MAXIMUM, period=_ONE_MINUTE
        )
        api_5xx = rest_api.metric_server_error(period=_FIVE_MINUTES, statistic=cloudwatch.Stats.SUM)
        self.alarms = {
            "RouteErrors": route_function.metric_errors(period=_FIVE_MINUTES).create_alarm(
                self,
                "RouteErrors",
                alarm_description="The router failed on a stream batch (it will retry, then bisect).",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            "RouteDlqNotEmpty": dlq_depth.create_alarm(
                self,
                "RouteDlqNotEmpty",
                alarm_description="Stream records gave up after every retry: leads are NOT routed. "
                "Replay them from the stream (24 h) using the DLQ message's shard coordinates.",
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            "RouteIteratorAge": iterator_age.create_alarm(
                self,
                "RouteIteratorAge",
                alarm_description="The leads stream is backing up: new leads wait more than a minute.",
                threshold=ITERATOR_AGE_THRESHOLD_MS,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            "IngestErrors": ingest_function.metric_errors(period=_FIVE_MINUTES).create_alarm(
                self,
                "IngestErrors",
                alarm_description="The ingest function crashed: webhook callers got a 5xx and will "
                "retry (or lose) the lead.",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            "Api5xx": api_5xx.create_alarm(
                self,
                "Api5xx",
                alarm_description="The API answered 5xx (Lambda errors, throttling or timeouts).",
                threshold=5,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        }
        # The followup tick re-drives leads the router never decided (failed past its retries, or
        # the stream record expired) and counts them: any such lead means routing lost one.
        stuck = cloudwatch.Metric(
            namespace="LeadRelay", metric_name="StuckLeadsFound", dimensions_map={"service": "followup"},
            statistic=cloudwatch.Stats.SUM, period=_FIVE_MINUTES,
        )  # fmt: skip
        self.alarms["StuckLeads"] = stuck.create_alarm(
            self,
            "StuckLeads",
            alarm_description="Leads were still waiting for the router minutes after they arrived; the followup "
            "tick routed them again. Look at the route function's errors and the DLQ.",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cw_actions.SnsAction(self.topic)
        for alarm in self.alarms.values():
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

        self.dashboard = self._dashboard(config, functions, rest_api, api_5xx, iterator_age, dlq_depth)

    def _dashboard(
        self,
        config: StageConfig,
        functions: dict[str, lambda_.IFunction],
        rest_api: apigateway.RestApi,
        api_5xx: cloudwatch.IMetric,
        iterator_age: cloudwatch.IMetric,
        dlq_depth: cloudwatch.IMetric,
    ) -> cloudwatch.Dashboard | None:
        """The dashboard, a production option: $3 a month past the account's 3 free dashboards."""
        if not config.dashboard:
            return None
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"LeadRelay-{config.stage}",
            default_interval=cdk.Duration.hours(3),
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24, height=3),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[rest_api.metric_count(period=_FIVE_MINUTES)],
                right=[rest_api.metric_client_error(period=_FIVE_MINUTES), api_5xx],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency p99 (ms)",
                left=[rest_api.metric_latency(period=_FIVE_MINUTES, statistic="p99")],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations",
                left=[fn.metric_invocations(period=_FIVE_MINUTES, label=name) for name, fn in functions.items()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Errors",
                left=[fn.metric_errors(period=_FIVE_MINUTES, label=name) for name, fn in functions.items()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Duration p99 (ms)",
                left=[
                    fn.metric_duration(period=_FIVE_MINUTES, statistic="p99", label=name)
                    for name, fn in functions.items()
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Leads stream iterator age (ms)", left=[iterator_age], width=12),
            cloudwatch.GraphWidget(title="Routing DLQ depth", left=[dlq_depth], width=12),
        )
        return dashboard
