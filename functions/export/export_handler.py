"""Background export entry point: runs one CSV export job (`leadrelay.export_job`), invoked
asynchronously by the api function with `{"export_id": …}` (and again by a runner whose time ran
out, or by a status read that finds the job stalled). A job another runner holds is left alone."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadrelay import tracing, wiring

logger = Logger(service="export")
tracer = tracing.tracer("export")  # the X-Ray SDK only when tracing is on (leadrelay/tracing.py)
metrics = Metrics(namespace="LeadRelay", service="export")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    export_id = str(event.get("export_id") or "")
    if not export_id:
        logger.error("an export invocation without an export_id")
        return {"export_id": None, "status": None}
    runner = wiring.export_runner(lambda: context.get_remaining_time_in_millis() / 1000)
    job = runner.run(export_id)
    if job is None:
        logger.info("export not claimable (finished, or another runner holds it)", extra={"export_id": export_id})
        return {"export_id": export_id, "status": None}
    logger.info("export run ended", extra={"export_id": export_id, "status": job.status.value, "rows": job.rows,
                                           "parts": len(job.parts)})  # fmt: skip
    return {"export_id": export_id, "status": job.status.value, "rows": job.rows}
