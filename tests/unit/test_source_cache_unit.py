"""The warm ingest's source cache and the check a capture decides with (capture/source_cache.py),
without DynamoDB: which copy is served, for how long, which one is dropped first, and when a
cached copy must be read again before anything but a guarded write."""

from __future__ import annotations

import threading

import pytest

from leadrelay.capture.source_cache import CACHE_SIZE, CACHE_TTL_S, SourceCache, SourceCheck
from leadrelay.models.source import Source
from leadrelay.models.source_guard import SourceChanged, SourceGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(source_id: str = "web", revision: int = 1, name: str = "Website") -> Source:
    return Source(source_id=source_id, name=name, key_hash="h", revision=revision)


def test_the_defaults_keep_256_sources_for_five_minutes() -> None:
    cache = SourceCache()
    assert (CACHE_SIZE, CACHE_TTL_S) == (256, 300.0)
    assert (cache.size, cache.ttl_s) == (256, 300.0)


def test_a_source_put_is_served_until_its_age_reaches_the_ttl_then_forgotten() -> None:
    # Given a cache with a 300 s life and a source put at t
    clock = Clock()
    cache = SourceCache(ttl_s=300, clock=clock)
    web = source()
    cache.put("org", web)
    # Then it is served just under 300 s later, by table and id only
    clock.now += 299.999
    assert cache.get("org", "web") is web
    assert cache.get("other-org", "web") is None and cache.get("org", "shop") is None
    # And at 300 s exactly it is gone, and stays gone
    clock.now += 0.001
    assert cache.get("org", "web") is None
    assert len(cache) == 0


def test_putting_a_source_again_renews_its_age_and_replaces_the_copy() -> None:
    clock = Clock()
    cache = SourceCache(ttl_s=10, clock=clock)
    cache.put("org", source(revision=1))
    clock.now += 8
    newer = source(revision=2)
    cache.put("org", newer)
    clock.now += 8  # 16 s after the first put, 8 s after the second
    assert cache.get("org", "web") is newer
    assert len(cache) == 1


def test_past_its_size_the_least_recently_used_source_is_dropped_first() -> None:
    # Given a cache of two holding a and b, and a just read
    cache = SourceCache(size=2, clock=Clock())
    a, b, c = source("a"), source("b"), source("c")
    cache.put("org", a)
    cache.put("org", b)
    assert cache.get("org", "a") is a
    # When c comes
    cache.put("org", c)
    # Then b (least recently used) went, a and c stay
    assert cache.get("org", "b") is None
    assert cache.get("org", "a") is a and cache.get("org", "c") is c
    assert len(cache) == 2
    # And putting one that is there already does not push anything out
    cache.put("org", a)
    assert cache.get("org", "c") is c and len(cache) == 2


def test_a_put_counts_as_a_use_for_the_lru_order() -> None:
    cache = SourceCache(size=2, clock=Clock())
    cache.put("org", source("a"))
    cache.put("org", source("b"))
    cache.put("org", source("a", revision=2))  # a again: now the most recent
    cache.put("org", source("c"))
    assert cache.get("org", "b") is None
    assert cache.get("org", "a") is not None and cache.get("org", "a").revision == 2  # type: ignore[union-attr]


def test_drop_forgets_one_source_and_ignores_one_not_held() -> None:
    cache = SourceCache(clock=Clock())
    cache.put("org", source("a"))
    cache.put("org", source("b"))
    cache.drop("org", "a")
    cache.drop("org", "nope")
    assert cache.get("org", "a") is None and cache.get("org", "b") is not None
    assert len(cache) == 1


def test_threads_putting_and_reading_never_exceed_the_size() -> None:
    cache = SourceCache(size=8, clock=Clock())

    def work(n: int) -> None:
        for i in range(300):
            cache.put("org", source(f"s{(n * 300 + i) % 40}"))
            cache.get("org", f"s{i % 40}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 8


GUARD = SourceGuard("org", "web", 1)


def test_a_fresh_check_carries_no_guard_and_confirms_without_reading() -> None:
    web = source()
    check = SourceCheck.fresh(web)
    assert check.source is web and check.is_fresh and check.guard() is None
    check.confirm()  # nothing to read: no reader at all
    assert check.is_fresh


def test_a_cached_check_guards_writes_until_one_commits() -> None:
    reads: list[int] = []
    check = SourceCheck(source(), GUARD, lambda: reads.append(1) or source())  # type: ignore[func-returns-value]
    assert not check.is_fresh and check.guard() == GUARD
    check.written()
    assert check.is_fresh and check.guard() is None
    # Once a guarded write committed, nothing else needs a read
    check.confirm()
    assert reads == []


def test_confirming_a_cached_copy_reads_once_and_then_trusts_it() -> None:
    reads: list[int] = []

    def reread() -> Source:
        reads.append(1)
        return source()  # equal to the cached copy

    check = SourceCheck(source(), GUARD, reread)
    check.confirm()
    check.confirm()
    assert reads == [1]
    assert check.is_fresh and check.guard() is None


@pytest.mark.parametrize(
    "now",
    [source(revision=2), source(name="Website (new)"), None],
    ids=["new revision", "same revision, other content", "removed"],
)
def test_confirming_a_copy_that_moved_raises_with_the_source_as_read(now: Source | None) -> None:
    check = SourceCheck(source(), GUARD, lambda: now)
    with pytest.raises(SourceChanged) as raised:
        check.confirm()
    assert raised.value.current is now and raised.value.read is True
    # And the check still guards (nothing was confirmed)
    assert check.guard() == GUARD and not check.is_fresh


def test_a_guard_without_a_reader_confirms_nothing() -> None:
    check = SourceCheck(source(), GUARD, None)
    check.confirm()
    assert check.guard() == GUARD
