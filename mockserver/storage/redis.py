"""The repositories on Redis: any number of fakes on one Redis and one key prefix are one fake.

Storage mechanics that decide nothing (add a task and forget the oldest, append and trim the
journal, bound product bytes) are one Lua script each: one round trip, atomic.  Decisions (does
a rule fire, is there a token) run the pure functions of ``storage/__init__.py`` inside an
optimistic transaction: ``WATCH`` the keys, read, decide, write in ``MULTI``/``EXEC``; when
another fake changed the keys meanwhile, ``EXEC`` fails and the step runs again on fresh
state, so no counter is lost or doubled.  Keys are ``PREFIX`` + a name; task and product keys
are built inside scripts, so Redis Cluster is not supported (one Redis, or a replicated pair).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, NamedTuple

from ..config import ConfigError, without_password
from ..faults.rules import FaultRule
from ..ratelimit import Bucket
from ..tasks import Task
from .base import Storage, fire_first, take_tokens
from .batch import Batcher

try:  # an optional engine: only a Redis state needs redis-py
    import redis
    from redis.exceptions import NoScriptError, WatchError
except ImportError:  # pragma: no cover - the message is in redis_storage
    redis = None  # type: ignore[assignment]
    WatchError = NoScriptError = RuntimeError  # type: ignore[misc,assignment]

_FORGET = """
-- Forget tasks created (on the fake's clock) before cutoff, then the oldest past max; count them.
local function forget(order, evicted, cutoff, max, prefix)
  local gone = redis.call('ZRANGEBYSCORE', order, '-inf', '(' .. cutoff)
  local over = redis.call('ZCARD', order) - #gone - tonumber(max)
  if over > 0 then
    for _, id in ipairs(redis.call('ZRANGE', order, #gone, #gone + over - 1)) do table.insert(gone, id) end
  end
  for _, id in ipairs(gone) do
    redis.call('UNLINK', prefix .. id)
    redis.call('ZREM', order, id)
  end
  if #gone > 0 then redis.call('INCRBY', evicted, #gone) end
  return #gone
end
"""
_EXPIRE = _FORGET + "return forget(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])"
_PUT_TASK = _FORGET + """
-- KEYS: task hash, order zset (score: created), evicted. ARGV: id, json, created, ttl (real s), forget's 3.
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'polls', 0)
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return forget(KEYS[2], KEYS[3], ARGV[5], ARGV[6], ARGV[7])
"""
_GET_TASK = """
-- KEYS: task hash. ARGV: '1' to count a poll. Never creates a task that is not there.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[1] == '1' then redis.call('HINCRBY', KEYS[1], 'polls', 1) end
return redis.call('HMGET', KEYS[1], 'json', 'polls')
"""
_PUT_PRODUCT = """
-- KEYS: product, order zset, byte counter. ARGV: name, data, cap, ttl, product key prefix.
local old = redis.call('STRLEN', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2])
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3] .. ':seq'), ARGV[1])
local total = redis.call('INCRBY', KEYS[3], string.len(ARGV[2]) - old)
while total > tonumber(ARGV[3]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not oldest then break end
  redis.call('ZREM', KEYS[2], oldest)
  total = redis.call('INCRBY', KEYS[3], -redis.call('STRLEN', ARGV[5] .. oldest))
  redis.call('UNLINK', ARGV[5] .. oldest)
end
return total
"""
_APPEND = """
-- KEYS: journal list, sequence. ARGV: entry JSON without its id, size. The id: the shared sequence.
local id = redis.call('INCR', KEYS[2])
local rest = ARGV[1] == '{}' and '}' or (',' .. string.sub(ARGV[1], 2))
redis.call('LPUSH', KEYS[1], '{"id":' .. id .. rest)
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return id
"""
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _values(obj: Any, *, skip: str = "") -> dict[str, Any]:
    """A dataclass's fields as a shallow dict (``dataclasses.asdict`` deep-copies)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj) if f.name != skip}


class Unit(threading.local):
    """One request's unit of work, per thread: what it read once and what it writes at the end.

    Without it a submit took six round trips to Redis (the rules twice, the clock twice, the
    task, the journal entry). Inside ``unit()`` the rules and the clock are read together on
    first use (one pipeline) and kept for the request, until the request itself changes them;
    the task and the journal entry are written together when the request ends (one pipeline,
    before its answer is sent). A submit is then two round trips, a query three.
    """

    rules: bytes | None | bool = False  # False: not read in this unit (None: no rules stored)
    clock: tuple[Any, Any] | None = None
    pending: list[tuple[Any, list[str], list[Any]]] | None = None  # None: outside a unit


class Link(NamedTuple):
    """What every repository of one fake shares: the client, the key prefix, the unit of work
    (per thread) and the batcher (per process)."""

    client: Any
    prefix: str
    unit: Unit
    batch: Batcher


class _Keys:
    """A client, the key prefix every repository of one fake writes under, and the unit of work."""

    def __init__(self, link: Link) -> None:
        self.r, self.p, self.unit, self.batch = link.client, link.prefix, link.unit, link.batch

    def key(self, *parts: str) -> str:
        return self.p + ":".join(parts)

    def unlink(self, *names: str) -> None:
        self.r.unlink(*(self.key(name) for name in names))

    def snapshot(self) -> Unit:
        """The unit's reads, taken in one round trip on the first use in a unit."""
        unit = self.unit
        if unit.pending is not None and unit.rules is False:
            reads = [("GET", self.key("rules")), ("HMGET", self.key("clock"), "origin", "offset")]
            unit.rules, clock = self.batch.run(reads)
            unit.clock = tuple(clock) if clock[0] is not None else None
        return unit

    def run(self, script: Any, keys: list[str], args: list[Any]) -> None:
        """Run a write-only script now, or at the end of the unit of work."""
        if self.unit.pending is not None:
            self.unit.pending.append((script, keys, args))
        else:
            script(keys=keys, args=args)

    def transact(self, keys: Sequence[str], step: Callable[[Any], Callable[[Any], None] | Any]) -> Any:
        """Run ``step(pipe)`` under WATCH of ``keys``; it reads, decides and returns a result, and
        queues its writes through ``pipe`` after calling ``pipe.multi()``. Retried on a race."""
        while True:
            with self.r.pipeline() as pipe:
                try:
                    pipe.watch(*keys)
                    result = step(pipe)
                    pipe.execute()
                    return result
                except WatchError:
                    continue


class RedisTasks(_Keys):
    def __init__(self, link: Link, config: Any) -> None:
        super().__init__(link)
        client = link.client
        self.max_tasks, self.task_ttl_s = config.max_tasks, config.task_ttl_s
        self.product_bytes = config.product_cache_bytes
        # Redis's own expiry in real seconds: a backstop behind the age check on the fake's clock.
        self.ttl = int(self.task_ttl_s) + 1
        self._put, self._get = client.register_script(_PUT_TASK), client.register_script(_GET_TASK)
        self._expire, self._put_product = client.register_script(_EXPIRE), client.register_script(_PUT_PRODUCT)

    def _forget_args(self, now: float) -> list[Any]:
        return [repr(now - self.task_ttl_s), self.max_tasks, self.key("task", "")]

    def put(self, task: Task, now: float) -> None:
        self.run(
            self._put, [self.key("task", task.task_id), self.key("tasks"), self.key("evicted")],
            [task.task_id, _JSON.encode(_values(task, skip="polls")), repr(task.created), self.ttl,
             *self._forget_args(now)],
        )

    def _task(self, row: Sequence[Any], now: float) -> Task | None:
        task = Task(**json.loads(row[0]), polls=int(row[1]))
        return task if now - task.created <= self.task_ttl_s else None

    def get(self, task_id: str, now: float, *, poll: bool = False) -> Task | None:
        row = self._get(keys=[self.key("task", task_id)], args=["1" if poll else "0"])
        return self._task(row, now) if row else None

    def newest(self, now: float, limit: int) -> list[Task]:
        self._expire(keys=[self.key("tasks"), self.key("evicted")], args=self._forget_args(now))
        ids = self.r.zrevrange(self.key("tasks"), 0, limit - 1) if limit > 0 else []
        with self.r.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hmget(self.key("task", task_id.decode()), "json", "polls")
            rows = pipe.execute()
        return [task for row in rows if row[0] is not None and (task := self._task(row, now))]

    def put_product(self, task_id: str, index: int, data: bytes) -> None:
        if len(data) > self.product_bytes:
            return
        name = f"{task_id}:{index}"
        self._put_product(
            keys=[self.key("product", name), self.key("products"), self.key("productbytes")],
            args=[name, data, self.product_bytes, self.ttl, self.key("product", "")],
        )

    def product(self, task_id: str, index: int) -> bytes | None:
        return self.r.get(self.key("product", f"{task_id}:{index}"))

    def counts(self, now: float | None) -> dict[str, int]:
        if now is not None:
            self._expire(keys=[self.key("tasks"), self.key("evicted")], args=self._forget_args(now))
        tasks, evicted = self.r.zcard(self.key("tasks")), self.r.get(self.key("evicted"))
        return {"tasks": int(tasks), "evictedTasks": int(evicted or 0)}

    def clear(self) -> None:
        for pattern in ("task:*", "product:*"):
            batch = list(self.r.scan_iter(match=_glob(self.key()) + pattern, count=1000))
            for start in range(0, len(batch), 1000):
                self.r.unlink(*batch[start:start + 1000])
        self.unlink("tasks", "evicted", "products", "productbytes", "productbytes:seq")


class RedisRules(_Keys):
    """Every rule of the fake as one JSON list, changed only inside a transaction."""

    def _stored(self, reader: Any) -> list[dict[str, Any]]:
        raw = reader.get(self.key("rules"))
        return json.loads(raw) if raw else []

    def _current(self) -> list[dict[str, Any]]:
        """The rules as this request read them (one read per unit of work), else as stored now."""
        unit = self.snapshot()
        if unit.pending is None or unit.rules is False:
            return self._stored(self.r)
        return json.loads(unit.rules) if unit.rules else []

    def _change(self, edit: Callable[[list[dict[str, Any]]], Any]) -> Any:
        def step(pipe: Any) -> Any:
            stored = self._stored(pipe)
            before = _JSON.encode(stored)
            result = edit(stored)
            pipe.multi()
            if _JSON.encode(stored) != before:
                pipe.set(self.key("rules"), _JSON.encode(stored))
            return result

        self.unit.rules = False  # changed: read afresh by the rest of this request
        return self.transact([self.key("rules")], step)

    def add(self, rule: FaultRule) -> None:
        self._change(lambda stored: stored.append(_values(rule)))

    def install_startup(self, rules: Sequence[FaultRule]) -> None:
        """Replace the start-up rules an earlier start left (this fake's or a sibling's)."""
        fresh = [{**_values(rule), "startup": True} for rule in rules]

        def edit(stored: list[dict[str, Any]]) -> None:
            stored[:] = fresh + [rule for rule in stored if not rule.get("startup")]

        self._change(edit)

    def all(self) -> list[FaultRule]:
        return [_rule(data) for data in self._current()]

    def delete(self, rule_id: str | None = None) -> int:
        def edit(stored: list[dict[str, Any]]) -> int:
            before = len(stored)
            stored[:] = [rule for rule in stored if rule_id is not None and rule["id"] != rule_id]
            return before - len(stored)

        return self._change(edit)

    def fire(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], draw: Callable[[], float]
    ) -> FaultRule | None:
        """``fire_first`` in a transaction. Matching is pure, so a plain read first rules out
        the common case (no rule matches) in one round trip, without a transaction."""
        if not any(rule.matches(endpoint, candidates) for rule in self.all()):
            return None

        def edit(stored: list[dict[str, Any]]) -> FaultRule | None:
            rules = [_rule(data) for data in stored]
            startup = {data["id"] for data in stored if data.get("startup")}
            fired = fire_first(rules, endpoint, candidates, draw)
            stored[:] = [{**_values(rule), **({"startup": True} if rule.id in startup else {})} for rule in rules]
            return fired

        return self._change(edit)

    def clear(self) -> None:
        self.unlink("rules")


class RedisJournal(_Keys):
    def __init__(self, link: Link, size: int) -> None:
        super().__init__(link)
        client = link.client
        self.size = size
        self._append = client.register_script(_APPEND)

    def append(self, entry: dict[str, Any]) -> None:
        """The entry's ``id`` is the shared sequence: unique across every fake on the prefix."""
        body = _JSON.encode({k: v for k, v in entry.items() if k != "id"})
        self.run(self._append, [self.key("journal"), self.key("journalseq")], [body, self.size])

    def newest(self, limit: int | None = None) -> list[dict[str, Any]]:
        count = self.size if limit is None else min(limit, self.size)
        return [json.loads(raw) for raw in self.r.lrange(self.key("journal"), 0, count - 1)] if count > 0 else []

    def count(self) -> int:
        return int(self.r.llen(self.key("journal")))

    def clear(self) -> None:
        self.unlink("journal", "journalseq")


class RedisBuckets(_Keys):
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
                pipe.expire(key, int(bucket.burst / bucket.rate) + 1)  # full again by then: forget it
            return None

        return self.transact(keys, step)

    def clear(self) -> None:
        batch = list(self.r.scan_iter(match=_glob(self.key("bucket", "")) + "*", count=1000))
        if batch:
            self.r.unlink(*batch)


class RedisIds(_Keys):
    def next(self, name: str) -> int:
        return int(self.r.hincrby(self.key("ids"), name, 1))

    def clear(self) -> None:
        self.unlink("ids")


class RedisClockCell(_Keys):
    """The clock's origin (wall-clock seconds: every machine reads the same) and offset."""

    def clock_state(self) -> tuple[float, float]:
        unit = self.snapshot()
        origin, offset = unit.clock if unit.clock is not None else self.r.hmget(self.key("clock"), "origin", "offset")
        if origin is None:  # the first fake on the prefix sets the origin; HSETNX: one wins
            self.r.hsetnx(self.key("clock"), "origin", repr(time.time()))
            origin, offset = self.r.hmget(self.key("clock"), "origin", "offset")
        return float(origin), float(offset or 0.0)

    def advance_clock(self, seconds: float) -> None:
        self.unit.clock = None
        self.r.hincrbyfloat(self.key("clock"), "offset", seconds)

    def reset_clock(self, origin: float) -> None:
        self.unit.clock = None
        self.r.hset(self.key("clock"), mapping={"origin": repr(origin), "offset": "0"})


def _rule(data: Mapping[str, Any]) -> FaultRule:
    return FaultRule(**{k: v for k, v in data.items() if k != "startup"})


def _glob(text: str) -> str:
    """``text`` as a literal in a SCAN pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def redis_storage(url: str, config: Any) -> Storage:
    """Connect and check that Redis answers; ConfigError (one line, exit 2) if it does not."""
    if redis is None:
        raise ConfigError(f"--state {without_password(url)}: Redis state needs redis-py: pip install 'redis[hiredis]'")
    timeout = config.state_timeout_s
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        client.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise ConfigError(f"--state {without_password(url)}: cannot reach Redis ({exc})") from None
    unit = Unit()
    link = Link(client, config.state_prefix, unit, Batcher(client))
    return Storage(
        tasks=RedisTasks(link, config), rules=RedisRules(link), journal=RedisJournal(link, config.journal_size),
        buckets=RedisBuckets(link), ids=RedisIds(link), cell=RedisClockCell(link), engine="redis",
        unavailable=(redis.ConnectionError, redis.TimeoutError), unit=lambda: _unit_of_work(link),
        engine_info=lambda: {"redisUsedMemory": int(client.info("memory")["used_memory"])},
    )


@contextmanager
def _unit_of_work(link: Link) -> Iterator[None]:
    """Reads kept for one request, writes sent together at its end (see ``Unit``)."""
    unit = link.unit
    unit.rules, unit.clock, unit.pending = False, None, []
    try:
        yield
        if unit.pending:
            _flush(link, unit.pending)
    finally:
        unit.rules, unit.clock, unit.pending = False, None, None


def _flush(link: Link, pending: list[tuple[Any, list[str], list[Any]]]) -> None:
    """The unit's scripts by SHA, through the batcher (redis-py's own script handling asks
    ``SCRIPT EXISTS`` first: a round trip more). A Redis that restarted and forgot them
    (``NOSCRIPT``) gets them loaded again, and the commands that were not run are sent once more."""
    commands = [("EVALSHA", script.sha, len(keys), *keys, *args) for script, keys, args in pending]
    results = link.batch.run(commands, errors=False)
    missing = [index for index, result in enumerate(results) if isinstance(result, NoScriptError)]
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, NoScriptError):
            raise result
    if missing:  # only these were not run: send them again, once their scripts are loaded
        for index in missing:
            link.client.script_load(pending[index][0].script)
        link.batch.run([commands[index] for index in missing])
