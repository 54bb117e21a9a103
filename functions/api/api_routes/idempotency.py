"""`Idempotency-Key` on creating POSTs: a retried request answers the first answer and creates
nothing twice (CONTRACT.md: every creating POST honours it).

A route middleware around the route, on Powertools' idempotency utility with the records in the
org table (definitions.API_IDEMPOTENCY: one partition, TTL expiry). The record is keyed by the
caller, the route and the key, so two people's keys never collide; the body's hash is checked, so
the same key with a different body is refused (422) rather than answered with the wrong result.
A request still running under the same key answers 409; an answer that was an error is not kept
(the exception removes the record), so a retry after a 4xx or a crash runs again.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from api_routes.common import BadRequest, Conflict, Unprocessable, principal

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255


@cache
def _machinery() -> tuple[Any, Any, Any]:
    """The persistence layer, config and decorated runner, built once per process (lazily: only
    creating POSTs pay for the import)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from leadrelay.config import get_settings
    from leadrelay.definitions import API_IDEMPOTENCY

    store = DynamoDBPersistenceLayer(
        table_name=get_settings().org_table,
        key_attr=API_IDEMPOTENCY.table.partition_key,
        sort_key_attr=API_IDEMPOTENCY.table.sort_key,
        static_pk_value=API_IDEMPOTENCY.partition_value,
        expiry_attr=API_IDEMPOTENCY.table.ttl_attribute or "expires_at",
        status_attr="idempotency_status",
        data_attr="idempotency_answer",
        validation_key_attr="idempotency_body_hash",
    )
    config = IdempotencyConfig(
        event_key_jmespath="[caller, route, key]",
        payload_validation_jmespath="body_hash",
        expires_after_seconds=API_IDEMPOTENCY.expires_after_s,
        raise_on_no_idempotency_key=True,
    )

    @idempotent_function(data_keyword_argument="request", persistence_store=store, config=config,
                         key_prefix="api")  # fmt: skip
    def run(request: dict[str, Any], call: Any) -> dict[str, Any]:
        record = dict(call())
        if int(record["status"]) >= 400:  # not kept: the record is removed and a retry runs again
            raise _NotKept(record)
        return record

    return store, config, run


class _NotKept(Exception):
    """An error answer passes through without being kept as the key's answer."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(record["status"])
        self.record = record


def _key(app: APIGatewayRestResolver) -> str | None:
    for name, value in (app.current_event.headers or {}).items():
        if name.lower() == HEADER:
            return str(value)
    return None


def _as_record(app: APIGatewayRestResolver, response: Response) -> dict[str, Any]:
    """What is kept of the first answer: status, type, body as text, headers."""
    body = response.body
    if body is not None and not isinstance(body, str | bytes):
        body = app._serializer(body)  # the resolver's own JSON serializer, as it would send it
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    headers = {k: v for k, v in (response.headers or {}).items() if isinstance(v, str)}
    return {"status": response.status_code, "content_type": response.content_type, "body": body, "headers": headers}


def idempotent(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Route middleware: without the header the route runs as usual; with it, once per key."""
    key = _key(app)
    if key is None:
        return next_middleware(app)
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest("invalid_idempotency_key", f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} printable characters")
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    _, config, run = _machinery()
    context = getattr(app, "lambda_context", None)
    if context is not None:
        config.register_lambda_context(context)
    event = app.current_event
    request = {
        "caller": principal(app).username,  # type: ignore[arg-type]  # the resolver serves as the router
        "route": f"{event.http_method} {event.path}",
        "key": key,
        "body_hash": hashlib.sha256((event.body or "").encode("utf-8")).hexdigest(),
    }
    try:
        record = run(request=request, call=lambda: _as_record(app, next_middleware(app)))
    except _NotKept as error:
        record = error.record
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("idempotency_in_progress", "a request with this Idempotency-Key is still running") from exc
    except IdempotencyValidationError as exc:
        raise Unprocessable(
            "idempotency_key_reused", "this Idempotency-Key was used with a different body: use a new key"
        ) from exc
    headers = dict(record.get("headers") or {})
    return Response(
        status_code=int(record["status"]),
        content_type=record.get("content_type") or "application/json",
        body=record.get("body"),
        headers=headers,
    )
