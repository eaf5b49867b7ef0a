"""A small thread-safe LRU bounded by entry count, by bytes and by age.

Result images are rendered lazily and kept here, and submitted product images wait here to
be drawn; both must stay bounded on a fake left running for days. Age is measured on the
fake's injected clock (never wall time), so a test can expire entries by advancing it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class LruCache:
    """LRU of ``bytes`` values; ``max_items`` or ``max_bytes`` of 0 disables the cache.

    With ``max_age_s`` (and ``now``, the clock), an entry older than that is a miss and is
    dropped; every ``put`` also sweeps out stale entries, so an idle cache does not keep
    the images of long-forgotten tasks.
    """

    def __init__(
        self,
        *,
        max_items: int | None = None,
        max_bytes: int | None = None,
        max_age_s: float | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s if now is not None else None
        self._now = now
        self._data: OrderedDict[Hashable, tuple[bytes, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = self.evictions = 0

    def _stale(self, stamp: float, now: float) -> bool:
        return self.max_age_s is not None and now - stamp > self.max_age_s

    def _clock(self) -> float:
        return self._now() if self._now is not None else 0.0

    def _drop(self, key: Hashable) -> None:
        value, _ = self._data.pop(key)
        self._bytes -= len(value)
        self.evictions += 1

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and self._stale(entry[1], self._clock()):
                self._drop(key)
                entry = None
            if entry is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: bytes) -> None:
        with self._lock:
            now = self._clock()
            if key in self._data:
                self._bytes -= len(self._data.pop(key)[0])
            self._data[key] = (value, now)
            self._bytes += len(value)
            if self.max_age_s is not None:
                for old in [k for k, (_, stamp) in self._data.items() if self._stale(stamp, now)]:
                    self._drop(old)
            while self._data and (
                (self.max_items is not None and len(self._data) > self.max_items)
                or (self.max_bytes is not None and self._bytes > self.max_bytes)
            ):
                self._drop(next(iter(self._data)))

    def get_or_make(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The cached value, or ``make()`` stored (rendering twice under a race is harmless)."""
        found = self.get(key)
        if found is None:
            found = make()
            self.put(key, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    def stats(self) -> dict[str, int]:
        """Counts for ``GET /__admin/health``: how full the cache is and how it is used."""
        with self._lock:
            return {
                "items": len(self._data), "bytes": self._bytes, "hits": self.hits,
                "misses": self.misses, "evictions": self.evictions,
            }
