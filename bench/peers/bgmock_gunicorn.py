"""Peer for choosing the server: bgmock's WSGI app (shared state in Redis) on gunicorn's sync workers.

``bench/bench_throughput.py`` runs it beside ``bgmock serve --workers 2`` (granian), with the
same app and store, so the difference between the two rows is the server's.  The Redis URL
comes from $BGMOCK_BENCH_STATE (the bench starts a private redis-server for it).
"""

from __future__ import annotations

import os

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.serving.wsgi import WsgiApp


def app():  # noqa: ANN201 - gunicorn factory ("bgmock_gunicorn:app()")
    config = Config(state=os.environ["BGMOCK_BENCH_STATE"], log_requests=False)
    return WsgiApp(Dispatcher(Backend(config, apply_startup_rules=False)), worker=str(os.getpid()))
