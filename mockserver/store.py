"""Where a backend keeps its state. Memory by default; the interface is what a shared store
(SQLite for several worker processes, Redis for several machines) implements.

Every method is one atomic step, so a store shared between processes only needs one lock or
one transaction per call. Everything is bounded: tasks by count and age, the journal by count,
a shared store's product photos by bytes.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from .clock import ClockCell
from .faults import FaultRule
from .ratelimit import Bucket, refill
from .tasks import Task

#: Rate-limit buckets kept at most (least recently used go first; a forgotten bucket is full).
MAX_BUCKETS = 10_000


class Store(Protocol):
    """The state operations a backend needs; each is atomic.

    ``put_product``/``get_product`` hold submitted product photos for the processes that did not
    take the submit but may draw its result images; a store of one process keeps none.
    """

    def put_task(self, task: Task, now: float) -> None: ...
    def get_task(self, task_id: str, now: float, *, poll: bool = False) -> Task | None: ...
    def list_tasks(self, now: float, limit: int) -> list[Task]: ...
    def put_product(self, task_id: str, index: int, data: bytes) -> None: ...
    def get_product(self, task_id: str, index: int) -> bytes | None: ...
    def add_rule(self, rule: FaultRule) -> None: ...
    def list_rules(self) -> list[FaultRule]: ...
    def delete_rules(self, rule_id: str | None = None) -> int: ...
    def fire_rule(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], draw: Callable[[], float]
    ) -> FaultRule | None: ...
    def record(self, entry: dict[str, Any]) -> None: ...
    def journal(self, limit: int | None = None) -> list[dict[str, Any]]: ...
    def stats(self, now: float | None = None) -> dict[str, int]: ...
    def clear(self) -> None: ...
    def next_id(self, name: str) -> int: ...
    def install_startup_rules(self, rules: Sequence[FaultRule]) -> None: ...
    def take_tokens(self, buckets: Sequence[Bucket], now: float) -> int | None: ...
    def clock_cell(self) -> ClockCell | None: ...


class MemoryStore:
    """State of one process, guarded by one lock."""

    def __init__(self, *, max_tasks: int, task_ttl_s: float, journal_size: int) -> None:
        self.max_tasks = max_tasks
        self.task_ttl_s = task_ttl_s
        self._lock = threading.Lock()
        self._tasks: OrderedDict[str, Task] = OrderedDict()
        self._rules: list[FaultRule] = []
        self._journal: deque[dict[str, Any]] = deque(maxlen=journal_size)
        self._evicted = 0
        self._counters: dict[str, int] = {}
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._tasks:
            oldest = next(iter(self._tasks.values()))
            if now - oldest.created <= self.task_ttl_s and len(self._tasks) <= self.max_tasks:
                break
            self._tasks.popitem(last=False)
            self._evicted += 1

    def put_task(self, task: Task, now: float) -> None:
        with self._lock:
            self._tasks[task.task_id] = task
            self._expire(now)

    def get_task(self, task_id: str, now: float, *, poll: bool = False) -> Task | None:
        with self._lock:
            self._expire(now)
            task = self._tasks.get(task_id)
            if task is None:
                return None
            if poll:
                task.polls += 1
            return copy.copy(task)

    def list_tasks(self, now: float, limit: int) -> list[Task]:
        with self._lock:
            self._expire(now)
            newest = list(reversed(self._tasks.values()))[:limit]
            return [copy.copy(task) for task in newest]

    def put_product(self, task_id: str, index: int, data: bytes) -> None:
        """Nothing to share: in one process the backend's own product cache is the only reader."""

    def get_product(self, task_id: str, index: int) -> bytes | None:
        """Never more than the backend's own product cache holds (see ``put_product``)."""
        return None

    def add_rule(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def list_rules(self) -> list[FaultRule]:
        with self._lock:
            return [copy.copy(rule) for rule in self._rules]

    def delete_rules(self, rule_id: str | None = None) -> int:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if rule_id is not None and r.id != rule_id]
            return before - len(self._rules)

    def fire_rule(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], draw: Callable[[], float]
    ) -> FaultRule | None:
        """The first rule (in creation order) that fires for this request, counters updated."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(endpoint, candidates) and rule.consider(draw()):
                    fired = copy.copy(rule)
                    if rule.exhausted:
                        self._rules.remove(rule)
                    return fired
            return None

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._journal.append(entry)

    def journal(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(reversed(self._journal))
        return entries if limit is None else entries[:limit]

    def stats(self, now: float | None = None) -> dict[str, int]:
        """Counts; with ``now``, tasks past their age are evicted first (as every read does)."""
        with self._lock:
            if now is not None:
                self._expire(now)
            return {
                "tasks": len(self._tasks), "evictedTasks": self._evicted,
                "rules": len(self._rules), "journal": len(self._journal),
            }

    def clear(self) -> None:
        with self._lock:
            self._tasks.clear()
            self._rules.clear()
            self._journal.clear()
            self._evicted = 0
            self._counters.clear()
            self._buckets.clear()

    def next_id(self, name: str) -> int:
        """1, 2, 3... per name (rule IDs); back to 1 after ``clear``."""
        with self._lock:
            self._counters[name] = value = self._counters.get(name, 0) + 1
            return value

    def install_startup_rules(self, rules: Sequence[FaultRule]) -> None:
        """A fresh memory store has no earlier start-up rules to replace: append them."""
        with self._lock:
            self._rules.extend(rules)

    def take_tokens(self, buckets: Sequence[Bucket], now: float) -> int | None:
        """Take one token from every bucket, or from none: the index of the first empty one."""
        with self._lock:
            levels = []
            for index, bucket in enumerate(buckets):
                tokens, last = self._buckets.get(bucket.key, (bucket.burst, now))
                tokens = refill(tokens, last, now, bucket.rate, bucket.burst)
                if tokens < 1.0:
                    return index
                levels.append(tokens)
            for bucket, tokens in zip(buckets, levels, strict=True):
                self._buckets[bucket.key] = (tokens - 1.0, now)
                self._buckets.move_to_end(bucket.key)
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
            return None

    def clock_cell(self) -> ClockCell | None:
        """One process: the clock keeps its own offset."""
        return None
