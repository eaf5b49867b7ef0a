"""Bench only: the unshared workers of ``unshared_app.py`` plus one Redis round trip per request
(a ``PING`` through the fake's own batcher, ``mockserver/storage/batch.py``) and nothing else.

Not one fake either: it shares nothing, encodes nothing and runs no script. It is the floor of
every design that keeps issue 17's "one round trip per request on the hot path": whatever the
shared fake stores, it cannot be cheaper than this on the same machine. ``bench_redis_cost.py``
measures it beside the real thing, so the distance between the two is what storing costs and
the distance between this and bare Flask is what the round trip alone costs.

    python bench/peers/roundtrip_app.py PORT    (starts its own redis-server on a unix socket)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import redis

from mockserver.storage.batch import Batcher

URL_ENV = "BGMOCK_BENCH_REDIS"


def app() -> Callable[..., Iterable[bytes]]:
    """granian's factory: the unshared fake, each request preceded by one round trip."""
    from unshared_app import app as unshared  # this folder is on PYTHONPATH

    inner, batcher = unshared(), Batcher(redis.Redis.from_url(os.environ[URL_ENV]))

    def with_round_trip(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        batcher.run([("PING",)])
        return inner(environ, start_response)

    return with_round_trip


def main(port: int) -> None:
    """A redis-server of its own (unix socket, nothing on disk) and granian's 2 workers, both
    children of this process (the bench counts their CPU by role); both stop with it."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="bgmock-bench-") as home:
        sock = Path(home) / "redis.sock"
        redis_server = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        granian = None
        try:
            while not sock.exists():
                time.sleep(0.01)
            env = {**os.environ, URL_ENV: f"unix://{sock}", "PYTHONPATH": str(here)}
            granian = subprocess.Popen(
                [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "2", "--blocking-threads", "8",
                 "--log-level", "critical", "--port", str(port), "--factory", "roundtrip_app:app"], env=env,
            )
            granian.wait()
        finally:
            for proc in (granian, redis_server):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(timeout=10)


if __name__ == "__main__":
    main(int(sys.argv[1]))
