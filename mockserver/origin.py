"""Who may talk to the fake over HTTP: the defence against web pages and DNS rebinding.

A fake left running on 127.0.0.1 is reachable by every web page its developer opens: a browser
sends "simple" cross-origin requests (a form POST, ``fetch(..., {mode: "no-cors"})``) without
asking first, and a page whose host name the attacker re-points at 127.0.0.1 (DNS rebinding)
is, to the browser, same-origin with the fake and may read its answers. Two checks close that:

- **Host** (every route): the ``Host`` header must name the fake (``own_hosts``). A rebound
  page's requests carry the attacker's name, which no setting lists unless the user adds it.
- **Origin** (state-changing ``/__admin`` calls): a browser names the page that sent a
  cross-origin request in ``Origin`` (``null`` for sandboxed frames and some redirects) and,
  in current browsers, says ``Sec-Fetch-Site: cross-site``/``same-site``. curl, scripts, the
  pytest plugin and the contract kit send neither, so they are not affected.

``Dispatcher.handle`` runs ``Guard.check_host`` before routing and ``Guard.check_origin``
after it; the in-process mode (no socket, no browser) builds its Dispatcher without a guard.
A refusal is a ``Refused`` gateway error: HTTP 403, an envelope naming the header and the
setting that would allow the request, and a journal entry.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .config import Config
from .errors import GatewayError
from .http import Incoming

#: Names every fake answers to, whatever it is bound to.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
#: Methods that only read; every other method on ``/__admin`` may change the fake's state.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``Sec-Fetch-Site`` values that mean "a page of another origin sent this".
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
MAX_PORT = 65535
_GOOD_HOSTS_KEPT = 64  # Guard's memo of Host values found good: a client sends one, a test a few
_QUOTED_CHARS = 200  # of a header value quoted in a refusal


class Refused(GatewayError):
    """A request refused by the guard (403): ``header`` names what gave it away."""

    def __init__(self, code: str, header: str, message: str) -> None:
        super().__init__(code, message, status=403)
        self.header = header


@dataclass(frozen=True)
class OwnHosts:
    """The host names the fake answers to (lower case, IPv6 without brackets, no port).

    ``any_ip``: also every IP literal. Set when the fake listens beyond loopback, where clients
    reach it by one of the machine's addresses; DNS rebinding needs a *name* the attacker
    controls, so an address literal in ``Host`` is never a rebound page.
    """

    names: frozenset[str]
    any_ip: bool = False

    def allows(self, host: str) -> bool:
        if host in self.names:
            return True
        return self.any_ip and _is_ip(host)

    def extended(self, names: Iterable[str]) -> OwnHosts:
        """These hosts and ``names`` too (how a later mode, e.g. a proxy's intercepted hosts, adds its own)."""
        return OwnHosts(self.names | {normal_host(name) for name in names}, self.any_ip)

    def describe(self) -> str:
        shown = sorted(f"[{name}]" if ":" in name else name for name in self.names)
        return ", ".join(shown) + (", or any IP address" if self.any_ip else "")


#: The vendor's API hosts (``api-family-notes.md``): always intercepted in proxy mode.
VENDOR_HOSTS = ("api.aidc-ai.com", "cn-api.aidc-ai.com")


def intercepted_hosts(config: Config) -> frozenset[str]:
    """The hosts the proxy mode (serving/proxy.py) answers for besides the fake's own names
    (lower-case); empty when the proxy is off. The Host check accepts these too."""
    if not config.proxy:
        return frozenset()
    return frozenset(h.lower().rstrip(".") for h in (*VENDOR_HOSTS, *config.intercept_hosts))


def own_hosts(config: Config) -> OwnHosts:
    """Every name this fake answers to, from its settings: the loopback names, the bound host,
    ``public_url``'s host, ``allow_hosts``, ``tls_hosts`` and, in proxy mode, the intercepted
    hosts. Bound beyond loopback, also this machine's host
    name and any IP literal (see ``OwnHosts.any_ip``); other names (a DNS alias, a fully
    qualified name) need ``--allow-host``.

    The one place that decides it: a mode that answers to more names adds them here.
    """
    names = set(LOOPBACK_NAMES)
    bound = normal_host(config.host)
    beyond_loopback = not is_loopback(bound)
    if bound not in _WILDCARDS:
        names.add(bound)
    if config.public_url:
        public = urlsplit(config.public_url).hostname
        if public:
            names.add(normal_host(public))
    # Names given for other reasons that clients will send as Host: the server certificate's
    # extra names (--tls-host) and the proxy mode's intercepted hosts (--proxy, --intercept).
    names.update(normal_host(name) for name in (*config.allow_hosts, *config.tls_hosts))
    names.update(intercepted_hosts(config))
    if beyond_loopback:
        names.add(normal_host(socket.gethostname()))
    return OwnHosts(frozenset(names), any_ip=beyond_loopback)


def normal_host(host: str) -> str:
    """A host as compared: lower case, IPv6 brackets and a final dot removed."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".") if host not in (".", "") else host


def split_host_header(value: str) -> tuple[str, int | None]:
    """``Host`` -> (host, port or None): ``[::1]:8080``, ``localhost``, ``127.0.0.1:80``.

    A value that does not parse keeps its whole text as the host (which then matches no name).
    """
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            return value.lower(), None
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:  # no port, or an unbracketed IPv6 literal (not valid in Host, but unambiguous)
        host, port = value, ""
    if port and not (port.isascii() and port.isdigit() and int(port) <= MAX_PORT):
        return value.lower(), None
    return normal_host(host), int(port) if port else None


class Guard:
    """The two checks for one fake (its own names computed once, from its settings)."""

    def __init__(self, config: Config, hosts: OwnHosts | None = None) -> None:
        self.hosts = hosts or own_hosts(config)
        self.public_origin = _origin(config.public_url) if config.public_url else None
        #: Host values already found good (a client sends the same one every time): a set
        #: lookup instead of parsing, on the API's hot path; bounded.
        self._good: set[str] = set()

    def check_host(self, request: Incoming) -> None:
        """Refuse a ``Host`` that is not one of the fake's names (DNS rebinding).

        A request without ``Host`` (HTTP/1.0) passes: browsers always send one, so no rebound
        page can leave it out."""
        value = request.header("host")
        if not value or value in self._good:
            return
        host, _ = split_host_header(value)
        if self.hosts.allows(host):
            if len(self._good) < _GOOD_HOSTS_KEPT:
                self._good.add(value)
            return
        raise Refused(
            "ForbiddenHost", "Host",
            f"Host {_quoted(value)} is not a name of this fake ({self.hosts.describe()}): a web page "
            "may be reaching it through DNS rebinding. To serve this name, start the fake with "
            f"--allow-host {_quoted(host, bare=True)} (setting allow_hosts)",
        )

    def check_origin(self, request: Incoming, kind: str) -> None:
        """Refuse a state-changing admin call sent by a web page of another origin."""
        if kind != "admin" or request.method in SAFE_METHODS:
            return
        site = (request.header("sec-fetch-site") or "").strip().lower()
        if site in FOREIGN_FETCH_SITES:
            raise Refused(
                "ForbiddenOrigin", "Sec-Fetch-Site",
                f"Sec-Fetch-Site: {site}: the browser says a page of another site sent this "
                f"{request.method} to the admin API, which only its own pages, curl, scripts and "
                "the pytest plugin may change (they send no Sec-Fetch-Site; no setting allows other sites)",
            )
        origin = request.header("origin")
        if origin is None or self._own_origin(origin, request):
            return
        raise Refused(
            "ForbiddenOrigin", "Origin",
            f"Origin {_quoted(origin)} is not this fake's own origin ({request.base_url}): a web page "
            f"of another origin may not {request.method} to the admin API. Call it without an Origin "
            "header (curl, scripts and the pytest plugin send none), or, behind a proxy, set "
            "public_url to the address the fake's pages are served from",
        )

    def _own_origin(self, origin: str, request: Incoming) -> bool:
        theirs = _origin(origin)
        return theirs is not None and theirs in (_origin(request.base_url), self.public_origin)


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL; None for ``null`` or anything unreadable."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or port == 0:  # :0 is no origin, not the default port
        return None
    return scheme, normal_host(parts.hostname), (443 if scheme == "https" else 80) if port is None else port


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, as given to ``--host``) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _quoted(text: str, *, bare: bool = False) -> str:
    """A header value fit to quote in a message: bounded, control characters escaped."""
    short = text[:_QUOTED_CHARS].encode("unicode_escape").decode("ascii") + ("..." if len(text) > _QUOTED_CHARS else "")
    return short if bare else f"'{short}'"


__all__ = ["Guard", "OwnHosts", "Refused", "is_loopback", "normal_host", "own_hosts", "split_host_header"]
