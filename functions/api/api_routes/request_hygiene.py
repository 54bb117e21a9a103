"""Requests the routes should never see: answered with a clear 4xx before the resolver runs, or
tidied so that a web form's habits (`?status=&agent_id=`) mean what the person meant."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

# Bodies the API reads as JSON; a CSV import takes its own types and decodes legacy encodings itself.
_JSON_TYPES = ("application/json", "text/json")
# Nothing in the REST API takes a multipart upload (CSV import takes the file as the body).
_REFUSED_PREFIXES = ("multipart/",)


def _answer(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": code, "message": message}),
        "isBase64Encoded": False,
    }


def _content_type(event: dict[str, Any]) -> str:
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "content-type" and isinstance(value, str):
            return value.split(";")[0].strip().lower()
    return ""


def refusal(event: dict[str, Any]) -> dict[str, Any] | None:
    """A 4xx proxy response for a body no route can read, else None."""
    body = event.get("body")
    if not body:
        return None
    content_type = _content_type(event)
    if content_type.startswith(_REFUSED_PREFIXES):
        return _answer(415, "unsupported_media_type",
                       f"{content_type} is not accepted; send JSON (or text/csv to an import)")  # fmt: skip
    is_json = content_type in _JSON_TYPES or content_type.endswith("+json")
    if event.get("isBase64Encoded") and is_json:
        try:
            base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _answer(400, "invalid_json", "the body must be JSON in UTF-8")
    return None


def without_blank_query(event: dict[str, Any]) -> dict[str, Any]:
    """The event without empty query parameters: `?agent_id=` means "any agent", as a form sends it."""
    single = event.get("queryStringParameters") or {}
    multi = event.get("multiValueQueryStringParameters") or {}
    if not any(v == "" for v in single.values()) and not any("" in (v or []) for v in multi.values()):
        return event
    kept_multi = {k: [x for x in v if x != ""] for k, v in multi.items()}
    kept_multi = {k: v for k, v in kept_multi.items() if v}
    kept_single = {k: v for k, v in single.items() if v != ""}
    for name, values in kept_multi.items():  # the last non-blank value, as API Gateway keeps the last
        kept_single[name] = values[-1]
    return {**event, "queryStringParameters": kept_single or None,
            "multiValueQueryStringParameters": kept_multi or None}  # fmt: skip
