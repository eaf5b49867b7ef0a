"""The request journal's entry: one typed record, built in one place, described by a schema.

A journal entry is a public API: ``GET /__admin/requests`` serves it, ``fake.requests()`` hands
it to tests, and the contract kit judges clients by it. So its shape is written down once, in
``schemas/journal-entry.json`` (versioned: ``SCHEMA_VERSION``), and produced once, here:

- ``Notes`` is what a request's handling noted as it went (the dispatcher, the routes and the
  backend each fill their own named fields); nothing else passes between them for the journal.
- ``JournalWriter.entry`` turns the request, its notes and the answer into a ``JournalEntry``
  (bounded by ``summarize``, secrets redacted) and ``JournalEntry.to_json`` into the served form.

Tests check both directions against the schema: every key the code writes is declared, and
every declared key is written.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from .faults.kinds import wire_status as kind_status
from .redact import SECRET_PARAMS, Redactor, masked_names, secret_header

if TYPE_CHECKING:
    from .clock import Clock
    from .faults import Injected
    from .http import Incoming, Reply
    from .validation import SubmitItem

#: The version of ``schemas/journal-entry.json`` the entries follow; ``GET /__admin/requests``
#: serves it as ``schemaVersion``. Raised when a field changes meaning or goes away (adding one
#: is not a new version: entries are open objects).
SCHEMA_VERSION = 1

#: The abbreviation rule (``schemas/journal-entry.json#/x-abbreviation``; a test checks they
#: agree): strings longer than ``TEXT_LIMIT`` become ``"<N chars>"`` (the path: ``PATH_LIMIT``),
#: containers keep their first ``MAX_ITEMS`` entries, nesting is cut at ``MAX_DEPTH``, keys at
#: ``KEY_LIMIT``.
TEXT_LIMIT = 256
PATH_LIMIT = 2048
KEY_LIMIT = 64
MAX_ITEMS = 32
MAX_DEPTH = 8

#: System parameters of a signed call, kept in the journal (``signing``) as they arrived.
SIGNING_KEYS = ("app_key", "timestamp", "sign", "sign_method", "sign_ver", "partner_id")


class ImageNote(TypedDict):
    """One submit item's image as the fake used it (``images[]``)."""

    item: int
    source: str
    crc32: str | None
    bytes: int | None
    format: str | None
    width: int | None
    height: int | None


class InjectedNote(TypedDict):
    """The fault a rule or a ``Prefer`` header injected (``injected``)."""

    resCode: int | None
    transport: str | None
    delayMs: int
    rule: str | None
    shape: str | None


@dataclass(slots=True)
class Notes:
    """What happened while a request was handled, as far as the journal tells: filled field by
    field by whoever learned it (dispatcher: signing, rate limit, gateway; routes: body, task;
    backend: params, images, problems, injected). A refusal before any route fills only
    ``gateway`` and ``problems``."""

    body: Any = None
    params: list[dict[str, Any]] | None = None
    images: list[ImageNote] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    injected: Injected | None = None
    app_key: str | None = None
    signature: str | None = None
    signing: dict[str, str] | None = None
    gateway: str | None = None
    task_id: str | None = None
    task_status: str | None = None
    rate_limit: str | None = None


@dataclass(slots=True)
class JournalEntry:
    """One request as ``schemas/journal-entry.json`` describes it (field by field, in order)."""

    id: int
    time: str
    clock: float
    method: str
    path: str
    endpoint: str | None
    query: dict[str, Any]
    headers: dict[str, Any]
    content_type: str | None
    body_bytes: int
    body: Any
    params: list[Any] | None
    images: list[ImageNote]
    problems: list[str]
    injected: InjectedNote | None
    app_key: str | None
    signature: str | None
    signing: dict[str, Any] | None
    gateway: str | None
    status: int | None
    res_code: int | None
    transport: str | None
    task_id: str | None
    task_status: str | None
    rate_limit: str | None
    delay_ms: int | float
    elapsed_ms: float
    t: float

    def to_json(self) -> dict[str, Any]:
        """The entry as served (``id`` first: the Redis journal splices its own id there)."""
        return {
            "id": self.id, "time": self.time, "clock": self.clock, "method": self.method, "path": self.path,
            "endpoint": self.endpoint, "query": self.query, "headers": self.headers,
            "contentType": self.content_type, "bodyBytes": self.body_bytes, "body": self.body,
            "params": self.params, "images": self.images, "problems": self.problems, "injected": self.injected,
            "appKey": self.app_key, "signature": self.signature, "signing": self.signing,
            "gateway": self.gateway, "status": self.status, "resCode": self.res_code,
            "transport": self.transport, "taskId": self.task_id, "taskStatus": self.task_status,
            "rateLimit": self.rate_limit, "delayMs": self.delay_ms, "elapsedMs": self.elapsed_ms, "t": self.t,
        }


class Pending:
    """How many requests this process is answering whose entries are not in the journal yet.

    A client that gives up on a request (its own timeout, or killed) leaves the fake still
    answering it, and on a loaded machine the entry can appear well after the client's call
    ended. A journal reader that wants every request sent so far, such as the contract kit
    between two calls of a client, reads ``count`` (``pending`` in ``GET /__admin/requests``)
    and reads again while it is above 0: otherwise the late entry is taken for one of the
    next call's requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def held(self) -> Pending:
        """``with pending.held():`` counts one request while it is answered (its entry written
        inside). The object is its own context manager: a generator-based one cost a submit ~3 us."""
        return self

    def __enter__(self) -> None:
        with self._lock:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._count -= 1

    @property
    def count(self) -> int:
        return self._count


class JournalWriter:
    """Numbers entries and builds them from a request, its notes and its answer."""

    def __init__(self, redactor: Redactor, clock: Clock, numbers: Iterator[int] | None = None) -> None:
        """``numbers``: the entry numbers to go on with (a writer made anew for new settings keeps
        its predecessor's, so a reader's "entries after N" never sees a number twice)."""
        self.redactor = redactor
        self.clock = clock
        self.numbers = numbers if numbers is not None else itertools.count(1)

    def entry(
        self, request: Incoming, endpoint: str | None, notes: Notes, reply: Reply, started: float,
    ) -> JournalEntry:
        """``started`` is ``time.perf_counter()`` when the request was read (the entry's ``t``); the
        entry's ``elapsed_ms`` runs from then to now, when the answer is known."""
        elapsed_ms = (time.perf_counter() - started) * 1000
        query, headers = masked_names(request.query, SECRET_PARAMS), request.headers
        if type(headers) is not dict or any(map(secret_header, headers)):
            headers = {k: v for k, v in headers.items() if not secret_header(k)}  # dropped, not masked
        # By value (a configured secret under any name, inside any string) and by name (in a
        # body too; the query and headers were masked above, so with no secret only bodies walk).
        hide = self.redactor.value if self.redactor else _same
        body, params = self.redactor.value(summarize(notes.body)), self.redactor.value(summarize(notes.params))
        return JournalEntry(
            id=next(self.numbers),
            time=utc_now_ms(),
            clock=round(self.clock.now(), 3),
            method=request.method,
            path=hide(summarize(request.path, PATH_LIMIT)),
            endpoint=endpoint,
            query=hide(summarize(query)),  # (a copy: the journal never shares the request's dicts)
            headers=hide(summarize(headers)),
            content_type=hide(summarize(request.header("content-type"))),
            body_bytes=len(request.body),
            body=body,
            params=params,
            images=notes.images,
            problems=hide(notes.problems),
            injected=describe_injected(notes.injected),
            app_key=hide(notes.app_key),
            signature=notes.signature,
            signing=hide(summarize(notes.signing)),
            gateway=notes.gateway,
            status=wire_status(reply),
            res_code=reply.res_code,
            transport=reply.transport,
            task_id=notes.task_id,
            task_status=notes.task_status,
            rate_limit=notes.rate_limit,
            delay_ms=reply.delay_ms,
            elapsed_ms=round(elapsed_ms, 3),
            t=round(started, 6),
        )


def _same(value: Any) -> Any:
    return value


def describe_injected(injected: Injected | None) -> InjectedNote | None:
    """The journal's view of an injected fault."""
    if injected is None:
        return None
    return {
        "resCode": injected.error.res_code if injected.error else None,
        "transport": injected.transport, "delayMs": 0 if injected.delay_ms is None else injected.delay_ms,
        "rule": injected.rule_id, "shape": injected.shape,
    }


def image_note(index: int, item: SubmitItem) -> ImageNote:
    """The journal's view of one item's image: which source the fake used and a digest of its
    bytes, so a contract check can tell whether the client sent the caller's image unchanged.

    CRC-32, not SHA-256: nobody forges images against their own fake, and an accidental change
    (re-encoded, resized, truncated) slips past a 32-bit checksum with odds of 1 in 4 billion;
    SHA-256 cost 1.5 ms of a 3 MiB image's ~11 ms (bench/RESULTS.md, "Hot path"), CRC-32 0.5 ms."""
    data = item.product
    info = item.image
    return {
        "item": index, "source": item.source,
        "crc32": f"{zlib.crc32(data):08x}" if data is not None else None,
        "bytes": len(data) if data is not None else None,
        "format": info.format if info else None,
        "width": info.width if info else None, "height": info.height if info else None,
    }


def wire_status(reply: Reply) -> int | None:
    """The HTTP status the client saw: a load balancer's page has its own; a dropped
    connection has none (``faults.KINDS`` says, kind by kind)."""
    return kind_status(reply.transport, reply.status)


def utc_now_ms() -> str:
    """``datetime.now(timezone.utc).isoformat(timespec="milliseconds")``, the date and time of
    day formatted once a second (``_utc_second``) rather than once per request."""
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    return f"{_utc_second(second)}.{nanos // 1_000_000:03d}+00:00"


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


_SCALARS = frozenset({int, float, bool, type(None)})


def summarize(value: Any, limit: int = TEXT_LIMIT, depth: int = 0) -> Any:
    """Journal copy of parsed parameters, bounded whatever was sent: long strings (base64
    images) become ``"<N chars>"``, containers keep their first entries, deep nesting is cut
    (the rule ``schemas/journal-entry.json`` documents)."""
    if isinstance(value, str):
        return value if len(value) <= limit else f"<{len(value)} chars>"
    if not isinstance(value, (dict, list)):
        return value
    if depth >= MAX_DEPTH:
        return f"<nested deeper than {MAX_DEPTH}>"
    if isinstance(value, dict):
        if len(value) <= MAX_ITEMS and _plain(value, limit):
            return dict(value)  # nothing to shorten (the common case): a copy in one C call
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index == MAX_ITEMS:
                out["..."] = f"<{len(value) - MAX_ITEMS} more fields>"
                break
            # Plain short keys and scalars are kept as they are without a call (the hot path).
            name = key if type(key) is str and len(key) <= KEY_LIMIT else summarize(str(key), KEY_LIMIT)
            kind = type(item)
            plain = kind in _SCALARS or (kind is str and len(item) <= limit)
            out[name] = item if plain else summarize(item, limit, depth + 1)
        return out
    items = [summarize(item, limit, depth + 1) for item in value[:MAX_ITEMS]]
    if len(value) > MAX_ITEMS:
        items.append(f"<{len(value) - MAX_ITEMS} more items>")
    return items


def _plain(value: dict[Any, Any], limit: int) -> bool:
    """Whether ``summarize`` would keep every entry of ``value`` as it is: short string keys,
    scalar or short string values."""
    for key, item in value.items():
        if type(key) is not str or len(key) > KEY_LIMIT:
            return False
        kind = type(item)
        if kind is str:
            if len(item) > limit:
                return False
        elif kind not in _SCALARS:
            return False
    return True


__all__ = [
    "SCHEMA_VERSION", "ImageNote", "InjectedNote", "JournalEntry", "JournalWriter", "Notes", "Pending", "image_note",
    "summarize",
]
