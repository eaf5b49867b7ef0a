"""``create_app(config)``: the fake as a Flask app, to embed, to serve, or to drive with Flask's
test client.

The app's WSGI callable is the dispatcher's lean WSGI host (``serving.WsgiApp``): every path
and method goes to ``Dispatcher.handle`` as it came, so Flask never answers with its own HTML
pages or redirects, and the Flask app, ``bgmock serve`` and the in-process mode all share one
path in and one way of acting out transport faults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from .backend import Backend
from .config import Config
from .dispatch import Dispatcher
from .serving import WsgiApp


def create_app(config: Config | Mapping[str, Any] | None = None, *, backend: Backend | None = None) -> Flask:
    """A Flask app serving one fake. ``config`` is a Config or a mapping of settings."""
    if backend is None:
        cfg = config if isinstance(config, Config) else Config.from_mapping(config or {})
        backend = Backend(cfg)
    dispatcher = Dispatcher(backend)
    app = Flask("mockserver", static_folder=None)  # nothing is served from disk: no /static route
    app.config["BGMOCK_BACKEND"] = backend
    app.config["BGMOCK_DISPATCHER"] = dispatcher
    app.extensions["bgmock"] = backend
    app.wsgi_app = WsgiApp(dispatcher)  # type: ignore[method-assign]
    return app
