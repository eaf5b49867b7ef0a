"""The repositories' protocols, the ``Storage`` that holds them, and the decisions written once
(which rule fires, whether every bucket has a token) as pure functions over plain values.

Its own module so that the implementations (``memory.py``, ``redis.py``) import it, not the
package that chooses between them (``open_storage`` imports them, lazily).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from ..clock import ClockCell
from ..faults.rules import FaultRule, same_rules
from ..ratelimit import Bucket, refill
from ..tasks import Task


class Tasks(Protocol):
    def put(self, task: Task, now: float) -> None: ...
    def get(self, task_id: str, now: float, *, poll: bool = False) -> Task | None: ...
    def newest(self, now: float, limit: int) -> list[Task]: ...
    def put_product(self, task_id: str, index: int, data: bytes) -> None: ...
    def product(self, task_id: str, index: int) -> bytes | None: ...
    def counts(self, now: float | None) -> dict[str, int]: ...
    def clear(self) -> None: ...


class Rules(Protocol):
    def add(self, rule: FaultRule) -> None: ...
    def install_startup(self, rules: Sequence[FaultRule], owner: str) -> list[FaultRule]: ...
    def withdraw_startup(self, owner: str) -> list[FaultRule]: ...
    def startup(self) -> tuple[list[FaultRule], tuple[str, ...]]: ...
    def all(self) -> list[FaultRule]: ...
    def delete(self, rule_id: str | None = None) -> int: ...
    def fire(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], draw: Callable[[], float]
    ) -> FaultRule | None: ...
    def clear(self) -> None: ...


class Journal(Protocol):
    def append(self, entry: dict[str, Any]) -> None: ...
    def newest(self, limit: int | None = None) -> list[dict[str, Any]]: ...
    def count(self) -> int: ...
    def clear(self) -> None: ...


class Buckets(Protocol):
    def take(self, buckets: Sequence[Bucket], now: float) -> int | None: ...
    def clear(self) -> None: ...


class Ids(Protocol):
    def next(self, name: str) -> int: ...
    def start(self) -> int: ...  # a number no earlier start or reset on this store got; never cleared
    def clear(self) -> None: ...


class Stale(BaseException):
    """A request's view of the rules or the clock changed before its writes: nothing was written,
    and the request is answered once more on fresh state (``Dispatcher.handle``).

    A ``BaseException`` on purpose, like ``GeneratorExit``: it must pass through every
    ``except Exception`` that turns a request's failure into an answer, to the one place that
    runs the request again."""


def no_unit(*, fresh: bool = False) -> AbstractContextManager[None]:
    """The unit of work of an engine that needs none (memory: every step is atomic at once)."""
    return nullcontext()


@dataclass
class Storage:
    """One fake's repositories. ``cell`` is None for memory: the clock then keeps its own time.

    ``unavailable``: what the engine raises while it is down or too slow; the dispatcher answers
    those with the API's own 500 ``system error``. ``engine``: named in ``/__admin/health``.
    """

    tasks: Tasks
    rules: Rules
    journal: Journal
    buckets: Buckets
    ids: Ids
    cell: ClockCell | None = None
    engine: str | None = None
    unavailable: tuple[type[BaseException], ...] = ()
    #: ``with storage.unit():`` around one request: a networked engine sends what the request
    #: writes in one round trip at its end (``redis_unit.py``), and may raise ``Stale`` then.
    unit: Callable[..., AbstractContextManager[None]] = no_unit
    #: Within a unit: whether the request has read or changed state yet. Before its journal entry,
    #: False means its answer needed no state (an unknown path, a bad content type): a store that
    #: is down then loses the entry, not the answer (``Dispatcher.handle``). Memory: always True
    #: (it is never down).
    touched: Callable[[], bool] = lambda: True
    #: Within a unit: the request met this outage (one of ``unavailable``): nothing else in it
    #: waits on the engine again, each later call raises it at once (its answer is the 500 and
    #: its journal entry is lost either way). Memory: nothing to do (it is never down).
    met: Callable[[BaseException], None] = lambda exc: None
    #: The engine's own figures for ``/__admin/health`` (Redis: its used memory).
    engine_info: Callable[[], dict[str, Any]] = dict

    @property
    def shared(self) -> bool:
        return self.cell is not None

    def stats(self, now: float | None = None) -> dict[str, int]:
        return {
            **self.tasks.counts(now), "rules": len(self.rules.all()), "journal": self.journal.count(),
            **self.engine_info(),
        }

    def clear(self) -> None:
        """Forget tasks, rules, the journal, buckets and ID counters (the clock resets apart)."""
        for repository in (self.tasks, self.rules, self.journal, self.buckets, self.ids):
            repository.clear()


# -- the decisions, written once -------------------------------------------------------------
def fire_first(
    rules: list[FaultRule], endpoint: str, candidates: Sequence[Mapping[str, Any]], draw: Callable[[], float]
) -> FaultRule | None:
    """The first rule (in creation order) that fires; counters moved, a used-up rule removed.

    Edits ``rules`` in place: the repository writes back what changed, atomically."""
    for index, rule in enumerate(rules):
        if not rule.matches(endpoint, candidates):
            continue
        fired = rule.consider(draw())
        if fired and rule.exhausted:
            del rules[index]
        if fired:
            return rule
    return None


#: A start-up rule's ID -> the fakes that own it (``Backend.startup_owner``); a rule not in it
#: was programmed (``POST /__admin/faults``) and is nobody's.
Owners = dict[str, tuple[str, ...]]


def install_startup_rules(
    rules: Sequence[FaultRule], owners: Mapping[str, tuple[str, ...]], fresh: Sequence[FaultRule], owner: str
) -> tuple[list[FaultRule], Owners, list[FaultRule]]:
    """A start's (or a reset's) start-up rules ``fresh``, installed as ``owner``'s: (the rules,
    their owners, the start-up rules replaced). Fakes on one store share one set of start-up
    rules: when those stored do what ``fresh`` does (``same_rules``), they stay, with their
    counters (a ``times: 2`` fires twice in all), and ``owner`` joins their owners; otherwise
    ``fresh`` replaces them, ``owner`` their only owner. Programmed rules stay either way."""
    startup = [rule for rule in rules if rule.id in owners]
    if same_rules(startup, fresh):
        return list(rules), {rule.id: _with(owners[rule.id], owner) for rule in startup}, []
    kept = [rule for rule in rules if rule.id not in owners]
    return [*fresh, *kept], {rule.id: (owner,) for rule in fresh}, startup


def withdraw_startup_rules(
    rules: Sequence[FaultRule], owners: Mapping[str, tuple[str, ...]], owner: str
) -> tuple[list[FaultRule], Owners, list[FaultRule]]:
    """``owner`` (a stopping fake) taken off the start-up rules' owners: (the rules, their
    owners, the rules deleted). A rule is deleted when its last owner leaves: a sibling that
    installed the same rules keeps them in force."""
    left = {rule.id: tuple(who for who in owners[rule.id] if who != owner) for rule in rules if rule.id in owners}
    deleted = [rule for rule in rules if left.get(rule.id) == ()]
    return [rule for rule in rules if left.get(rule.id) != ()], {k: who for k, who in left.items() if who}, deleted


def startup_rules(
    rules: Sequence[FaultRule], owners: Mapping[str, tuple[str, ...]]
) -> tuple[list[FaultRule], tuple[str, ...]]:
    """The start-up rules among ``rules``, and every fake that owns them."""
    startup = [rule for rule in rules if rule.id in owners]
    return startup, tuple(dict.fromkeys(who for rule in startup for who in owners[rule.id]))


def _with(owners: tuple[str, ...], owner: str) -> tuple[str, ...]:
    return owners if owner in owners else (*owners, owner)


def take_tokens(
    buckets: Sequence[Bucket], levels: Sequence[tuple[float, float] | None], now: float
) -> int | list[float]:
    """One token from every bucket, or none: the index of the first empty bucket, or the new
    token counts. ``levels`` holds each bucket's (tokens, last) as stored, None for a new one."""
    after = []
    for index, (bucket, level) in enumerate(zip(buckets, levels, strict=True)):
        tokens, last = level if level is not None else (bucket.burst, now)
        tokens = refill(tokens, last, now, bucket.rate, bucket.burst)
        if tokens < 1.0:
            return index
        after.append(tokens - 1.0)
    return after
