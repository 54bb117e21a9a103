"""The terms a lead is found by, and what a search query looks for (pure types: the store writes
and reads them, leadrelay/search.py parses what a person types into a `Query`).

A lead carries one search term per phone, email and name word (written beside the lead, in the
lead's own transaction; `store/search.py`). Names are folded so that what people type matches what
was stored: Unicode NFC, case-folded, Latin accents dropped (`José` → `jose`), zero-width joiners
removed (Devanagari and Tamil keyboards differ in them), punctuation split off. Indic vowel signs
are letters, not accents, and stay. A name term is keyed by its first two characters, so a prefix
query reads one narrow index partition, never the table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MIN_NAME_PREFIX = 2
MAX_NAME_WORDS = 4
MAX_WORD_LENGTH = 40
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


@dataclass(frozen=True)
class SearchTerm:
    """One way to find a lead: `kind` PHONE, EMAIL or NAME; `value` the normalised phone, email or
    folded word."""

    kind: str
    value: str

    @property
    def partition(self) -> str:
        """The index partition the term lives in (a name: its first two characters)."""
        if self.kind == "NAME":
            return f"NAME#{self.value[:MIN_NAME_PREFIX]}"
        return f"{self.kind}#{self.value}"


def fold(text: str) -> str:
    """A name as search compares it (see the module docstring)."""
    text = unicodedata.normalize("NFC", text.translate(_ZERO_WIDTH)).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    kept: list[str] = []
    base_is_latin = False
    for char in decomposed:
        if unicodedata.combining(char):
            if base_is_latin:
                continue  # an accent on a Latin letter
        else:
            base_is_latin = char.isascii() or "LATIN" in unicodedata.name(char, "")
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def name_words(name: str | None) -> list[str]:
    """The folded words of a name that a prefix can find (letters and marks, at least 2 long)."""
    if not name:
        return []
    words: list[str] = []
    for word in re.split(r"[^\w\u0900-\u0DFF]+", fold(name)):
        word = word.strip("_")[:MAX_WORD_LENGTH]
        if len(word) >= MIN_NAME_PREFIX and not word.isdigit() and word not in words:
            words.append(word)
    return words[:MAX_NAME_WORDS]


def terms_for(name: str | None, phone: str | None, email: str | None) -> list[SearchTerm]:
    """Every term a lead is found by (phone and email are stored normalised already)."""
    terms: list[SearchTerm] = []
    if phone:
        terms.append(SearchTerm("PHONE", phone))
    if email:
        terms.append(SearchTerm("EMAIL", email.casefold()))
    terms.extend(SearchTerm("NAME", word) for word in name_words(name))
    return terms


@dataclass(frozen=True)
class Query:
    """What `q` looks for: one term to read the index by (an exact phone or email, or a name
    prefix) and, for a name of several words, the other words each lead's name must also start."""

    term: SearchTerm
    prefix: bool
    other_words: tuple[str, ...] = ()

    def matches_name(self, name: str | None) -> bool:
        words = name_words(name) if name else []
        return all(any(word.startswith(other) for word in words) for other in self.other_words)
