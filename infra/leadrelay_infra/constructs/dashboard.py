"""The live dashboard's consumer: the leads stream feeds the counters and the activity feed
(`functions/aggregate`), on its own event source mapping; failed batches end in its own DLQ."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from leadrelay.definitions import AGGREGATE_STREAM
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import AGGREGATE_FUNCTION
from leadrelay_infra.constructs.data import DataTables
from leadrelay_infra.constructs.function import LeadRelayFunction
from leadrelay_infra.constructs.routing import stream_event_source
from leadrelay_infra.nag import acknowledge


class Dashboard(Construct):
    """The aggregate function on the leads stream (`definitions.AGGREGATE_STREAM`)."""

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
        # Coordinates of records that failed every retry: the counters are then behind until the
        # same lead changes again or `leadrelay dashboard rebuild` runs.
        self.dlq = sqs.Queue(
            self,
            "StreamDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=config.removal_policy,
        )
        acknowledge(
            self.dlq, "AwsSolutions-SQS3", "This queue is itself the dead-letter destination of the dashboard mapping."
        )
        folder, handler = AGGREGATE_FUNCTION
        self.handler = LeadRelayFunction(
            self,
            "Handler",
            config=config,
            folder=folder,
            handler=handler,
            layer=layer,
            environment=environment,
            description="Dashboard: leads stream → counters per day, source, team, agent; activity feed",
        )
        self.function = self.handler.function
        # Reads a lead's owner for the feed and the org settings; writes counters, markers, feed.
        data.leads.grant_read_data(self.function)
        data.org.grant_read_write_data(self.function)
        self.event_source = stream_event_source(data, self.dlq, AGGREGATE_STREAM)
        self.function.add_event_source(self.event_source)
        self.dlq_alarm = self.dlq.metric_approximate_number_of_messages_visible(
            statistic=cloudwatch.Stats.MAXIMUM, period=cdk.Duration.minutes(1)
        ).create_alarm(
            self,
            "DlqNotEmpty",
            alarm_description="Dashboard stream records gave up after every retry: its numbers lag. "
            "Run `leadrelay dashboard rebuild` once the cause is fixed.",
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
