"""The live server: a Flask app whose only view hands each request to the dispatcher.

Routing, checks and envelopes live in ``dispatch.py`` so the in-process mode behaves the same;
this module only converts between WSGI and ``Incoming``/``Reply`` and acts out transport
faults on the real socket.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from .backend import Backend
from .config import Config
from .dispatch import Dispatcher
from .errors import ApiError, GatewayError
from .http import Incoming, Reply
from .transport import drop_connection, html_page, malformed_body, read_body

log = logging.getLogger("bgmock")

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


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

    def view(path: str = "") -> Response:
        body = read_body(request.stream, request.content_length, backend.config.max_body_bytes)
        incoming = Incoming(
            method=request.method,
            path=request.path,
            query={k: v for k, v in request.args.items()},
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            base_url=request.host_url.rstrip("/"),
        )
        return to_response(dispatcher.handle(incoming), backend.config)

    # No redirects from Flask's router ("//x" -> "/x" is a 308 with an HTML body, and routing
    # redirects bypass error handlers): every path goes to the dispatcher as it came.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.add_url_rule("/", "bgmock", view, methods=ALL_METHODS)
    app.add_url_rule("/<path:path>", "bgmock_path", view, methods=ALL_METHODS)

    def missed(error: HTTPException) -> Response:
        """Flask's catch-all rule missed (a path with a newline, a method like PROPFIND): the
        dispatcher answers anyway, so these get the gateway envelope too, never Flask's HTML page."""
        if isinstance(error, (NotFound, MethodNotAllowed)):
            return view()
        status, body = dispatcher.envelopes.gateway_error(GatewayError("InvalidApiPath", error.description))
        return to_response(Reply.json(body, status=error.code or status), backend.config)

    def crashed(error: Exception) -> Response:
        """A bug outside the dispatcher's own safety net still answers the 500 envelope, not HTML."""
        log.error("bgmock: internal error on %s %s", request.method, request.path, exc_info=error)
        body = dispatcher.envelopes.business_error(ApiError(500, "internal error in bgmock"))
        return to_response(Reply.json(body), backend.config)

    app.register_error_handler(HTTPException, missed)
    app.register_error_handler(Exception, crashed)
    return app


def to_response(reply: Reply, config: Config) -> Response:
    """A Flask response for a reply, acting out transport faults on the connection."""
    if reply.delay_ms:
        time.sleep(reply.delay_ms / 1000)
    if reply.transport:
        return _transport_fault(reply, config)
    response = Response(reply.body, status=reply.status, content_type=reply.content_type)
    for name, value in reply.headers.items():
        response.headers[name] = value
    return response


def _socket() -> socket.socket | None:
    env = request.environ
    sock = env.get("werkzeug.socket") or env.get("gunicorn.socket")
    return sock if isinstance(sock, socket.socket) else None


def _transport_fault(reply: Reply, config: Config) -> Response:
    kind = reply.transport or ""
    if kind.startswith("http5"):
        status = int(kind[4:])
        return Response(html_page(status), status=status, content_type="text/html; charset=utf-8")
    if kind == "malformed":
        return Response(malformed_body(), status=200, content_type="application/json")
    if kind == "truncated":
        full = reply.body or malformed_body(complete=True)  # the real answer, cut short or slow
        response = Response(full[: len(full) // 2], status=200, content_type="application/json")
        response.headers["Content-Length"] = str(len(full))
        response.headers["Connection"] = "close"
        response.direct_passthrough = True
        return response
    if kind == "dribble":
        full = reply.body or malformed_body(complete=True)  # the real answer, cut short or slow

        def slowly() -> Iterator[bytes]:
            pause = config_dribble_pause(config, len(full))
            for i in range(len(full)):
                time.sleep(pause)
                yield full[i : i + 1]

        response = Response(slowly(), status=200, content_type="application/json")
        response.headers["Content-Length"] = str(len(full))
        return response
    if kind == "timeout":
        time.sleep(config.hang_s)
    sock = _socket()
    if sock is not None:  # reset and timeout: a TCP reset; empty: an orderly close with no answer
        drop_connection(sock, reset=kind in ("reset", "timeout"))
    response = Response(b"", status=502)
    response.headers["Connection"] = "close"
    return response


def config_dribble_pause(config: Config, size: int) -> float:
    """Seconds between bytes so the whole body takes ``dribble_s``."""
    return config.dribble_s / max(size, 1)
