"""A capture write's condition on the source it was decided with (capture/source_cache.py)."""

from __future__ import annotations

from dataclasses import dataclass

from leadrelay.models.source import Source


@dataclass(frozen=True)
class SourceGuard:
    """The `SOURCES` item of `source_id` in `table` still exists at `revision`. The store adds it
    to the capture transaction as its last item, a ConditionCheck (store/leads.py)."""

    table: str
    source_id: str
    revision: int


class SourceChanged(Exception):
    """The source changed since the copy a capture decided with was read; nothing was written.
    `current` is the source as just read when `read` (None: it no longer exists)."""

    def __init__(self, current: Source | None = None, read: bool = False) -> None:
        super().__init__("the source changed since it was read")
        self.current = current
        self.read = read
