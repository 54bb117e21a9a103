"""Stream entry point: leads-table changes → the dashboard's counters and the activity feed.

Every change of a lead item moves that lead's counters to what its new image says; a new timeline
entry joins the activity feed of everyone who may see it. Both are idempotent (a redelivered
record changes nothing), so failures are simply reported per record and retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadrelay import wiring
from leadrelay.dashboard.consumer import CachedDefinitions, handle_record

logger = Logger(service="aggregate")
tracer = Tracer(service="aggregate")
metrics = Metrics(namespace="LeadRelay", service="aggregate")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
definitions = CachedDefinitions(wiring.dashboard_definitions)


@tracer.capture_method
def aggregate_record(record: DynamoDBRecord) -> None:
    outcome = handle_record(record.raw_event, wiring.dashboard_store(), definitions)
    if outcome == "applied":
        metrics.add_metric(name="DashboardCountsMoved", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=aggregate_record, processor=processor, context=context)
