"""A small thread-safe LRU bounded by entry count and by bytes.

Result images are rendered lazily and kept here, and submitted product images wait here to
be drawn; both must stay bounded on a fake left running for days.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class LruCache:
    """LRU of ``bytes`` values; ``max_items`` or ``max_bytes`` of 0 disables the cache."""

    def __init__(self, *, max_items: int | None = None, max_bytes: int | None = None) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = self.evictions = 0

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: bytes) -> None:
        with self._lock:
            if key in self._data:
                self._bytes -= len(self._data.pop(key))
            self._data[key] = value
            self._bytes += len(value)
            while self._data and (
                (self.max_items is not None and len(self._data) > self.max_items)
                or (self.max_bytes is not None and self._bytes > self.max_bytes)
            ):
                _, old = self._data.popitem(last=False)
                self._bytes -= len(old)
                self.evictions += 1

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

    @property
    def size_bytes(self) -> int:
        return self._bytes
