"""The default server's connection as the request reader's raw stream, read against deadlines.

Why: a socket timeout alone restarts with every byte, so a client trickling a byte every few
seconds could hold a connection (and its thread) forever: the slowloris attack. Here each
read waits at most the idle timeout, and none goes past the deadline of the request's
current part (its line and headers, then its body), however steadily the bytes come.
"""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable
from typing import Any

#: Seconds a socket's timeout may differ from the one wanted before it is set again:
#: settimeout costs two syscalls, too many for every read.
_TIMEOUT_SLACK = 0.05


class Deadline(io.RawIOBase):
    """The connection as the request reader's raw stream: each read waits at most the idle
    timeout, and none goes past the deadline of the request's current part (head or body)."""

    def __init__(self, sock: socket.socket, idle: float, on_data: Callable[[], None]) -> None:
        super().__init__()
        self.sock = sock
        self.idle = idle
        self.deadline: float | None = None
        self.timeout = idle
        self.waiting = False  # between requests: the first byte that comes ends the idleness
        self.on_data = on_data

    def start(self, seconds: float | None) -> None:
        """A new deadline, ``seconds`` from now (None: only the idle timeout)."""
        self.deadline = None if seconds is None else time.monotonic() + seconds
        if seconds is None and self.timeout != self.idle:
            self.timeout = self.idle
            self.sock.settimeout(self.idle)

    def left(self) -> float:
        """Seconds left before the current deadline (the idle timeout when there is none)."""
        return self.idle if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the client took too long to send its request")
            wanted = min(self.idle, left)
            if abs(wanted - self.timeout) > _TIMEOUT_SLACK:
                self.timeout = wanted
                self.sock.settimeout(wanted)
        received = self.sock.recv_into(buffer)
        if self.waiting and received:
            self.waiting = False
            self.on_data()
        return received


__all__ = ["Deadline"]
