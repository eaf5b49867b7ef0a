"""The default server: a small threaded HTTP/1.1 server with keep-alive, for one process.

Why not werkzeug's development server, which ``bgmock serve`` ran before: it closes the
connection after every answer, so each request pays a TCP handshake and a new thread, and it
topped out near a thousand submits a second here, about Prism's rate (bench/RESULTS.md).  This
server keeps connections open (a thread per connection, as a developer's client or a test
run opens few), parses the request line and headers itself, and hands a WSGI environ to
``serving.WsgiApp`` (or to ``create_app``'s Flask app), so the fake's one host stays the one
place where answers and transport faults are made.

What it does that a user relies on:
- it owns the socket (``environ["bgmock.socket"]``), so ``reset`` is a real TCP RST and
  ``empty`` a close with no answer;
- a request it cannot read (a malformed request line or header, an unsupported HTTP version or
  transfer coding, both ``Content-Length`` and ``Transfer-Encoding``) gets a JSON envelope with
  a 4xx/5xx status, never an HTML page, and the connection is closed;
- bounds: request line and each header line 8 KiB, 100 headers, ``max_connections`` open at
  once (when none is free the longest-idle keep-alive connection makes room, ``slots.py``;
  with every one mid-request a newcomer gets a 503 envelope), an idle or stalled connection
  is closed after ``idle_timeout`` seconds, a request's line and headers must arrive within
  ``head_timeout`` and its body within ``body_timeout`` however steadily a slow client
  trickles them (the slowloris defence);
- bodies: framing numbers parsed strictly (``framing.py``), a ``Content-Length`` over the
  cap (``max_body_bytes``, the application's 700) answered without reading the body, and
  every body charged to one budget for all connections before it is read (``bodies.py``).

This module is the connection's loop and the server; the request's head is read by
``request_head.py`` and its body by ``request_body.py``, against the deadlines of
``deadline.py``, and answers are written by ``response.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import socketserver
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .bodies import BodyBudget
from .deadline import Deadline
from .request_body import MAX_LINE, ChunkedBody, LengthBody, read_charged
from .request_head import BadRequest, read_head, wsgi_environ
from .response import DateHeader, WsgiCallable, answer, send_refusal
from .slots import Slots

log = logging.getLogger("bgmock")

#: Closing with unread request bytes: read and discard up to this much, for up to this long.
LINGER_BYTES = 64 << 20
LINGER_S = 2.0


def _plain_refusal(status: int, reason: str) -> bytes:
    """The body of a refusal when no application envelope was given (a bare server)."""
    return json.dumps({"code": str(status), "message": reason}).encode()


@dataclass(frozen=True)
class ServerOptions:
    """How a ``ThreadedServer`` behaves: its bounds, and the hooks the fake plugs in."""

    #: ``refusal(status, reason) -> bytes``: the body of an answer to a request that could not be
    #: read (the fake passes its gateway envelope).
    refusal: Callable[[int, str], bytes] = _plain_refusal
    max_connections: int = 256
    #: An idle or stalled connection is closed after this many seconds.
    idle_timeout: float = 15.0
    #: A request's line and headers must arrive within this, and its body within ``body_timeout``.
    head_timeout: float = 20.0
    body_timeout: float = 120.0
    #: The application's body cap: a longer ``Content-Length`` is answered without reading the body.
    max_body: int = 12 << 20
    #: Bodies held at once, all connections together (bodies.py); None: four at the cap.
    body_memory: int | None = None
    #: ``tls.Gate`` (HTTPS on this port) and ``proxy.Proxy`` (CONNECT and absolute-form
    #: requests), or None.
    tls: Any = None
    proxy: Any = None


class Handler(socketserver.StreamRequestHandler):
    """One connection: read requests, answer them, until either side closes it."""

    server: ThreadedServer
    disable_nagle_algorithm = True  # small answers go out at once

    def setup(self) -> None:
        self.options = self.server.options
        self.timeout = self.options.idle_timeout  # StreamRequestHandler applies it to the socket
        super().setup()
        self.rfile.close()  # read through the deadline instead (the socket stays open)
        self.clock = Deadline(self.connection, self.options.idle_timeout, self._busy)
        self.rfile = io.BufferedReader(self.clock, 1 << 16)
        self.scheme = "http"

    def use(self, sock: socket.socket) -> None:
        """Carry on over ``sock``: this connection wrapped in TLS (by tls.py, or by proxy.py
        after a CONNECT). The server closes it, and ``server_close`` wakes it."""
        self.connection = sock
        self.clock = Deadline(sock, self.options.idle_timeout, self._busy)
        self.rfile = io.BufferedReader(self.clock, 1 << 16)
        self.scheme = "https"
        self.server.secured(self.request, sock)

    def handle(self) -> None:
        tls = self.options.tls
        if tls is not None and not tls.accept(self, self.options.head_timeout, self.options.refusal):
            return
        while not self.server.closing:
            try:
                keep = self._one_request()
            except OSError:  # the client went away, a deliberate drop, or a timeout: quietly
                return
            except Exception:  # a bug here must not print a traceback per connection and vanish
                log.exception("bgmock: internal error in the HTTP server")
                return
            if not keep:
                return

    def _busy(self) -> None:
        self.server.slots.busy(self.request)

    def _one_request(self) -> bool:
        """Read, answer; whether the connection goes on to another request."""
        line = self._next_request_line()
        if not line:
            return False
        if line.startswith(b"CONNECT ") and self.options.proxy is not None:
            return bool(self.options.proxy.connect(self, line))
        try:
            environ = self._environ(line)
        except BadRequest as exc:
            return self._close_with(exc.status, exc.reason, exc.body)
        return self._serve(environ)

    def _next_request_line(self) -> bytes:
        """The next request's first line (b"" when the client closed), read while the
        connection counts as idle."""
        # Slow clients: the line and headers must arrive within head_timeout, the body within
        # body_timeout, whatever the pace (a byte every few seconds resets no timer).
        self.clock.start(self.options.head_timeout)
        # Idle until a byte of the next request comes: the first connection to go when the
        # slots run out (slots.py).
        self.server.slots.idle(self.request)
        self.clock.waiting = True
        line = self.rfile.readline(MAX_LINE + 1)
        self.clock.waiting = False
        self._busy()  # a pipelined request may have been read already, with no new byte
        while line in (b"\r\n", b"\n"):  # RFC 9112 2.2: ignore empty lines before a request
            line = self.rfile.readline(MAX_LINE + 1)
        return line

    def _environ(self, line: bytes) -> dict[str, Any]:
        head = read_head(line, self.rfile)
        if head.host is not None and self.options.proxy is not None:  # a proxy request: for the fake's hosts only
            self.options.proxy.check_absolute(self, head.method, head.target, head.host, head.headers)
        host, port = self.server.server_address[:2]
        connection = {
            "SERVER_NAME": str(host), "SERVER_PORT": str(port),
            "REMOTE_ADDR": self.client_address[0], "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.url_scheme": self.scheme, "bgmock.socket": self.connection,
        }
        return wsgi_environ(head, connection, self.rfile)

    def _serve(self, environ: dict[str, Any]) -> bool:
        """Read the body whole (up to one byte over the cap) before the application runs: a body
        cut short or badly framed is the HTTP layer's error, not a request with half a body."""
        body: LengthBody = environ.pop("bgmock.body")
        self.clock.start(self.options.body_timeout)
        data, charged = self._receive(body, environ.pop("bgmock.expect_continue", False))
        if data is None:
            return self._close_with(503, "too many request bodies in flight (body_memory_bytes); retry")
        try:
            if body.problem:
                return self._close_with(400, body.problem)
            environ["wsgi.input"] = io.BytesIO(data)
            environ["bgmock.body_bytes"] = data  # serving.WsgiApp takes it as is: no second copy
            if body.unread():  # longer than the cap: the rest is never read, so this answer closes
                environ["bgmock.keep_alive"] = False
            answered = answer(self.server.app, environ, self.connection, self.server.date)
        finally:
            del data
            environ.pop("bgmock.body_bytes", None)
            environ.pop("wsgi.input", None)
            self.server.bodies.release(charged)
        self.clock.start(None)
        if answered and environ["bgmock.keep_alive"]:  # the body was read whole before the answer
            return True
        if body.unread():
            self._linger()
        return False

    def _receive(self, body: LengthBody, expect_continue: bool) -> tuple[bytes | None, int]:
        """The body as (data, bytes charged to the budget); (None, 0) when the budget had no room.
        One refused on its declared length is left unread: the application answers its 700
        (``transport.Oversized``)."""
        if not isinstance(body, ChunkedBody) and body.length > self.options.max_body:
            return b"", 0
        if expect_continue:
            self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        return read_charged(body, self.server.bodies, self.options.max_body + 1, self.clock.left)

    def _close_with(self, status: int, reason: str, body: bytes | None = None) -> bool:
        """Refuse a request and end the connection (False: it does not go on)."""
        self._refuse(status, reason, body)
        self._linger()
        return False

    def _linger(self) -> None:
        """Close without losing the answer: a close with unread request bytes makes the kernel
        send a reset, which can reach the client before it has read the answer (an oversized
        body, say).  So stop writing, read and discard for a bounded while, then close."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_S)
            deadline, total = time.monotonic() + LINGER_S, 0
            while total < LINGER_BYTES and time.monotonic() < deadline:
                data = self.connection.recv(1 << 16)
                if not data:
                    break
                total += len(data)

    def _refuse(self, status: int, reason: str, body: bytes | None = None) -> None:
        """Answer a request that could not be read with the fake's JSON envelope, and close."""
        body = self.options.refusal(status, reason) if body is None else body
        send_refusal(self.connection, status, body, self.server.date)


class ThreadedServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A thread per connection, connections kept open between requests.

    ``options`` as ``ServerOptions`` says; ``serve_forever``/``shutdown`` as in ``socketserver``;
    ``server_close`` also ends the open connections, so no thread outlives it.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, app: WsgiCallable, options: ServerOptions | None = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self.options = options = options or ServerOptions()
        self.bodies = BodyBudget(options.body_memory or 4 * (options.max_body + 1))
        self.date = DateHeader()
        self.closing = False
        self.slots = Slots(options.max_connections)
        super().__init__((host, port), Handler)

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    def connections(self) -> tuple[int, int]:
        """(open, idle) connections: what ``max_connections`` and making room see."""
        return self.slots.counts()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.take(request):  # the longest-idle keep-alive connection makes room
            body = self.options.refusal(503, "too many open connections to the fake")
            with contextlib.suppress(OSError):
                request.settimeout(0.5)
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body
                )
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release(request)

    def secured(self, request: Any, wrapped: socket.socket) -> None:
        """``request`` now speaks TLS through ``wrapped`` (which took over its descriptor)."""
        self.slots.secured(request, wrapped)

    def shutdown_request(self, request: Any) -> None:
        wrapped = self.slots.wire(request)
        if wrapped is None:
            super().shutdown_request(request)
            return
        from .tls import close

        close(wrapped)
        super().shutdown_request(wrapped)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """socketserver prints a traceback for anything ``handle`` raised; ours logs it once."""
        log.exception("bgmock: error on a connection from %s", client_address)

    def server_close(self) -> None:
        self.closing = True
        super().server_close()
        for conn in self.slots.held():  # wake the threads blocked reading an idle connection
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)  # the TCP level, also under TLS


def make_server(
    host: str, port: int, app: WsgiCallable, *, refusal: Callable[[int, str], bytes] | None = None,
    **options: Any,
) -> ThreadedServer:
    """A bound, not yet serving, server (call ``serve_forever``); raises OSError if the port is taken.
    ``options``: the other fields of ``ServerOptions``."""
    return ThreadedServer(host, port, app, ServerOptions(refusal=refusal or _plain_refusal, **options))


__all__ = ["BadRequest", "ServerOptions", "ThreadedServer", "make_server"]
