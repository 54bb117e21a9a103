"""Source adapters: one per provider kind, each turning a provider's request into leads.

An adapter answers four questions about a request (see `SourceAdapter`):
- `handshake`: is this a provider's subscription check (Meta's `hub.*`) rather than a lead?
- `verify`: is the provider's own proof (signature, `google_key`) right? Checked after the source key.
- `decode`: only for bodies that are neither JSON nor a form (XML); by default capture decodes.
- `parse`: which leads does the payload hold? One for most providers; many for a Meta batch or an
  IndiaMART `RESPONSE` array. A lead's provider id is its `external_id` (the dedupe key).
  `parse_request` is the same with the request at hand (Razorpay's event id is a header).
  Something a provider says that is not a lead (a WhatsApp delivery status, a Razorpay event we do
  not take) is a `Notice`: kept raw with the reason, acknowledged, never an error.
- `respond`: what does the provider expect to hear back, once every lead is stored?
- `fetch_pending`: for providers that announce leads by id only (Meta), fetch a parked lead now;
  `FetchNotReady` while the provider cannot give it. Capture retries parked leads through this
  alone, knowing nothing of any provider's API.

The package face only re-exports: `base.py` (the adapter interface and what it returns),
`answers.py` (provider answers), `credentials.py` (provider secrets), `registry.py` (kind → adapter);
one module per provider beside them.
"""

from __future__ import annotations

from leadrelay.sources.answers import AUTH_CODES, provider_answer, signed_provider_answer
from leadrelay.sources.base import (
    BaseAdapter,
    FetchNotReady,
    Notice,
    ParsedItem,
    PayloadError,
    PendingFetch,
    Receipt,
    SourceAdapter,
)
from leadrelay.sources.credentials import same_secret, secret
from leadrelay.sources.registry import SUPPORTED_KINDS, adapter_for

__all__ = [
    "AUTH_CODES",
    "SUPPORTED_KINDS",
    "BaseAdapter",
    "FetchNotReady",
    "Notice",
    "ParsedItem",
    "PayloadError",
    "PendingFetch",
    "Receipt",
    "SourceAdapter",
    "adapter_for",
    "provider_answer",
    "same_secret",
    "secret",
    "signed_provider_answer",
]
