"""What every in-process mode shares, whichever client library it intercepts.

``mockserver.testing.inprocess`` answers the ``requests`` library (through ``responses``) and
``mockserver.testing.inprocess_httpx`` answers httpx; both need an optional package, so what they
share lives here, importable without either: the intercepted base URLs, the request as the
live server would have read it, the fake behind the interception, and ``Mocked`` (the
context manager and decorator ``mocked()`` and ``mocked_httpx()`` return).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from ..api import Backend
from ..config import Config
from ..dispatch import Dispatcher
from ..http import Incoming
from ..parsing import parse_base_url
from .handle import Handle, resolve

#: The fake's own base URL in this mode (``.local`` never resolves on the internet).
DEFAULT_URL = "http://bgmock.local"
#: The vendor's hosts, intercepted too, so a client with the production URL built in never
#: reaches (and bills) the real service from a test.
VENDOR_URLS = ("https://api.aidc-ai.com", "https://cn-api.aidc-ai.com")

F = TypeVar("F", bound=Callable[..., Any])


def checked_base_urls(base_urls: Iterable[str]) -> tuple[str, ...]:
    """The base URLs without trailing slashes or repeats; ``ValueError`` names a bad one."""
    urls = tuple(base_urls) if not isinstance(base_urls, str) else (base_urls,)
    if not urls:
        raise ValueError("base_urls: at least one URL to intercept")
    return tuple(dict.fromkeys(parse_base_url(url, "base URL", path=False, example="http://bgmock.local")
                               for url in urls))


def url_pattern(base_urls: Iterable[str]) -> re.Pattern[str]:
    """One pattern matching any URL under one of ``base_urls`` (case-insensitive scheme and host)."""
    bases = "|".join(re.escape(u) for u in base_urls)
    return re.compile(rf"(?:{bases})(?:[/?#].*)?\Z", re.IGNORECASE | re.DOTALL)


def to_incoming(method: str | None, url: str, headers: Iterable[tuple[Any, Any]], body: bytes) -> Incoming:
    """What the live server would have built from the same request on the wire."""
    parts = urlsplit(url)
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key, value)  # first value wins, as Flask's request.args.items() gives
    lowered = {
        (k.decode("latin-1") if isinstance(k, bytes) else str(k)).lower():
            v.decode("latin-1") if isinstance(v, bytes) else str(v)
        for k, v in headers
    }
    lowered.setdefault("host", parts.netloc)
    return Incoming(
        method=(method or "GET").upper(),
        path=unquote(parts.path) or "/",
        query=query,
        headers=lowered,
        body=body,
        base_url=f"{parts.scheme}://{parts.netloc}",
    )


def new_fake(
    config: Config | Mapping[str, Any] | None,
    settings: Mapping[str, Any],
    base_urls: Iterable[str] | None,
    *,
    signatures: bool | None,
    key_pair: tuple[str, str] | None,
) -> tuple[Dispatcher, tuple[str, ...], str, str]:
    """The dispatcher of a new in-process fake, its checked base URLs and its key pair.

    ``base_urls`` defaults to ``DEFAULT_URL`` plus the vendor's hosts; the first is the
    handle's ``url`` and, unless ``public_url`` is set, the base of result image URLs (which
    are then fetched in-process too). Raises ``ConfigError`` or ``ValueError``.
    """
    urls = checked_base_urls(base_urls if base_urls is not None else (DEFAULT_URL, *VENDOR_URLS))
    cfg, app_key, app_secret = resolve(config, settings, signatures=signatures, pair=key_pair)
    if cfg.public_url is None:
        cfg = cfg.replace(public_url=urls[0])
    # No Host/Origin guard (origin.py): no browser can reach a fake that has no socket.
    return Dispatcher(Backend(cfg), guard=False), urls, app_key, app_secret


class Interception(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


Builder = Callable[..., "tuple[Handle, Interception]"]


class Mocked:
    """``mocked()`` / ``mocked_httpx()``: a context manager and a decorator around one in-process fake.

    ``with mocked() as fake:`` gives the ``Handle``. As a decorator, each call of the function
    gets a fresh fake, passed as the last positional argument (``unittest.mock.patch``'s
    convention, so ``def test_x(self, fake)`` works in a ``unittest.TestCase``).
    """

    def __init__(self, build: Builder, *args: Any, **kwargs: Any) -> None:
        self._build = build
        self._args = args
        self._kwargs = kwargs
        self._handles: list[Handle] = []

    def __enter__(self) -> Handle:
        handle, interception = self._build(*self._args, **self._kwargs)
        interception.start()
        self._handles.append(handle)
        return handle

    def __exit__(self, *exc: object) -> None:
        self._handles.pop().close()

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with Mocked(self._build, *self._args, **self._kwargs) as fake:
                return func(*args, fake, **kwargs)

        signature = inspect.signature(func)
        params = list(signature.parameters.values())
        if params:  # hide the injected argument from pytest's fixture lookup
            wrapper.__signature__ = signature.replace(parameters=params[:-1])  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]


__all__ = ["DEFAULT_URL", "VENDOR_URLS", "Mocked", "checked_base_urls", "new_fake", "to_incoming", "url_pattern"]
