"""A webhook request as the gateway delivered it, and the answer capture gives back.

Shared by capture (which authenticates, stores and answers) and the source adapters (which read
the request and shape the provider's answer), so neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KEY_HEADER = "x-api-key"
# Leads entered by hand (POST /leads) come from this source.
MANUAL_SOURCE_ID = "manual"
KEY_PARAM = "key"


@dataclass
class WebhookRequest:
    """An HTTP request as the gateway delivered it."""

    source_id: str
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased
    query: dict[str, list[str]]
    body: bytes
    request_id: str
    body_was_base64: bool = False
    # A lead entered by hand (POST /leads): who entered it (the timeline's actor), and the agent who
    # keeps it when they asked to (routing offers it to them first, as to a returning lead's owner).
    entered_by: str | None = None
    keep_for_agent_id: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def presented_key(self) -> str | None:
        if self.headers.get(KEY_HEADER):
            return self.headers[KEY_HEADER]
        values = self.query.get(KEY_PARAM)
        return values[0] if values else None


@dataclass
class CaptureResult:
    """The answer for the provider: status, body (JSON object, or text for a provider that wants
    text: JustDial's acknowledgement, Meta's challenge), extra headers."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def error(status: int, code: str, message: str) -> CaptureResult:
    return CaptureResult(status, {"error": code, "message": message})
