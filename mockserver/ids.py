"""IDs from one seedable ``random.Random``: same seed, same IDs, so runs can be replayed."""

from __future__ import annotations

import random
import threading

#: What ``uuid.UUID(version=4)`` does to an int: variant bits 10 (RFC 4122), version nibble 4.
_UUID_KEEP = ~(0xC000 << 48) & ~(0xF000 << 64) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)


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
        """A version-4 UUID, like the reference's sample taskId.

        ``str(uuid.UUID(int=bits, version=4))`` spelled out: the same ID from the same draw,
        without the UUID object's checks (a good part of a submit's ID cost).
        """
        bits = (self._bits(128) & _UUID_KEEP) | _UUID_V4
        text = f"{bits:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

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
