"""Stream entry point: DynamoDB stream batch (new or re-route leads only) → router.

Partial batch failures are reported per record, so one bad lead is retried (and finally parked
in the on-failure queue) without holding up the others.
"""

from __future__ import annotations

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadrelay import tracing, wiring
from leadrelay.clock import epoch_ms, get_clock
from leadrelay.stream_batch import BatchFailed, StreamRecord, process_stream_batch

logger = Logger(service="route")
tracer = tracing.tracer("route")  # the X-Ray SDK only when tracing is on (leadrelay/tracing.py)
metrics = Metrics(namespace="LeadRelay", service="route")
wiring.prepare(wiring.router)
# A batch of records with nothing to route (a lead routed meanwhile) adds no metric; that is normal.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


@tracer.capture_method
def route_record(record: StreamRecord) -> None:
    image = record.raw_event.get("dynamodb", {}).get("NewImage")
    if not image:
        return
    lead = wiring.lead_from_image(image)
    outcome = wiring.router().route(lead)
    decision = outcome.decision
    if decision is None:
        logger.info("nothing to do", extra={"lead_id": lead.lead_id, "why": outcome.skipped_reason})
        return
    latency = epoch_ms(get_clock().now()) - (lead.received_ms or epoch_ms(lead.received_at))
    metrics.add_metric(name="LeadsRouted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ReceivedToAssignedMs", unit=MetricUnit.Milliseconds, value=latency)
    logger.info(
        "lead routed",
        extra={"lead_id": lead.lead_id, "outcome": decision.outcome, "agent_id": decision.agent_id,
               "rule_id": decision.rule_id, "latency_ms": latency},
    )  # fmt: skip


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Failed records are counted: a partial batch failure never raises Lambda's Errors metric.
    try:
        # Powertools' partial batch contract without its import cost (leadrelay/stream_batch.py).
        response = process_stream_batch(event, route_record)
    except BatchFailed:
        metrics.add_metric(name="RouteRecordsFailed", unit=MetricUnit.Count, value=len(event.get("Records") or []))
        raise
    if response.get("batchItemFailures"):
        metrics.add_metric(name="RouteRecordsFailed", unit=MetricUnit.Count, value=len(response["batchItemFailures"]))
    return response
