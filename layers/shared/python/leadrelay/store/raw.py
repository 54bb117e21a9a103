"""The raw copy of every HTTP request that reached capture, kept whatever the outcome.

Stored beside its lead (`LEAD#<id>` / `RAW#<at>#<ulid>`, `store/leads.py`), or as a quarantined,
ignored or pending-fetch item (`store/quarantine.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadrelay.clock import iso
from leadrelay.ids import new_id
from leadrelay.limits import MAX_RAW_BODY_BYTES, MAX_RAW_ENTRIES, MAX_RAW_VALUE_BYTES, cut_utf8


@dataclass
class RawRequest:
    """An HTTP request exactly as received (secrets masked), kept whatever the outcome."""

    request_id: str
    source_id: str
    received_at: datetime
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: str
    body_base64: bool = False
    outcome: str = ""
    reason: str = ""
    error: str = ""

    def as_attributes(self) -> dict[str, Any]:
        # DynamoDB items stop at 400 KB of UTF-8 bytes (a Devanagari letter is 3): the body is cut by
        # its bytes, flagged as such, and each header or query value too (`leadrelay.limits`).
        body, truncated = cut_utf8(self.body, MAX_RAW_BODY_BYTES)
        return {
            "request_id": self.request_id,
            "source_id": self.source_id,
            "received_at": self.received_at,
            "method": self.method,
            "path": self.path,
            "headers": _kept_values(self.headers),
            "query": _kept_values(self.query),
            "body": body,
            "body_base64": self.body_base64,
            "body_truncated": truncated,
            "outcome": self.outcome,
            "reason": self.reason,
            "error": self.error,
            # DPDP retention: the raw copy (beside a lead or in quarantine) expires by the table's TTL.
            "expires_at": raw_expiry(self.received_at),
        }


def raw_expiry(received_at: datetime) -> int:
    """Epoch seconds when a raw request's copy expires (RAW_RETENTION_DAYS after it arrived)."""
    from leadrelay.config import get_settings

    return int((received_at + timedelta(days=get_settings().raw_retention_days)).timestamp())


def _kept_values(values: dict[str, str]) -> dict[str, str]:
    kept = list(values.items())[:MAX_RAW_ENTRIES]
    return {cut_utf8(str(k), 256)[0]: cut_utf8(str(v), MAX_RAW_VALUE_BYTES)[0] for k, v in kept}


def raw_sk(raw: RawRequest) -> str:
    """Raw requests sort by arrival, even within one millisecond (the request id is random)."""
    return f"RAW#{iso(raw.received_at)}#{new_id(raw.received_at)}"
