"""Fixtures of the Redis store tests: the machine's Redis (skipped, with how to run them, where
there is none; CI fails then) and a key prefix of the test's own, cleaned up after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis_helpers import cleaned, fresh_prefix, redis_or_skip


@pytest.fixture
def url() -> str:
    return redis_or_skip()


@pytest.fixture
def prefix(url: str) -> Iterator[str]:
    yield from cleaned(fresh_prefix())
