"""The dashboard: ``GET /__bgmock/ui``, a page served by the fake itself (docs/dashboard.md).

Three static files ship in this package (``index.html``, ``app.js``, ``style.css``): no build
step, no CDN, nothing fetched from the internet. The page reads and drives the fake through the
documented admin API only, so it can do nothing a script could not.

Why the files are separate rather than one inline page: the answer's Content-Security-Policy
then allows scripts and styles from the fake's own origin only, never inline ones, so even a
rendering bug that put a journal entry's ``<script>`` into the DOM as markup would not run it
(the page itself only ever writes data with ``textContent``).

Files are read once, by name from a fixed table: a URL can name no other file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources

from ..answers.urls import DASHBOARD
from ..config import Config
from ..http import Reply
from ..routes.base import Context, Route

#: The files the dashboard is made of, by URL name, with their media types.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}

#: Everything from the fake's own origin; images also as blob: URLs (thumbnails fetched with the
#: admin token) and data: URLs; no inline script, no framing by other pages, no form posts.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

PATH = DASHBOARD


@functools.lru_cache(maxsize=len(FILES))
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def _reply(name: str) -> Reply:
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return Reply(body=_read(name), content_type=FILES[name], headers=headers)


def _handler(name: str) -> Callable[[Context], Reply]:
    def serve(ctx: Context) -> Reply:
        return _reply(name)

    return serve


def dashboard_url(config: Config, port: int) -> str:
    """Where a person opens the dashboard, for the start-up line: ``public_url`` when set, else
    the bound address (a wildcard address shown as 127.0.0.1, which it also serves)."""
    if config.public_url:
        return config.public_url.rstrip("/") + PATH
    host = config.host if config.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    scheme = "https" if config.tls and config.tls_port is None else "http"
    return f"{scheme}://{host}:{port}{PATH}"


# kind="asset": the page loads without the admin token (it asks for it, then sends it with every
# admin call); like every route it is still refused under a Host that is not the fake's.
# One fixed route per file (the page at /__bgmock/ui, its script and style beside it).
ROUTES: list[Route] = [
    Route(PATH if name == "index.html" else f"{PATH}/{name}", ("GET",), "dashboard_" + name.replace(".", "_"),
          _handler(name), kind="asset")
    for name in FILES
]
