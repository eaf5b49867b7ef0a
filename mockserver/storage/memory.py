"""The repositories in one process's memory, each under its own lock: the default, nothing to start."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..faults.rules import FaultRule
from ..ratelimit import Bucket
from ..tasks import Task
from .base import Owners, Storage, fire_first, install_startup_rules, startup_rules, take_tokens, withdraw_startup_rules

#: Rate-limit buckets kept at most (least recently used go first; a forgotten bucket is full).
MAX_BUCKETS = 10_000


class MemoryTasks:
    """Tasks bounded by count and age. Product photos: none kept here (one process draws its
    results from the backend's own product cache)."""

    def __init__(self, max_tasks: int, task_ttl_s: float) -> None:
        self.max_tasks, self.task_ttl_s = max_tasks, task_ttl_s
        self._lock = threading.Lock()
        self._tasks: OrderedDict[str, Task] = OrderedDict()
        self._evicted = 0

    def _expire(self, now: float) -> None:
        while self._tasks:
            oldest = next(iter(self._tasks.values()))
            if now - oldest.created <= self.task_ttl_s and len(self._tasks) <= self.max_tasks:
                break
            self._tasks.popitem(last=False)
            self._evicted += 1

    def put(self, task: Task, now: float) -> None:
        with self._lock:
            self._tasks[task.task_id] = task
            self._expire(now)

    def get(self, task_id: str, now: float, *, poll: bool = False) -> Task | None:
        with self._lock:
            self._expire(now)
            task = self._tasks.get(task_id)
            if task is None:
                return None
            if poll:
                task.polls += 1
            return copy.copy(task)

    def newest(self, now: float, limit: int) -> list[Task]:
        with self._lock:
            self._expire(now)
            return [copy.copy(task) for task in list(reversed(self._tasks.values()))[:limit]]

    def put_product(self, task_id: str, index: int, data: bytes) -> None:
        """Nothing to share: in one process the backend's own product cache is the only reader."""

    def product(self, task_id: str, index: int) -> bytes | None:
        return None

    def counts(self, now: float | None) -> dict[str, int]:
        with self._lock:
            if now is not None:
                self._expire(now)
            return {"tasks": len(self._tasks), "evictedTasks": self._evicted}

    def clear(self) -> None:
        with self._lock:
            self._tasks.clear()
            self._evicted = 0


class MemoryRules:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._owners: Owners = {}  # the start-up rules' owners (one process: its Backends)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def install_startup(self, rules: Sequence[FaultRule], owner: str) -> list[FaultRule]:
        with self._lock:
            self._rules, self._owners, replaced = install_startup_rules(self._rules, self._owners, rules, owner)
            return replaced

    def withdraw_startup(self, owner: str) -> list[FaultRule]:
        with self._lock:
            self._rules, self._owners, withdrawn = withdraw_startup_rules(self._rules, self._owners, owner)
            return withdrawn

    def startup(self) -> tuple[list[FaultRule], tuple[str, ...]]:
        with self._lock:
            return startup_rules(self._rules, self._owners)

    def all(self) -> list[FaultRule]:
        with self._lock:
            return [copy.copy(rule) for rule in self._rules]

    def delete(self, rule_id: str | None = None) -> int:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if rule_id is not None and r.id != rule_id]
            self._owners = {rule.id: self._owners[rule.id] for rule in self._rules if rule.id in self._owners}
            return before - len(self._rules)

    def fire(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], draw: Callable[[], float]
    ) -> FaultRule | None:
        with self._lock:
            fired = fire_first(self._rules, endpoint, candidates, draw)
            if fired is None:
                return None
            if fired.exhausted:  # removed: its owners go with it
                self._owners.pop(fired.id, None)
            return copy.copy(fired)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._owners.clear()


class MemoryJournal:
    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def newest(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(reversed(self._entries))
        return entries if limit is None else entries[:limit]

    def count(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class MemoryBuckets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, buckets: Sequence[Bucket], now: float) -> int | None:
        with self._lock:
            after = take_tokens(buckets, [self._levels.get(b.key) for b in buckets], now)
            if isinstance(after, int):
                return after
            for bucket, tokens in zip(buckets, after, strict=True):
                self._levels[bucket.key] = (tokens, now)
                self._levels.move_to_end(bucket.key)
            while len(self._levels) > MAX_BUCKETS:
                self._levels.popitem(last=False)
            return None

    def clear(self) -> None:
        with self._lock:
            self._levels.clear()


class MemoryIds:
    """1, 2, 3... per name (rule IDs); back to 1 after ``clear``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._starts = 0

    def next(self, name: str) -> int:
        with self._lock:
            self._counters[name] = value = self._counters.get(name, 0) + 1
            return value

    def start(self) -> int:
        """Never cleared (one process: only read if a seed is mixed, which memory does not do)."""
        with self._lock:
            self._starts += 1
            return self._starts

    def clear(self) -> None:
        with self._lock:
            self._counters.clear()


def memory_storage(config: Any) -> Storage:
    return Storage(
        tasks=MemoryTasks(config.max_tasks, config.task_ttl_s), rules=MemoryRules(),
        journal=MemoryJournal(config.journal_size), buckets=MemoryBuckets(), ids=MemoryIds(),
    )
