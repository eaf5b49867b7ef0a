"""A request's line and headers as the default server reads them, and the WSGI environ they make.

Strict on purpose: a request line or header this server cannot read unambiguously (whitespace
before a colon, a folded line, both ``Content-Length`` and ``Transfer-Encoding``, a length that
is not plain ASCII digits) is a ``BadRequest``, answered with a 4xx/5xx envelope and the
connection closed; those ambiguities are what request smuggling is made of.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import unquote_to_bytes, urlsplit

from ..framing import FramingError, content_length
from .request_body import MAX_HEADERS, MAX_LINE, ChunkedBody, LengthBody

_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_BLANK = (b"\r\n", b"\n")
_LINE_PARTS = 3  # method, target, version: one space between each
#: The answer (400) to a ``CONNECT`` where no proxy listens, in every server mode (the threaded
#: server, werkzeug and granian through ``WsgiApp``, the proxy itself when its setting is off).
NOT_A_PROXY = "CONNECT: this fake is not a proxy (bgmock serve --proxy, or the proxy setting)"


class BadRequest(Exception):
    """A request this server cannot read; answered with ``status`` and the connection closed."""

    def __init__(self, status: int, reason: str, body: bytes | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.body = body  # an answer made elsewhere (the proxy's journaled 403), else the server's envelope


@dataclass(frozen=True)
class RequestHead:
    """What the request line and headers said. ``host`` is the host of an absolute-form target
    (``GET http://host/...``, a proxy-style client) and None for the usual ``/path`` form."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    path: str
    query: str
    host: str | None


def read_head(line: bytes, rfile: BinaryIO) -> RequestHead:
    """The request that ``line`` starts: its headers are read from ``rfile``; BadRequest when
    the line, a header or the target is malformed (checked in that order)."""
    method, target, version = _request_line(line)
    headers = read_headers(rfile)
    path, query, host = _split_target(method, target)
    return RequestHead(method, target, version, headers, path, query, host)


def _request_line(line: bytes) -> tuple[str, str, str]:
    if len(line) > MAX_LINE:
        raise BadRequest(414, "request line longer than 8192 bytes")
    parts = line.rstrip(b"\r\n").split(b" ")
    if len(parts) != _LINE_PARTS or not parts[0] or not parts[1]:
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if not _TOKEN.issuperset(method):
        raise BadRequest(400, "malformed request method")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        if version.startswith(b"HTTP/") and version[5:6].isdigit():
            raise BadRequest(505, "HTTP version not supported (1.0 and 1.1 are)")
        raise BadRequest(400, "malformed request line")
    return method.decode("ascii"), target.decode("latin-1"), version.decode("ascii")


def read_headers(rfile: BinaryIO) -> list[tuple[str, str]]:
    """The header lines up to the blank one, names lower-cased (a CONNECT's too, for the proxy)."""
    headers: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise BadRequest(431, "a header line is longer than 8192 bytes")
        if line in _BLANK:
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


def _split_target(method: str, target: str) -> tuple[str, str, str | None]:
    """(path, query, host of an absolute-form target or None)."""
    if target.startswith(("http://", "https://")):  # absolute form (a proxy-style client)
        split = urlsplit(target)
        return split.path or "/", split.query, split.hostname or ""
    if target.startswith("/"):
        path, _, query = target.partition("?")
        return path, query, None
    if target == "*" and method == "OPTIONS":
        return "*", "", None
    if method == "CONNECT":  # authority form (host:port): a client taking the fake for its proxy
        raise BadRequest(400, NOT_A_PROXY)
    raise BadRequest(400, "malformed request target")


def wsgi_environ(head: RequestHead, connection: dict[str, Any], rfile: BinaryIO) -> dict[str, Any]:
    """The WSGI environ of ``head`` on top of ``connection`` (the server's and the client's
    addresses, the scheme, the socket), with bgmock's own keys: ``bgmock.body`` (the body,
    unread, on ``rfile``), ``bgmock.keep_alive`` and maybe ``bgmock.expect_continue``."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": head.method, "SCRIPT_NAME": "", "QUERY_STRING": head.query,
        "PATH_INFO": unquote_to_bytes(head.path).decode("latin-1"), "RAW_URI": head.target,
        "SERVER_PROTOCOL": head.version,
        "wsgi.version": (1, 0), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        **connection,
    }
    lengths = _add_headers(environ, head.headers)
    try:
        length = content_length(lengths)  # every header that turns into a number, strictly
    except FramingError as exc:
        raise BadRequest(400, str(exc)) from None
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    environ["bgmock.body"] = _body(environ, rfile)
    connection_header = environ.get("HTTP_CONNECTION", "").lower()
    environ["bgmock.keep_alive"] = "close" not in connection_header and (
        head.version == "HTTP/1.1" or "keep-alive" in connection_header)
    return environ


def _add_headers(environ: dict[str, Any], headers: list[tuple[str, str]]) -> list[str]:
    """The headers as CONTENT_TYPE and HTTP_* keys, repeats joined; the Content-Length values
    are returned instead, for ``content_length`` to judge together."""
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
    return lengths


def _body(environ: dict[str, Any], rfile: BinaryIO) -> LengthBody:
    coding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if coding:
        if "CONTENT_LENGTH" in environ:
            raise BadRequest(400, "both Content-Length and Transfer-Encoding")
        if coding != "chunked" or environ["SERVER_PROTOCOL"] != "HTTP/1.1":
            raise BadRequest(501, f"Transfer-Encoding {coding[:40]!r} is not supported (chunked is)")
        environ["wsgi.input_terminated"] = True
        body: LengthBody = ChunkedBody(rfile)
    else:
        body = LengthBody(rfile, int(environ.get("CONTENT_LENGTH", 0)))  # checked by content_length
    if environ.get("HTTP_EXPECT", "").lower() == "100-continue" and environ["SERVER_PROTOCOL"] == "HTTP/1.1":
        environ["bgmock.expect_continue"] = True
    return body


__all__ = ["NOT_A_PROXY", "BadRequest", "RequestHead", "read_head", "read_headers", "wsgi_environ"]
