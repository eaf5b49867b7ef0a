"""The in-process mode for httpx: ``httpx.Client`` and ``httpx.AsyncClient`` calls answered without a socket.

Two ways in, one fake behind them:

- **Patching** (``mocked_httpx()``, the ``bgmock_httpx`` fixture): while active, every
  ``httpx.HTTPTransport`` and ``httpx.AsyncHTTPTransport`` (the transports httpx makes by
  default, also with ``retries=`` or a proxy) answers calls to the fake's base URLs from the
  fake, as ``responses`` does for ``requests``; other URLs go out as usual.
- **An explicit transport** (``httpx_transport()``): an object to pass as ``transport=`` to a
  client, nothing patched; calls to other URLs go out through a real httpx transport.

Each intercepted call becomes an ``Incoming`` and goes through ``Dispatcher.handle``, the path
the live server uses. Transport faults are acted out as httpx reports them against
``bgmock serve`` (``faults.on_httpx`` says how, kind by kind); delays take their real time (or
end in ``ReadTimeout``). In an ``AsyncClient`` the fake runs in a worker thread and waits with
``anyio.sleep``, so other tasks go on meanwhile, as they would against a server.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

try:  # httpx alone first: it brings anyio, so a machine without httpx is told "httpx", not "anyio"
    import httpx
except ModuleNotFoundError as _missing:  # an optional package
    raise ModuleNotFoundError(
        f"the httpx in-process mode (mocked_httpx(), httpx_transport(), bgmock_httpx) needs the package "
        f"{_missing.name!r}: pip install httpx (or, from the bgmock checkout: pip install -e \".[httpx]\")",
        name=_missing.name,
    ) from None
import anyio

from ..config import Config
from ..dispatch import Dispatcher
from ..faults.on_httpx import Act, plan
from ..http import Reply
from . import intercept
from .handle import Handle
from .intercept import Mocked, checked_base_urls, new_fake, url_pattern

MODE = "in-process httpx"


def read_timeout(request: httpx.Request) -> float | None:
    """The call's read timeout (httpx puts the client's ``Timeout`` in the request's extensions)."""
    value = (request.extensions.get("timeout") or {}).get("read")
    return None if value is None else float(value)


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The body of an answer as the socket would give it: after its time, maybe cut short."""

    def __init__(self, act: Act, request: httpx.Request) -> None:
        self._act = act
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        if self._act.body_wait:
            time.sleep(self._act.body_wait)
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._act.body_wait:
            await anyio.sleep(self._act.body_wait)
        for chunk in self._chunks():
            yield chunk

    def _chunks(self) -> Iterator[bytes]:
        if self._act.body:
            yield self._act.body
        if self._act.body_error is not None:
            raise self._act.body_error(self._request)


def _response(act: Act, request: httpx.Request) -> httpx.Response:
    if act.error is not None:
        raise act.error(request)
    return httpx.Response(act.status, headers=act.headers, stream=_Body(act, request), request=request)


class HttpxInterceptor(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers httpx calls to some base URLs from one dispatcher: as a transport, or patched in.

    Pass it as ``transport=`` to an ``httpx.Client`` or ``httpx.AsyncClient`` (one object serves
    both); or ``start()`` it to patch httpx's default transports until ``stop()``. Calls to
    other URLs go out through a real httpx transport, or with ``passthrough=False`` fail with
    ``httpx.ConnectError``.
    """

    def __init__(self, dispatcher: Dispatcher, base_urls: Iterable[str], *, passthrough: bool = True) -> None:
        self.dispatcher = dispatcher
        self.base_urls = checked_base_urls(base_urls)
        self.pattern = url_pattern(self.base_urls)
        self.passthrough = passthrough
        self.fake: Handle | None = None  # set by the builders below
        self._saved: tuple[Any, Any] | None = None
        self._sync_out: httpx.HTTPTransport | None = None
        self._async_out: httpx.AsyncHTTPTransport | None = None

    def intercepts(self, request: httpx.Request) -> bool:
        return self.pattern.match(str(request.url)) is not None

    def _refused(self, request: httpx.Request) -> httpx.ConnectError:
        return httpx.ConnectError(
            f"bgmock: connection to {request.url} refused (not one of {', '.join(self.base_urls)}, "
            "and passthrough is off)", request=request,
        )

    def _plan(self, request: httpx.Request, reply: Reply) -> Act:
        return plan(reply, self.dispatcher.backend.config, read_timeout(request))

    def _dispatch(self, request: httpx.Request) -> Reply:
        incoming = intercept.to_incoming(request.method, str(request.url), request.headers.items(), request.content)
        return self.dispatcher.handle(incoming)

    # -- as a transport ------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.intercepts(request):
            if not self.passthrough:
                raise self._refused(request)
            if self._sync_out is None:
                self._sync_out = httpx.HTTPTransport()
            return self._sync_out.handle_request(request)
        request.read()
        act = self._plan(request, self._dispatch(request))
        if act.wait:
            time.sleep(act.wait)
        return _response(act, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.intercepts(request):
            if not self.passthrough:
                raise self._refused(request)
            if self._async_out is None:
                self._async_out = httpx.AsyncHTTPTransport()
            return await self._async_out.handle_async_request(request)
        await request.aread()
        reply = await anyio.to_thread.run_sync(self._dispatch, request)
        act = self._plan(request, reply)
        if act.wait:
            await anyio.sleep(act.wait)
        return _response(act, request)

    def close(self) -> None:
        if self._sync_out is not None:
            self._sync_out.close()

    async def aclose(self) -> None:
        if self._async_out is not None:
            await self._async_out.aclose()

    # -- patched into httpx's default transports -----------------------------------------------
    @property
    def active(self) -> bool:
        return self._saved is not None

    def start(self) -> None:
        """Answer from the fake in every ``HTTPTransport``/``AsyncHTTPTransport`` until ``stop()``."""
        if self._saved is not None:
            return
        sync_send, async_send = httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request
        this = self

        def handle_request(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            if this.intercepts(request):
                return this.handle_request(request)
            if not this.passthrough:
                raise this._refused(request)
            return sync_send(transport, request)

        async def handle_async_request(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
            if this.intercepts(request):
                return await this.handle_async_request(request)
            if not this.passthrough:
                raise this._refused(request)
            return await async_send(transport, request)

        self._saved = (sync_send, async_send)
        httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]

    def stop(self) -> None:
        """Put httpx's transports back as ``start()`` found them (nested interceptors: stop in reverse)."""
        saved, self._saved = self._saved, None
        if saved is not None:
            httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request = saved  # type: ignore[method-assign]


def build(
    config: Config | Mapping[str, Any] | None = None,
    *,
    base_urls: Iterable[str] | None = None,
    passthrough: bool = True,
    signatures: bool | None = None,
    key_pair: tuple[str, str] | None = None,
    **settings: Any,
) -> tuple[Handle, HttpxInterceptor]:
    """A fake with its interceptor, not yet patched in (``interceptor.start()`` does)."""
    dispatcher, urls, app_key, app_secret = new_fake(
        config, settings, base_urls, signatures=signatures, key_pair=key_pair
    )
    interceptor = HttpxInterceptor(dispatcher, urls, passthrough=passthrough)
    handle = Handle(dispatcher, urls[0], app_key=app_key, app_secret=app_secret, mode=MODE, close=interceptor.stop)
    interceptor.fake = handle
    return handle, interceptor


def mocked_httpx(
    config: Config | Mapping[str, Any] | None = None,
    *,
    base_urls: Iterable[str] | None = None,
    passthrough: bool = True,
    signatures: bool | None = None,
    key_pair: tuple[str, str] | None = None,
    **settings: Any,
) -> Mocked:
    """An in-process fake for httpx (sync and async): ``with mocked_httpx() as fake:`` or ``@mocked_httpx()``.

    While active, httpx clients with their default transports have calls to ``base_urls``
    (default ``http://bgmock.local`` and the vendor's hosts) answered by the fake; other URLs
    go out as usual, or fail with ``httpx.ConnectError`` when ``passthrough=False``. Settings
    are keys of ``schemas/config.json`` on top of the test defaults.
    """
    return Mocked(build, config, base_urls=base_urls, passthrough=passthrough, signatures=signatures,
                  key_pair=key_pair, **settings)


def httpx_transport(
    fake: Handle | None = None,
    *,
    base_urls: Iterable[str] | None = None,
    passthrough: bool = True,
    **settings: Any,
) -> HttpxInterceptor:
    """A transport to pass as ``httpx.Client(transport=...)`` or ``httpx.AsyncClient(transport=...)``.

    Without ``fake`` it answers from a new in-process fake (``transport.fake`` is its handle;
    ``settings`` as for ``mocked_httpx()``); with one (from ``mocked()``, ``mocked_httpx()``,
    ``running()`` or a fixture) it answers from that fake, journal and faults included. Nothing
    is patched: only clients given this transport are answered.
    """
    if fake is None:
        return build(base_urls=base_urls, passthrough=passthrough, **settings)[1]
    if settings:
        raise ValueError(f"httpx_transport(fake): settings ({', '.join(settings)}) belong to the fake; "
                         "use fake.configure(...)")
    urls = base_urls if base_urls is not None else (fake.url, intercept.DEFAULT_URL, *intercept.VENDOR_URLS)
    interceptor = HttpxInterceptor(fake.dispatcher, urls, passthrough=passthrough)
    interceptor.fake = fake
    return interceptor


__all__ = ["HttpxInterceptor", "build", "httpx_transport", "mocked_httpx", "plan"]
