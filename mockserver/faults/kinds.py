"""The one table of transport fault kinds: each declared once, with what it does.

A transport fault is what a client sees on the wire instead of (or around) a proper answer.
Each kind says here whether it carries the real answer (the request is handled as usual, so
a task a dribbled submit names really exists, and its answer is cut short or sent slowly),
the HTTP status the client sees (the journal's ``status``), and how it is acted out: ``act``
names one function in each back-end's table (``on_socket.ACTS`` for ``bgmock serve``,
granian and the Flask app; ``on_responses.ACTS`` for ``requests`` in-process;
``on_httpx.ACTS`` for httpx in-process). ``check_acts`` holds every back-end to this table
when it is imported.

Adding a kind that behaves like an existing one (another load balancer page) is one entry
here; a new behaviour is one entry here plus one function per back-end. The enum of
``schemas/fault-rule.json``'s ``transport`` must list the same names (a test holds them
equal): the rule's schema and the ``Prefer`` header read the kinds from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus


@dataclass(frozen=True)
class FaultKind:
    """One transport fault kind.

    ``status`` is the HTTP status the client sees (None: no status line at all); a kind that
    carries the real answer shows that answer's status instead.
    """

    name: str
    act: str
    carries_answer: bool = False
    status: int | None = None


KINDS: Mapping[str, FaultKind] = {
    kind.name: kind
    for kind in (
        FaultKind("reset", act="reset"),  # a TCP reset before any answer
        FaultKind("empty", act="empty"),  # an orderly close before any answer
        FaultKind("malformed", act="malformed", status=200),  # a success answer cut mid-JSON
        FaultKind("truncated", act="truncated", carries_answer=True),  # the real answer, half of it
        FaultKind("dribble", act="dribble", carries_answer=True),  # the real answer over dribble_s
        FaultKind("http502", act="page", status=502),  # a load balancer's HTML page
        FaultKind("http503", act="page", status=503),
        FaultKind("http504", act="page", status=504),
        FaultKind("timeout", act="timeout"),  # held for hang_s, then reset
    )
}
TRANSPORT_FAULTS: tuple[str, ...] = tuple(KINDS)
#: Kinds that carry the real answer: the request is handled as usual, the back-end cuts its
#: answer short or sends it slowly.
ANSWER_FAULTS = frozenset(kind.name for kind in KINDS.values() if kind.carries_answer)
#: The ways of acting out a kind; each back-end has one function for each.
ACTS = frozenset(kind.act for kind in KINDS.values())


def check_acts(backend: str, acts: Mapping[str, object]) -> None:
    """Refuse, at import, a back-end that cannot act out some kind of the table (or acts unknown ones)."""
    if set(acts) != ACTS:
        missing, extra = sorted(ACTS - set(acts)), sorted(set(acts) - ACTS)
        raise RuntimeError(f"fault back-end {backend}: missing acts {missing}, unknown acts {extra}")


def wire_status(transport: str | None, status: int) -> int | None:
    """The HTTP status a client saw for an answer of ``status`` sent with ``transport``."""
    kind = KINDS.get(transport or "")
    if kind is None or kind.carries_answer:
        return status
    return kind.status


# -- what the kinds send, the same from every back-end ----------------------------------------
def html_page(status: int) -> bytes:
    """The HTML error page a load balancer (nginx/Tengine style) sends in front of the API."""
    title = f"{status} {_TITLES.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        f"<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n"
    ).encode("ascii")


_TITLES = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
HTML = "text/html; charset=utf-8"
JSON = "application/json"


def malformed_body(*, complete: bool = False) -> bytes:
    """A success answer cut short (``complete`` gives the whole one, to truncate on the wire)."""
    whole = (
        b'{"data":{"result":{"taskId":"00000000-0000-4000-8000-000000000000"}},'
        b'"requestId":"0","success":true,"resCode":200,"resMessage":"success","code":"0",'
        b'"request_id":"0","_trace_id_":"0"}'
    )
    return whole if complete else whole[:57]


def carried(answer: bytes) -> bytes:
    """The body a kind that carries the answer sends: the answer, or a whole success body when
    there is none to carry."""
    return answer or malformed_body(complete=True)


def dribble_pause(seconds: float, size: int) -> float:
    """Seconds between bytes so that a body of ``size`` bytes takes ``seconds`` in all."""
    return seconds / max(size, 1)


def reason(status: int) -> str:
    """The reason phrase of a status line."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
