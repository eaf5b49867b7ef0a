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
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import socketserver
import sys
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from ..framing import FramingError, content_length
from .bodies import BodyBudget
from .request_body import MAX_HEADERS, MAX_LINE, ChunkedBody, LengthBody
from .slots import Slots

log = logging.getLogger("bgmock")
WsgiCallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Closing with unread request bytes: read and discard up to this much, for up to this long.
LINGER_BYTES = 64 << 20
LINGER_S = 2.0
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_NO_BODY_STATUS = frozenset({204, 304})


class BadRequest(Exception):
    """A request this server cannot read; answered with ``status`` and the connection closed."""

    def __init__(self, status: int, reason: str, body: bytes | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.body = body  # an answer made elsewhere (the proxy's journaled 403), else the server's envelope


class _Deadline(io.RawIOBase):
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
            if abs(wanted - self.timeout) > 0.05:  # settimeout costs two syscalls: not per read
                self.timeout = wanted
                self.sock.settimeout(wanted)
        received = self.sock.recv_into(buffer)
        if self.waiting and received:
            self.waiting = False
            self.on_data()
        return received


class _Date:
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


class Handler(socketserver.StreamRequestHandler):
    """One connection: read requests, answer them, until either side closes it."""

    server: ThreadedServer
    disable_nagle_algorithm = True  # small answers go out at once

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # StreamRequestHandler applies it to the socket
        super().setup()
        self.rfile.close()  # read through the deadline instead (the socket stays open)
        self.clock = _Deadline(self.connection, self.server.idle_timeout, self._busy)
        self.rfile = io.BufferedReader(self.clock, 1 << 16)
        self.scheme = "http"

    def use(self, sock: socket.socket) -> None:
        """Carry on over ``sock``: this connection wrapped in TLS (by tls.py, or by proxy.py
        after a CONNECT). The server closes it, and ``server_close`` wakes it."""
        self.connection = sock
        self.clock = _Deadline(sock, self.server.idle_timeout, self._busy)
        self.rfile = io.BufferedReader(self.clock, 1 << 16)
        self.scheme = "https"
        self.server.secured(self.request, sock)

    def handle(self) -> None:
        tls = self.server.tls
        if tls is not None and not tls.accept(self, self.server.head_timeout, self.server.refusal):
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
        # Slow clients: the line and headers must arrive within head_timeout, the body within
        # body_timeout, whatever the pace (a byte every few seconds resets no timer).
        self.clock.start(self.server.head_timeout)
        # Idle until a byte of the next request comes: the first connection to go when the
        # slots run out (slots.py).
        self.server.slots.idle(self.request)
        self.clock.waiting = True
        line = self.rfile.readline(MAX_LINE + 1)
        self.clock.waiting = False
        self._busy()  # a pipelined request may have been read already, with no new byte
        while line in (b"\r\n", b"\n"):  # RFC 9112 2.2: ignore empty lines before a request
            line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return False
        if line.startswith(b"CONNECT ") and self.server.proxy is not None:
            return bool(self.server.proxy.connect(self, line))
        try:
            environ = self._environ(line)
        except BadRequest as exc:
            self._refuse(exc.status, exc.reason, exc.body)
            self._linger()
            return False
        body: LengthBody = environ.pop("bgmock.body")
        self.clock.start(self.server.body_timeout)
        expect_continue = environ.pop("bgmock.expect_continue", False)
        charged = 0
        if isinstance(body, ChunkedBody) or body.length <= self.server.max_body:
            if expect_continue:
                self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            # The whole body (up to one byte over the cap) before the application runs: a body
            # cut short or badly framed is the HTTP layer's error, not a request with half a body.
            data, charged = self._read_body(body)
            if data is None:
                self._refuse(503, "too many request bodies in flight (body_memory_bytes); retry")
                self._linger()
                return False
        else:  # refused on its declared length, unread: the application's 700 (transport.Oversized)
            data = b""
        try:
            if body.problem:
                self._refuse(400, body.problem)
                self._linger()
                return False
            environ["wsgi.input"] = io.BytesIO(data)
            environ["bgmock.body_bytes"] = data  # serving.WsgiApp takes it as is: no second copy
            if body.unread():  # longer than the cap: the rest is never read, so this answer closes
                environ["bgmock.keep_alive"] = False
            answered = self._answer(environ)
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

    def _read_body(self, body: LengthBody) -> tuple[bytes | None, int]:
        """Up to the cap plus one byte, charged to the server's body budget first (a
        declared length at once, a chunked body a mebibyte at a time); (None, 0) when the
        budget had no room before the body's deadline."""
        budget, limit = self.server.bodies, self.server.max_body + 1
        if not isinstance(body, ChunkedBody):
            want = min(body.length, limit)
            if want == 0:
                return b"", 0
            charged = budget.acquire(want, self.clock.left())
            return (None, 0) if charged is None else (body.read(want), charged)
        parts: list[bytes] = []
        size = total = 0
        while size < limit and not body.done and not body.problem:
            step = budget.acquire(min(1 << 20, limit - size), self.clock.left())
            if step is None:
                budget.release(total)
                return None, 0
            total += step
            part = body.read(step)
            parts.append(part)
            size += len(part)
        budget.release(total - size)  # what the last step did not fill
        return b"".join(parts), size

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

    # -- reading ------------------------------------------------------------------------------
    def _environ(self, line: bytes) -> dict[str, Any]:
        if len(line) > MAX_LINE:
            raise BadRequest(414, "request line longer than 8192 bytes")
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise BadRequest(400, "malformed request line")
        method, target, version = parts
        if not _TOKEN.issuperset(method):
            raise BadRequest(400, "malformed request method")
        if version not in (b"HTTP/1.1", b"HTTP/1.0"):
            if version.startswith(b"HTTP/") and version[5:6].isdigit():
                raise BadRequest(505, "HTTP version not supported (1.0 and 1.1 are)")
            raise BadRequest(400, "malformed request line")
        headers = self._headers()
        return self._build(method.decode("ascii"), target.decode("latin-1"), version.decode("ascii"), headers)

    def _headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise BadRequest(431, "a header line is longer than 8192 bytes")
            if line in (b"\r\n", b"\n"):
                return headers
            if not line.endswith(b"\n"):
                raise BadRequest(400, "the headers end before a blank line")
            if len(headers) == MAX_HEADERS:
                raise BadRequest(431, f"more than {MAX_HEADERS} headers")
            name, colon, value = line.partition(b":")
            # No whitespace before the colon, no folded lines: both are request-smuggling tools.
            if not colon or not name or not _TOKEN.issuperset(name):
                raise BadRequest(400, "malformed header line")
            headers.append((name.decode("ascii").lower(), value.strip(b" \t\r\n").decode("latin-1")))

    def _build(self, method: str, target: str, version: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
        if target.startswith(("http://", "https://")):  # absolute form (a proxy-style client)
            split = urlsplit(target)
            path, query = split.path or "/", split.query
            if self.server.proxy is not None:  # a proxy request: for the fake's hosts only
                self.server.proxy.check_absolute(self, method, target, split.hostname or "", headers)
        elif target.startswith("/"):
            path, _, query = target.partition("?")
        elif target == "*" and method == "OPTIONS":
            path, query = "*", ""
        else:
            raise BadRequest(400, "malformed request target")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "", "QUERY_STRING": query,
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "RAW_URI": target,
            "SERVER_NAME": str(host), "SERVER_PORT": str(port), "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": self.client_address[0], "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.version": (1, 0), "wsgi.url_scheme": self.scheme, "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "bgmock.socket": self.connection,
        }
        lengths: list[str] = []
        for name, value in headers:
            if name == "content-length":
                lengths.append(value)
                continue
            key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
            if key in environ:
                environ[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
            else:
                environ[key] = value
        try:
            length = content_length(lengths)  # every header that turns into a number, strictly
        except FramingError as exc:
            raise BadRequest(400, str(exc)) from None
        if length is not None:
            environ["CONTENT_LENGTH"] = str(length)
        environ["bgmock.body"] = self._body(environ)
        connection = environ.get("HTTP_CONNECTION", "").lower()
        environ["bgmock.keep_alive"] = "close" not in connection and (
            version == "HTTP/1.1" or "keep-alive" in connection)
        return environ

    def _body(self, environ: dict[str, Any]) -> LengthBody:
        coding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if coding:
            if "CONTENT_LENGTH" in environ:
                raise BadRequest(400, "both Content-Length and Transfer-Encoding")
            if coding != "chunked" or environ["SERVER_PROTOCOL"] != "HTTP/1.1":
                raise BadRequest(501, f"Transfer-Encoding {coding[:40]!r} is not supported (chunked is)")
            environ["wsgi.input_terminated"] = True
            body: LengthBody = ChunkedBody(self.rfile)
        else:
            body = LengthBody(self.rfile, int(environ.get("CONTENT_LENGTH", 0)))  # checked by _build
        if environ.get("HTTP_EXPECT", "").lower() == "100-continue" and environ["SERVER_PROTOCOL"] == "HTTP/1.1":
            environ["bgmock.expect_continue"] = True
        return body

    # -- answering ----------------------------------------------------------------------------
    def _answer(self, environ: dict[str, Any]) -> bool:
        """Run the app and send its answer; whether the connection can be kept."""
        state: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            if exc_info and state.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return write

        def write(data: bytes) -> None:  # the legacy WSGI write(); nothing of ours uses it
            self._send(environ, state, data)

        result = self.server.app(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    self._send(environ, state, chunk)
            if not state.get("sent"):
                self._send(environ, state, b"")
        except ConnectionError:  # a deliberate abort (a truncated answer): drop the connection
            return False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return bool(state.get("keep"))

    def _send(self, environ: dict[str, Any], state: dict[str, Any], data: bytes) -> None:
        if not state.get("sent"):
            if "status" not in state:
                raise RuntimeError("the application wrote before start_response")
            state["sent"] = True
            code = int(state["status"][:3])
            names = {name.lower() for name, _ in state["headers"]}
            keep = environ["bgmock.keep_alive"] and ("content-length" in names or code in _NO_BODY_STATUS)
            keep = keep and not any(n.lower() == "connection" and "close" in v.lower() for n, v in state["headers"])
            head = [f"{environ['SERVER_PROTOCOL']} {state['status']}\r\n".encode("latin-1")]
            head += [f"{name}: {value}\r\n".encode("latin-1") for name, value in state["headers"]]
            if "date" not in names:
                head.append(self.server.date.header())
            if not keep and "connection" not in names:
                head.append(b"Connection: close\r\n")
            elif keep and environ["SERVER_PROTOCOL"] == "HTTP/1.0":
                head.append(b"Connection: keep-alive\r\n")
            state["keep"] = keep
            head.append(b"\r\n")
            if environ["REQUEST_METHOD"] == "HEAD":
                data = b""
            self.connection.sendall(b"".join(head) + data)
        elif data and environ["REQUEST_METHOD"] != "HEAD":
            self.connection.sendall(data)

    def _refuse(self, status: int, reason: str, body: bytes | None = None) -> None:
        """Answer a request that could not be read with the fake's JSON envelope, and close."""
        body = self.server.refusal(status, reason) if body is None else body
        head = (
            f"HTTP/1.1 {status} {_PHRASES.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        ).encode("ascii")
        with contextlib.suppress(OSError):
            self.connection.sendall(head + self.server.date.header() + b"\r\n" + body)


_PHRASES = {400: "Bad Request", 403: "Forbidden", 414: "URI Too Long", 431: "Request Header Fields Too Large",
            501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported"}


class ThreadedServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A thread per connection, connections kept open between requests.

    ``refusal(status, reason) -> bytes`` makes the body of an answer to a request that could
    not be read (the fake passes its gateway envelope); ``serve_forever``/``shutdown`` as in
    ``socketserver``; ``server_close`` also ends the open connections, so no thread outlives it.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, host: str, port: int, app: WsgiCallable, *, refusal: Callable[[int, str], bytes] | None = None,
        max_connections: int = 256, idle_timeout: float = 15.0, head_timeout: float = 20.0,
        body_timeout: float = 120.0, max_body: int = 12 << 20, body_memory: int | None = None,
        tls: Any = None, proxy: Any = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self.refusal = refusal or _plain_refusal
        self.idle_timeout = idle_timeout
        self.head_timeout = head_timeout
        self.body_timeout = body_timeout
        self.max_body = max_body
        #: ``tls.Gate`` (HTTPS on this port) and ``proxy.Proxy`` (CONNECT and absolute-form
        #: requests), or None.
        self.tls = tls
        self.proxy = proxy
        # Bodies held at once, all connections together (bodies.py); by default four at the cap.
        self.bodies = BodyBudget(body_memory or 4 * (max_body + 1))
        self.date = _Date()
        self.closing = False
        self.slots = Slots(max_connections)
        super().__init__((host, port), Handler)

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    def connections(self) -> tuple[int, int]:
        """(open, idle) connections: what ``max_connections`` and making room see."""
        return self.slots.counts()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.take(request):  # the longest-idle keep-alive connection makes room
            body = self.refusal(503, "too many open connections to the fake")
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


def _plain_refusal(status: int, reason: str) -> bytes:
    """The body of a refusal when no application envelope was given (a bare server)."""
    return json.dumps({"code": str(status), "message": reason}).encode()


def make_server(
    host: str, port: int, app: WsgiCallable, *, refusal: Callable[[int, str], bytes] | None = None,
    **options: Any,
) -> ThreadedServer:
    """A bound, not yet serving, server (call ``serve_forever``); raises OSError if the port is taken."""
    return ThreadedServer(host, port, app, refusal=refusal, **options)


__all__ = ["BadRequest", "ThreadedServer", "make_server"]
