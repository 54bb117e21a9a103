"""Sortable unique ids (ULIDs): time-ordered, so keys sort by creation without a second index."""

from __future__ import annotations

import secrets
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


def new_id(moment: datetime) -> str:
    """A 26-character ULID for `moment` (48-bit ms timestamp + 80 random bits)."""
    value = (int(moment.timestamp() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))
