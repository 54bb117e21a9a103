"""Alarms that mean "a lead may be waiting", an alarm topic, and a small dashboard."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from leadrelay.definitions import LEAD_WAITING_ALARM_MINUTES
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import METRICS_NAMESPACE
from leadrelay_infra.nag import acknowledge

_ONE_MINUTE = cdk.Duration.minutes(1)
_FIVE_MINUTES = cdk.Duration.minutes(5)
_FIFTEEN_MINUTES = cdk.Duration.minutes(15)
# A lead should be routed within seconds; a minute of stream backlog is already an incident.
ITERATOR_AGE_THRESHOLD_MS = 60_000


class Observability(Construct):
    """The alarms that mean "a lead may be waiting or lost", an alarm topic, and a small dashboard.

    CloudWatch gives 10 alarm metrics free a month and bills $0.10 for each one past that (a
    metric-math alarm pays for every metric in it): `ALARMS` lists them and
    `tests/infra/test_infra_stack.py` keeps the billed count within the free 10. Metric names are
    fixed (no names built from values: each name × dimensions is a paid custom metric).
    """

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
        dlqs: dict[str, sqs.IQueue] | None = None,
        leads_table: dynamodb.ITable | None = None,
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

        queues = dlqs or {"Stream": dlq}
        iterator_age = route_function.metric("IteratorAge", statistic=cloudwatch.Stats.MAXIMUM, period=_ONE_MINUTE)
        dlq_depths = {
            f"dlq{index}": queue.metric_approximate_number_of_messages_visible(
                statistic=cloudwatch.Stats.MAXIMUM, period=_ONE_MINUTE, label=name
            )
            for index, (name, queue) in enumerate(sorted(queues.items()))
        }
        dlq_depth = cloudwatch.MathExpression(
            expression=" + ".join(dlq_depths), using_metrics=dlq_depths, label="messages in every DLQ",
            period=_ONE_MINUTE,
        )  # fmt: skip
        api_5xx = rest_api.metric_server_error(period=_FIVE_MINUTES, statistic=cloudwatch.Stats.SUM)
        # Records reported failed inside a batch, counted by the handler (a whole failed batch too):
        # a partial batch failure never raises Lambda's Errors metric.
        route_failures = _custom("RouteRecordsFailed", "route")
        throttle_metrics: dict[str, cloudwatch.IMetric] = {
            # Every function of the account (Lambda publishes Throttles without a dimension too).
            "lambda": cloudwatch.Metric(
                namespace="AWS/Lambda", metric_name="Throttles", statistic=cloudwatch.Stats.SUM, period=_FIVE_MINUTES
            ),
        }
        if leads_table is not None:
            throttle_metrics["writes"] = leads_table.metric(
                "WriteThrottleEvents", statistic=cloudwatch.Stats.SUM, period=_FIVE_MINUTES
            )
        throttles = cloudwatch.MathExpression(
            expression=" + ".join(throttle_metrics), using_metrics=throttle_metrics, label="throttled requests",
            period=_FIVE_MINUTES,
        )  # fmt: skip
        at_least_one = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        specs: list[tuple[str, cloudwatch.IMetric, float, int, str]] = [
            ("RouteFailures", route_failures, 1, 1,
             "Stream records failed in the router (retried, then bisected, then parked in the DLQ)."),
            # The followup tick re-drives leads the router never decided (failed past its retries, or
            # the stream record expired) and counts them: any such lead means routing lost one.
            ("StuckLeads", _custom("StuckLeadsFound", "followup"), 1, 1,
             "Leads were still waiting for the router minutes after they arrived; the followup tick "
             "routed them again. Look at the route function's errors and the DLQ."),
            ("LeadsWaiting", _custom("UnassignedLeads", "followup", period=_ONE_MINUTE), 1,
             LEAD_WAITING_ALARM_MINUTES,
             f"Leads have been unassigned, waiting for a person, for {LEAD_WAITING_ALARM_MINUTES} minutes "
             "in a row. GET /leads?status=unassigned: take them or widen the pools."),
            ("PullFailures", _custom("PullFailures", "followup", period=_FIFTEEN_MINUTES), 3, 1,
             "Pulling leads from a provider failed 3 times in 15 minutes (credentials, provider outage)."),
            ("Api5xx", api_5xx, 1, 1,
             "The API or a webhook answered 5xx: a crash, a timeout, or the store throttling (503)."),
            ("Throttles", throttles, 1, 1,
             "Lambda or the leads table throttled requests: webhooks may get 503, routing may lag."),
            ("DlqNotEmpty", dlq_depth, 1, 1,
             "A dead-letter queue holds a message: stream records or rule events gave up after every "
             "retry. Leads may NOT be routed or events not delivered; see operations.md."),
            ("RouteIteratorAge", iterator_age, ITERATOR_AGE_THRESHOLD_MS, 3,
             "The leads stream is backing up: new leads wait more than a minute."),
        ]  # fmt: skip
        self.alarms = {
            name: metric.create_alarm(
                self,
                name,
                alarm_description=description,
                threshold=threshold,
                evaluation_periods=periods,
                # Iterator age: 2 of 3 minutes; a count over a stretch of minutes: every one of them.
                datapoints_to_alarm=2 if name == "RouteIteratorAge" else None,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD if name == "RouteIteratorAge" else at_least_one
                ),
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for name, metric, threshold, periods, description in specs
        }
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
            cloudwatch.GraphWidget(title="Dead-letter queues", left=[dlq_depth], width=12),
        )
        return dashboard


def _custom(name: str, service: str, period: cdk.Duration = _FIVE_MINUTES) -> cloudwatch.Metric:
    """A metric a handler publishes with Powertools (`service` is its dimension)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic=cloudwatch.Stats.MAXIMUM if name == "UnassignedLeads" else cloudwatch.Stats.SUM,
        period=period,
    )
