"""Finding a lead by what a person types: a phone number in any Indian spelling, an email, or the
start of a name in any script. Pure: what a query looks for (the terms themselves, and how names
are folded, are in models/search.py).
"""

from __future__ import annotations

import re

from leadrelay.models.contact import ContactError, normalize_email, normalize_phone
from leadrelay.models.search import MIN_NAME_PREFIX, Query, SearchTerm, fold, name_words, terms_for

__all__ = ["Query", "QueryError", "SearchTerm", "fold", "name_words", "parse_query", "terms_for"]

_PHONE_CHARS = re.compile(r"^[+\d(][\d\s\-().+]*$")


class QueryError(ValueError):
    """`q` cannot be searched for; the message says why."""


def parse_query(q: str) -> Query:
    """Read `q` as a phone (any Indian spelling: `98765 43210`, `+91-98765-43210`, `098765…`),
    an email, or the start of a name (each word a prefix of a word of the name)."""
    text = " ".join(q.split())
    if not text:
        raise QueryError("q is empty")
    digits = re.sub(r"\D", "", text)
    if _PHONE_CHARS.match(text) and len(digits) >= 6:
        try:
            phone, _ = normalize_phone(text)
        except ContactError as exc:
            raise QueryError(f"{text!r} is not a phone number: {exc}") from exc
        return Query(SearchTerm("PHONE", phone), prefix=False)
    if "@" in text:
        try:
            return Query(SearchTerm("EMAIL", normalize_email(text).casefold()), prefix=False)
        except ContactError as exc:
            raise QueryError(f"{text!r} is not an email address: {exc}") from exc
    words = name_words(text)
    if not words:
        raise QueryError(f"give at least {MIN_NAME_PREFIX} letters of a name, a phone number or an email")
    first = max(words, key=len)  # the longest word narrows the index read the most
    others = tuple(word for word in words if word != first)
    return Query(SearchTerm("NAME", first), prefix=True, other_words=others)
