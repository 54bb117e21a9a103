"""One HTTP call to a provider's pull API: standard library only (urllib), a timeout, a size cap.

An HTTP error status is an answer, not an exception (IndiaMART's 429 and 401 carry a MESSAGE we
keep); only "no answer at all" (refused, timed out, DNS) raises `PullFailure("unavailable")`.
Credentials travel in the URL or the body of the call and must never reach a log, a stored path
or an error message: `masked_url` and `scrub` take them out.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from leadrelay import limits
from leadrelay.pull import MASK, PullFailure

# A week of IndiaMART enquiries for a busy seller is a few MB; anything far beyond is not an answer.
MAX_ANSWER_BYTES = 32 * 1024 * 1024


@dataclass
class HttpAnswer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        """The answer's JSON as a webhook's body is read (`leadrelay.limits.loads`): nesting past
        `limits.MAX_BODY_DEPTH` refused before parsing (a few thousand `[` would crash the decoder),
        `NaN`/`Infinity` as no value, overflowing numbers and values nested past the stored depth
        as text. Raises `ValueError` (`limits.TooDeep`, `json.JSONDecodeError`, `UnicodeDecodeError`)
        for anything else; the size was capped when it was read (`MAX_ANSWER_BYTES`)."""
        return limits.loads(self.body)


def masked_url(url: str, secret_params: tuple[str, ...]) -> str:
    """The URL with the values of `secret_params` replaced by `***` (for storing and showing)."""
    parts = urlsplit(url)
    query = [(name, MASK if name in secret_params else value) for name, value in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def scrub(message: str, secrets: tuple[str | None, ...], limit: int = 500) -> str:
    """A provider's message as we keep it: any secret it echoes masked, and not too long."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            message = message.replace(secret, MASK)
    return message[:limit]


def call(
    method: str,
    url: str,
    *,
    masked: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 20.0,
) -> HttpAnswer:
    """`method url` with a timeout; the answer whatever its status. `masked` names the call in errors."""
    if urlsplit(url).scheme not in ("http", "https"):  # the URL comes from a setting: no file:// reads
        raise PullFailure("bad_request", "bad_url", f"the pull URL must be http(s): {masked}", url=masked)
    request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "*/*", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read(MAX_ANSWER_BYTES + 1)
            status, kind = response.status, response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read(MAX_ANSWER_BYTES + 1)
        except OSError:  # the error body itself timed out: the status is what we have
            body = b""
        status, kind = exc.code, exc.headers.get("Content-Type", "") if exc.headers else ""
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None)
        detail = type(reason).__name__ if isinstance(reason, BaseException) else type(exc).__name__
        raise PullFailure("unavailable", "unreachable", f"the provider did not answer ({detail})", url=masked) from None
    if len(body) > MAX_ANSWER_BYTES:
        raise PullFailure("invalid_answer", "answer_too_large", f"the answer is over {MAX_ANSWER_BYTES} bytes",
                          url=masked)  # fmt: skip
    return HttpAnswer(status, body, kind.split(";")[0].strip().lower())
