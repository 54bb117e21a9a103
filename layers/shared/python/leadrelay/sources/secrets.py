"""Provider secrets never kept in clear: masking what a request carries before its raw copy is stored.

Headers (`X-Api-Key`, `Authorization`, `Cookie`) and query parameters (`key`, `hub.verify_token`,
`access_token`, …) are masked as `***` by capture. Some providers put their secret in the body:
Google Ads sends the form's `google_key` in the JSON. The raw copy — kept beside the lead, in
quarantine, shown by the quarantine API — holds instead `***` plus a salted digest
(`***sha256:<hex>`), so a quarantined request can still be verified when an admin replays it
(after fixing the source's `google_key`) without the key itself ever being stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from leadrelay.limits import MAX_BODY_DEPTH, nesting_over

MASK = "***"
DIGEST_PREFIX = f"{MASK}sha256:"
# Query parameters that carry a credential on some provider's URL (never lead data).
SECRET_PARAMS = frozenset({"key", "hub.verify_token", "access_token", "api_key", "apikey", "token", "secret",
                           "password", "glusr_crm_key", "google_key"})  # fmt: skip
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "cookie", "proxy-authorization"})


def secret_digest(value: str, salt: str) -> str:
    """What the raw copy keeps of a body secret: its SHA-256 salted with the request id."""
    return DIGEST_PREFIX + hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()


def digest_matches(kept: str, expected: str, salt: str) -> bool:
    """Whether a masked body secret (`***sha256:…`) was `expected` (a replay's verification)."""
    return hmac.compare_digest(kept.encode("utf-8"), secret_digest(expected, salt).encode("utf-8"))


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(MASK)


def mask_body(body: str, names: frozenset[str], salt: str) -> str:
    """`body` (a JSON object's text) with each top-level field named in `names` (any case) replaced
    by its digest; any other body — not JSON, or with none of those fields — is returned as it is."""
    if not names or not body.lstrip().startswith("{"):
        return body
    # Depth-checked before parsing: a body of thousands of `[` would crash the decoder (it is kept
    # as it came; capture refuses it as too deeply nested).
    if nesting_over(body.encode("utf-8", errors="surrogatepass"), MAX_BODY_DEPTH) is not None:
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    found = False
    for name, value in data.items():
        if name.lower() in names and value is not None and not is_masked(value):
            data[name] = secret_digest(value if isinstance(value, str) else str(value), salt)
            found = True
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) if found else body
