"""DynamoDB's real limits, enforced by the product (moto enforces them loosely or not at all).

- Items: 400 KB, counted in UTF-8 bytes of names and values, not in characters: a Devanagari
  letter is 3 bytes, an emoji 4. Text is cut on a character boundary by its bytes.
- Nesting: 32 levels of maps and lists. A value deeper than `STORED_DEPTH` inside a payload is
  kept as its JSON text, so the lead item (where a payload field sits 2–3 levels down) stays legal.
- Numbers: finite only. `NaN` and `Infinity` in a JSON body are no value; a number too large for a
  float (`1e400`) is kept as the text the sender wrote.

And the parser's: a JSON body nested deeper than `MAX_BODY_DEPTH` is refused before `json.loads`
sees it (Python's decoder recurses, and a few thousand `[` crash it).

Pure functions, no I/O: capture and the stores call them.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from itertools import accumulate
from typing import Any

MAX_ITEM_BYTES = 400 * 1024
# The raw copy of a request: its body is cut to this many bytes (flagged `body_truncated`), so the
# item with its headers and query stays under 400 KB.
MAX_RAW_BODY_BYTES = 300_000
# Each header or query value kept with a raw request (API Gateway allows 10 KB of headers in all).
MAX_RAW_VALUE_BYTES = 8 * 1024
MAX_RAW_ENTRIES = 200
# A JSON body nested deeper than this is refused before parsing.
MAX_BODY_DEPTH = 64
# Containers below this depth inside a payload are kept as their JSON text.
STORED_DEPTH = 16

# A JSON string literal, escapes included: removed before brackets are counted.
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class TooDeep(ValueError):
    """A JSON body nested deeper than the limit."""

    def __init__(self, depth: int, limit: int) -> None:
        super().__init__(f"the body is nested {depth} levels deep; the limit is {limit}")
        self.depth = depth
        self.limit = limit


def nesting_over(body: bytes, limit: int) -> int | None:
    """The depth at which a JSON text's brackets first nest past `limit`, or None when they never
    do; without parsing. Linear in the body; a body with few brackets costs two `count` scans."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return None
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    deepest = max(accumulate(_STEP[b] for b in brackets), default=0)
    return deepest if deepest > limit else None


def _float_or_text(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


def loads(body: bytes | str, max_depth: int = MAX_BODY_DEPTH, stored_depth: int = STORED_DEPTH) -> Any:
    """`json.loads` for bodies from outside: refuses nesting past `max_depth` (`TooDeep`) before
    parsing, reads `NaN`/`Infinity` as no value (None) and overflowing numbers as their text, and
    returns it `sanitized` (containers past `stored_depth` as text, lone surrogates replaced).
    Raises `json.JSONDecodeError`/`UnicodeDecodeError` for text that is not JSON."""
    raw = body.encode("utf-8", errors="surrogatepass") if isinstance(body, str) else body
    depth = nesting_over(raw, max_depth)
    if depth is not None:
        raise TooDeep(depth, max_depth)
    text = body if isinstance(body, str) else body.decode("utf-8")
    return sanitized(json.loads(text, parse_constant=lambda _: None, parse_float=_float_or_text), stored_depth)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: str) -> str:
    """Text DynamoDB accepts: a JSON escape can smuggle in a lone UTF-16 surrogate, which is not
    UTF-8; pairs are joined and lone ones become U+FFFD."""
    if _SURROGATE.search(value) is None:
        return value
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def sanitized(value: Any, depth: int = STORED_DEPTH) -> Any:
    """`value` as DynamoDB can store it: every container nested deeper than `depth` replaced by its
    JSON text, every string (and key) valid UTF-8, non-finite floats as no value."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        if depth <= 0:
            return _text(json.dumps(value, ensure_ascii=False, default=str))
        return {_text(str(key)): sanitized(item, depth - 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if depth <= 0:
            return _text(json.dumps(list(value), ensure_ascii=False, default=str))
        return [sanitized(item, depth - 1) for item in value]
    return value


def is_finite_number(value: Any) -> bool:
    """True for a real, finite number (bools are not numbers here)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return False


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def cut_utf8(text: str, max_bytes: int) -> tuple[str, bool]:
    """`text` (made valid UTF-8) cut to at most `max_bytes` bytes on a character boundary; and
    whether it was cut."""
    text = _text(text)
    if len(text) * 4 <= max_bytes:  # even all 4-byte characters would fit
        return text, False
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text, False
    return encoded[:max_bytes].decode("utf-8", errors="ignore"), True


def item_size(value: Any) -> int:
    """An upper estimate of a plain item's (or value's) size as DynamoDB counts it: UTF-8 bytes of
    names and text, up to 21 bytes a number, 3 bytes of overhead per map/list element."""
    if isinstance(value, dict):
        return sum(utf8_len(str(key)) + item_size(item) + 1 for key, item in value.items()) + 3
    if isinstance(value, list | tuple | set | frozenset):
        return sum(item_size(item) + 1 for item in value) + 3
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return 21
    return utf8_len(str(value))
