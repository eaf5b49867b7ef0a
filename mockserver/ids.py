"""IDs from one seedable ``random.Random``: same seed, same IDs, so runs can be replayed."""

from __future__ import annotations

import random
import threading
import uuid


class Ids:
    """Thread-safe source of task IDs, request IDs and random draws for one fake."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self._random.seed(seed)

    def _bits(self, n: int) -> int:
        with self._lock:
            return self._random.getrandbits(n)

    def task_id(self) -> str:
        """A version-4 UUID, like the reference's sample taskId."""
        return str(uuid.UUID(int=self._bits(128), version=4))

    def request_id(self) -> str:
        """30 hex digits, the length of the sample's requestId."""
        return f"{self._bits(120):030x}"

    def gateway_id(self) -> str:
        """25 hex digits, the length of the sample's request_id."""
        return f"{self._bits(100):025x}"

    def chance(self) -> float:
        """A draw in [0, 1) for probabilistic faults."""
        with self._lock:
            return self._random.random()
