"""The fake's clock: what task progress and expiry are measured on.

Tests never sleep: they advance the clock (``POST /__admin/clock`` or ``Backend.advance``), the
way a payment provider's test clocks work.  ``real`` is monotonic time plus the advanced
offset; ``manual`` stands still except when advanced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    """Monotonic seconds plus an offset that only ever grows."""

    def __init__(self, mode: str = "real", source: Callable[[], float] = time.monotonic) -> None:
        self.mode = mode
        self._source = source
        self._origin = source()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        base = 0.0 if self.mode == "manual" else self._source() - self._origin
        return base + self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward (never back: tasks must not un-finish); returns the new now()."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._origin = self._source()
            self._offset = 0.0
