"""Writing answers on the default server's connection: the application's, through WSGI, and the
server's own refusals of requests it could not read.

Whether a connection is kept after an answer is decided here, from what the answer says: kept
only when the client asked for keep-alive and the answer's end can be told without a close (a
``Content-Length``, or a status that has no body) and it did not say ``Connection: close``.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

WsgiCallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_NO_BODY_STATUS = frozenset({204, 304})
_PHRASES = {400: "Bad Request", 403: "Forbidden", 414: "URI Too Long", 431: "Request Header Fields Too Large",
            501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported"}


class DateHeader:
    """The Date header, formatted once a second (formatting it per request is measurable)."""

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def header(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._value = f"Date: {formatdate(now, usegmt=True)}\r\n".encode("ascii")
            self._second = now
        return self._value


def answer(app: WsgiCallable, environ: dict[str, Any], connection: socket.socket, date: DateHeader) -> bool:
    """Run the app and send its answer; whether the connection can be kept."""
    writer = _Writer(environ, connection, date)
    result = app(environ, writer.start_response)
    try:
        for chunk in result:
            if chunk:
                writer.write(chunk)
        if not writer.sent:
            writer.write(b"")
    except ConnectionError:  # a deliberate abort (a truncated answer): drop the connection
        return False
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return writer.keep


class _Writer:
    """One answer's ``start_response`` and ``write``: the head goes out with the first data."""

    def __init__(self, environ: dict[str, Any], connection: socket.socket, date: DateHeader) -> None:
        self.environ = environ
        self.connection = connection
        self.date = date
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False
        self.keep = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info and self.sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, headers
        return self.write  # the legacy WSGI write(); nothing of ours uses it

    def write(self, data: bytes) -> None:
        head_only = self.environ["REQUEST_METHOD"] == "HEAD"
        if not self.sent:
            self.connection.sendall(self._head() + (b"" if head_only else data))
        elif data and not head_only:
            self.connection.sendall(data)

    def _head(self) -> bytes:
        """The status line and headers, with Date and Connection added where the app left them out."""
        if self.status is None:
            raise RuntimeError("the application wrote before start_response")
        self.sent = True
        protocol = self.environ["SERVER_PROTOCOL"]
        names = {name.lower() for name, _ in self.headers}
        self.keep = self._keeps(names)
        head = [f"{protocol} {self.status}\r\n".encode("latin-1")]
        head += [f"{name}: {value}\r\n".encode("latin-1") for name, value in self.headers]
        if "date" not in names:
            head.append(self.date.header())
        if not self.keep and "connection" not in names:
            head.append(b"Connection: close\r\n")
        elif self.keep and protocol == "HTTP/1.0":
            head.append(b"Connection: keep-alive\r\n")
        head.append(b"\r\n")
        return b"".join(head)

    def _keeps(self, names: set[str]) -> bool:
        """Whether the connection outlives this answer (see the module's docstring)."""
        code = int(str(self.status)[:3])
        keep = self.environ["bgmock.keep_alive"] and ("content-length" in names or code in _NO_BODY_STATUS)
        return keep and not any(n.lower() == "connection" and "close" in v.lower() for n, v in self.headers)


def send_refusal(connection: socket.socket, status: int, body: bytes, date: DateHeader) -> None:
    """A JSON ``body`` with ``status`` and ``Connection: close``; a client already gone is no error."""
    head = (
        f"HTTP/1.1 {status} {_PHRASES.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode("ascii")
    with contextlib.suppress(OSError):
        connection.sendall(head + date.header() + b"\r\n" + body)


__all__ = ["DateHeader", "WsgiCallable", "answer", "send_refusal"]
