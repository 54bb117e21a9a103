"""Routing: the leads stream feeds the router; failed batches end in a DLQ."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from leadrelay.definitions import DLQ_ENV, ROUTE_STREAM, StreamMapping
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import ROUTE_FUNCTION
from leadrelay_infra.constructs.data import DataTables
from leadrelay_infra.constructs.function import LeadRelayFunction
from leadrelay_infra.nag import acknowledge
from leadrelay_infra.permissions import grant_tables


def stream_event_source(
    data: DataTables, dlq: sqs.IQueue, mapping: StreamMapping = ROUTE_STREAM
) -> event_sources.DynamoEventSource:
    """The event source mapping, every setting taken from `definitions.ROUTE_STREAM`."""
    return event_sources.DynamoEventSource(
        data.leads,
        starting_position=lambda_.StartingPosition[mapping.starting_position],
        batch_size=mapping.batch_size,
        max_batching_window=cdk.Duration.seconds(mapping.max_batching_window_seconds),
        bisect_batch_on_error=mapping.bisect_batch_on_error,
        retry_attempts=mapping.retry_attempts,
        max_record_age=cdk.Duration.seconds(mapping.max_record_age_seconds),
        report_batch_item_failures=mapping.report_batch_item_failures,
        # The patterns are EventBridge-style JSON already; FilterCriteria.filter serialises them.
        filters=[lambda_.FilterCriteria.filter(pattern) for pattern in mapping.filter_patterns],
        on_failure=event_sources.SqsDlq(dlq),
    )


class Routing(Construct):
    """The route function on the leads stream, with an SQS on-failure destination."""

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
        # Holds the stream coordinates of batches that failed every retry (records stay in the
        # stream for 24 h: replay from there).
        self.dlq = sqs.Queue(
            self,
            "StreamDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=config.removal_policy,
        )
        acknowledge(
            self.dlq,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter destination of the leads-stream mapping.",
        )
        folder, handler = ROUTE_FUNCTION
        self.handler = LeadRelayFunction(
            self,
            "Handler",
            config=config,
            folder=folder,
            handler=handler,
            layer=layer,
            environment={**environment, DLQ_ENV: self.dlq.queue_url},
            description="Routing: stream batch → routing engine → conditional assignment writes",
        )
        self.function = self.handler.function
        grant_tables(data, self.function, "route")  # only the actions it calls (permissions.py)
        self.event_source = stream_event_source(data, self.dlq)
        self.function.add_event_source(self.event_source)
