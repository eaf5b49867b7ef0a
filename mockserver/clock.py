"""The fake's clock: what task progress and expiry are measured on.

Tests never sleep: they advance the clock (``POST /__admin/clock`` or ``Backend.advance``), the
way a payment provider's test clocks work.  ``real`` is monotonic time plus the advanced
offset; ``manual`` stands still except when advanced.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol


class ClockCell(Protocol):
    """Origin and offset kept by a store that several processes share.

    Worker processes each have a Clock, but task ages must agree between them, and a
    ``POST /__admin/clock`` on one worker must move every worker's time.  The origin is
    wall-clock seconds (``time.time``) because monotonic clocks of different boots, or of a
    restart with ``--state``, do not share a zero.
    """

    def clock_state(self) -> tuple[float, float]: ...  # (origin, offset)
    def advance_clock(self, seconds: float) -> None: ...
    def reset_clock(self, origin: float) -> None: ...


class Clock:
    """Monotonic seconds plus an offset that only ever grows.

    With a ``cell`` (a shared store), origin and offset live in the store and the source is
    wall-clock time, so every process sharing that store reads the same ``now()``.
    """

    def __init__(
        self, mode: str = "real", source: Callable[[], float] | None = None, *, cell: ClockCell | None = None
    ) -> None:
        self.mode = mode
        self._source = source or (time.time if cell is not None else time.monotonic)
        self._cell = cell
        self._origin = self._source()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        return self._cell is not None

    def now(self) -> float:
        if self._cell is not None:
            origin, offset = self._cell.clock_state()
        else:
            origin, offset = self._origin, self._offset
        base = 0.0 if self.mode == "manual" else self._source() - origin
        return base + offset

    def advance(self, seconds: float) -> float:
        """Move time forward (never back: tasks must not un-finish), by a finite number of
        seconds (NaN passed ``seconds < 0`` and made every later time NaN); returns the new now()."""
        if not 0 <= seconds < math.inf:
            raise ValueError(f"the clock only moves forward, by a finite number of seconds (got {seconds!r})")
        if self._cell is not None:
            self._cell.advance_clock(seconds)
        else:
            with self._lock:
                self._offset += seconds
        return self.now()

    def reset(self) -> None:
        if self._cell is not None:
            self._cell.reset_clock(self._source())
            return
        with self._lock:
            self._origin = self._source()
            self._offset = 0.0
