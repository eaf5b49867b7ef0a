"""A request's body as the default server reads it off the connection, before the
application runs: a ``Content-Length`` body never past its length (the next request on the
connection starts there), a chunked one decoded with its sizes parsed strictly
(``framing.py``); either says why it could not be read whole (``problem``), so a body cut
short or badly framed is the HTTP layer's 400, never a request run with half a body.
``read_charged`` reads one within the memory budget of all bodies in flight (``bodies.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..framing import parse_chunk_size
from .bodies import BodyBudget

#: Longest request line, header line or chunk-size line; most headers (and trailer lines).
MAX_LINE = 8192
MAX_HEADERS = 100


class LengthBody:
    """A ``Content-Length`` body, read by the server before the application runs: never past
    its length (the next request on the connection starts there).  ``problem`` says why a
    body could not be read whole (the client closed or stalled early, bad chunk framing)."""

    def __init__(self, rfile: Any, length: int) -> None:
        self.rfile = rfile
        self.length = length
        self.remaining = length
        self.problem = ""

    def read(self, size: int) -> bytes:
        size = min(size, self.remaining)
        if size <= 0:
            return b""
        try:
            data = self.rfile.read(size)
        except OSError:  # a timeout (the deadline) or a reset
            data = b""
        self.remaining -= len(data)
        if len(data) < size:
            self.problem = f"the body ended before its Content-Length ({self.length} bytes) was sent"
            self.remaining = 0
        return data

    def unread(self) -> bool:
        """Whether the client may still be sending this body (it was longer than the cap)."""
        return self.remaining > 0 and not self.problem


class ChunkedBody(LengthBody):
    """A ``Transfer-Encoding: chunked`` body, decoded."""

    def __init__(self, rfile: Any) -> None:
        super().__init__(rfile, 0)
        self.done = False

    def read(self, size: int) -> bytes:
        parts: list[bytes] = []
        wanted = size
        try:
            while wanted > 0 and not self.done:
                if self.remaining == 0 and not self._next_chunk():
                    break
                part = self.rfile.read(min(wanted, self.remaining))
                if not part:
                    raise OSError("the chunked body ended inside a chunk")
                parts.append(part)
                self.remaining -= len(part)
                wanted -= len(part)
                if self.remaining == 0 and self.rfile.read(2) not in (b"\r\n", b"\n"):
                    raise ValueError("malformed chunked body: a chunk is not followed by CRLF")
        except ValueError as exc:
            self.problem, self.done = str(exc), True
        except OSError:
            self.problem, self.done = "the chunked body ended before its last chunk", True
        return b"".join(parts)

    def _next_chunk(self) -> bool:
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            raise OSError("ended")
        if len(line) > MAX_LINE or not line.endswith(b"\n"):
            raise ValueError("malformed chunked body: a chunk size line is not ended")
        self.remaining = parse_chunk_size(line)  # a FramingError is a ValueError: refused above
        if self.remaining == 0:  # the last chunk: skip trailers up to the blank line
            for _ in range(MAX_HEADERS + 1):
                if self.rfile.readline(MAX_LINE + 1) in (b"\r\n", b"\n", b""):
                    break
            else:
                raise ValueError("malformed chunked body: too many trailer lines")
            self.done = True
            return False
        return True

    def unread(self) -> bool:
        return not self.done and not self.problem


def read_charged(
    body: LengthBody, budget: BodyBudget, limit: int, seconds_left: Callable[[], float]
) -> tuple[bytes | None, int]:
    """Up to ``limit`` bytes of ``body``, charged to ``budget`` before they are read (a declared
    length at once, a chunked body a mebibyte at a time), as (data, bytes charged); (None, 0)
    when the budget had no room within ``seconds_left()`` (asked at each charge). The caller
    releases the charge once the body is no longer held."""
    if not isinstance(body, ChunkedBody):
        want = min(body.length, limit)
        if want == 0:
            return b"", 0
        charged = budget.acquire(want, seconds_left())
        return (None, 0) if charged is None else (body.read(want), charged)
    parts: list[bytes] = []
    size = total = 0
    while size < limit and not body.done and not body.problem:
        step = budget.acquire(min(1 << 20, limit - size), seconds_left())
        if step is None:
            budget.release(total)
            return None, 0
        total += step
        part = body.read(step)
        parts.append(part)
        size += len(part)
    budget.release(total - size)  # what the last step did not fill
    return b"".join(parts), size


__all__ = ["MAX_HEADERS", "MAX_LINE", "ChunkedBody", "LengthBody", "read_charged"]
