"""The shared store: SQLite in WAL mode, so several worker processes see one fake.

``bgmock serve --workers N`` runs N processes; a task submitted through one must be queryable
through another, a ``times: 3`` rule must fire three times in total, the journal must hold
every worker's requests and a rate limit must count all of them.  Each ``Store`` method is
one SQLite transaction, so the answer is the same as ``MemoryStore``'s under one lock.

Why SQLite: it ships with Python, needs no server, and WAL mode lets readers run while one
writer commits.  Writers take a ``flock`` on a lock file beside the database before
``BEGIN IMMEDIATE``: the kernel wakes a waiting writer the moment the lock is free, where
SQLite's own busy handler would sleep whole milliseconds under contention.

Two exceptions take no cross-process lock, because they are written on every request: the
journal, an append-only file beside the database (``_JournalLog``), and the tasks with their
product photos, an append-only log and an SQLite file per process (``store_shards.TaskShards``;
``max_tasks`` and ``product_bytes`` there count per process).  Everything stays bounded like ``MemoryStore``:
tasks by count and age, the journal by count, rate-limit buckets by count, products by bytes.
``--state PATH`` names the file, and state survives a restart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import mmap
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import Config, ConfigError
from .faults import FaultRule
from .ratelimit import Bucket, refill
from .store import MAX_BUCKETS
from .store_shards import TaskShards, bump, connect, disown, transaction
from .store_shards import dumps as _dumps
from .store_shards import fields as _fields
from .tasks import Task

try:  # POSIX: a kernel lock that wakes waiters at once
    import fcntl
except ImportError:  # pragma: no cover - Windows falls back to SQLite's busy timeout
    fcntl = None  # type: ignore[assignment]

#: 2: tasks moved out of this file into per-process shards (``store_shards``);
#: 3: the tasks moved again, into per-process logs (``task_log``).
SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clock (one INTEGER PRIMARY KEY CHECK (one = 1), origin REAL NOT NULL, offset REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rules (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, startup INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, last REAL NOT NULL) WITHOUT ROWID;
"""


class _Header:
    """A few numbers every process reads on every request, in a shared memory map.

    The clock (``now()`` is read several times per request) and the fault rules' generation
    (to reuse the parsed rules until one changes) would otherwise cost a query each.  Writers
    hold the store's lock; readers use a sequence counter (odd while a write is under way).
    Layout: u64 sequence, f64 clock origin, f64 clock offset, u64 rules generation, u64 journal
    epoch (moved when the journal file is replaced, so every writer reopens it).
    """

    SIZE = 40

    def __init__(self, fd: int) -> None:
        self.fresh = os.fstat(fd).st_size < self.SIZE
        if self.fresh:
            os.ftruncate(fd, self.SIZE)
        self._map = mmap.mmap(fd, self.SIZE)

    def clock(self) -> tuple[float, float]:
        while True:
            before, origin, offset = struct.unpack_from("<Qdd", self._map, 0)
            if not before & 1 and struct.unpack_from("<Q", self._map, 0)[0] == before:
                return origin, offset

    def set_clock(self, origin: float, offset: float) -> None:
        """Caller holds the store's lock."""
        (seq,) = struct.unpack_from("<Q", self._map, 0)
        struct.pack_into("<Q", self._map, 0, seq + 1)
        struct.pack_into("<dd", self._map, 8, origin, offset)
        struct.pack_into("<Q", self._map, 0, seq + 2)

    def rules_generation(self) -> int:
        return int(struct.unpack_from("<Q", self._map, 24)[0])

    def bump_rules(self) -> None:
        """Caller holds the store's lock (and has committed the change)."""
        struct.pack_into("<Q", self._map, 24, self.rules_generation() + 1)

    def journal_epoch(self) -> int:
        return int(struct.unpack_from("<Q", self._map, 32)[0])

    def bump_journal(self) -> None:
        """Caller holds the store's lock (and has replaced the journal file)."""
        struct.pack_into("<Q", self._map, 32, self.journal_epoch() + 1)


class _WriterLock:
    """``with store._locked() as conn``: a class, not a generator context manager, because it
    is taken twice per request and a generator-based one costs as much as the insert it guards."""

    __slots__ = ("store",)

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        store = self.store
        conn = store._conn()  # first: after a fork it replaces the thread lock and the lock file
        store._thread_lock.acquire()
        if fcntl is not None:
            try:
                fcntl.flock(store._lock_fd(), fcntl.LOCK_EX)
            except BaseException:
                store._thread_lock.release()
                raise
        return conn

    def __exit__(self, *exc: object) -> None:
        store = self.store
        try:
            if fcntl is not None and store._lock_file is not None:
                fcntl.flock(store._lock_file, fcntl.LOCK_UN)
        finally:
            store._thread_lock.release()


class _JournalLog:
    """The request journal as an append-only file of JSON lines, written without any lock.

    Measured (bench/RESULTS.md): taking the cross-process lock a second time per request, to
    write the journal entry, cost ``--workers 2`` a quarter of its throughput; the work under
    the lock was not the cost, waiting for it on a busy 2-core machine was.  Here each entry is
    one ``write`` to a file opened with ``O_APPEND``, which the kernel places atomically at the
    end, whatever other processes append at the same time.

    ``PATH.journal`` holds the newest entries, ``PATH.journal.1`` the ones before; when the
    current file outgrows ``rotate_bytes``, a writer renames it (under the store's lock) and the
    others notice on their next write.  Each file starts with a line naming its generation; an
    entry's ID is ``generation * 2**32 + its line number``, unique and increasing across workers.
    A reader keeps at most ``journal_size`` entries, so the bound holds whatever the file sizes.
    """

    def __init__(self, path: str, journal_size: int, lock: Callable[[], Any], header: _Header) -> None:
        self.path = path
        self.previous = path + ".1"
        self.journal_size = journal_size
        # Two files of this size hold at least journal_size entries of up to 2 KiB (typical: 1).
        self.rotate_bytes = max(1 << 20, journal_size * 2048)
        self._lock = lock
        self._header = header
        self._fd: int | None = None
        # Held while the file is (re)opened and written: a thread reopening after a rotation
        # must not close the descriptor another thread is writing to (its number could be
        # reused by a socket, and the journal line would go to a client).
        self._fd_lock = threading.Lock()
        self._epoch = -1
        self._writes = 0
        self._pid = os.getpid()
        if not os.path.exists(path):
            with lock():
                if not os.path.exists(path):
                    self._start(1)

    def _start(self, generation: int) -> None:
        """Caller holds the lock: a fresh current file for ``generation``."""
        tmp = f"{self.path}.new"
        with open(tmp, "wb") as out:
            out.write(_dumps({"generation": generation}).encode() + b"\n")
        os.replace(tmp, self.path)
        self._header.bump_journal()

    def _open(self) -> int:
        """The current file, opened again if it was replaced (caller holds ``self._fd_lock``)."""
        epoch = self._header.journal_epoch()
        if self._fd is None or self._epoch != epoch:
            if self._fd is not None:
                os.close(self._fd)
            self._epoch = epoch  # read before opening: a replacement after it is seen next time
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def append(self, entry: dict[str, Any]) -> None:
        line = _dumps(entry).encode("utf-8") + b"\n"
        if self._pid != os.getpid():  # forked: the parent's descriptor and lock stay the parent's
            self._pid, self._fd, self._fd_lock = os.getpid(), None, threading.Lock()
        with self._fd_lock:
            fd = self._open()
            os.write(fd, line)
            self._writes += 1
            written = os.fstat(fd) if self._writes % 32 == 0 else None
        if written is not None and written.st_size > self.rotate_bytes:
            self._rotate(written.st_ino)

    def _rotate(self, inode: int) -> None:
        """Replace the current file if it is still the full one this process wrote to."""
        with self._lock():
            try:
                current = os.stat(self.path)
            except FileNotFoundError:
                current = None
            if current is not None and current.st_ino == inode and current.st_size > self.rotate_bytes:
                generation = self._generation(self.path) + 1
                os.replace(self.path, self.previous)
                self._start(generation)  # moves the epoch: every writer reopens

    @staticmethod
    def _generation(path: str) -> int:
        try:
            with open(path, "rb") as source:
                return int(json.loads(source.readline())["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def _entries(self, path: str) -> list[dict[str, Any]]:
        try:
            with open(path, "rb") as source:
                data = source.read()
        except OSError:
            return []
        lines = data.split(b"\n")
        try:
            generation = int(json.loads(lines[0])["generation"])
        except (ValueError, KeyError, TypeError, IndexError):
            return []
        out = []
        for number, line in enumerate(lines[1:-1], start=1):  # the last piece: empty or being written
            try:
                out.append({"id": (generation << 32) + number, **json.loads(line)})
            except ValueError:
                continue
        return out

    def newest(self, limit: int) -> list[dict[str, Any]]:
        want = min(limit, self.journal_size)
        entries = self._entries(self.path)
        if len(entries) < want:
            entries = self._entries(self.previous) + entries
        return list(reversed(entries[-want:])) if want > 0 else []

    def count(self) -> int:
        return len(self.newest(self.journal_size))

    def clear(self) -> None:
        """Caller holds the store's lock: empty, in a new generation (IDs never repeat)."""
        generation = max(self._generation(self.path), self._generation(self.previous)) + 1
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.previous)
        self._start(generation)


class SqliteStore:
    """A ``Store`` in one SQLite file, safe for many threads and many processes.

    Files: ``PATH`` (SQLite, with its ``-wal`` and ``-shm``), ``PATH.lock`` (the writers'
    lock, holding the shared clock; the clock is also kept in ``PATH`` and restored from it),
    ``PATH.journal`` with ``PATH.journal.1`` (the request journal, see ``_JournalLog``) and
    ``PATH.tasks-K`` with ``PATH.tasks-K.lock``, ``PATH.tasks-K.log-G`` and ``PATH.tasks.epoch``
    (the tasks, their polls and products, see ``store_shards``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_tasks: int,
        task_ttl_s: float,
        journal_size: int,
        product_bytes: int = Config.product_cache_bytes,
    ) -> None:
        self.path = Path(path)
        self.max_tasks = max_tasks
        self.task_ttl_s = task_ttl_s
        self.journal_size = journal_size
        self._local = threading.local()
        self._thread_lock = threading.Lock()
        self._pid = os.getpid()
        self._lock_file: int | None = None
        self._parsed: dict[str, FaultRule] = {}
        self._rules_cache: tuple[int, list[FaultRule]] | None = None
        self._bucket_takes = 0
        self._writer_lock = _WriterLock(self)
        self._tasks = TaskShards(self.path, max_tasks=max_tasks, task_ttl_s=task_ttl_s, product_bytes=product_bytes)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._header = _Header(self._lock_fd())
            self._journal = _JournalLog(f"{self.path}.journal", journal_size, self._locked, self._header)
            tables = {row[0] for row in self._conn().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "meta" not in tables:  # somebody else's database: never add tables to it
                raise ConfigError(f"state {self.path}: an SQLite database of something else, not a bgmock state file")
            # Before adding any table: another version's file is refused as it is.
            found = self._conn().execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() if tables else None
            if found is not None and found[0] != SCHEMA_VERSION:
                raise ConfigError(
                    f"state {self.path}: written by another bgmock version (schema {found[0]},"
                    f" this one reads {SCHEMA_VERSION}); delete it or pick another --state"
                )
            self._conn().executescript(_SCHEMA)
            with self._write() as conn:
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                conn.execute("INSERT OR IGNORE INTO clock VALUES (1, ?, 0.0)", (time.time(),))
                if self._header.fresh:
                    self._header.set_clock(*conn.execute("SELECT origin, offset FROM clock").fetchone())
            self._tasks.check()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"state {self.path}: not a usable bgmock state file (SQLite): {exc}") from None
        except OSError as exc:
            raise ConfigError(f"state {self.path}: {exc.strerror or exc}") from None

    # -- connections and locks ------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (connections are not shared between threads or a fork)."""
        if os.getpid() != self._pid:  # forked: the parent's connections and lock are not ours
            self._pid = os.getpid()
            disown(self._local)
            self._local = threading.local()
            self._lock_file = None
            self._thread_lock = threading.Lock()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

    def _lock_fd(self) -> int:
        if self._lock_file is None:
            self._lock_file = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        return self._lock_file

    def _locked(self) -> _WriterLock:
        """The writers' lock: first in this process, then across processes (``flock``)."""
        return self._writer_lock

    @contextlib.contextmanager
    def _write(self, *, rules: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``rules``: it changed fault rules (bump their generation)."""
        with self._locked() as conn:
            with transaction(conn):
                yield conn
            if rules:  # after the commit: a reader that sees the new generation sees the change
                self._header.bump_rules()

    def close(self) -> None:
        """Close this thread's connections (others close when their threads end) and give up
        the task shard's slot, for another store (a restart) to take."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        self._tasks.close()

    # -- tasks and products: per-process shards, no cross-process lock (store_shards) -------
    def put_task(self, task: Task, now: float) -> None:
        self._tasks.put(task, now)

    def get_task(self, task_id: str, now: float, *, poll: bool = False) -> Task | None:
        return self._tasks.get(task_id, now, poll=poll)

    def list_tasks(self, now: float, limit: int) -> list[Task]:
        return self._tasks.newest(now, limit)

    def put_product(self, task_id: str, index: int, data: bytes) -> None:
        self._tasks.put_product(task_id, index, data)

    def get_product(self, task_id: str, index: int) -> bytes | None:
        return self._tasks.get_product(task_id, index)

    # -- fault rules ----------------------------------------------------------------------
    def _rule(self, data: str) -> FaultRule:
        """A fresh FaultRule from its stored JSON (parsing memoized; the copy is the caller's)."""
        parsed = self._parsed.get(data)
        if parsed is None:
            if len(self._parsed) > 1024:
                self._parsed.clear()
            parsed = self._parsed[data] = FaultRule(**json.loads(data))
        return dataclasses.replace(parsed, match=dict(parsed.match))

    def _rules(self, conn: sqlite3.Connection) -> list[FaultRule]:
        return [self._rule(row[0]) for row in conn.execute("SELECT data FROM rules ORDER BY seq")]

    def _current_rules(self) -> list[FaultRule]:
        """The rules as last committed, re-read only when their generation moved (read-only use)."""
        generation = self._header.rules_generation()
        cached = self._rules_cache
        if cached is None or cached[0] != generation:
            cached = self._rules_cache = (generation, self._rules(self._conn()))
        return cached[1]

    def add_rule(self, rule: FaultRule) -> None:
        with self._write(rules=True) as conn:
            conn.execute("INSERT OR REPLACE INTO rules (id, data) VALUES (?, ?)", (rule.id, _dumps(_fields(rule))))

    def install_startup_rules(self, rules: Sequence[FaultRule]) -> None:
        """Replace the start-up rules of an earlier run (kept in the file) with this run's."""
        with self._write(rules=True) as conn:
            conn.execute("DELETE FROM rules WHERE startup = 1")
            conn.executemany(
                "INSERT OR REPLACE INTO rules (id, startup, data) VALUES (?, 1, ?)",
                [(rule.id, _dumps(_fields(rule))) for rule in rules],
            )

    def list_rules(self) -> list[FaultRule]:
        return [dataclasses.replace(rule, match=dict(rule.match)) for rule in self._current_rules()]

    def delete_rules(self, rule_id: str | None = None) -> int:
        with self._write(rules=True) as conn:
            if rule_id is None:
                return conn.execute("DELETE FROM rules").rowcount
            return conn.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount

    def fire_rule(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], draw: Callable[[], float]
    ) -> FaultRule | None:
        """The first rule (in creation order) that fires for this request, counters updated.

        Matching is pure, so a read without a lock first rules out the common case (no rule
        matches); only a request that some rule matches takes the write lock and re-reads.
        """
        if not any(rule.matches(endpoint, candidates) for rule in self._current_rules()):
            return None
        with self._write(rules=True) as conn:
            for rule in self._rules(conn):
                if not rule.matches(endpoint, candidates):
                    continue
                fired = rule.consider(draw())
                if fired and rule.exhausted:
                    conn.execute("DELETE FROM rules WHERE id = ?", (rule.id,))
                else:
                    conn.execute("UPDATE rules SET data = ? WHERE id = ?", (_dumps(_fields(rule)), rule.id))
                if fired:
                    return rule
        return None

    # -- journal --------------------------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        """Append to the shared ring; the entry's ``id`` is its sequence number, unique across workers."""
        if not self.journal_size:
            return
        self._journal.append({k: v for k, v in entry.items() if k != "id"})

    def journal(self, limit: int | None = None) -> list[dict[str, Any]]:
        if not self.journal_size:
            return []
        return self._journal.newest(self.journal_size if limit is None else limit)

    # -- rate limits ----------------------------------------------------------------------
    def take_tokens(self, buckets: Sequence[Bucket], now: float) -> int | None:
        """Take one token from every bucket, or from none: the index of the first empty one."""
        with self._write() as conn:
            levels = []
            for index, bucket in enumerate(buckets):
                row = conn.execute("SELECT tokens, last FROM buckets WHERE key = ?", (bucket.key,)).fetchone()
                tokens, last = row if row is not None else (bucket.burst, now)
                tokens = refill(tokens, last, now, bucket.rate, bucket.burst)
                if tokens < 1.0:
                    return index
                levels.append(tokens)
            conn.executemany(
                "INSERT OR REPLACE INTO buckets (key, tokens, last) VALUES (?, ?, ?)",
                [(bucket.key, tokens - 1.0, now) for bucket, tokens in zip(buckets, levels, strict=True)],
            )
            self._bucket_takes += 1
            if self._bucket_takes % 1000 == 0:  # bound: the least recently used buckets go (they were full)
                conn.execute(
                    "DELETE FROM buckets WHERE key IN (SELECT key FROM buckets ORDER BY last DESC LIMIT -1 OFFSET ?)",
                    (MAX_BUCKETS,),
                )
            return None

    # -- counters, clock, housekeeping ----------------------------------------------------
    def next_id(self, name: str) -> int:
        with self._write() as conn:
            return bump(conn, f"id:{name}")

    def clock_cell(self) -> SqliteStore:
        return self

    def clock_state(self) -> tuple[float, float]:
        return self._header.clock()

    def advance_clock(self, seconds: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE clock SET offset = offset + ?", (seconds,))
            self._header.set_clock(*conn.execute("SELECT origin, offset FROM clock").fetchone())

    def reset_clock(self, origin: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE clock SET origin = ?, offset = 0.0", (origin,))
            self._header.set_clock(origin, 0.0)

    def stats(self, now: float | None = None) -> dict[str, int]:
        conn = self._conn()
        count = lambda table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: E731
        return {
            **self._tasks.stats(now),
            "rules": count("rules"), "journal": self._journal.count() if self.journal_size else 0,
        }

    def clear(self) -> None:
        """Forget tasks, products, rules, journal, buckets and counters (the clock is the Clock's to reset)."""
        with self._write(rules=True) as conn:
            for table in ("rules", "buckets"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            self._journal.clear()
            # Not the ID-stream counter: a process reseeding after a reset must not replay another's.
            conn.execute("DELETE FROM counters WHERE name != 'id:ids'")
        self._tasks.clear()

    @classmethod
    def for_config(cls, path: str | os.PathLike[str], config: Any) -> SqliteStore:
        """A store sized by a Config's bounds."""
        return cls(
            path, max_tasks=config.max_tasks, task_ttl_s=config.task_ttl_s, journal_size=config.journal_size,
            product_bytes=config.product_cache_bytes,
        )
