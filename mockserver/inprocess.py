"""The in-process mode: calls made with the ``requests`` library, answered without a socket.

It intercepts the **``requests`` library only** (through the ``responses`` package, which
patches ``requests``' HTTP adapter); httpx has its own mode (``inprocess_httpx``). Traffic from
any other client — aiohttp, urllib, urllib3 used directly, a subprocess, another language — is
not seen; point such clients at a live fake (``mockserver.running()`` or the ``bgmock`` fixture).

Each intercepted call becomes an ``Incoming`` and goes through ``Dispatcher.handle``, the
path the live server uses, so answers are the same. Transport faults are acted out as
``requests`` reports them on a real socket: ``reset`` and ``empty`` raise
``requests.exceptions.ConnectionError``, ``timeout`` raises ``ReadTimeout`` when the call has a
read timeout shorter than ``hang_s`` (else ``ConnectionError`` after ``hang_s``), ``truncated``
raises ``ChunkedEncodingError`` (urllib3 finds the body shorter than its Content-Length),
``malformed`` and ``http502``/``503``/``504`` are answers with a broken or HTML body, and
``dribble`` and delays take their real time (or raise ``ReadTimeout`` when the call's timeout is
shorter). Known difference: urllib3 ``Retry`` settings on a mounted adapter do not retry
connection errors here (``responses`` only replays status retries).
"""

from __future__ import annotations

import errno
import re
import time
from collections.abc import Iterable, Mapping
from http.client import RemoteDisconnected
from typing import Any

try:
    import requests
    import responses
    from urllib3.exceptions import ProtocolError, ReadTimeoutError
except ModuleNotFoundError as _missing:  # optional packages; bgmock itself is not on PyPI
    raise ModuleNotFoundError(
        f"the in-process mode (mocked(), bgmock_responses) needs the package {_missing.name!r}: "
        'pip install responses requests (or, from the bgmock checkout: pip install -e ".[test]")',
        name=_missing.name,
    ) from None

from . import intercept
from .config import Config
from .dispatch import Dispatcher
from .handle import Handle
from .http import Incoming, Reply
from .intercept import DEFAULT_URL, VENDOR_URLS, Mocked, checked_base_urls, new_fake, url_pattern
from .transport import dribble_pause, html_page, malformed_body

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def to_incoming(prepared: requests.PreparedRequest) -> Incoming:
    """What the live server would have built from the same request on the wire."""
    return intercept.to_incoming(prepared.method, prepared.url or "", prepared.headers.items(),
                                 _body_bytes(prepared.body))


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):  # http.client sends str bodies as ISO-8859-1 (and fails the same way)
        return body.encode("iso-8859-1")
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    return b"".join(_body_bytes(chunk) for chunk in body)  # an iterable: a chunked upload


def read_timeout(value: Any) -> float | None:
    """The read timeout of a ``requests`` call (a number, a (connect, read) pair, or None)."""
    if isinstance(value, tuple):
        value = value[-1]
    value = getattr(value, "read_timeout", value)  # a urllib3 Timeout
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _timed_out(prepared: requests.PreparedRequest, timeout: float) -> requests.exceptions.ReadTimeout:
    cause = ReadTimeoutError(None, prepared.url, f"Read timed out. (read timeout={timeout})")  # type: ignore[arg-type]
    return requests.exceptions.ReadTimeout(cause, request=prepared)


def _wait(seconds: float, timeout: float | None, prepared: requests.PreparedRequest) -> None:
    """Take ``seconds`` of real time, as the live server would; a shorter read timeout wins."""
    if timeout is not None and timeout < seconds:
        time.sleep(timeout)
        raise _timed_out(prepared, timeout)
    time.sleep(seconds)


def _dropped(prepared: requests.PreparedRequest, *, reset: bool) -> requests.exceptions.ConnectionError:
    cause: Exception = (
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
        if reset
        else RemoteDisconnected("Remote end closed connection without response")
    )
    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", cause), request=prepared)


Answer = tuple[int, dict[str, str], bytes]


def act_out(reply: Reply, config: Config, prepared: requests.PreparedRequest) -> Answer:
    """A reply as ``responses`` returns it, or the exception ``requests`` raises for its fault."""
    timeout = read_timeout(getattr(prepared, "req_kwargs", {}).get("timeout"))
    if reply.delay_ms:
        _wait(reply.delay_ms / 1000, timeout, prepared)
    kind = reply.transport
    if not kind:
        headers = {"Content-Type": reply.content_type, "Content-Length": str(len(reply.body)), **reply.headers}
        return reply.status, headers, reply.body
    json_type = "application/json"
    if kind.startswith("http5") and kind[4:].isdigit():
        page = html_page(int(kind[4:]))
        return int(kind[4:]), {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(page))}, page
    if kind == "malformed":
        body = malformed_body()
        return 200, {"Content-Type": json_type, "Content-Length": str(len(body))}, body
    full = reply.body or malformed_body(complete=True)  # truncated/dribble carry the real answer
    if kind == "truncated":  # urllib3 raises IncompleteRead; requests turns it into ChunkedEncodingError
        headers = {"Content-Type": json_type, "Content-Length": str(len(full)), "Connection": "close"}
        return 200, headers, full[: len(full) // 2]
    if kind == "dribble":  # the first byte comes after one pause; the whole body after dribble_s
        pause = dribble_pause(config.dribble_s, len(full))
        if timeout is not None and timeout < pause:
            _wait(pause, timeout, prepared)
        time.sleep(config.dribble_s)
        return 200, {"Content-Type": json_type, "Content-Length": str(len(full))}, full
    if kind == "timeout":  # hold the call for hang_s, then drop it with a reset
        _wait(config.hang_s, timeout, prepared)
    raise _dropped(prepared, reset=kind != "empty")


class Interceptor:
    """Answers ``requests``' calls to some base URLs from one dispatcher, through ``responses``.

    ``start()``/``stop()`` may be repeated (the pytest plugin does so around each test). With
    ``mock`` (a ``responses.RequestsMock`` the caller already uses), the fake's routes are
    added to it instead of a mock of its own, since only the innermost active mock sees calls.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        base_urls: Iterable[str],
        *,
        passthrough: bool = True,
        mock: responses.RequestsMock | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.base_urls = checked_base_urls(base_urls)
        # One pattern for every base URL: responses tries each registered route on each call.
        self.pattern = url_pattern(self.base_urls)
        self.passthrough = passthrough
        self._given_mock = mock
        self._mock: responses.RequestsMock | None = None
        self._registered: list[responses.BaseResponse] = []

    @property
    def active(self) -> bool:
        return self._mock is not None

    def __call__(self, prepared: requests.PreparedRequest) -> Answer:
        reply = self.dispatcher.handle(to_incoming(prepared))
        return act_out(reply, self.dispatcher.backend.config, prepared)

    def start(self) -> None:
        if self._mock is not None:
            return
        mock = self._given_mock or responses.RequestsMock(assert_all_requests_are_fired=False)
        for method in METHODS:
            route = responses.CallbackResponse(method, self.pattern, callback=self, content_type=None)
            mock.add(route)
            self._registered.append(route)
        if self._given_mock is None:
            if self.passthrough:  # other hosts go out as usual (moto's way), unless refused
                mock.add_passthru(re.compile(r".*", re.DOTALL))
            mock.start()
        self._mock = mock

    def stop(self) -> None:
        mock, self._mock = self._mock, None
        if mock is None:
            return
        if self._given_mock is None:
            mock.stop(allow_assert=False)
            mock.reset()
        else:
            for route in self._registered:
                mock.remove(route)
        self._registered.clear()


def build(
    config: Config | Mapping[str, Any] | None = None,
    *,
    base_urls: Iterable[str] | None = None,
    passthrough: bool = True,
    responses_mock: responses.RequestsMock | None = None,
    signatures: bool | None = None,
    key_pair: tuple[str, str] | None = None,
    **settings: Any,
) -> tuple[Handle, Interceptor]:
    """A fake with its interceptor, not yet intercepting (``interceptor.start()`` does).

    ``base_urls`` defaults to ``DEFAULT_URL`` plus the vendor's hosts; the first is the
    handle's ``url`` and, unless ``public_url`` is set, the base of result image URLs (which
    are then fetched in-process too).
    """
    dispatcher, urls, app_key, app_secret = new_fake(
        config, settings, base_urls, signatures=signatures, key_pair=key_pair
    )
    interceptor = Interceptor(dispatcher, urls, passthrough=passthrough, mock=responses_mock)
    handle = Handle(
        dispatcher.backend, urls[0], app_key=app_key, app_secret=app_secret, mode="in-process",
        close=interceptor.stop, dispatcher=dispatcher,
    )
    return handle, interceptor


def mocked(
    config: Config | Mapping[str, Any] | None = None,
    *,
    base_urls: Iterable[str] | None = None,
    passthrough: bool = True,
    responses_mock: responses.RequestsMock | None = None,
    signatures: bool | None = None,
    key_pair: tuple[str, str] | None = None,
    **settings: Any,
) -> Mocked:
    """An in-process fake for the ``requests`` library only: ``with mocked() as fake:`` or
    ``@mocked()``. Other HTTP clients are not intercepted.

    Settings are keys of ``schemas/config.json`` on top of the test defaults (manual clock,
    tasks finish at once). Calls to ``base_urls`` (default ``http://bgmock.local`` and the
    vendor's hosts) are answered by the fake; other URLs go out as usual, or are refused with
    ``ConnectionError`` when ``passthrough=False``.
    """
    return Mocked(
        build, config, base_urls=base_urls, passthrough=passthrough, responses_mock=responses_mock,
        signatures=signatures, key_pair=key_pair, **settings,
    )


__all__ = ["DEFAULT_URL", "VENDOR_URLS", "Interceptor", "Mocked", "act_out", "build", "mocked", "to_incoming"]
