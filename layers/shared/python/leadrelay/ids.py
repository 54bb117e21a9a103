"""Sortable unique ids (ULIDs): time-ordered, so keys sort by creation without a second index."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_lock = threading.Lock()
_last = 0


def new_id(moment: datetime) -> str:
    """A 26-character ULID for `moment` (48-bit ms timestamp + 80 random bits).

    Monotonic within a process: ids made in the same millisecond (or while a test clock stands
    still) still sort in creation order.
    """
    global _last
    value = (int(moment.timestamp() * 1000) << 80) | secrets.randbits(80)
    with _lock:
        if value <= _last:
            value = _last + 1
        _last = value
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))
