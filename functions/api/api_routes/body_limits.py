"""A request body nested past the limit is refused before anything parses it: Python's JSON
decoder recurses, and a few thousand `[` would crash the function (a 502 instead of a 4xx)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from leadrelay.limits import MAX_BODY_DEPTH, nesting_over


def refuse_hostile_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """The API Gateway answer for a body nested deeper than `MAX_BODY_DEPTH`, or None to go on."""
    body = event.get("body")
    if not body or not isinstance(body, str):
        return None
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body)
        except (binascii.Error, ValueError):
            return None  # not JSON anyway: the resolver answers it
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    depth = nesting_over(raw, MAX_BODY_DEPTH)
    if depth is None:
        return None
    message = f"the body is nested {depth} levels deep; the limit is {MAX_BODY_DEPTH}"
    return {
        "statusCode": 422,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": "too_deeply_nested", "message": message}),
        "isBase64Encoded": False,
    }
