"""The in-process mode: calls made with the ``requests`` library, answered without a socket.

It intercepts the **``requests`` library only** (through the ``responses`` package, which
patches ``requests``' HTTP adapter); httpx has its own mode (``inprocess_httpx``). Traffic from
any other client — aiohttp, urllib, urllib3 used directly, a subprocess, another language — is
not seen; point such clients at a live fake (``mockserver.running()`` or the ``bgmock`` fixture).

Each intercepted call becomes an ``Incoming`` and goes through ``Dispatcher.handle``, the
path the live server uses, so answers are the same. Transport faults are acted out as
``requests`` reports them on a real socket (``faults.on_responses`` says how, kind by kind);
delays take their real time, or raise ``ReadTimeout`` when the call's timeout is shorter.
Known difference: urllib3 ``Retry`` settings on a mounted adapter do not retry
connection errors here (``responses`` only replays status retries).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

try:
    import requests
    import responses
    import urllib3  # noqa: F401  (faults.on_responses needs it: the message below names it)
except ModuleNotFoundError as _missing:  # optional packages; bgmock itself is not on PyPI
    raise ModuleNotFoundError(
        f"the in-process mode (mocked(), bgmock_responses) needs the package {_missing.name!r}: "
        'pip install responses requests (or, from the bgmock checkout: pip install -e ".[test]")',
        name=_missing.name,
    ) from None

from ..config import Config
from ..dispatch import Dispatcher
from ..faults import on_responses
from ..faults.on_responses import Answer, read_timeout, wait
from ..http import Incoming, Reply
from . import intercept
from .handle import Handle
from .intercept import DEFAULT_URL, VENDOR_URLS, Mocked, checked_base_urls, new_fake, url_pattern

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


def act_out(reply: Reply, config: Config, prepared: requests.PreparedRequest) -> Answer:
    """A reply as ``responses`` returns it, or the exception ``requests`` raises for its fault
    (``faults.on_responses`` acts each kind out)."""
    timeout = read_timeout(getattr(prepared, "req_kwargs", {}).get("timeout"))
    if reply.delay_ms:
        wait(reply.delay_ms / 1000, timeout, prepared)
    if reply.transport:
        return on_responses.act_out(reply.transport, reply.body, prepared, timeout, config)
    headers = {"Content-Type": reply.content_type, "Content-Length": str(len(reply.body)), **reply.headers}
    return reply.status, headers, reply.body


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


def build(  # noqa: PLR0913 - takes exactly what mocked() takes, keyword-only
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
        dispatcher, urls[0], app_key=app_key, app_secret=app_secret, mode="in-process", close=interceptor.stop
    )
    return handle, interceptor


def mocked(  # noqa: PLR0913 - the public API: keyword-only options, each documented
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
