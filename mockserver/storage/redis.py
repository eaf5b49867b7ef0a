"""The repositories on Redis: any number of fakes on one Redis and one key prefix are one fake.

Storage steps that decide nothing (add a task and forget the oldest, append and trim the
journal, bound product bytes) are steps of the one script ``redis.lua``: atomic, and all the
steps of one request in one call (``redis_unit.py``: the unit of work).  Decisions (does a rule
fire, is there a token) run the pure functions of ``storage/base.py`` inside an optimistic
transaction: ``WATCH`` the keys, read, decide, write in ``MULTI``/``EXEC``; when another fake
changed the keys meanwhile, ``EXEC`` fails and the step runs again on fresh state, so no counter
is lost or doubled.  Keys are ``PREFIX`` + a name; task and product keys are built inside the
script, so Redis Cluster is not supported (one Redis, or a replicated pair).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from ..faults.rules import FaultRule
from ..ratelimit import Bucket
from ..tasks import Task
from .base import Owners, Storage, fire_first, install_startup_rules, startup_rules, take_tokens, withdraw_startup_rules
from .redis_connect import OUTAGES, connect
from .redis_unit import Session, Step

#: The longest the call a fake makes as it stops (``RedisRules.withdraw_startup``) waits for
#: Redis, below ``state_timeout_s``: the stop's whole grace (``lifecycle.STOP_GRACE_S``) is 4 s.
STOP_CALL_S = 1.0

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _values(obj: Any, *, skip: str = "") -> dict[str, Any]:
    """A dataclass's fields as a shallow dict (``dataclasses.asdict`` deep-copies)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj) if f.name != skip}


class _Repository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def key(self, *parts: str) -> str:
        return self.s.key(*parts)

    def unlink(self, *names: str) -> None:
        self.s.direct().unlink(*(self.key(name) for name in names))


class RedisTasks(_Repository):
    def __init__(self, session: Session, config: Any) -> None:
        super().__init__(session)
        self.max_tasks, self.task_ttl_s = config.max_tasks, config.task_ttl_s
        self.product_bytes = config.product_cache_bytes
        # Redis's own expiry in real seconds: a backstop behind the age check on the fake's clock.
        self.ttl = int(self.task_ttl_s) + 1

    def _expire(self, now: float) -> Step:
        return Step("expire", [self.key("tasks"), self.key("evicted")],
                    [repr(now - self.task_ttl_s), self.max_tasks, self.key("task", "")])

    def put(self, task: Task, now: float) -> None:
        expire = self._expire(now)
        self.s.write(Step(
            "task", [self.key("task", task.task_id), *expire.keys],
            [task.task_id, _JSON.encode(_values(task, skip="polls")), repr(task.created), self.ttl, *expire.args],
        ))

    def _task(self, row: Sequence[Any], now: float) -> Task | None:
        task = Task(**json.loads(row[0]), polls=int(row[1]))
        return task if now - task.created <= self.task_ttl_s else None

    def get(self, task_id: str, now: float, *, poll: bool = False) -> Task | None:
        row = self.s.now(Step("get", [self.key("task", task_id)], ["1" if poll else "0"]))
        return self._task(row, now) if row else None

    def newest(self, now: float, limit: int) -> list[Task]:
        self.s.now(self._expire(now))
        client = self.s.direct()
        ids = client.zrevrange(self.key("tasks"), 0, limit - 1) if limit > 0 else []
        with client.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hmget(self.key("task", task_id.decode()), "json", "polls")
            rows = pipe.execute()
        return [task for row in rows if row[0] is not None and (task := self._task(row, now))]

    def put_product(self, task_id: str, index: int, data: bytes) -> None:
        """Written with the task, before it (one script call): whoever sees the task finds it."""
        if len(data) > self.product_bytes:
            return
        name = f"{task_id}:{index}"
        self.s.write(Step(
            "product", [self.key("product", name), self.key("products"), self.key("productbytes")],
            [name, data, self.product_bytes, self.ttl, self.key("product", "")],
        ))

    def product(self, task_id: str, index: int) -> bytes | None:
        return self.s.direct().get(self.key("product", f"{task_id}:{index}"))

    def counts(self, now: float | None) -> dict[str, int]:
        if now is not None:
            self.s.now(self._expire(now))
        client = self.s.direct()
        tasks, evicted = client.zcard(self.key("tasks")), client.get(self.key("evicted"))
        return {"tasks": int(tasks), "evictedTasks": int(evicted or 0)}

    def clear(self) -> None:
        client = self.s.direct()
        for pattern in ("task:*", "product:*"):
            batch = list(client.scan_iter(match=_glob(self.key()) + pattern, count=1000))
            for start in range(0, len(batch), 1000):
                client.unlink(*batch[start:start + 1000])
        self.unlink("tasks", "evicted", "products", "productbytes", "productbytes:seq")


class RedisRules(_Repository):
    """Every rule of the fake as one JSON list, changed only inside a transaction."""

    def _stored(self, reader: Any) -> list[dict[str, Any]]:
        raw = reader.get(self.key("rules"))
        return json.loads(raw) if raw else []

    def _change(self, edit: Callable[[list[dict[str, Any]]], Any], *, within: float | None = None) -> Any:
        def step(pipe: Any) -> Any:
            stored = self._stored(pipe)
            before = _JSON.encode(stored)
            result = edit(stored)
            pipe.multi()
            if _JSON.encode(stored) != before:
                pipe.set(self.key("rules"), _JSON.encode(stored))
                self.s.changed(pipe)
            return result

        return self.s.transact([self.key("rules")], step, within=within)

    def add(self, rule: FaultRule) -> None:
        self._change(lambda stored: stored.append(_values(rule)))

    def install_startup(self, rules: Sequence[FaultRule], owner: str) -> list[FaultRule]:
        """``base.install_startup_rules``, atomically; returns the start-up rules replaced."""
        def edit(stored: list[dict[str, Any]]) -> list[FaultRule]:
            kept, owners, replaced = install_startup_rules(*_decoded(stored), rules, owner)
            stored[:] = _encoded(kept, owners)
            return replaced

        return self._change(edit)

    def withdraw_startup(self, owner: str) -> list[FaultRule]:
        """``base.withdraw_startup_rules``, atomically; returns the rules deleted. Called as a fake
        stops: bounded to ``STOP_CALL_S`` (a Redis away must not hold the stop up)."""
        def edit(stored: list[dict[str, Any]]) -> list[FaultRule]:
            kept, owners, deleted = withdraw_startup_rules(*_decoded(stored), owner)
            stored[:] = _encoded(kept, owners)
            return deleted

        return self._change(edit, within=STOP_CALL_S)

    def startup(self) -> tuple[list[FaultRule], tuple[str, ...]]:
        return startup_rules(*_decoded(self._stored(self.s.direct())))

    def all(self) -> list[FaultRule]:
        """The rules of this request's view (``redis_unit.py``)."""
        raw = self.s.view().rules
        return [_rule(data) for data in json.loads(raw)] if raw else []

    def delete(self, rule_id: str | None = None) -> int:
        def edit(stored: list[dict[str, Any]]) -> int:
            before = len(stored)
            stored[:] = [rule for rule in stored if rule_id is not None and rule["id"] != rule_id]
            return before - len(stored)

        return self._change(edit)

    def fire(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], draw: Callable[[], float]
    ) -> FaultRule | None:
        """``fire_first`` in a transaction. Matching is pure, so the request's view rules out the
        common case (no rule matches) without a round trip; its writes then check that view."""
        if not any(rule.matches(endpoint, candidates) for rule in self.all()):
            return None

        def edit(stored: list[dict[str, Any]]) -> FaultRule | None:
            rules, owners = _decoded(stored)
            fired = fire_first(rules, endpoint, candidates, draw)
            stored[:] = _encoded(rules, owners)
            return fired

        return self._change(edit)

    def clear(self) -> None:
        self.s.transact([], lambda pipe: (pipe.multi(), pipe.unlink(self.key("rules")), self.s.changed(pipe)))


class RedisJournal(_Repository):
    def __init__(self, session: Session, size: int) -> None:
        super().__init__(session)
        self.size = size

    def append(self, entry: dict[str, Any]) -> None:
        """The entry's ``id`` is the shared sequence: unique across every fake on the prefix."""
        body = _JSON.encode({k: v for k, v in entry.items() if k != "id"})
        self.s.write(Step("journal", [self.key("entries"), self.key("journalseq")], [body, self.size]))

    def newest(self, limit: int | None = None) -> list[dict[str, Any]]:
        count = self.size if limit is None else min(limit, self.size)
        if count <= 0:
            return []
        items = self.s.direct().lrange(self.key("entries"), 0, 2 * count - 1)  # id, JSON, id, JSON...
        pairs = zip(items[::2], items[1::2], strict=True)
        return [{"id": int(entry_id), **json.loads(body)} for entry_id, body in pairs]

    def count(self) -> int:
        return int(self.s.direct().llen(self.key("entries"))) // 2

    def clear(self) -> None:
        self.unlink("entries", "journalseq")


class RedisBuckets(_Repository):
    def take(self, buckets: Sequence[Bucket], now: float) -> int | None:
        keys = [self.key("bucket", bucket.key) for bucket in buckets]

        def step(pipe: Any) -> int | None:
            rows = [pipe.hmget(key, "tokens", "last") for key in keys]
            levels = [(float(row[0]), float(row[1])) if row[0] is not None else None for row in rows]
            after = take_tokens(buckets, levels, now)
            pipe.multi()
            if isinstance(after, int):
                return after
            for bucket, key, tokens in zip(buckets, keys, after, strict=True):
                pipe.hset(key, mapping={"tokens": repr(tokens), "last": repr(now)})
                pipe.expire(key, _bucket_ttl(bucket))
            return None

        return self.s.transact(keys, step)

    def clear(self) -> None:
        client = self.s.direct()
        batch = list(client.scan_iter(match=_glob(self.key("bucket", "")) + "*", count=1000))
        if batch:
            client.unlink(*batch)


#: The longest a bucket is kept unused (a year): a slower bucket is forgotten then, as if full.
MAX_BUCKET_TTL_S = 365 * 86400


def _bucket_ttl(bucket: Bucket) -> int:
    """Seconds until an unused bucket is full again (it can then be forgotten: a forgotten bucket
    is a full one), at most ``MAX_BUCKET_TTL_S``: a rate of 1e-300 or a burst of 1e300 (both
    valid settings) asked EXPIRE for more than Redis takes, and every request answered 500."""
    return int(min(bucket.burst / bucket.rate, MAX_BUCKET_TTL_S)) + 1


class RedisIds(_Repository):
    def next(self, name: str) -> int:
        return int(self.s.direct().hincrby(self.key("ids"), name, 1))

    def start(self) -> int:
        """Its own key, which ``clear`` leaves: a reset must not hand out a start number again
        (a seeded fake would replay another's task IDs and overwrite its tasks)."""
        return int(self.s.direct().incr(self.key("starts")))

    def clear(self) -> None:
        self.unlink("ids")


class RedisClockCell(_Repository):
    """The clock's origin (wall-clock seconds: every machine reads the same) and offset."""

    def clock_state(self) -> tuple[float, float]:
        view = self.s.view()
        if view.origin is None:  # the first fake on the prefix sets the origin; HSETNX: one wins
            self._change(lambda pipe: pipe.hsetnx(self.key("clock"), "origin", repr(time.time())))
            view = self.s.view()
        return float(view.origin), float(view.offset or 0.0)  # type: ignore[arg-type]

    def advance_clock(self, seconds: float) -> None:
        self._change(lambda pipe: pipe.hincrbyfloat(self.key("clock"), "offset", seconds))

    def reset_clock(self, origin: float) -> None:
        self._change(lambda pipe: pipe.hset(self.key("clock"), mapping={"origin": repr(origin), "offset": "0"}))

    def _change(self, write: Callable[[Any], Any]) -> None:
        """``write`` and a new version token, in one transaction."""
        def step(pipe: Any) -> None:
            pipe.multi()
            write(pipe)
            self.s.changed(pipe)

        self.s.transact([], step)


def _rule(data: Mapping[str, Any]) -> FaultRule:
    return FaultRule(**{k: v for k, v in data.items() if k != "startup"})


def _decoded(stored: Sequence[Mapping[str, Any]]) -> tuple[list[FaultRule], Owners]:
    """The stored rules, and the owners of those that are start-up rules (``_owners``)."""
    owners = {data["id"]: _owners(tag) for data in stored if (tag := data.get("startup")) is not None}
    return [_rule(data) for data in stored], owners


def _owners(tag: Any) -> tuple[str, ...]:
    """A start-up rule's ``startup`` as stored: a list of owners; one name (as an earlier version
    of this stop wrote it); or ``true``, as bgmock wrote it before rules had owners (a
    ``--state DIR`` or a shared Redis of the last release: no owner known, so the next start
    with the same rules is their owner, one with others replaces them)."""
    if tag is True:
        return ()
    return (tag,) if isinstance(tag, str) else tuple(tag)


def _encoded(rules: Sequence[FaultRule], owners: Mapping[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    return [{**_values(rule), **({"startup": list(owners[rule.id])} if rule.id in owners else {})} for rule in rules]


def _glob(text: str) -> str:
    """``text`` as a literal in a SCAN pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def redis_storage(url: str, config: Any) -> Storage:
    """Connect and check that Redis answers; ConfigError (one line, exit 2) if it does not (``redis_connect.py``)."""
    client = connect(url, config.state_timeout_s)
    session = Session(client, config.state_prefix, config.state_timeout_s)
    return Storage(
        tasks=RedisTasks(session, config), rules=RedisRules(session),
        journal=RedisJournal(session, config.journal_size), buckets=RedisBuckets(session),
        ids=RedisIds(session), cell=RedisClockCell(session), engine="redis",
        unavailable=OUTAGES,  # down, too slow, or refusing writes: the API's 500, one log line
        unit=session.unit_of_work, touched=session.touched, met=session.met,
        engine_info=lambda: {"redisUsedMemory": int(client.info("memory")["used_memory"])},
    )
