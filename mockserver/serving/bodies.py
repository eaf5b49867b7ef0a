"""Request bodies in memory, all connections together: one budget, and memory given back.

Why: every connection of the default server may hold a body of up to ``max_body_bytes``
(12 MiB) while the fake answers it, so 60 clients uploading at once held ~600 MB, and
glibc kept most of it after the load (freed blocks stay in the allocator's arenas).  The
server charges each body to a ``BodyBudget`` before reading it (``body_memory_bytes``, by
default four bodies at the cap); a body that does not fit waits for others to finish, up
to its own deadline, and is then refused with a 503.  Large blocks are kept out of glibc's
arenas (``keep_large_blocks_mapped``), and when the last body in flight is released after
large ones, ``give_back_memory`` asks the allocator to return what free pages remain.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
import time
from collections.abc import Callable

#: Bodies charged since the last trim that make another trim worth its few milliseconds.
TRIM_AFTER_BYTES = 8 << 20
#: How long a body waits for room when its server gives it no deadline of its own
#: (``serving.WsgiApp`` under werkzeug or granian; bgmock's server uses the body deadline).
BODY_WAIT_S = 30.0


class BodyBudget:
    """Bytes of request bodies held at once, at most ``total`` (a body larger than ``total``
    alone is charged ``total``: it may use the whole budget, but only by itself)."""

    def __init__(self, total: int, *, on_idle: Callable[[], None] | None = None) -> None:
        self.total = total
        self.used = 0
        self._cond = threading.Condition()
        self._since_trim = 0
        self._on_idle = give_back_memory if on_idle is None else on_idle

    def acquire(self, size: int, timeout: float) -> int | None:
        """Charge ``size`` bytes, waiting up to ``timeout`` s for room; the amount charged
        (give it back to ``release``), or None when there was no room in time."""
        size = min(size, self.total)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.used + size > self.total:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            self.used += size
        return size

    def release(self, size: int) -> None:
        if size <= 0:
            return
        with self._cond:
            self.used -= size
            self._since_trim += size
            trim = self.used == 0 and self._since_trim >= TRIM_AFTER_BYTES
            if trim:
                self._since_trim = 0
            self._cond.notify_all()
        if trim:
            self._on_idle()


#: glibc's mallopt parameter, and the size from which blocks get their own mapping.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    except (OSError, AttributeError):  # not glibc (musl has neither)
        return None
    return libc


_LIBC = _glibc()


#: Set by ``keep_large_blocks_mapped``, which only the ``bgmock`` command calls (``cli.entry``):
#: the process is bgmock's own, so it may tune and trim the allocator. An embedded server (a
#: test run's ``running()``, the plugin, ``cli.main`` called in-process) leaves the host
#: process's allocator alone: CI runs crashed twice (SIGSEGV in a large buffered read) in a
#: pytest worker that had tuned it by running ``main(["serve"])`` in-process.
_OWN_PROCESS = False


def keep_large_blocks_mapped() -> None:
    """Give every block of a mebibyte or more its own mapping, returned when it is freed.

    glibc starts that way (at 128 KiB) but raises the threshold each time such a block is
    freed, up to 32 MiB: after the first large body, bodies and what is decoded from them
    come from the per-thread arenas instead, which keep freed memory. With 60 threads each
    reading a 10 MB body in turn, every arena grew to its own peak: 315 MB resident at the
    peak and 82 MB after, against 159 and 44 with it (bench/RESULTS.md). A fixed threshold
    stops that. It is process-wide: the ``bgmock`` command sets it (``cli.entry``), an embedded
    server does not."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    if _LIBC is not None:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def give_back_memory() -> None:
    """Return the allocator's free pages to the system (glibc ``malloc_trim``; elsewhere a
    no-op). Large bodies are freed into per-thread arenas that glibc does not shrink on its
    own: without this, the resident size after a burst of uploads stays near its peak. Only in
    bgmock's own process (``_OWN_PROCESS``)."""
    if _LIBC is not None and _OWN_PROCESS:
        _LIBC.malloc_trim(0)


__all__ = ["BODY_WAIT_S", "BodyBudget", "give_back_memory", "keep_large_blocks_mapped"]
