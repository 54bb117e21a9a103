"""Reading a webhook request: its fields (query, JSON or form body) and the raw copy kept of it."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from leadrelay.capture import limits
from leadrelay.models.webhook import WebhookRequest
from leadrelay.sources import PayloadError
from leadrelay.sources.secrets import SECRET_HEADERS, SECRET_PARAMS
from leadrelay.store.raw import RawRequest

_SECRET_HEADERS = SECRET_HEADERS
_MASK = "***"


def payload(request: WebhookRequest, accepts_list: bool = False) -> dict[str, Any]:
    """Fields from the query string (GET) or the JSON / form body (POST)."""
    fields: dict[str, Any] = {}
    if request.method == "GET":
        for name, values in request.query.items():
            if name.lower() not in SECRET_PARAMS:  # a credential is never a lead field
                fields[name] = values[0] if len(values) == 1 else values
        return fields
    if not request.body.strip():
        raise PayloadError("empty_body", "the request has no body; send the lead as JSON or a form", 400)
    kind = request.content_type
    if (
        kind in ("application/json", "text/json")
        or kind.endswith("+json")
        or (not kind and request.body.lstrip()[:1] in (b"{", b"["))
    ):
        data = limits.json_payload(request.body)
        if isinstance(data, list) and accepts_list:
            data = {"RESPONSE": data}
        if not isinstance(data, dict):
            raise PayloadError("invalid_body", f"expected a JSON object, got a JSON {type(data).__name__}")
        return with_query(data, request)
    if kind in ("application/x-www-form-urlencoded", ""):
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError("invalid_encoding", "a form body must be UTF-8", 400) from exc
        parsed = parse_qs(text, keep_blank_values=True)
        if not parsed:
            raise PayloadError("invalid_body", "the form body has no fields", 400)
        fields = {name: values[0] if len(values) == 1 else values for name, values in parsed.items()}
        return with_query(fields, request)
    raise PayloadError(
        "unsupported_media_type",
        f"content type {kind!r} is not accepted; send application/json or application/x-www-form-urlencoded",
        415,
    )


def with_query(fields: dict[str, Any], request: WebhookRequest) -> dict[str, Any]:
    """Query parameters (e.g. UTM tags on the webhook URL) fill fields the body leaves out."""
    for name, values in request.query.items():
        if name.lower() not in SECRET_PARAMS and name not in fields:
            fields[name] = values[0] if len(values) == 1 else values
    return fields


def raw_copy(request: WebhookRequest, received_at: datetime) -> RawRequest:
    """The request as it will be kept: secrets in headers and query masked, the body as text or base64."""
    headers = {k: (_MASK if k in _SECRET_HEADERS else v) for k, v in request.headers.items()}
    query = {k: (_MASK if k.lower() in SECRET_PARAMS else ",".join(v)) for k, v in request.query.items()}
    if request.body_was_base64:
        body, is_b64 = base64.b64encode(request.body).decode(), True
    else:
        try:
            body, is_b64 = request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            body, is_b64 = base64.b64encode(request.body).decode(), True
    return RawRequest(
        request_id=request.request_id,
        source_id=request.source_id,
        received_at=received_at,
        method=request.method,
        path=request.path,
        headers=headers,
        query=query,
        body=body,
        body_base64=is_b64,
    )
