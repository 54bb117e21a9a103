"""Schedule entry point: the every-minute tick (follow-ups, SLA re-distribution, escalation).

For now the tick reports what is due from the sparse due-work index; acting on it (follow-ups,
SLA re-distribution, escalation) arrives with the follow-up work.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadrelay import wiring
from leadrelay.clock import get_clock, iso

logger = Logger(service="followup")
tracer = Tracer(service="followup")
metrics = Metrics(namespace="LeadRelay", service="followup")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = get_clock().now()
    unassigned = wiring.lead_repository().count_due("UNASSIGNED", now)
    metrics.add_metric(name="UnassignedLeads", unit=MetricUnit.Count, value=unassigned)
    logger.info("tick", extra={"at": iso(now), "event_time": event.get("time"), "unassigned": unassigned})
    return {"at": iso(now), "unassigned": unassigned}
