"""A provider's secret from the source's settings, and comparing one in constant time."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from leadrelay.models import Source
from leadrelay.sources.base import PayloadError

if TYPE_CHECKING:
    pass


def secret(source: Source, name: str) -> str:
    """A provider secret from the source's settings; a source without it cannot verify anything,
    so its requests are refused (and kept) until it is configured."""
    value = source.settings.get(name)
    if not value or not isinstance(value, str):
        raise PayloadError("provider_secret_missing", f"source {source.source_id!r} has no {name} configured", 403)
    return value


def same_secret(presented: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the configured one."""
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))
