"""API Gateway's side of a Lambda proxy integration, for the local gateway: reading a request's
headers, and turning a handler's proxy response into the HTTP answer API Gateway would send."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

log = logging.getLogger("leadrelay.local.gateway")


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in reversed(headers):
        if key.lower() == name:
            return value
    return None


def json_answer(status: int, payload: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json")], json.dumps(payload).encode()


def proxy_answer(response: Any, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """What API Gateway sends back for a Lambda proxy response (502 when it is malformed)."""
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        log.error("handler returned something that is not a proxy response: %r", response)
        return json_answer(502, {"error": "internal_error", "message": "malformed Lambda proxy response"})
    merged: dict[str, list[str]] = {}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        merged[name.lower()] = [str(value) for value in (values if isinstance(values, list) else [values])]
        merged.setdefault(f"__name__{name.lower()}", [name])
    for name, value in (response.get("headers") or {}).items():
        merged[name.lower()] = [str(value)]
        merged[f"__name__{name.lower()}"] = [name]
    headers: list[tuple[str, str]] = []
    for key, values in merged.items():
        if key.startswith("__name__") or key in ("content-length", "transfer-encoding", "connection"):
            continue
        headers.extend((merged[f"__name__{key}"][0], value) for value in values)
    if "content-type" not in merged:
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body)
        except ValueError:
            return json_answer(502, {"error": "internal_error", "message": "body is not valid base64"})
    else:
        payload = str(body).encode("utf-8")
    return response["statusCode"], headers, payload


def is_binary_media_type(headers: dict[str, list[str]]) -> bool:
    """Whether API Gateway would base64-encode this body: its Content-Type is one of
    `definitions.BINARY_MEDIA_TYPES` (the deployed REST API's binaryMediaTypes)."""
    from leadrelay.definitions import BINARY_MEDIA_TYPES

    values = next((v for k, v in headers.items() if k.lower() == "content-type"), [])
    content_type = (values[0] if values else "").split(";")[0].strip().lower()
    return content_type in BINARY_MEDIA_TYPES
