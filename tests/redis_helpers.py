"""Where the Redis tests find a real Redis, and how each gets keys of its own.

The project's machines (developers' and CI's) run ``redis-server`` on 127.0.0.1:6379; these
tests use DB 13 there (``BGMOCK_TEST_REDIS`` names another URL) and a key prefix per test,
deleted afterwards.  Without a Redis they skip with a reason that says how to run them, except
under CI (``CI=true``), where a skipped Redis test would hide a storage layer nobody tested: it fails.
Never a stand-in (``fakeredis`` is not the test of a Redis store).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import NamedTuple

import pytest

URL = os.environ.get("BGMOCK_TEST_REDIS", "redis://127.0.0.1:6379/13")


def redis_or_skip() -> str:
    """The test Redis URL; skip (fail under CI) when redis-py or the server is missing."""
    try:
        import redis
    except ImportError:
        _missing("redis-py is not installed (pip install -e '.[test]')")
    try:
        redis.Redis.from_url(URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _missing(f"no Redis at {URL} ({exc}); start redis-server or set BGMOCK_TEST_REDIS=redis://HOST:PORT/DB")
    return URL


def _missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the Redis tests: {why}")
    pytest.skip(why)


def fresh_prefix() -> str:
    return f"bgmock-test:{uuid.uuid4().hex[:12]}:"


def cleaned(prefix: str) -> Iterator[str]:
    """Yield ``prefix``; afterwards delete every key under it."""
    import redis

    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.unlink(*keys)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRedis(NamedTuple):
    url: str
    start: Callable[[], None]
    stop: Callable[[], None]
    paused: Callable[[], AbstractContextManager[None]]


@contextlib.contextmanager
def own_redis_server(workdir: Path, *extra: str, tls: bool = False) -> Iterator[OwnRedis]:
    """A redis-server of our own (append-only file in ``workdir``): its URL, and functions that
    start it again, stop it, and hold it stopped (SIGSTOP: it takes connections, answers nothing).
    ``tls``: it serves TLS only (a certificate of a CA of its own, ``workdir/ca.pem``)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not on PATH")
    port = free_port()
    procs: list[subprocess.Popen] = []
    listen = ["--port", str(port)]
    if tls:
        import trustme

        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1")
        ca.cert_pem.write_to_path(str(workdir / "ca.pem"))
        leaf.private_key_and_cert_chain_pem.write_to_path(str(workdir / "redis.pem"))
        listen = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(workdir / "redis.pem"),
                  "--tls-key-file", str(workdir / "redis.pem"), "--tls-auth-clients", "no"]

    def start() -> None:
        procs.append(subprocess.Popen(
            [server, *listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(workdir), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return
            time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    def stop() -> None:
        procs[-1].terminate()
        procs[-1].wait(10)

    @contextlib.contextmanager
    def paused() -> Iterator[None]:
        procs[-1].send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            procs[-1].send_signal(signal.SIGCONT)

    start()
    try:
        yield OwnRedis(f"redis://127.0.0.1:{port}/0", start, stop, paused)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
