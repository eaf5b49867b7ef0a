"""Proxy mode: the vendor's domain, unchanged, lands on the fake (``bgmock serve --proxy``).

Why: some clients cannot change their host (a library that hard-codes ``api.aidc-ai.com``),
but nearly all honour ``HTTPS_PROXY``.  With it set to the fake, a client's
``CONNECT api.aidc-ai.com:443`` is answered by the fake itself: the tunnel is terminated here
with a certificate for that host from bgmock's local CA (``tls.py``), and the requests inside
are served like any other.  Plain-HTTP proxy requests (``GET http://api.aidc-ai.com/...``,
absolute form) for the same hosts are answered too.

Only the fake's hosts: the vendor's two, ``intercept_hosts``, and the fake's own names.  Any
other host is refused with a 403 gateway envelope (``ProxyRefused``) and journaled, never
forwarded: the fake must not become an open proxy.  This is what moto's proxy mode and
mitmproxy do, for our hosts only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from ..config import Config
from ..errors import GatewayError
from ..http import Incoming, Reply
from ..origin import MAX_PORT, intercepted_hosts
from .request_head import NOT_A_PROXY, BadRequest, read_headers
from .tls import authority, secure, server_names

log = logging.getLogger("bgmock")

_REQUEST_LINE_PARTS = 3  # method, target, version


def split_authority(target: str) -> tuple[str, int | None]:
    """``host:port`` of a CONNECT (``[::1]:443`` for IPv6) as (host, port); port None if absent or bad."""
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = target.rpartition(":") if ":" in target else (target, "", "")
    return host.lower().rstrip("."), int(port) if port.isdigit() and 0 < int(port) <= MAX_PORT else None


class Proxy:
    """The server's proxy hook (``httpd.ServerOptions(proxy=...)``): answers CONNECT for the
    fake's hosts by terminating TLS here, and checks absolute-form request targets."""

    def __init__(
        self, config: Callable[[], Config], refuse: Callable[[Incoming, GatewayError], Reply],
        shown: Callable[[str, str], str],
    ) -> None:
        """``refuse`` answers and journals a refused request, ``shown`` writes one for the log
        (``Dispatcher.refuse`` and ``Dispatcher.shown``)."""
        self._config = config
        self._refuse = refuse
        self._shown = shown

    def allows(self, host: str) -> bool:
        config = self._config()
        host = host.lower().rstrip(".")
        return host in intercepted_hosts(config) or host in server_names(config)

    def hosts(self) -> list[str]:
        return sorted(intercepted_hosts(self._config()))

    def connect(self, handler: Any, line: bytes) -> bool:
        """A ``CONNECT host:port`` on ``handler``'s connection: tunnel into the fake, or refuse.
        Whether the connection goes on (now over TLS)."""
        parts = line.rstrip(b"\r\n").split(b" ")
        try:
            if len(parts) != _REQUEST_LINE_PARTS or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
                raise BadRequest(400, "malformed CONNECT request line")
            target = parts[1].decode("latin-1")
            headers = read_headers(handler.rfile)
            if not self._config().proxy:
                raise BadRequest(400, NOT_A_PROXY)
            host, port = split_authority(target)
            if not host or port is None:
                raise BadRequest(400, f"CONNECT {target[:100]!r}: expected host:port")
            if not self.allows(host):
                raise self.refusal(handler, "CONNECT", target, host, headers)
        except BadRequest as exc:
            handler._refuse(exc.status, exc.reason, exc.body)
            return False
        handler.connection.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        return secure(handler, lambda: authority(self._config()).context([host]), handler.server.options.head_timeout)

    def check_absolute(
        self, handler: Any, method: str, target: str, host: str, headers: Iterable[tuple[str, str]]
    ) -> None:
        """An absolute-form request (``GET http://host/...``): in proxy mode, for the fake's hosts
        only (with the proxy off, any such request is the fake's own, as HTTP/1.1 says)."""
        if self._config().proxy and not self.allows(host):
            raise self.refusal(handler, method, target, host.lower(), headers)

    def refusal(self, handler: Any, method: str, target: str, host: str, headers: Iterable[tuple[str, str]]) -> Any:
        """The BadRequest (403) for a host the fake does not stand in for; journaled here."""
        allowed = ", ".join(self.hosts()) or "none"
        message = (
            f"bgmock's proxy does not forward: {host[:253]} is not one of its hosts ({allowed}; add one with "
            "--intercept HOST)"
        )
        request = Incoming.build(
            method, target[:2048], headers=dict(headers), base_url=f"{handler.scheme}://proxy",
        )
        reply = self._refuse(request, GatewayError("ProxyRefused", message, status=403))
        log.warning("bgmock: proxy refused %s from %s", self._shown(method, target), handler.client_address[0])
        return BadRequest(403, message, reply.body)


__all__ = ["Proxy", "split_authority"]
