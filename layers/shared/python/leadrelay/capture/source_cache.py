"""A warm ingest's sources: read once, then checked inside the write instead of read per webhook.

`OrgRepository.get_source` promises that a rotated key or a disabled source is refused from the
very next request. Reading the source strongly on every webhook kept that promise at the price of
a GetItem per lead (a third of ingest's CPU). A warm container now keeps the sources it read
(`SourceCache`) and keeps the promise by optimistic concurrency (`SourceCheck`):

- a lead decided with a cached copy is written only on condition that the source item is still at
  the copy's `revision` (every write of a source moves it, store/source_records.py): the condition is the
  capture transaction's last item, so the check and the write are one atomic step;
- if the condition fails, nothing was written: the capture forgets the copy, reads the source
  again and runs again from the start (key, active, the adapter's verification, the mapping);
- every other outcome (a refusal, a duplicate, a notice, a parked fetch…) first reads the source
  again, and runs again if it moved: nothing but a guarded success is ever decided on a cached copy.

So a request that starts after a rotation (or a disable, or a mapping change) returned is decided
with the new source, as before; a lead stream to one source costs one DynamoDB call per lead.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from leadrelay.models.source import Source
from leadrelay.models.source_guard import SourceChanged, SourceGuard

# A container keeps at most this many sources, each for at most this long (the guard, not the
# age, keeps decisions current; the age only bounds how long a copy nobody writes with is kept).
CACHE_SIZE = 256
CACHE_TTL_S = 300.0


class SourceCache:
    """Sources by (table, id), least recently used dropped first; safe to share between threads."""

    def __init__(
        self, size: int = CACHE_SIZE, ttl_s: float = CACHE_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, Source]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, table: str, source_id: str) -> Source | None:
        key = (table, source_id)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() - entry[0] >= self.ttl_s:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, table: str, source: Source) -> None:
        key = (table, source.source_id)
        with self._lock:
            self._entries[key] = (self._clock(), source)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, table: str, source_id: str) -> None:
        with self._lock:
            self._entries.pop((table, source_id), None)

    def __len__(self) -> int:
        return len(self._entries)


class SourceCheck:
    """The source one capture decides with, and whether it is known to be current.

    `fresh` when it was just read strongly, or once a write guarded by it committed (the source
    was current at that moment, which is after the request arrived: as good as a read at its
    start). Until then writes carry `guard()`, and every other outcome calls `confirm()` first."""

    def __init__(self, source: Source, guard: SourceGuard | None, reread: Callable[[], Source | None] | None) -> None:
        self.source = source
        self._guard = guard
        self._reread = reread

    @classmethod
    def fresh(cls, source: Source) -> SourceCheck:
        return cls(source, None, None)

    @property
    def is_fresh(self) -> bool:
        return self._guard is None

    def guard(self) -> SourceGuard | None:
        """The condition the next capture write carries (None once the source is known current)."""
        return self._guard

    def written(self) -> None:
        """A write carrying the guard committed."""
        self._guard = None

    def confirm(self) -> None:
        """Before anything but a guarded write: read the source again; `SourceChanged` if it moved."""
        if self._guard is None or self._reread is None:
            return
        current = self._reread()
        if current is None or current != self.source:
            raise SourceChanged(current, read=True)
        self._guard = None
