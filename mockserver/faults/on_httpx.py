"""Transport faults acted out for httpx in-process, as httpx reports each against ``bgmock serve``
(``tests/testing/test_inprocess_httpx.py`` runs each against both): one function per act of the table.

``reset`` raises ``httpx.ReadError``, ``empty`` ``httpx.RemoteProtocolError`` ("Server
disconnected without sending a response."), ``truncated`` ``RemoteProtocolError`` while the
body is read, ``timeout`` ``httpx.ReadTimeout`` when the call's read timeout is shorter than
``hang_s`` (else ``ReadError`` after ``hang_s``), ``dribble`` takes its real time (or ends in
``ReadTimeout``), ``malformed`` and the pages are answers with a broken or HTML body. An act is
decided once (an ``Act``) and played by ``inprocess_httpx`` for the sync and the async client.
Imported by ``inprocess_httpx.py`` only: it needs httpx.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from .kinds import HTML, JSON, KINDS, FaultKind, carried, check_acts, dribble_pause, html_page, malformed_body

if TYPE_CHECKING:
    from ..config import Config
    from ..http import Reply

#: What httpx's own transports say for each way a connection ends early (measured against
#: ``bgmock serve`` with httpx 0.28; the async transports give the same classes).
RESET = "[Errno 104] Connection reset by peer"
EMPTY = "Server disconnected without sending a response."
TIMED_OUT = "timed out"


@dataclass
class Act:
    """How one answer plays out on the wire, decided once for the sync and the async client.

    ``wait`` passes before the status line, then ``error`` is raised instead of an answer; or
    the answer comes, and reading its body takes ``body_wait``, gives ``body``, then raises
    ``body_error`` (a connection that ended short of ``Content-Length``, a read that timed out).
    """

    wait: float = 0.0
    error: Callable[[httpx.Request], Exception] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    body_wait: float = 0.0
    body_error: Callable[[httpx.Request], Exception] | None = None


@dataclass
class Call:
    """What an act needs: the kind, the answer it may carry, the silence before it, the call's
    read timeout, the fake's dribble time."""

    kind: FaultKind
    answer: bytes
    silence: float
    timeout: float | None
    dribble_s: float


def timed_out(request: httpx.Request) -> Exception:
    return httpx.ReadTimeout(TIMED_OUT, request=request)


def _reset_error(request: httpx.Request) -> Exception:
    return httpx.ReadError(RESET, request=request)


def _empty_error(request: httpx.Request) -> Exception:
    return httpx.RemoteProtocolError(EMPTY, request=request)


def _json(body: bytes, **extra: str) -> dict[str, str]:
    return {"Content-Type": JSON, "Content-Length": str(len(body)), **extra}


def plan(reply: Reply, config: Config, timeout: float | None) -> Act:
    """What the client sees for ``reply``, as httpx sees the live server act it out.

    A read timeout counts silence: a delay, then a held connection (``timeout``), are one
    silence, and the call times out when it is longer than the timeout.
    """
    kind = KINDS.get(reply.transport or "")
    silence = reply.delay_ms / 1000 + (config.hang_s if kind is not None and kind.act == "timeout" else 0.0)
    if silence and timeout is not None and timeout < silence:
        return Act(wait=timeout, error=timed_out)
    if kind is None:
        headers = {"Content-Type": reply.content_type, "Content-Length": str(len(reply.body)), **reply.headers}
        return Act(wait=silence, status=reply.status, headers=headers, body=reply.body)
    return ACTS[kind.act](Call(kind, reply.body, silence, timeout, config.dribble_s))


def _page(call: Call) -> Act:
    status = call.kind.status or 502
    page = html_page(status)
    return Act(wait=call.silence, status=status, headers={"Content-Type": HTML, "Content-Length": str(len(page))},
               body=page)


def _malformed(call: Call) -> Act:
    body = malformed_body()
    return Act(wait=call.silence, headers=_json(body), body=body)


def _truncated(call: Call) -> Act:
    full = carried(call.answer)
    half = full[: len(full) // 2]
    message = (f"peer closed connection without sending complete message body "
               f"(received {len(half)} bytes, expected {len(full)})")
    return Act(wait=call.silence, headers=_json(full, Connection="close"), body=half,
               body_error=lambda request: httpx.RemoteProtocolError(message, request=request))


def _dribble(call: Call) -> Act:  # the status line at once; the first body byte after one pause
    full = carried(call.answer)
    if call.timeout is not None and call.timeout < dribble_pause(call.dribble_s, len(full)):
        return Act(wait=call.silence, headers=_json(full), body_wait=call.timeout, body_error=timed_out)
    return Act(wait=call.silence, headers=_json(full), body=full, body_wait=call.dribble_s)


def _reset(call: Call) -> Act:
    return Act(wait=call.silence, error=_reset_error)


def _empty(call: Call) -> Act:
    return Act(wait=call.silence, error=_empty_error)


ACTS: dict[str, Callable[[Call], Act]] = {
    "page": _page, "malformed": _malformed, "dribble": _dribble, "truncated": _truncated,
    "reset": _reset, "empty": _empty, "timeout": _reset,  # held for hang_s (the silence), then reset
}
check_acts("httpx", ACTS)
