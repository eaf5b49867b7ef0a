"""The shared store on Redis: any number of ``bgmock serve`` processes, on any number of
machines, pointed at one Redis (and one key prefix) are one fake.

Each kind of state is a small repository with one job (tasks, products, rules, journal,
buckets, clock, IDs) on one client and one key prefix, so several fakes can share one Redis
without seeing each other (``--state-prefix``).  What decides (rule firing, bucket refill, a
task's state) is the same pure Python the memory store uses; the Redis side only makes each
step atomic:

- storage mechanics that need no decision (append and trim the journal, add a task and forget
  the oldest, bound product bytes) are one Lua script each: one round trip, atomic;
- decisions (does a rule fire, is there a token) run as optimistic transactions: ``WATCH`` the
  keys, decide with the pure functions of ``faults.py`` / ``ratelimit.py``, write in
  ``MULTI``/``EXEC``; a concurrent change makes ``EXEC`` fail and the step runs again on
  fresh state, so no count is lost or doubled.

Bounds: tasks by count (a sorted set trimmed on every insert) and by age (the fake's clock at
every read, and a Redis ``EXPIRE`` of ``task_ttl_s`` real seconds behind it), the journal by
count (``LTRIM``), product photos by bytes.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .config import ConfigError, without_password
from .faults import FaultRule
from .ratelimit import Bucket, refill
from .tasks import Task

try:  # an optional dependency: only a Redis URL needs it
    import redis
    from redis.exceptions import RedisError, WatchError
except ImportError:  # pragma: no cover - exercised by the message in open_redis_store
    redis = None  # type: ignore[assignment]
    RedisError = WatchError = Exception  # type: ignore[misc,assignment]

#: Tried again on a lost WATCH race this often before giving up (never reached in practice:
#: each retry means another process made progress).
_RETRIES = 1000

_FORGET_FN = """
-- Forget tasks created (on the fake's clock) before cutoff, then the oldest past max; count them.
-- Task keys are prefix .. id (not declared in KEYS: bgmock does not support Redis Cluster).
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

_FORGET = _FORGET_FN + "return forget(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])"

_PUT_TASK = _FORGET_FN + """
-- KEYS: task hash, order zset, evicted counter. ARGV: id, json, created, ttl (real s), then forget's.
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'polls', 0)
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return forget(KEYS[2], KEYS[3], ARGV[5], ARGV[6], ARGV[7])
"""

_GET_TASK = """
-- KEYS: task hash. ARGV: poll (1/0). A task's JSON and its polls, counted atomically.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[1] == '1' then redis.call('HINCRBY', KEYS[1], 'polls', 1) end
return redis.call('HMGET', KEYS[1], 'json', 'polls')
"""

_RECORD = """
-- KEYS: journal list, sequence. ARGV: entry JSON without its id, size. The id is the sequence.
local id = redis.call('INCR', KEYS[2])
local body = ARGV[1]
if string.len(body) > 2 then body = ',' .. string.sub(body, 2) else body = '}' end
redis.call('LPUSH', KEYS[1], '{"id":' .. id .. body)
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return id
"""

_PUT_PRODUCT = """
-- KEYS: product key, order zset, bytes counter. ARGV: name, data, cap, ttl, key prefix
local size = string.len(ARGV[2])
local old = redis.call('STRLEN', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2])
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3] .. ':seq'), ARGV[1])
local total = redis.call('INCRBY', KEYS[3], size - old)
while total > tonumber(ARGV[3]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not oldest then break end
  redis.call('ZREM', KEYS[2], oldest)
  local gone = redis.call('STRLEN', ARGV[5] .. oldest)
  redis.call('UNLINK', ARGV[5] .. oldest)
  total = redis.call('INCRBY', KEYS[3], -gone)
end
return total
"""

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _fields(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a shallow dict (``dataclasses.asdict`` deep-copies)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


class RedisStore:
    """The ``Store`` protocol (store.py) on one Redis client and one key prefix."""

    engine = "redis"
    #: Raised while Redis is unreachable or slower than the socket timeout; the dispatcher
    #: answers them with the API's 500 "system error", and redis-py reconnects by itself.
    unavailable: tuple[type[BaseException], ...] = (
        (redis.ConnectionError, redis.TimeoutError) if redis is not None else ()
    )

    def __init__(
        self, client: Any, *, prefix: str = "bgmock:", max_tasks: int, task_ttl_s: float, journal_size: int,
        product_bytes: int = 64 << 20,
    ) -> None:
        self.r = client
        self.p = prefix
        self.max_tasks = max_tasks
        self.task_ttl_s = task_ttl_s
        self.journal_size = journal_size
        self.product_bytes = product_bytes
        self._put_task = client.register_script(_PUT_TASK)
        self._forget = client.register_script(_FORGET)
        self._get_task = client.register_script(_GET_TASK)
        self._record = client.register_script(_RECORD)
        self._put_product = client.register_script(_PUT_PRODUCT)

    def key(self, *parts: str) -> str:
        return self.p + ":".join(parts)

    # -- tasks ----------------------------------------------------------------------------
    def _ttl(self) -> int:
        """Redis's own expiry, real seconds: a backstop behind the fake-clock age check."""
        return max(1, int(self.task_ttl_s) + 1) if self.task_ttl_s > 0 else 0

    def put_task(self, task: Task, now: float) -> None:
        values = {k: v for k, v in _fields(task).items() if k != "polls"}
        self._put_task(
            keys=[self.key("task", task.task_id), self.key("tasks"), self.key("evicted")],
            args=[task.task_id, _ENCODER.encode(values), repr(task.created), self._ttl(), *self._bounds(now)],
        )

    def _bounds(self, now: float) -> tuple[str, int, str]:
        """_FORGET's arguments: the age cutoff on the fake's clock, the count bound, the key prefix."""
        return repr(now - self.task_ttl_s), self.max_tasks, self.key("task", "")

    def _expire(self, now: float) -> None:
        self._forget(keys=[self.key("tasks"), self.key("evicted")], args=list(self._bounds(now)))

    def get_task(self, task_id: str, now: float, *, poll: bool = False) -> Task | None:
        found = self._get_task(keys=[self.key("task", task_id)], args=["1" if poll else "0"])
        if not found:
            return None
        task = Task(**json.loads(found[0]), polls=int(found[1]))
        if now - task.created > self.task_ttl_s:
            return None
        return task

    def list_tasks(self, now: float, limit: int) -> list[Task]:
        self._expire(now)
        ids = self.r.zrevrange(self.key("tasks"), 0, max(0, limit - 1)) if limit > 0 else []
        with self.r.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hmget(self.key("task", _text(task_id)), "json", "polls")
            rows = pipe.execute()
        tasks = [Task(**json.loads(data), polls=int(polls)) for data, polls in rows if data is not None]
        return [task for task in tasks if now - task.created <= self.task_ttl_s]

    # -- product photos (for whichever process draws the result images) -------------------
    def put_product(self, task_id: str, index: int, data: bytes) -> None:
        if len(data) > self.product_bytes:
            return
        name = f"{task_id}:{index}"
        self._put_product(
            keys=[self.key("product", name), self.key("products"), self.key("productbytes")],
            args=[name, data, self.product_bytes, self._ttl(), self.key("product", "")],
        )

    def get_product(self, task_id: str, index: int) -> bytes | None:
        data = self.r.get(self.key("product", f"{task_id}:{index}"))
        return bytes(data) if data is not None else None

    # -- fault rules: one JSON list, changed only in WATCH transactions -------------------
    def _change_rules(self, change: Callable[[list[dict[str, Any]]], Any]) -> Any:
        """Apply ``change`` (pure: it edits the list it gets, returns a result) atomically."""
        key = self.key("rules")
        for _ in range(_RETRIES):
            with self.r.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    rules = json.loads(raw) if raw else []
                    before = _ENCODER.encode(rules)
                    result = change(rules)
                    pipe.multi()
                    after = _ENCODER.encode(rules)
                    if after != before:
                        pipe.set(key, after)
                    pipe.execute()
                    return result
                except WatchError:
                    continue
        raise RedisError("fault rules: too many concurrent changes")  # pragma: no cover

    def add_rule(self, rule: FaultRule) -> None:
        self._change_rules(lambda rules: rules.append({"startup": False, **_fields(rule)}))

    def install_startup_rules(self, rules: Sequence[FaultRule]) -> None:
        """Replace the start-up rules an earlier start left (of this fake or a sibling) with these."""
        fresh = [{"startup": True, **_fields(rule)} for rule in rules]

        def change(stored: list[dict[str, Any]]) -> None:
            stored[:] = fresh + [rule for rule in stored if not rule.get("startup")]

        self._change_rules(change)

    def list_rules(self) -> list[FaultRule]:
        raw = self.r.get(self.key("rules"))
        return [_rule(data) for data in (json.loads(raw) if raw else [])]

    def delete_rules(self, rule_id: str | None = None) -> int:
        def change(stored: list[dict[str, Any]]) -> int:
            before = len(stored)
            stored[:] = [rule for rule in stored if rule_id is not None and rule["id"] != rule_id]
            return before - len(stored)

        return self._change_rules(change)

    def fire_rule(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], draw: Callable[[], float]
    ) -> FaultRule | None:
        """The first rule (in creation order) that fires, its counters moved in the same step.

        Matching is pure, so a plain read first rules out the common case (no rule matches);
        only then does the transaction run."""
        if not any(rule.matches(endpoint, candidates) for rule in self.list_rules()):
            return None

        def change(stored: list[dict[str, Any]]) -> FaultRule | None:
            for index, data in enumerate(stored):
                rule = _rule(data)
                if not rule.matches(endpoint, candidates):
                    continue
                fired = rule.consider(draw())
                if fired and rule.exhausted:
                    del stored[index]
                else:
                    stored[index] = {"startup": data.get("startup", False), **_fields(rule)}
                if fired:
                    return rule
            return None

        return self._change_rules(change)

    # -- journal --------------------------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        """Append to the shared list; the entry's ``id`` is the shared sequence, unique across fakes."""
        if not self.journal_size:
            return
        body = _ENCODER.encode({k: v for k, v in entry.items() if k != "id"})
        self._record(keys=[self.key("journal"), self.key("journalseq")], args=[body, self.journal_size])

    def journal(self, limit: int | None = None) -> list[dict[str, Any]]:
        if not self.journal_size:
            return []
        count = self.journal_size if limit is None else min(limit, self.journal_size)
        if count <= 0:
            return []
        return [json.loads(raw) for raw in self.r.lrange(self.key("journal"), 0, count - 1)]

    # -- rate limits ----------------------------------------------------------------------
    def take_tokens(self, buckets: Sequence[Bucket], now: float) -> int | None:
        """Take one token from every bucket, or from none: the index of the first empty one."""
        keys = [self.key("bucket", bucket.key) for bucket in buckets]
        for _ in range(_RETRIES):
            with self.r.pipeline() as pipe:
                try:
                    pipe.watch(*keys)
                    levels = []
                    for index, (bucket, key) in enumerate(zip(buckets, keys, strict=True)):
                        row = pipe.hmget(key, "tokens", "last")
                        tokens, last = (float(row[0]), float(row[1])) if row[0] is not None else (bucket.burst, now)
                        tokens = refill(tokens, last, now, bucket.rate, bucket.burst)
                        if tokens < 1.0:
                            return index
                        levels.append(tokens)
                    pipe.multi()
                    for bucket, key, tokens in zip(buckets, keys, levels, strict=True):
                        pipe.hset(key, mapping={"tokens": repr(tokens - 1.0), "last": repr(now)})
                        # A bucket untouched for long enough is full again: let Redis forget it.
                        pipe.expire(key, max(1, int(bucket.burst / bucket.rate) + 1))
                    pipe.execute()
                    return None
                except WatchError:
                    continue
        raise RedisError("rate limits: too many concurrent changes")  # pragma: no cover

    # -- clock and IDs --------------------------------------------------------------------
    def clock_cell(self) -> RedisStore:
        return self

    def clock_state(self) -> tuple[float, float]:
        origin, offset = self.r.hmget(self.key("clock"), "origin", "offset")
        if origin is None:  # the first fake on this prefix sets the origin; HSETNX: one wins
            self.r.hsetnx(self.key("clock"), "origin", repr(time.time()))
            origin, offset = self.r.hmget(self.key("clock"), "origin", "offset")
        return float(origin), float(offset or 0.0)

    def advance_clock(self, seconds: float) -> None:
        self.r.hincrbyfloat(self.key("clock"), "offset", seconds)

    def reset_clock(self, origin: float) -> None:
        self.r.hset(self.key("clock"), mapping={"origin": repr(origin), "offset": "0"})

    def next_id(self, name: str) -> int:
        return int(self.r.incr(self.key("id", name)))

    # -- whole store ----------------------------------------------------------------------
    def stats(self, now: float | None = None) -> dict[str, int]:
        if now is not None:
            self._expire(now)
        with self.r.pipeline(transaction=False) as pipe:
            pipe.zcard(self.key("tasks"))
            pipe.get(self.key("evicted"))
            pipe.get(self.key("rules"))
            pipe.llen(self.key("journal"))
            tasks, evicted, rules, journal = pipe.execute()
        return {
            "tasks": int(tasks), "evictedTasks": int(evicted or 0),
            "rules": len(json.loads(rules)) if rules else 0, "journal": int(journal),
        }

    def clear(self) -> None:
        """Forget everything under this prefix but the clock (``reset_clock`` sets it)."""
        clock = self.key("clock")
        batch: list[Any] = []
        for key in self.r.scan_iter(match=_glob_escape(self.p) + "*", count=1000):
            if _text(key) != clock:
                batch.append(key)
            if len(batch) >= 1000:
                self.r.unlink(*batch)
                batch = []
        if batch:
            self.r.unlink(*batch)

    def ping(self) -> bool:
        """True when Redis answers (``/__admin/health``)."""
        try:
            return bool(self.r.ping())
        except RedisError:
            return False


def _rule(data: Mapping[str, Any]) -> FaultRule:
    values = {k: v for k, v in data.items() if k != "startup"}
    return FaultRule(**values)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _glob_escape(text: str) -> str:
    """A prefix as a literal in a SCAN pattern (``*?[]\\`` are pattern characters)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def open_redis_store(url: str, *, prefix: str, max_tasks: int, task_ttl_s: float, journal_size: int,
                     product_bytes: int, timeout_s: float = 2.0) -> RedisStore:
    """Connect to ``url`` and check that Redis answers; ConfigError (one line, exit 2) if not."""
    if redis is None:
        raise ConfigError(
            f"--state {without_password(url)}: a Redis store needs redis-py: pip install 'redis[hiredis]'"
        )
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, health_check_interval=10,
            retry_on_timeout=False,
        )
        client.ping()
    except (RedisError, ValueError, OSError) as exc:
        raise ConfigError(f"--state {without_password(url)}: cannot reach Redis ({exc})") from None
    return RedisStore(
        client, prefix=prefix, max_tasks=max_tasks, task_ttl_s=task_ttl_s, journal_size=journal_size,
        product_bytes=product_bytes,
    )


__all__ = ["RedisError", "RedisStore", "open_redis_store"]
