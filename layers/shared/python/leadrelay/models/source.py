"""A lead source: one webhook URL with its own key, kind and provider secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class SourceKind(StrEnum):
    GENERIC = "generic"
    WEB_FORM = "web_form"
    META_LEAD_ADS = "meta_lead_ads"
    GOOGLE_ADS = "google_ads"
    INDIAMART = "indiamart"
    JUSTDIAL = "justdial"
    WHATSAPP = "whatsapp"
    RAZORPAY = "razorpay"
    # Property portals: pulled on a schedule (leadrelay.pull) and also accepted as pushes.
    NINETY_NINE_ACRES = "99acres"
    MAGICBRICKS = "magicbricks"
    HOUSING = "housing"


def hash_key(key: str) -> str:
    """SHA-256 of a source key. Keys are 32 random bytes, so a fast hash is enough."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)


class Source(BaseModel):
    """A configured source. Only the key's hash is stored; provider secrets sit in `settings`."""

    source_id: str
    kind: SourceKind = SourceKind.GENERIC
    name: str
    key_hash: str
    active: bool = True
    # Provider verification secrets (app_secret, verify_token, google_key, webhook_secret) and
    # options such as a field mapping. Encrypted at rest by the table's KMS key.
    settings: dict[str, Any] = Field(default_factory=dict)
    # Optional: a tag copied to every lead from this source (e.g. the campaign or branch).
    tags: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    # Moves with every change to the item (store/org.py): a warm ingest keeps the source it read
    # and writes a lead only on condition that the revision is still this one (capture/source_cache.py).
    # An item written before revisions existed reads as 0. Never shown by the API.
    revision: int = 0

    def key_matches(self, presented: str | None) -> bool:
        """Constant-time comparison of the presented key's hash with the stored hash."""
        if not presented:
            return False
        return hmac.compare_digest(hash_key(presented), self.key_hash)
