"""REST API entry point: one resolver with OpenAPI validation, routers per resource, and one place
that maps domain errors to `{"error", "message"}` answers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from api_routes import gate, openapi_doc, request_hygiene
from api_routes.body_limits import refuse_hostile_body
from api_routes.common import BadRequest, CaptureRefused, Conflict, NotFound, Unprocessable
from api_routes.routers import Routers
from leadrelay import tracing, wiring
from leadrelay.auth import Forbidden, Unauthorized
from leadrelay.errors import RETRY_AFTER_S, TransactionFailed, unavailable_body

logger = Logger(service="api")
tracer = tracing.tracer("api")  # the X-Ray SDK only when tracing is on (leadrelay/tracing.py)
metrics = Metrics(namespace="LeadRelay", service="api")

app = APIGatewayRestResolver(enable_validation=True)
routers = Routers(app)  # route modules load on the first request that needs them (api_routes/routers.py)
openapi_doc.install(app, routers.load_all)  # the document describes every route
wiring.prepare(wiring.lead_repository, wiring.org_repository)


def _error(status: int, code: str, message: str) -> Response:
    return Response(status_code=status, content_type="application/json", body={"error": code, "message": message})


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


@app.exception_handler(RequestValidationError)
def invalid_request(exc: RequestValidationError) -> Response:
    return _error(422, "invalid_request", _describe(list(exc.errors())))


@app.exception_handler(Unauthorized)
def unauthorized(exc: Unauthorized) -> Response:
    return _error(401, exc.code, str(exc))


@app.exception_handler(Forbidden)
def forbidden(exc: Forbidden) -> Response:
    return _error(403, exc.code, str(exc))


@app.exception_handler(NotFound)
def not_found_error(exc: NotFound) -> Response:
    return _error(404, "not_found", str(exc))


@app.exception_handler(BadRequest)
def bad_request(exc: BadRequest) -> Response:
    return _error(400, exc.code, str(exc))


@app.exception_handler(Conflict)
def conflict(exc: Conflict) -> Response:
    return _error(409, exc.code, str(exc))


@app.exception_handler(Unprocessable)
def unprocessable(exc: Unprocessable) -> Response:
    return _error(422, exc.code, str(exc))


@app.exception_handler(CaptureRefused)
def capture_refused(exc: CaptureRefused) -> Response:
    return _error(exc.status, exc.code, str(exc))


@app.exception_handler([ClientError, TransactionFailed, BotoCoreError])
def store_unavailable(exc: Exception) -> Response:
    if not wiring.is_transient(exc):  # a bug, not a passing failure: let it show as one
        raise exc
    return Response(status_code=503, content_type="application/json", body=unavailable_body(),
                    headers={"Retry-After": str(RETRY_AFTER_S)})  # fmt: skip


@app.not_found
def no_route(_: Exception) -> Response:
    event = app.current_event
    return _error(404, "not_found", f"no endpoint {event.http_method} {event.path}")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The gate checks the caller against the route's access rule first, and writes the access log;
    # a hostile or malformed body is refused before the resolver's validation parses it.
    routers.serve(str(event.get("httpMethod") or "GET"), str(event.get("path") or "/"))
    return gate.serve(event, lambda: _serve(event, context), _has_route)  # type: ignore[no-any-return]


def _serve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refused = refuse_hostile_body(event) or request_hygiene.refusal(event)
    if refused is not None:
        return refused
    return app.resolve(request_hygiene.without_blank_query(event), context)


def _has_route(method: str, path: str) -> bool:
    """Whether the resolver serves `method path` (a route with no access rule is refused)."""
    return any(
        route.method == method and route.rule.match(path) for route in (*app._static_routes, *app._dynamic_routes)
    )
