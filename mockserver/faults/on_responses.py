"""Transport faults acted out for ``requests`` in-process (through ``responses``), as ``requests``
reports each one against a real socket: one function per act of the table (``kinds.py``).

``reset`` and ``empty`` raise ``requests.exceptions.ConnectionError``, ``timeout`` raises
``ReadTimeout`` when the call has a read timeout shorter than ``hang_s`` (else
``ConnectionError`` after ``hang_s``), ``truncated`` answers with a body shorter than its
``Content-Length`` (urllib3 raises, ``requests`` turns it into ``ChunkedEncodingError``),
``malformed`` and the pages are answers with a broken or HTML body, ``dribble`` takes its real
time (or raises ``ReadTimeout`` when the call's timeout is shorter than one byte's pause).
Imported by ``inprocess.py`` only: it needs ``requests`` and ``urllib3``.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import RemoteDisconnected
from typing import TYPE_CHECKING, Any

import requests
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from .kinds import HTML, JSON, KINDS, FaultKind, carried, check_acts, dribble_pause, html_page, malformed_body

if TYPE_CHECKING:
    from ..config import Config

#: (status, headers, body), as a ``responses`` callback returns an answer.
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Call:
    """What an act needs: the kind, the answer it may carry, the call, its read timeout, the fake's timings."""

    kind: FaultKind
    answer: bytes
    prepared: requests.PreparedRequest
    timeout: float | None
    dribble_s: float
    hang_s: float


def read_timeout(value: Any) -> float | None:
    """The read timeout of a ``requests`` call (a number, a (connect, read) pair, or None)."""
    if isinstance(value, tuple):
        value = value[-1]
    value = getattr(value, "read_timeout", value)  # a urllib3 Timeout
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def wait(seconds: float, timeout: float | None, prepared: requests.PreparedRequest) -> None:
    """Take ``seconds`` of real time, as the live server would; a shorter read timeout wins."""
    if timeout is not None and timeout < seconds:
        time.sleep(timeout)
        cause = ReadTimeoutError(None, prepared.url, f"Read timed out. (read timeout={timeout})")  # type: ignore[arg-type]
        raise requests.exceptions.ReadTimeout(cause, request=prepared)
    time.sleep(seconds)


def act_out(kind: str, answer: bytes, prepared: requests.PreparedRequest, timeout: float | None,
            config: Config) -> Answer:
    """The answer ``responses`` returns for the fault, or the exception ``requests`` raises for it."""
    found = KINDS[kind]
    return ACTS[found.act](Call(found, answer, prepared, timeout, config.dribble_s, config.hang_s))


def _page(call: Call) -> Answer:
    status = call.kind.status or 502
    page = html_page(status)
    return status, {"Content-Type": HTML, "Content-Length": str(len(page))}, page


def _malformed(call: Call) -> Answer:
    body = malformed_body()
    return 200, {"Content-Type": JSON, "Content-Length": str(len(body))}, body


def _truncated(call: Call) -> Answer:  # urllib3 raises IncompleteRead; requests: ChunkedEncodingError
    full = carried(call.answer)
    return 200, {"Content-Type": JSON, "Content-Length": str(len(full)), "Connection": "close"}, full[: len(full) // 2]


def _dribble(call: Call) -> Answer:  # the first byte comes after one pause; the whole body after dribble_s
    full = carried(call.answer)
    pause = dribble_pause(call.dribble_s, len(full))
    if call.timeout is not None and call.timeout < pause:
        wait(pause, call.timeout, call.prepared)
    time.sleep(call.dribble_s)
    return 200, {"Content-Type": JSON, "Content-Length": str(len(full))}, full


def _dropped(call: Call, *, reset: bool) -> Answer:
    cause: Exception = (
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
        if reset
        else RemoteDisconnected("Remote end closed connection without response")
    )
    raise requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", cause), request=call.prepared)


def _reset(call: Call) -> Answer:
    return _dropped(call, reset=True)


def _empty(call: Call) -> Answer:
    return _dropped(call, reset=False)


def _timeout(call: Call) -> Answer:  # hold the call for hang_s, then drop it with a reset
    wait(call.hang_s, call.timeout, call.prepared)
    return _dropped(call, reset=True)


ACTS: dict[str, Callable[[Call], Answer]] = {
    "page": _page, "malformed": _malformed, "dribble": _dribble, "truncated": _truncated,
    "reset": _reset, "empty": _empty, "timeout": _timeout,
}
check_acts("responses", ACTS)
