"""Webhook entry point: API Gateway request → capture (authenticate, parse, dedupe, store)."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadrelay import tracing, wiring
from leadrelay.capture import CaptureResult, WebhookRequest
from leadrelay.errors import RETRY_AFTER_S, unavailable_body

logger = Logger(service="ingest")
tracer = tracing.tracer("ingest")  # the X-Ray SDK only when tracing is on (leadrelay/tracing.py)
metrics = Metrics(namespace="LeadRelay", service="ingest")
wiring.prepare(wiring.capture_service)
app = APIGatewayRestResolver()


def _answer(result: CaptureResult) -> Response:
    body = result.body if isinstance(result.body, str) else json.dumps(result.body, ensure_ascii=False)
    return Response(status_code=result.status, content_type=result.content_type, body=body, headers=result.headers)


def _outcome(result: CaptureResult) -> str:
    if isinstance(result.body, str):  # a provider's own text answer (acknowledgement, challenge)
        return "created" if result.headers.get("X-Lead-Id") else "handshake"
    if "leads" in result.body:  # a provider's batch answer
        return str(result.body.get("status", "received"))
    return str(result.body.get("outcome") or result.body.get("error", "unknown"))


def _request(source_id: str) -> WebhookRequest:
    event = app.current_event
    raw_body = event.body or ""
    body = base64.b64decode(raw_body) if event.is_base64_encoded else raw_body.encode("utf-8")
    return WebhookRequest(
        source_id=source_id,
        method=event.http_method.upper(),
        path=event.path,
        headers={k.lower(): v for k, v in (event.headers or {}).items()},
        query={k: list(v) for k, v in (event.multi_value_query_string_parameters or {}).items()}
        or {k: [v] for k, v in (event.query_string_parameters or {}).items()},
        body=body,
        request_id=event.request_context.request_id or app.lambda_context.aws_request_id,
        body_was_base64=bool(event.is_base64_encoded),
    )


@app.post("/hooks/<source_id>")
@app.get("/hooks/<source_id>")
@tracer.capture_method
def receive(source_id: str) -> Response:
    try:
        result = wiring.capture_service().capture(_request(source_id))
    except Exception as error:
        if not wiring.is_transient(error):
            raise
        # Throttled past every retry: nothing was written (one transaction); the resend is safe.
        result = CaptureResult(503, unavailable_body(), headers={"Retry-After": str(RETRY_AFTER_S)})
    outcome = _outcome(result)
    # Two metric names, never one per outcome: each distinct name is a paid custom metric. The
    # outcome itself is in the log line below (CloudWatch Logs Insights counts by it).
    if result.status < 400:
        metrics.add_metric(name="WebhooksAccepted", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="WebhooksRefused", unit=MetricUnit.Count, value=1)
    logger.info("webhook answered", extra={"source_id": source_id, "status": result.status, "outcome": outcome})
    return _answer(result)


@app.not_found
def not_found(_: Exception) -> Response:
    return _answer(CaptureResult(404, {"error": "not_found", "message": "webhooks are POST /hooks/{source_id}"}))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
