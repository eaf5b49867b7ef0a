"""Where the Redis tests find a real Redis, and how each gets keys of its own.

The project's machines (developers' and CI's) run ``redis-server`` on 127.0.0.1:6379; these
tests use DB 13 there (``BGMOCK_TEST_REDIS`` names another URL) and a key prefix per test,
deleted afterwards.  Without a Redis they skip with a reason that says how to run them, except
under CI (``CI=true``), where a skipped Redis test would hide a storage layer nobody tested: it fails.
Never a stand-in (``fakeredis`` is not the test of a Redis store).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

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
