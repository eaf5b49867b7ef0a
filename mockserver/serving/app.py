"""``create_app(config)``: the fake as a real Flask app, to embed, to extend with your own
routes, to serve, or to drive with Flask's test client.

Why a real Flask app and not only a WSGI callable: users extend fakes (a sibling API the
client also calls, a test-only endpoint), and Flask is how Python people do that. So the
app is genuinely Flask's, with one rule on top: **bgmock's routes first**.

- A path in bgmock's route table (``routes/``) is answered by the one dispatcher through the
  same WSGI host ``bgmock serve`` runs (``serving.WsgiApp``): the same envelopes, journal,
  Host/Origin guard and transport faults, whatever the user registered. Flask never sees
  these requests, so Flask's hooks (``before_request``, ``after_request``, error handlers)
  apply to the user's routes only, and a user's hook cannot change the fake's contract answers.
- Any other path that one of the user's rules matches (``@app.route``, a blueprint) goes to
  Flask's own ``wsgi_app``: hooks, error handlers, sessions, all of it. Such requests must
  still name the fake in ``Host`` (the DNS rebinding defence covers every path); the Origin
  check stays bgmock's admin API's (``origin.py``), the user's routes are theirs to guard.
- A path nobody matches is the dispatcher's again: the gateway's ``InvalidApiPath`` 404
  envelope, journaled, as from ``bgmock serve`` (never Flask's HTML 404).

A user's rule whose literal path bgmock already serves would never be reached, so
registering one raises ``ValueError`` instead of silently doing nothing.

``app.extensions["bgmock"]`` is the fake's WSGI host (``.dispatcher``, ``.backend``,
``.config``): what this app sends bgmock's requests to, what ``live.py`` serves it with,
and how a user's view reaches the fake (``current_app.extensions["bgmock"].backend``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from ..api import Backend
from ..config import Config
from ..dispatch import Dispatcher
from ..http import Incoming
from ..origin import Refused
from .wsgi import StartResponse, WsgiApp

#: How many paths, and how long, ``FakeApp`` remembers as bgmock's or not (bounded work and memory).
_MEMO_PATHS = 1024
_MEMO_PATH = 256


class FakeApp(Flask):
    """A Flask app whose requests go to bgmock's dispatcher first (see the module docstring)."""

    #: Set by the first ``add_url_rule``: until the user adds a route, every request is bgmock's
    #: and the app costs one attribute read over ``serving.WsgiApp``.
    _user_routes = False

    def __init__(self, host: WsgiApp) -> None:
        super().__init__("mockserver", static_folder=None)  # nothing served from disk: no /static
        self.extensions["bgmock"] = host
        self._owned: dict[str, bool] = {}

    def add_url_rule(self, rule: str, *args: Any, **kwargs: Any) -> None:
        """Flask's ``add_url_rule`` (``@app.route`` and blueprints end here), refusing a literal
        path bgmock serves: bgmock's routes come first, so that view could never be reached."""
        if "<" not in rule and self._bgmock_owns(rule):
            raise ValueError(
                f"{rule!r} is one of bgmock's own paths: bgmock's routes are answered before Flask's, "
                "so this view would never run; register it under another path"
            )
        self._user_routes = True
        super().add_url_rule(rule, *args, **kwargs)

    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """bgmock's paths to the dispatcher, the user's to Flask, the rest to the dispatcher's 404."""
        host: WsgiApp = self.extensions["bgmock"]
        if self._user_routes and self._to_flask(host, environ):
            return super().wsgi_app(environ, start_response)
        return host(environ, start_response)

    # -- who answers -----------------------------------------------------------------------
    def _to_flask(self, host: WsgiApp, environ: dict[str, Any]) -> bool:
        path = environ.get("PATH_INFO") or "/"
        if not path.isascii():  # decided on the path the dispatcher matches (as WsgiApp.incoming reads it)
            path = path.encode("latin-1").decode("utf-8", "replace")
        if self._bgmock_owns(path, host):
            return False
        if not self._host_allowed(host, environ):
            return False  # the dispatcher refuses it (403 ForbiddenHost) and journals it
        return self._flask_matches(environ)

    def _bgmock_owns(self, path: str, host: WsgiApp | None = None) -> bool:
        """Whether bgmock's route table has ``path`` (for any method: a wrong method is bgmock's 405).

        Remembered per path (the table never changes), for short paths and a bounded number of
        them: the user's paths skip werkzeug's miss (~15 µs), bgmock's its match."""
        known = self._owned.get(path)
        if known is not None:
            return known
        host = host or self.extensions["bgmock"]
        try:
            host.dispatcher.url_map.bind("fake", url_scheme="http").match(path, method="GET")
            owned = True
        except MethodNotAllowed:  # bgmock's, for other methods (the submit paths are POST only)
            owned = True
        except (NotFound, RequestRedirect):
            owned = False
        if len(path) <= _MEMO_PATH and len(self._owned) < _MEMO_PATHS:
            self._owned[path] = owned
        return owned

    @staticmethod
    def _host_allowed(host: WsgiApp, environ: dict[str, Any]) -> bool:
        guard = host.dispatcher.guard
        if guard is None:
            return True
        try:
            guard.check_host(Incoming("GET", "/", {}, {"host": environ.get("HTTP_HOST", "")}, b""))
        except Refused:
            return False
        return True

    def _flask_matches(self, environ: dict[str, Any]) -> bool:
        """Whether one of the user's rules takes the request, by Flask's own URL adapter (so
        SERVER_NAME, subdomains and host matching mean what Flask says). A wrong method or a
        slash redirect on the user's path is Flask's answer to give."""
        try:
            adapter = self.create_url_adapter(self.request_class(environ))
            if adapter is None:
                return False
            adapter.match()
        except NotFound:
            return False
        except HTTPException:  # MethodNotAllowed, RequestRedirect, an untrusted host (TRUSTED_HOSTS)
            return True
        return True


def create_app(config: Config | Mapping[str, Any] | None = None, *, backend: Backend | None = None) -> FakeApp:
    """A Flask app serving one fake. ``config`` is a Config or a mapping of settings."""
    if backend is None:
        cfg = config if isinstance(config, Config) else Config.from_mapping(config or {})
        backend = Backend(cfg)
    return FakeApp(WsgiApp(Dispatcher(backend)))


__all__ = ["FakeApp", "create_app"]
