"""Webhook entry point: API Gateway request → capture (authenticate, parse, dedupe, store).

One route, `GET|POST /hooks/{source_id}`, read straight from the REST proxy event and answered in
its proxy response (`multiValueHeaders`), exactly as Powertools' `APIGatewayRestResolver` answered
it (tests/unit/test_ingest_proxy.py compares the two): importing the resolver's package loads every
event handler Powertools has (AppSync, Bedrock, VPC Lattice…, with asyncio), ~50 ms of this
function's cold start for one route (docs/benchmarks.md, "Cold import"). The api function keeps
the resolver: its routes need its validation and OpenAPI.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadrelay import tracing, wiring
from leadrelay.capture import CaptureResult, WebhookRequest
from leadrelay.errors import RETRY_AFTER_S, unavailable_body

logger = Logger(service="ingest")
tracer = tracing.tracer("ingest")  # the X-Ray SDK only when tracing is on (leadrelay/tracing.py)
metrics = Metrics(namespace="LeadRelay", service="ingest")
wiring.prepare(wiring.capture_service)
# The path rule as Powertools compiles `/hooks/<source_id>` for a REST API (RFC 3986 characters,
# trailing slashes allowed); the id is passed on as it came (no percent-decoding).
HOOK_PATH = re.compile(r"^/hooks/(?P<source_id>[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+)/*$")
HOOK_METHODS = ("GET", "POST")


def _answer(result: CaptureResult) -> dict[str, Any]:
    """The REST proxy response (Powertools' `Response(...)` built for a REST API event)."""
    body = result.body if isinstance(result.body, str) else json.dumps(result.body, ensure_ascii=False)
    headers: dict[str, Any] = dict(result.headers)
    if result.content_type:
        headers.setdefault("Content-Type", result.content_type)
    multi: dict[str, list[str]] = {}
    for name, values in headers.items():
        if values is not None:
            multi.setdefault(name, []).extend([values] if isinstance(values, str) else values)
    return {"statusCode": result.status, "body": body, "isBase64Encoded": False, "multiValueHeaders": multi}


def _outcome(result: CaptureResult) -> str:
    if isinstance(result.body, str):  # a provider's own text answer (acknowledgement, challenge)
        return "created" if result.headers.get("X-Lead-Id") else "handshake"
    if "leads" in result.body:  # a provider's batch answer
        return str(result.body.get("status", "received"))
    return str(result.body.get("outcome") or result.body.get("error", "unknown"))


def _request(event: dict[str, Any], context: LambdaContext, source_id: str) -> WebhookRequest:
    raw_body = event.get("body") or ""
    is_base64 = event.get("isBase64Encoded")
    body = base64.b64decode(raw_body) if is_base64 else raw_body.encode("utf-8")
    return WebhookRequest(
        source_id=source_id,
        method=event["httpMethod"].upper(),
        path=event["path"],
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        query={k: list(v) for k, v in (event.get("multiValueQueryStringParameters") or {}).items()}
        or {k: [v] for k, v in (event.get("queryStringParameters") or {}).items()},
        body=body,
        request_id=event["requestContext"]["requestId"] or context.aws_request_id,
        body_was_base64=bool(is_base64),
    )


@tracer.capture_method
def receive(event: dict[str, Any], context: LambdaContext, source_id: str) -> dict[str, Any]:
    try:
        result = wiring.capture_service().capture(_request(event, context, source_id))
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


def not_found() -> dict[str, Any]:
    return _answer(CaptureResult(404, {"error": "not_found", "message": "webhooks are POST /hooks/{source_id}"}))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    matched = HOOK_PATH.match(event["path"])
    if matched is None or event["httpMethod"].upper() not in HOOK_METHODS:
        return not_found()
    return receive(event, context, matched["source_id"])
