"""Capture: a webhook request becomes a stored lead, a touchpoint, a duplicate, or quarantine.

Nothing is lost: once a request is authenticated its raw copy is stored whatever the answer, and
the caller always gets a clear answer (202 with the lead id, or a 4xx naming the problem).

The flow for every source kind: source key → the adapter's handshake (Meta's `hub.*`) → the
adapter's own verification (signature, `google_key`) → payload → the adapter's leads (one, or a
batch) → each lead normalised, deduped and stored on its own → the adapter's answer, once.
A request an adapter refuses is quarantined with the reason and can be replayed (`replay`).

The package face only re-exports; the rooms are:
- `service.py`      the capture service: source key, adapter, answer once, notices, quarantine
- `parsing.py`      fields from the query, JSON or form body; the raw copy with secrets masked
- `identity.py`     dedupe keys and the identity loop: new lead, duplicate or touchpoint
- `reopen.py`       a touchpoint on an existing lead, and the returning policy for closed ones
- `replay.py`       replaying a quarantined request
- `pending.py`      fetching leads a provider announced by id only (Meta), when due
- `csv_import.py`, `limits.py`
The request and answer types are `leadrelay.models.webhook` (the adapters use them too).
"""

from __future__ import annotations

from leadrelay.capture.identity import enrich
from leadrelay.capture.replay import ReplayError
from leadrelay.capture.service import CaptureService
from leadrelay.models.webhook import KEY_HEADER, KEY_PARAM, MANUAL_SOURCE_ID, CaptureResult, WebhookRequest, error

__all__ = [
    "KEY_HEADER", "KEY_PARAM", "MANUAL_SOURCE_ID", "CaptureResult", "CaptureService", "ReplayError",
    "WebhookRequest", "enrich", "error",
]  # fmt: skip
