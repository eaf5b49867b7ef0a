"""The server behind a live fake: bgmock's own server in a background thread, on 127.0.0.1.

``mockserver.running()`` (the ``Handle`` tests and the pytest plugin hold) and the contract
kit start one; a test builds a ``LiveServer`` itself only for what a ``Handle`` does not give:
the Flask ``app`` to extend, or a port chosen in advance.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ..api import Backend
from ..config import Config
from ..http import host_port
from ..serving.app import create_app
from ..serving.httpd import ThreadedServer, make_server
from ..serving.proxy import Proxy
from ..serving.tls import Gate, server_context


class LiveServer:
    """A started server; ``url``, ``backend``, and ``stop()`` (also a context manager)."""

    def __init__(
        self, config: Config | Mapping[str, Any] | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        cfg = config if isinstance(config, Config) else Config.from_mapping(config or {})
        # No log line per request: inside a test run they would flood captured stderr (the
        # journal, ``GET /__admin/requests``, records every call). Errors are still logged.
        cfg = cfg.replace(log_requests=False) if cfg.log_requests else cfg
        self.backend = Backend(cfg)
        #: The Flask app served (a test may add its own routes to it: see app.py); its
        #: ``extensions["bgmock"]`` is the fake's WSGI host, whose dispatcher answers bgmock's paths.
        self.app = create_app(backend=self.backend)
        fake = self.app.extensions["bgmock"]
        self.dispatcher = fake.dispatcher
        # The same server as ``bgmock serve`` (keep-alive, exact transport faults).
        # The port speaks HTTP and HTTPS alike (the first byte tells), so a test switches to
        # https with a setting (``tls``) on the same session server; the proxy hook answers
        # only while the ``proxy`` setting is on.
        def current() -> Config:
            return self.backend.config

        self._server: ThreadedServer = make_server(
            host, port, self.app, refusal=fake.refusal, max_body=cfg.max_body_bytes,
            body_memory=cfg.body_memory_bytes, tls=Gate(lambda: server_context(current()), plain=True),
            proxy=Proxy(current, self.dispatcher.refuse, self.dispatcher.shown),
        )
        self.host = host
        self.port = self._server.socket.getsockname()[1]
        self.url = f"http://{host_port(host, self.port)}"
        self.tls_url = f"https://{host_port(host, self.port)}"
        # A short poll interval: stop() waits for the loop to notice, up to one interval.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="bgmock-live", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

