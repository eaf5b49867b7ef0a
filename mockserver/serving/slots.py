"""The default server's connection slots: who holds one, who is idle, who makes room.

``max_connections`` connections are served at once; one more gets a 503.  Keep-alive clients
that send a request now and then used to hold every slot for good (each request restarts
the idle timer): 256 of them kept everyone else on 503.  So when the slots run out, the
connection idle the longest -- between requests, waiting for the next one -- is closed and
its slot handed to the newcomer.  A connection between requests may be closed at any time
(RFC 9112 9.6; clients reopen it), while one reading a request or being answered is never
cut: a request in progress keeps its slot up to its head and body deadlines.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Slots:
    """Connection slots with the idle ones known, so that the longest idle can make room."""

    def __init__(self, limit: int) -> None:
        self._free = threading.BoundedSemaphore(limit)
        self._open: set[socket.socket] = set()
        self._idle: dict[socket.socket, float] = {}  # connections between requests, since when
        # An accepted socket now speaking TLS through a wrapper that took over its descriptor
        # (tls.py, proxy.py): the wrapper is what a shutdown must reach.
        self._wrapped: dict[socket.socket, socket.socket] = {}
        self._lock = threading.Lock()

    def take(self, conn: socket.socket) -> bool:
        """A slot for ``conn``, closing the longest-idle connection if none is free; False:
        every slot is held by a connection in the middle of a request."""
        if not self._free.acquire(blocking=False):
            with self._lock:
                if not self._idle:
                    return False
                victim = min(self._idle, key=self._idle.__getitem__)
                del self._idle[victim]
                self._open.discard(victim)  # its slot passes to ``conn``; release skips it
                wire = self._wrapped.get(victim, victim)
            with contextlib.suppress(OSError):  # its thread wakes to an end of stream and ends
                socket.socket.shutdown(wire, socket.SHUT_RDWR)  # the TCP level, also under TLS
        with self._lock:
            self._open.add(conn)
        return True

    def release(self, conn: socket.socket) -> None:
        with self._lock:
            self._idle.pop(conn, None)
            self._wrapped.pop(conn, None)
            if conn in self._open:
                self._open.discard(conn)
                self._free.release()

    def idle(self, conn: socket.socket) -> None:
        """``conn`` waits for its next request: the first to go when the slots run out."""
        with self._lock:
            if conn in self._open:
                self._idle[conn] = time.monotonic()

    def busy(self, conn: socket.socket) -> None:
        """A request arrived on ``conn``: it keeps its slot until it is answered."""
        with self._lock:
            self._idle.pop(conn, None)

    def counts(self) -> tuple[int, int]:
        """(open, idle) connections."""
        with self._lock:
            return len(self._open), len(self._idle)

    def secured(self, conn: socket.socket, wrapped: socket.socket) -> None:
        """``conn`` now speaks TLS through ``wrapped``."""
        with self._lock:
            self._wrapped[conn] = wrapped

    def wire(self, conn: socket.socket) -> socket.socket | None:
        """The TLS wrapper of ``conn``, if it has one."""
        with self._lock:
            return self._wrapped.get(conn)

    def held(self) -> list[socket.socket]:
        """The open connections, as the sockets to shut down (a TLS wrapper where there is one)."""
        with self._lock:
            return [self._wrapped.get(conn, conn) for conn in self._open]


__all__ = ["Slots"]
