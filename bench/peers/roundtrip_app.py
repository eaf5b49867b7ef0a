"""Bench only: the unshared workers of ``unshared_app.py`` plus one Redis round trip per request,
through the fake's own batcher (``mockserver/storage/batch.py``), in one of two kinds:

- ``ping``: a ``PING`` and nothing else. Not one fake: it shares nothing, encodes nothing and
  runs no script. It is the floor of every design that keeps issue 17's "one round trip per
  request on the hot path": whatever the shared fake stores, it cannot be cheaper than this.
- ``writes``: the fake's own script call (``storage/redis_unit.py``'s ``Session.call``) with the
  steps a submit sends, a task and a journal entry, whose JSON was encoded once at start (only
  the task ID is new per request). Still not one fake (the answer comes from the worker's own
  memory), but Redis does all it does for a real submit: the floor of storing what the fake
  stores with encoding at no cost, i.e. what any faster encoder or leaner Python could reach.

``bench_redis_cost.py`` measures both beside the real thing.

    python bench/peers/roundtrip_app.py PORT [ping|writes]   (starts its own redis-server on a unix socket)
"""

from __future__ import annotations

import itertools
import json
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
from mockserver.storage.redis_unit import Session, Step

URL_ENV, KIND_ENV = "BGMOCK_BENCH_REDIS", "BGMOCK_BENCH_KIND"
SUBMIT = "/ai/image/background/generation/scenario"
SAMPLE_ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": "800", "height": "800",
               "imageNum": "2"}
KINDS = ("ping", "writes")


def _ping(url: str) -> Callable[[], object]:
    batcher = Batcher(redis.Redis.from_url(url))
    return lambda: batcher.run([("PING",)])


def _writes(url: str) -> Callable[[], object]:
    """A submit's script call, its steps captured from one real submit (a task and its journal
    entry, URL input), so their JSON is encoded once; each call stores a task under a new ID."""
    from mockserver.api import Backend
    from mockserver.config import Config
    from mockserver.dispatch import Dispatcher
    from mockserver.http import Incoming

    dispatcher = Dispatcher(Backend(Config(state=url, log_requests=False)))
    session: Session = dispatcher.backend.store.tasks.s  # type: ignore[attr-defined]
    captured: list[list[Step]] = []
    session.call = lambda steps, expected: captured.append(list(steps)) or [1] * len(steps)  # type: ignore[method-assign]
    body = json.dumps({"requestParams": json.dumps([SAMPLE_ITEM])}).encode()
    dispatcher.handle(Incoming.build("POST", SUBMIT, headers={"Content-Type": "application/json"}, body=body))
    del session.call  # the class's own again
    (task_step, *rest), numbers = captured[-1], itertools.count()
    version = session.read().version  # checked by every call, as a warm fake's optimistic unit does

    def call() -> object:
        task_id = f"t{os.getpid()}-{next(numbers)}"
        step = task_step._replace(keys=[session.key("task", task_id), *task_step.keys[1:]],
                                  args=[task_id, *task_step.args[1:]])
        return session.call([step, *rest], version or b"-")

    return call


def app() -> Callable[..., Iterable[bytes]]:
    """granian's factory: the unshared fake, each request preceded by one round trip."""
    from unshared_app import app as unshared  # this folder is on PYTHONPATH

    url = os.environ[URL_ENV]
    inner, round_trip = unshared(), (_writes if os.environ.get(KIND_ENV) == "writes" else _ping)(url)

    def with_round_trip(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        round_trip()
        return inner(environ, start_response)

    return with_round_trip


def main(port: int, kind: str = "ping") -> None:
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
            env = {**os.environ, URL_ENV: f"unix://{sock}", KIND_ENV: kind, "PYTHONPATH": str(here)}
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
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] not in KINDS):
        sys.exit(f"usage: roundtrip_app.py PORT [{'|'.join(KINDS)}]")
    main(int(sys.argv[1]), *sys.argv[2:])
