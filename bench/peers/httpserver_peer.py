"""Peer: pytest-httpserver (werkzeug) answering the fixed sample JSON, as a test would set it up.

Run as ``python bench/peers/httpserver_peer.py PORT``; stops on SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading

from flask_bare import SAMPLE
from pytest_httpserver import HTTPServer


def main() -> None:
    server = HTTPServer(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)  # unthreaded: one client at a time
    server.expect_request("/ai/image/background/generation/scenario", method="POST").respond_with_json(
        json.loads(SAMPLE)
    )
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    server.stop()


if __name__ == "__main__":
    main()
