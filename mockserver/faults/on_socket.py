"""Transport faults acted out by a WSGI host: on the socket when the server exposes it.

bgmock's own server (``httpd.py``) hands its socket over as ``bgmock.socket``, werkzeug and
gunicorn as theirs, so ``reset`` is a real TCP reset there; granian exposes none, so a fault
that drops the connection becomes a body cut short of its ``Content-Length`` (the closest it
allows; ``docs/load-and-workers.md`` says what a client sees). One function per act of the
table (``kinds.py``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..transport import drop_connection
from .kinds import HTML, JSON, KINDS, FaultKind, carried, check_acts, dribble_pause, html_page, malformed_body, reason

if TYPE_CHECKING:
    from ..config import Config

StartResponse = Callable[..., Any]


class Aborted(ConnectionAbortedError):
    """Raised inside a response body to make the server drop the connection (deliberately).

    A ConnectionError, so werkzeug treats it as a dropped connection (silently) rather than
    logging an "Error on request" traceback for a fault that was asked for."""


@dataclass
class Wire:
    """What an act needs: the kind, the WSGI call, the answer it may carry, the fake's timings."""

    kind: FaultKind
    environ: dict[str, Any]
    start_response: StartResponse
    answer: bytes
    dribble_s: float
    hang_s: float


def act_out(
    kind: str, environ: dict[str, Any], start_response: StartResponse, answer: bytes, config: Config
) -> Iterable[bytes]:
    """Misbehave like a network or a load balancer (each kind has a test with ``requests``)."""
    found = KINDS[kind]
    return ACTS[found.act](Wire(found, environ, start_response, answer, config.dribble_s, config.hang_s))


def _page(wire: Wire) -> Iterable[bytes]:
    status = wire.kind.status or 502
    page = html_page(status)
    wire.start_response(f"{status} {reason(status)}", [("Content-Type", HTML), ("Content-Length", str(len(page)))])
    return [page]


def _malformed(wire: Wire) -> Iterable[bytes]:
    body = malformed_body()
    wire.start_response("200 OK", [("Content-Type", JSON), ("Content-Length", str(len(body)))])
    return [body]


def _dribble(wire: Wire) -> Iterable[bytes]:
    full = carried(wire.answer)
    wire.start_response("200 OK", [("Content-Type", JSON), ("Content-Length", str(len(full)))])
    return _dribbled(full, wire.dribble_s)


def _truncated(wire: Wire) -> Iterable[bytes]:
    full = carried(wire.answer)
    return _cut(wire, full, full[: len(full) // 2])


def _drop(wire: Wire, *, reset: bool) -> Iterable[bytes]:
    sock = _socket(wire.environ)
    if sock is None:  # granian: announce a whole body, send none of it, abort
        return _cut(wire, carried(wire.answer), b"")
    drop_connection(sock, reset=reset)
    wire.start_response("502 Bad Gateway", [("Content-Length", "0"), ("Connection", "close")])
    return [b""]


def _reset(wire: Wire) -> Iterable[bytes]:
    return _drop(wire, reset=True)


def _empty(wire: Wire) -> Iterable[bytes]:
    return _drop(wire, reset=False)


def _timeout(wire: Wire) -> Iterable[bytes]:
    time.sleep(wire.hang_s)
    return _drop(wire, reset=True)


ACTS: dict[str, Callable[[Wire], Iterable[bytes]]] = {
    "page": _page, "malformed": _malformed, "dribble": _dribble, "truncated": _truncated,
    "reset": _reset, "empty": _empty, "timeout": _timeout,
}
check_acts("socket", ACTS)


def _socket(environ: dict[str, Any]) -> socket.socket | None:
    sock = environ.get("bgmock.socket") or environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    return sock if isinstance(sock, socket.socket) else None


def _dribbled(body: bytes, seconds: float) -> Iterator[bytes]:
    pause = dribble_pause(seconds, len(body))
    for index in range(len(body)):
        time.sleep(pause)
        yield body[index : index + 1]


def _cut(wire: Wire, full: bytes, part: bytes) -> Iterator[bytes]:
    """Announce ``full``'s length, send ``part``, then abort: the server drops the connection
    short of Content-Length."""
    wire.start_response("200 OK", [
        ("Content-Type", JSON), ("Content-Length", str(len(full))), ("Connection", "close"),
    ])
    return _abort_after(part)


def _abort_after(part: bytes) -> Iterator[bytes]:
    if part:
        yield part
        time.sleep(0.01)  # let the server flush what was sent before the abort
    raise Aborted("bgmock: transport fault (deliberate)")
