"""Opt-in download of ``imageFileUrl`` images, fenced against server-side request forgery.

The fake never touches the network unless ``fetch_images`` is on. Then a URL is fetched only
when every one of these holds, checked again on each redirect:

- http or https, no user name or password in the URL;
- its host is in ``fetch_allow_hosts`` (an exact name, or ``*.example.com`` for subdomains);
- every address the host resolves to is public, unless the host is listed *exactly* (so
  ``127.0.0.1`` or ``localhost`` must be named to be reached; a wildcard never reaches them);
- the connection goes to the address that was checked (no second DNS lookup to rebind);
- redirects stay on the same host (at most ``MAX_REDIRECTS``);
- the body is at most ``fetch_max_bytes`` (a ``Content-Length`` is parsed strictly by
  ``framing.py``: a malformed one is refused, not trusted or crashed on);
- the whole exchange takes at most ``fetch_timeout_s``, one deadline from the first DNS
  lookup to the last body byte across redirects: the lookup waits in a helper thread that is
  abandoned at the deadline (``getaddrinfo`` cannot be interrupted), connect and the TLS
  handshake each get what is left, and every read of the status line, headers and body is
  bounded by what is left (a server dribbling its status line a byte at a time is cut off).

A refusal is a ``FetchRefused``, a ``LookupError`` whose text is the reason: validation turns
it into the 700 answer naming ``imageFileUrl``. Secrets are not involved, so none is logged.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

from .config import Config
from .framing import FramingError, content_length

MAX_REDIRECTS = 3
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({
    HTTPStatus.MOVED_PERMANENTLY, HTTPStatus.FOUND, HTTPStatus.SEE_OTHER,
    HTTPStatus.TEMPORARY_REDIRECT, HTTPStatus.PERMANENT_REDIRECT,
})
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: getaddrinfo's shape, injectable so tests can resolve a name to any address.
Resolver = Callable[[str, int], Sequence[str]]


class FetchRefused(LookupError):
    """The URL was not fetched, or its download failed; ``str(exc)`` says why, for resMessage."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchRefused(f"cannot resolve host {host[:100]}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    """The settings of ``fetch_images``: who may be fetched, how much, how long."""

    allow_hosts: tuple[str, ...]
    max_bytes: int
    timeout_s: float

    @classmethod
    def from_config(cls, config: Config) -> FetchPolicy:
        hosts = tuple(h.lower().strip("[]") for h in config.fetch_allow_hosts)
        return cls(hosts, config.fetch_max_bytes, config.fetch_timeout_s)

    def listing(self, host: str) -> str | None:
        """``exact``, ``wildcard`` or None: how the host is allow-listed."""
        if host in self.allow_hosts:
            return "exact"
        for entry in self.allow_hosts:
            if entry.startswith("*.") and host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                return "wildcard"
        return None


def is_public(address: str) -> bool:
    """Whether an address is on the public internet (not loopback, private, link-local, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class ImageFetcher:
    """Downloads one URL under a ``FetchPolicy``; ``fetch`` returns the body or raises FetchRefused."""

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        resolver: Resolver = system_resolver,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.clock = clock  # a network deadline: real elapsed time, not the fake's clock

    @classmethod
    def from_config(cls, config: Config) -> ImageFetcher | None:
        """A fetcher when ``fetch_images`` is on, else None (the fake then never fetches)."""
        return cls(FetchPolicy.from_config(config)) if config.fetch_images else None

    def fetch(self, url: str) -> bytes:
        deadline = self.clock() + self.policy.timeout_s
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            target = self._checked(current, first=url)
            address = self._address(target.host, target.port, deadline)
            status, location, body = self._get(target, address, deadline)
            if status in _REDIRECTS:
                if not location:
                    raise FetchRefused(f"the image server answered HTTP {status} without a Location")
                current = urljoin(current, location)
                continue
            if status != HTTPStatus.OK:
                raise FetchRefused(f"the image server answered HTTP {status}")
            return body
        raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")

    def _checked(self, url: str, *, first: str) -> _Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise FetchRefused("not a valid URL") from None
        if port == 0:  # a port given as 0 is no port to connect to, not "the scheme's default"
            raise FetchRefused("not a valid URL (port 0)")
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if scheme not in ("http", "https") or not host:
            raise FetchRefused("only http and https URLs with a host are fetched")
        if parts.username is not None or parts.password is not None:
            raise FetchRefused("URLs with credentials are not fetched")
        original = (urlsplit(first).hostname or "").lower()
        if host != original:
            raise FetchRefused(f"redirect to another host ({host[:100]}) refused")
        if self.policy.listing(host) is None:
            raise FetchRefused(f"host {host[:100]} is not in fetch_allow_hosts")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return _Target(scheme, host, _DEFAULT_PORTS[scheme] if port is None else port, path)

    def _address(self, host: str, port: int, deadline: float) -> str:
        """One resolved address, after checking all of them (a host is as safe as its worst)."""
        addresses = self._resolve(host, port, deadline)
        if not addresses:
            raise FetchRefused(f"cannot resolve host {host[:100]}")
        if self.policy.listing(host) != "exact":
            for address in addresses:
                if not is_public(address):
                    raise FetchRefused(
                        f"host {host[:100]} resolves to a non-public address "
                        "(list the host exactly in fetch_allow_hosts to allow it)"
                    )
        return addresses[0]

    def _timed_out(self) -> FetchRefused:
        return FetchRefused(f"download took longer than {self.policy.timeout_s:g} s")

    def _left(self, deadline: float) -> float:
        """Seconds left of the exchange, or the timeout refusal."""
        left = deadline - self.clock()
        if left <= 0:
            raise self._timed_out()
        return left

    def _resolve(self, host: str, port: int, deadline: float) -> Sequence[str]:
        """The resolver's answer within the deadline: ``getaddrinfo`` takes no timeout, so it
        runs in a daemon thread that is left behind (it ends with the system's own DNS timeout)."""
        left = self._left(deadline)
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["addresses"] = self.resolver(host, port)
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc

        worker = threading.Thread(target=run, name="bgmock-fetch-resolve", daemon=True)
        worker.start()
        worker.join(left)
        if worker.is_alive():
            raise self._timed_out()
        try:
            if "error" in box:
                raise box["error"]
            return box["addresses"]
        finally:
            box.clear()  # no cycle through this frame's traceback back to the exception

    def _get(self, target: _Target, address: str, deadline: float) -> tuple[int, str | None, bytes]:
        """One GET of ``target`` at ``address``: (status, a redirect's Location, the body)."""
        conn = _PinnedConnection(target, address, deadline=deadline, left=self._left)
        try:
            conn.request("GET", target.path, headers={
                "Host": target.host_header, "Accept": "image/*", "User-Agent": "bgmock-fetch", "Connection": "close",
            })
            response = conn.getresponse()
            if response.status in _REDIRECTS:
                return response.status, response.getheader("Location"), b""
            return response.status, None, self._body(response)
        except FetchRefused:
            raise
        except TimeoutError:
            raise self._timed_out() from None
        except (OSError, http.client.HTTPException) as exc:
            raise FetchRefused(f"download failed ({type(exc).__name__})") from None
        except ValueError:  # http.client's int() of a chunk size the server garbled
            raise FetchRefused("download failed (malformed chunked body)") from None
        finally:
            conn.close()

    def _body(self, response: http.client.HTTPResponse) -> bytes:
        """The body of a 200 (none of any other status), refused once it passes ``fetch_max_bytes``:
        first by its declared length, then by what actually arrives."""
        too_large = f"the image is larger than fetch_max_bytes ({self.policy.max_bytes} bytes)"
        try:
            length = content_length(response.headers.get_all("Content-Length") or ())
        except FramingError as exc:
            raise FetchRefused(f"the image server sent a bad Content-Length: {exc}") from None
        if length is not None and length > self.policy.max_bytes:
            raise FetchRefused(too_large)
        if response.status != HTTPStatus.OK:
            return b""
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read1(_CHUNK):  # each read is bounded by the deadline (_DeadlineReader)
            size += len(chunk)
            if size > self.policy.max_bytes:
                raise FetchRefused(too_large)
            chunks.append(chunk)
        return b"".join(chunks)


@dataclass(frozen=True)
class _Target:
    """A URL that passed the checks: where to connect, and what to ask for there."""

    scheme: str
    host: str
    port: int
    path: str  # the request line's target: the path and the query

    @property
    def host_header(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return shown if self.port == _DEFAULT_PORTS[self.scheme] else f"{shown}:{self.port}"


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to an address already checked, speaking to ``host`` by name,
    every step of it within one deadline (``left(deadline)`` gives the seconds remaining or
    raises the timeout refusal)."""

    def __init__(self, target: _Target, address: str, *, deadline: float, left: Callable[[float], float]) -> None:
        super().__init__(address, target.port, timeout=left(deadline))
        self._scheme = target.scheme
        self._name = target.host
        self._deadline = deadline
        self._left = left

    def connect(self) -> None:
        # One call each, and CPython bounds a call's total wait by its timeout (PEP 475).
        self.sock = socket.create_connection((self.host, self.port), self._left(self._deadline))
        if self._scheme == "https":
            self.sock.settimeout(self._left(self._deadline))
            context = ssl.create_default_context()
            self.sock = context.wrap_socket(self.sock, server_hostname=self._name)

    def send(self, data: Any) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._left(self._deadline))
        super().send(data)

    def response_class(self, sock: socket.socket, **options: Any) -> http.client.HTTPResponse:  # type: ignore[override]
        """http.client's response, reading through ``_DeadlineReader`` instead of ``makefile``."""
        return http.client.HTTPResponse(_DeadlineSocket(sock, self._deadline, self._left), **options)  # type: ignore[arg-type]

    def putrequest(self, method: str, url: str, skip_host: bool = False, skip_accept_encoding: bool = False) -> None:
        # http.client would send the address as Host; the caller sends the name instead.
        super().putrequest(method, url, skip_host=True, skip_accept_encoding=True)


class _DeadlineReader(io.RawIOBase):
    """The response stream: each receive waits only for what is left of the deadline.

    ``makefile``'s stream applies the socket timeout to each receive, so a server sending its
    status line one byte a second never trips a 3 s timeout; this one cannot outlive it."""

    def __init__(self, sock: socket.socket, deadline: float, left: Callable[[float], float]) -> None:
        super().__init__()
        self._sock, self._deadline, self._left = sock, deadline, left
        # As ``socket.makefile`` does: http.client closes the connection once it has the
        # answer's head (``Connection: close``); the socket stays open until this stream closes.
        sock._io_refs += 1  # type: ignore[attr-defined]

    def close(self) -> None:
        if not self.closed:
            self._sock._decref_socketios()  # type: ignore[attr-defined]
        super().close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._left(self._deadline))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """All ``HTTPResponse`` asks of its socket: ``makefile("rb")``."""

    def __init__(self, sock: socket.socket, deadline: float, left: Callable[[float], float]) -> None:
        self._args = (sock, deadline, left)

    def makefile(self, mode: str, *_args: Any, **_kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(*self._args))
