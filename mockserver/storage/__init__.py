"""Where a fake keeps its state: a few repositories with one job each.

``tasks`` (with poll counts and product photos), ``rules`` (fault rules and their counters),
``journal``, ``buckets`` (rate limits), ``ids`` and the clock's ``cell``; each has a memory
implementation (one process, the default: nothing to start) and a Redis one (any number of
processes on any number of machines, one fake).  What *decides* is written once, here, as
pure functions over plain values (which rule fires, whether every bucket has a token); a
repository only makes a decision atomic: under one lock in memory, in a ``WATCH``/``MULTI``
transaction on Redis.

Bounds: tasks by count and by age on the fake's clock, the journal by count, products by bytes.
"""

from __future__ import annotations

from typing import Any

from ..config import ConfigError, without_password
from .base import Buckets, Ids, Journal, Rules, Storage, Tasks, fire_first, take_tokens
from .state_url import FORMS, REDIS_SCHEMES, is_redis_url


def open_storage(config: Any) -> Storage:
    """Memory without a ``state``; Redis for a Redis URL (checked: ``state_url.py``). A directory
    (``bgmock serve --state DIR``) is turned into the URL of a private Redis by the serve command
    (``private_redis.py``) before anything opens the storage."""
    if not config.state:
        from .memory import memory_storage

        return memory_storage(config)
    if not is_redis_url(config.state):  # a mistyped URL was told as such when the Config was built
        raise ConfigError(  # only a Python caller gets here: `bgmock serve` runs a directory on a private Redis
            f"state {without_password(config.state)}: expected a Redis URL ({FORMS}); a directory is for "
            "`bgmock serve --state DIR`, which starts a private Redis keeping its data there"
        )
    from .redis import redis_storage

    return redis_storage(config.state, config)


__all__ = [
    "REDIS_SCHEMES", "Buckets", "Ids", "Journal", "Rules", "Storage", "Tasks", "fire_first", "open_storage",
    "take_tokens",
]
