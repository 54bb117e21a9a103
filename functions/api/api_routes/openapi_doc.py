"""The public OpenAPI document (`GET /openapi.json`) and Swagger UI (`GET /docs`).

Both are served without a token (the document describes the API; it holds no data), and both
declare the bearer scheme, so "Authorize" then "Try it out" works in a browser. `servers` is the
address the request came in on (with the stage on an execute-api URL), so a generated client and
Swagger UI call the deployment that served the document. The webhooks, served by the ingest
function, are documented here too, under their own security scheme (the source key).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

TITLE = "LeadRelay API"
VERSION = "1"
DESCRIPTION = (
    "Lead capture and distribution. Every REST route needs a Cognito ID token in "
    "`Authorization: Bearer <JWT>` (press Authorize); webhooks (`/hooks/{source_id}`) take the source key "
    'instead. Errors are always `{"error": "<code>", "message": "<words>"}` with a 4xx status.'
)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. not_found, invalid_request"},
        "message": {"type": "string", "description": "what is wrong, in words"},
    },
    "additionalProperties": True,
    "example": {"error": "not_found", "message": "there is no lead '01J…' you can see"},
}
_ERROR_RESPONSES = {
    "400": "The request cannot be read (bad JSON, bad cursor)",
    "401": "No token, or a token that is not valid",
    "403": "The caller's role may not do this",
    "404": "No such thing, or the caller may not see it",
    "409": "Clashes with the current state (a stale version, a replayed idempotency key in flight)",
    "415": "A body type this route does not take",
    "422": "A body or query value that breaks the rules",
}

_GENERIC_LEAD_FIELDS: dict[str, Any] = {
    "type": "object",
    "description": "A generic source's fields (all optional except a phone or an email); unknown fields "
    "are kept on the lead as `extra`.",
    "properties": {
        name: {"type": "string"}
        for name in (
            "name",
            "phone",
            "email",
            "city",
            "state",
            "pincode",
            "language",
            "product",
            "message",
            "external_id",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "gclid",
            "fbclid",
        )
    }
    | {"budget": {"type": ["string", "number"]}, "consent": {"type": "boolean"}},
    "additionalProperties": True,
    "example": {"name": "Asha Verma", "phone": "98765 43210", "city": "Noida", "product": "2BHK"},
}
_HOOK_ANSWER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "lead_id": {"type": "string"},
        "outcome": {"type": "string", "enum": ["created", "merged", "duplicate"]},
    },
    "additionalProperties": True,
    "example": {"lead_id": "01JDZ0V7W3R4T5Y6U7I8O9P0QA", "outcome": "created"},
}


def _error_response(words: str) -> dict[str, Any]:
    return {"description": words, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _hook_operation(method: str) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": ["webhooks"],
        "summary": "Capture a lead from a source (POST: JSON or form body)"
        if method == "post"
        else "Capture a lead sent as query parameters (JustDial), or a Meta/WhatsApp hub.* handshake",
        "description": "Served by the ingest function, not with a user token: the source key goes in "
        "`X-Api-Key` or the `key` query parameter. Provider kinds (Meta, Google, IndiaMART, JustDial) answer "
        "as their provider expects; a generic source answers 202.",
        "operationId": f"hook_{method}",
        "security": [{"source_key_header": []}, {"source_key_query": []}],
        "parameters": [
            {"name": "source_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
        ],
        "responses": {
            "202": {"description": "Stored", "content": {"application/json": {"schema": _HOOK_ANSWER}}},
            "200": {"description": "A provider's own answer (Meta, Google, IndiaMART, JustDial)"},
            **{
                code: {
                    "description": words,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
                for code, words in _ERROR_RESPONSES.items()
                if code != "409"
            },
        },
    }
    if method == "post":
        operation["requestBody"] = {
            "content": {
                "application/json": {"schema": _GENERIC_LEAD_FIELDS},
                "application/x-www-form-urlencoded": {"schema": _GENERIC_LEAD_FIELDS},
            }
        }
    return operation


def _with_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation lists the error answers it can give, in the one error shape; Powertools' own
    422 validation schema is replaced by ours (the handler answers `{"error", "message"}`)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)  # Powertools' 422 shapes: this API answers 422 as Error instead
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, words in _ERROR_RESPONSES.items():
                responses[code] = _error_response(words)
    return document


def _with_webhooks(document: dict[str, Any]) -> dict[str, Any]:
    document.setdefault("paths", {})["/hooks/{source_id}"] = {
        "post": _hook_operation("post"),
        "get": _hook_operation("get"),
    }
    schemes = document["components"].setdefault("securitySchemes", {})
    header_key = "the source's key (webhooks only)"
    query_key = "the source's key, for providers that cannot set headers"
    schemes["source_key_header"] = {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": header_key}
    schemes["source_key_query"] = {"type": "apiKey", "in": "query", "name": "key", "description": query_key}
    tags = document.setdefault("tags", [])
    tags.append({"name": "webhooks", "description": "Lead sources post here with the source key (no user token)."})
    return document


_IDEMPOTENCY_HEADER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID) per thing to create: a retry with the same key and body answers "
    "the first answer for 24 hours and creates nothing twice; the same key with another body is a 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "example": "2f1c0c8e-8d4b-4f55-a4b2-2a8d1f0f6a11",
}


def _with_idempotency_keys(app: APIGatewayRestResolver, document: dict[str, Any]) -> dict[str, Any]:
    """The `Idempotency-Key` header on every operation whose route runs the idempotency middleware."""
    from api_routes.idempotency import idempotent

    for route in [*app._static_routes, *app._dynamic_routes]:
        if idempotent in route.middlewares:
            operation = document.get("paths", {}).get(route.openapi_path, {}).get(route.method.lower())
            if operation is not None:
                operation.setdefault("parameters", []).append(dict(_IDEMPOTENCY_HEADER))
    return document


class OpenApiDocument:
    """Builds the document once per process (the routes do not change) and stamps `servers` per request.
    `load_routes` first includes every route module (the api loads them on first need otherwise)."""

    def __init__(self, app: APIGatewayRestResolver, load_routes: Callable[[], None] = lambda: None) -> None:
        self.app = app
        self.load_routes = load_routes
        self._base: dict[str, Any] | None = None

    def base(self) -> dict[str, Any]:
        if self._base is None:
            self.load_routes()
            from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

            raw = self.app.get_openapi_json_schema(
                title=TITLE,
                version=VERSION,
                description=DESCRIPTION,
                security_schemes={
                    "bearer": HTTPBearer(
                        bearerFormat="JWT",
                        description="A Cognito ID token (`leadrelay login`, or `users[].token` in local.json)",
                    )
                },
                security=[{"bearer": []}],
            )
            self._base = _with_idempotency_keys(self.app, _with_webhooks(_with_errors(json.loads(raw))))
        return self._base

    def for_request(self) -> dict[str, Any]:
        document = copy.deepcopy(self.base())
        document["servers"] = [{"url": server_url(self.app), "description": "this deployment"}]
        login = sign_in_details()
        if login:
            document["x-leadrelay-login"] = login
        return document


def sign_in_details() -> dict[str, str]:
    """How a client signs in to this deployment (`leadrelay login`): the Cognito user pool and app
    client, public values any web app carries; on the local stack also the emulator's endpoint."""
    import os

    pool, client = os.environ.get("USER_POOL_ID"), os.environ.get("USER_POOL_CLIENT_ID")
    if not pool or not client:
        return {}
    details = {"region": os.environ.get("AWS_REGION", "ap-south-1"), "user_pool_id": pool, "client_id": client}
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith(("http://127.0.0.1", "http://localhost")):  # the local stack's moto server
        details["cognito_endpoint"] = endpoint
    return details


def server_url(app: APIGatewayRestResolver) -> str:
    """The API's base URL as the caller reached it: scheme and host from the request, plus the stage
    when the URL carries it (execute-api URLs do; a custom domain or the local stack do not)."""
    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    host = headers.get("host") or event.request_context.domain_name or "localhost"
    scheme = (headers.get("x-forwarded-proto") or "https").split(",")[0].strip()
    stage = event.request_context.stage
    context_path = event.request_context.path or ""
    prefix = f"/{stage}" if stage and stage != "$default" and context_path.startswith(f"/{stage}/") else ""
    return f"{scheme}://{host}{prefix}"


def install(app: APIGatewayRestResolver, load_routes: Callable[[], None] = lambda: None) -> None:
    """`GET /openapi.json` (the document) and `GET /docs` (Swagger UI on it; `?format=json` the
    document), describing every route: `load_routes` includes them all before the first is built."""
    document = OpenApiDocument(app, load_routes)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_json() -> Response[str]:
        body = json.dumps(document.for_request(), ensure_ascii=False)
        return Response(status_code=200, content_type="application/json", body=body)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> Response[str]:
        from pathlib import Path

        import aws_lambda_powertools.event_handler as handler_package
        from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

        spec = json.dumps(document.for_request(), ensure_ascii=False)
        if (app.current_event.query_string_parameters or {}).get("format") == "json":
            return Response(status_code=200, content_type="application/json", body=spec)
        assets = Path(handler_package.__file__).parent / "openapi" / "swagger_ui"
        html = generate_swagger_html(
            spec.replace("</", "<\\/"),
            (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
            (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
            "",
            None,
            persist_authorization=True,
        )
        return Response(status_code=200, content_type="text/html", body=html)
