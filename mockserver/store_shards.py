"""The shared store's tasks and product photos, one shard per process: no cross-process lock.

Every submit stores a task.  In one shared table each insert had to take the writers' lock of
``store_sqlite``, and with ``--workers 2`` the workers spent three quarters of their time waiting
for it.  Here each process writes only its own shard, under a thread lock, and reads everybody's:

- **Slots.**  The first write (a task, a poll's count or a product) claims a slot: a non-blocking exclusive ``flock`` on
  ``PATH.tasks-K.lock`` for K = 0, 1, 2... (the first one free).  ``flock`` belongs to an open
  file description, so two stores in one process get two slots, and a dead process's slot is
  free again: a restarted or respawned worker reuses 0..N-1, and the number of shard files stays
  at the peak number of processes that ran at once.  The slot is claimed lazily, and again after
  a fork, so a parent that prepared the store never hands its slot to the workers it forks.
- **Tasks** go to the slot's append-only log, ``PATH.tasks-K.log-G`` (``task_log``): one
  ``write`` per submit, where an SQLite insert cost a quarter of a submit's CPU.  Every process
  keeps the newest ``max_tasks`` of every log in memory and reads what was appended since it
  last looked (a ``pread``) before it answers a read, so a task submitted through one worker is
  queryable through another as soon as the submit has answered.
- **Shards.**  ``PATH.tasks-K`` is an SQLite file in WAL mode (``synchronous=OFF``, as the main
  file) with a ``polls`` table, the product rows and their byte counter.  It is built complete
  under a temporary name and renamed, so a reader never opens a half-made shard; the folder's
  shards and logs name the slots there are.
- **Polls** never write another process's shard: a poll adds one to the poller's own row for the
  task, and a task's ``polls`` is the sum over all shards, read after that increment.
- **Products.**  A submitted product photo is drawn into the task's result images, which any
  worker may render, so the submitting process stores it too: the bytes in a file of its own
  folder ``PATH.tasks-K.products/`` (written whole, then renamed), then a row in its shard's
  ``products`` table; readers find the row like a task's, then read the file.  Not a BLOB in
  the shard: SQLite writes a 3 MiB photo twice (WAL, then checkpoint) page by page, 3.5 ms of
  CPU where one file write takes 0.7 ms.  Bounded per shard by bytes, the newest ones up to
  ``product_bytes`` (the ``product_cache_bytes`` setting), and dropped when their task is evicted
  (every ``TRIM_EVERY`` submits).  The byte total is a counter in the shard, changed in the
  transaction that adds or deletes rows, so it stays exact whoever deleted them (another
  process's ``clear``).  A file is unlinked after its row is deleted; files without a row (a
  process died in between) are swept when the slot is claimed again, and by a reset if no
  process holds the slot then.
- **Bounds** are per slot: ``max_tasks`` is the number of tasks *each process* keeps (the newest
  ones it stored), so N workers keep up to N x ``max_tasks``; ``task_ttl_s`` hides older ones
  from every read.  ``stats`` adds the slots up.  ``clear`` moves the logs' shared epoch (older
  lines are gone for everybody) and empties every shard: the one write into other processes'
  files, rare (an admin reset), which relies on SQLite's busy timeout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import itertools
import json
import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .config import ConfigError
from .task_log import Epoch, LogReader, LogWriter
from .tasks import Task

try:  # POSIX: slots are flocks; a dead process's slot frees itself
    import fcntl
except ImportError:  # pragma: no cover - Windows: every store shares slot 0, so one process per state file
    fcntl = None  # type: ignore[assignment]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS polls (task_id TEXT PRIMARY KEY, created REAL NOT NULL, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS polls_by_age ON polls (created);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS products (
    seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL, idx INTEGER NOT NULL, bytes INTEGER NOT NULL,
    UNIQUE (task_id, idx));
"""
#: The counter holding the bytes of a shard's ``products`` (kept with the rows, in one transaction).
_PRODUCT_BYTES = "productBytes"

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
#: Connections a forked child inherited, kept from the garbage collector: closing one in the
#: child could checkpoint and delete the WAL that the parent is still using.
_INHERITED: list[Any] = []


def disown(connections: Any) -> None:
    """After a fork: never use ``connections`` (the parent's) again, and never close them."""
    _INHERITED.append(connections)


def dumps(value: Any) -> str:
    """Compact JSON, as every row of the store keeps its object."""
    return _ENCODER.encode(value)


def fields(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a shallow dict (``dataclasses.asdict`` deep-copies: 10x slower)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def connect(path: str | os.PathLike[str], *, create: bool = True) -> sqlite3.Connection:
    """A connection as every file of the store wants it: autocommit, WAL, no fsync.

    ``create=False`` opens only an existing file: a shard deleted under a reader must not come
    back as an empty database in the wrong journal mode.
    """
    if create:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    else:
        uri = Path(path).absolute().as_uri() + "?mode=rw"
        conn = sqlite3.connect(uri, timeout=30, isolation_level=None, uri=True)
    conn.execute("PRAGMA journal_mode=WAL")
    # OFF: commits survive the process crashing (WAL), not the machine losing power; a fake's
    # state is not worth an fsync per request (it costs 3x here).
    conn.execute("PRAGMA synchronous=OFF")
    return conn


def _task(data: str) -> Task | None:
    """A task from its log line's JSON; None for a line damaged on disk (it reads as no task)."""
    try:
        values = json.loads(data)
        return Task(**values) if isinstance(values, dict) else None
    except (ValueError, TypeError):
        return None


def product_name(task_id: str, index: int) -> str:
    """The file of a task's item's product photo, in its shard's product folder."""
    return f"{quote(task_id, safe='')}.{index}"


def bump(conn: sqlite3.Connection, name: str, by: int = 1) -> int:
    """Add ``by`` to the counter ``name`` (created at 0): its new value."""
    row = conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value",
        (name, by),
    ).fetchone()
    return int(row[0])


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class TaskShards:
    """The tasks and products of a ``SqliteStore`` at ``path``: this process's shard plus everybody else's."""

    #: Poll rows beyond the bounds, and the products of evicted tasks, are deleted every this many writes.
    TRIM_EVERY = 64
    #: A task log starts a new file after this many lines (or ``max_tasks``, if more): see ``task_log``.
    ROTATE_LINES = 256

    def __init__(self, path: Path, *, max_tasks: int, task_ttl_s: float, product_bytes: int) -> None:
        self.path = path
        self.max_tasks = max_tasks
        self.task_ttl_s = task_ttl_s
        self.product_bytes = product_bytes
        self._folder = str(path.parent)
        # A slot is there if its shard or a file of its log is (a log outlives a deleted shard).
        self._name = re.compile(re.escape(path.name) + r"\.tasks-(\d+)(?:\.log-\d+)?")
        self._pid = os.getpid()
        self._lock = threading.Lock()  # this store's writes to its own shard, and claiming it
        self._local = threading.local()  # per thread: {slot: connection}
        self._slot: int | None = None
        self._slot_fd: int | None = None
        self._known: list[int] = []  # shard slots found in the folder, ascending
        self._listed: int | None = None  # the folder's mtime when they were listed
        self._polls_written = 0
        self._epoch: Epoch | None = None  # opened on first use (the folder may not exist yet)
        self._seen_epoch = -1
        self._readers: dict[int, LogReader] = {}  # per slot: its log as this process has read it
        self._writer: LogWriter | None = None  # this store's own log, once it holds a slot
        self._puts = 0
        self._has_products = False  # this shard may hold product rows (else trimming skips SQLite)

    # -- files, slots, connections --------------------------------------------------------
    def shard_path(self, slot: int) -> str:
        return f"{self.path}.tasks-{slot}"

    def product_folder(self, slot: int) -> str:
        """Where shard ``slot``'s product photos are, a file each (a folder: writing one leaves
        the shards' folder, whose change makes readers list it again, untouched)."""
        return f"{self.shard_path(slot)}.products"

    @property
    def slot(self) -> int | None:
        """This store's shard, or None before its first write (and after a fork)."""
        self._check_fork()
        return self._slot

    def _check_fork(self) -> None:
        """After a fork the parent's connections, lock and slot are not this process's."""
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            disown(self._local)
            self._local = threading.local()
            self._lock = threading.Lock()
            if self._slot_fd is not None:
                os.close(self._slot_fd)  # the parent's copy keeps its lock; this one claims its own
            self._slot = self._slot_fd = None
            self._forget_logs()

    def _forget_logs(self) -> None:
        """Close the logs' files and forget what was read (read again on the next use)."""
        for reader in self._readers.values():
            reader.close()
        if self._writer is not None:
            self._writer.close()
        self._readers, self._writer = {}, None

    def _db(self, slot: int) -> sqlite3.Connection:
        """This thread's connection to shard ``slot`` (connections stay in their thread)."""
        conns: dict[int, sqlite3.Connection] | None = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        conn = conns.get(slot)
        if conn is None:
            conn = conns[slot] = connect(self.shard_path(slot), create=False)
        return conn

    def _own(self) -> sqlite3.Connection:
        """This thread's connection to this store's shard, claiming a slot first if needed.

        Caller holds ``self._lock``.
        """
        if self._slot is None:
            self._claim()
        assert self._slot is not None
        return self._db(self._slot)

    def _claim(self) -> None:
        """Take the first free slot and make sure its shard exists, complete."""
        for slot in itertools.count():
            if fcntl is None:  # pragma: no cover - no flock: one shard for everybody
                fd = None
                break
            fd = os.open(f"{self.shard_path(slot)}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                os.close(fd)
        try:
            shard = self.shard_path(slot)
            if not os.path.exists(shard):
                # Built aside and renamed: a reader listing the folder never meets a shard without tables.
                aside = f"{shard}.new"
                for leftover in (aside, f"{aside}-wal", f"{aside}-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(leftover)
                made = connect(aside)
                made.executescript(_SCHEMA)
                made.close()  # the last connection: the WAL is folded in and removed
                os.replace(aside, shard)
            else:  # a shard of an earlier run, kept as it is (tables added if this version has more)
                self._db(slot).executescript(_SCHEMA)
            self._sweep_products(slot)
            self._has_products = bool(self._db(slot).execute("SELECT 1 FROM products LIMIT 1").fetchall())
            self._slot = slot
            self._writer = LogWriter(self._reader(slot, self._epoch_now()), rotate_lines=self.ROTATE_LINES)
        except BaseException:
            self._slot = None
            if fd is not None:
                os.close(fd)
            raise
        self._slot, self._slot_fd = slot, fd
        if slot not in self._known:
            self._known = sorted([*self._known, slot])

    def _sweep_products(self, slot: int) -> None:
        """Make the slot's product folder, without the files that no row of the shard names."""
        folder = self.product_folder(slot)
        os.makedirs(folder, exist_ok=True)
        named = {product_name(t, i) for t, i in self._db(slot).execute("SELECT task_id, idx FROM products")}
        for name in set(os.listdir(folder)) - named:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, name))

    def _slots(self, *, refresh: bool = False) -> list[int]:
        """The shards in the folder, this store's first; listed again when the folder changed.

        A change within the filesystem's timestamp granularity can leave the mtime as it was,
        so a listing made while the mtime was recent is not trusted the next time.
        """
        folder = self._folder
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError:
            mtime = None
        if refresh or mtime is None or mtime != self._listed or time.time_ns() - mtime < 2_000_000_000:
            found = set()
            with contextlib.suppress(OSError):
                for name in os.listdir(folder):
                    match = self._name.fullmatch(name)
                    if match:
                        found.add(int(match[1]))
            self._known, self._listed = sorted(found), mtime
        own = self._slot
        if own is None:
            return self._known
        return [own, *(slot for slot in self._known if slot != own)]

    def close(self) -> None:
        """Close this thread's connections and give the slot up (a later write claims one again)."""
        self._check_fork()
        for conn in getattr(self._local, "conns", {}).values():
            conn.close()
        self._local.conns = {}
        with self._lock:
            self._forget_logs()
            if self._slot_fd is not None:
                os.close(self._slot_fd)  # closing the file releases its flock
            self._slot = self._slot_fd = None

    # -- the Store's task methods: append-only logs (task_log) ---------------------------
    def check(self) -> None:
        """At start-up, before any worker runs: every file of the tasks is usable, or a
        ``ConfigError`` names the one that is not (not a 500 on every request later).  And the
        epoch is at least the newest one in any log: an epoch file that was deleted or emptied
        must not bring back what a reset forgot."""
        path = self._epoch_path
        try:
            shared = self._shared_epoch()
            if shared.current() >= Epoch.LIMIT:
                raise ConfigError(f"state {path}: damaged (epoch {shared.current()}); delete it")
            newest = 0
            for slot in self._slots(refresh=True):
                path = self.shard_path(slot)
                os.close(os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600))
                self._read(slot, "SELECT count(*) FROM polls", ())
                log = LogReader(f"{path}.log", 1)
                for generation in log.generations():
                    path = log.file(generation)
                    os.close(os.open(path, os.O_RDONLY))
                newest = max(newest, log.last_epoch())
            shared.raise_to(newest)
        except OSError as exc:
            raise ConfigError(f"state {exc.filename or path}: {exc.strerror or exc}; fix or delete it") from None
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"state {path}: not a usable task shard (SQLite: {exc}); delete it") from None

    @property
    def _epoch_path(self) -> str:
        return f"{self.path}.tasks.epoch"

    def _shared_epoch(self) -> Epoch:
        """The epoch file, opened on first use (the folder may not exist before)."""
        if self._epoch is None:
            self._epoch = Epoch(self._epoch_path)
        return self._epoch

    def _epoch_now(self) -> int:
        """The current epoch; after a reset, every reader forgets the tasks before it.

        Caller holds ``self._lock``."""
        epoch = self._shared_epoch().current()
        if epoch != self._seen_epoch:
            self._seen_epoch = epoch
            for reader in self._readers.values():
                reader.forget_before(epoch)
        return epoch

    def _reader(self, slot: int, epoch: int) -> LogReader:
        """This process's reader of slot ``slot``'s log (caller holds ``self._lock``)."""
        reader = self._readers.get(slot)
        if reader is None:
            reader = self._readers[slot] = LogReader(f"{self.shard_path(slot)}.log", self.max_tasks)
            reader.forget_before(epoch)
        return reader

    def _caught_up(self, slots: Iterable[int], epoch: int) -> list[LogReader]:
        """The readers of ``slots``, each up to date (this store's own always is)."""
        readers = []
        for slot in slots:
            reader = self._reader(slot, epoch)
            if slot != self._slot:
                reader.catch_up()
            readers.append(reader)
        return readers

    def put(self, task: Task, now: float) -> None:
        """One line appended to this store's log; every TRIM_EVERY-th also drops the products
        of the tasks the bound pushed out."""
        data = dumps(fields(task))
        self._check_fork()
        with self._lock:
            if self._slot is None:
                self._claim()
            assert self._writer is not None
            self._writer.append(task.task_id, (self._epoch_now(), task.created, time.time(), data))
            self._puts += 1
            if self._puts % self.TRIM_EVERY == 0:
                self._trim_products()

    def _trim_products(self) -> None:
        """Delete the products of the tasks this store's bound evicted (caller holds ``self._lock``)."""
        assert self._writer is not None and self._slot is not None
        evicted = self._writer.reader.evicted
        if not evicted:
            return
        ids, evicted[:] = json.dumps(evicted), []
        if not self._has_products:
            return
        conn = self._own()
        with transaction(conn):
            dropped = self._delete_products(conn, "task_id IN (SELECT value FROM json_each(?))", (ids,))
        self._unlink_products(self._slot, dropped)

    def get(self, task_id: str, now: float, *, poll: bool = False) -> Task | None:
        """The task if some shard holds it visibly; ``poll`` counts one more poll (in this shard).

        Its ``polls`` is the sum over all shards, read after this poll's own increment.
        """
        self._check_fork()
        found = self._find(task_id, now)
        if found is None:
            return None
        slots, data = found
        task = _task(data)
        if task is None:
            return None
        own = self._count_poll(task_id, task.created, now) if poll else 0
        others = [slot for slot in slots if slot != self._slot] if poll else slots
        task.polls += own + self._polls([task_id], others).get(task_id, 0)
        return task

    def _find(self, task_id: str, now: float) -> tuple[list[int], str] | None:
        """(the shards there are, the task's JSON) if a log holds it visibly."""
        oldest = now - self.task_ttl_s
        with self._lock:
            epoch = self._epoch_now()
            for refresh in (False, True):  # a miss lists the folder again: the task's shard may be new
                slots = self._slots(refresh=refresh)
                for reader in self._caught_up(slots, epoch):
                    entry = reader.tasks.get(task_id)
                    if entry is not None and entry[1] >= oldest:
                        return slots, entry[3]
        return None

    def _first(self, query: str, args: tuple[Any, ...]) -> tuple[list[int], int, tuple[Any, ...]] | None:
        """(the shards there are, the shard, its first row): the first shard, own first, where
        ``query`` finds a row."""
        tried: set[int] = set()
        for refresh in (False, True):  # a miss lists the folder again: the row's shard may be new
            slots = self._slots(refresh=refresh)
            for slot in slots:
                if slot in tried:
                    continue
                tried.add(slot)
                rows = self._read(slot, query, args)
                if rows:
                    return slots, slot, rows[0]
        return None

    def _read(self, slot: int, query: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows from one shard; a shard that vanished since the listing holds nothing, and so
        does a table that an earlier version's shard (left by a process no longer running) lacks."""
        try:
            return self._db(slot).execute(query, args).fetchall()
        except sqlite3.OperationalError as exc:
            if os.path.exists(self.shard_path(slot)) and not str(exc).startswith("no such table"):
                raise
            return []

    def _count_poll(self, task_id: str, created: float, now: float) -> int:
        """One more poll of the task in this store's shard: the shard's count for it now."""
        with self._lock:
            conn = self._own()
            (count,) = conn.execute(
                "INSERT INTO polls VALUES (?, ?, 1) ON CONFLICT (task_id) DO UPDATE SET n = n + 1 RETURNING n",
                (task_id, created),
            ).fetchall()[0]
            self._polls_written += 1
            if self._polls_written % self.TRIM_EVERY == 0:
                # Poll rows live as long as a task can: the TTL, and as many as all shards hold.
                with transaction(conn):
                    conn.execute("DELETE FROM polls WHERE created < ?", (now - self.task_ttl_s,))
                    conn.execute(
                        "DELETE FROM polls WHERE task_id IN"
                        " (SELECT task_id FROM polls ORDER BY created DESC LIMIT -1 OFFSET ?)",
                        (self.max_tasks * max(1, len(self._known)),),
                    )
        return int(count)

    def _polls(self, task_ids: list[str], slots: Iterable[int]) -> dict[str, int]:
        """Polls per task, summed over ``slots``."""
        totals: dict[str, int] = {}
        if len(task_ids) == 1:
            query, wanted = "SELECT task_id, n FROM polls WHERE task_id = ?", (task_ids[0],)
        else:
            query = "SELECT task_id, n FROM polls WHERE task_id IN (SELECT value FROM json_each(?))"
            wanted = (json.dumps(task_ids),)
        for slot in slots if task_ids else ():
            for task_id, n in self._read(slot, query, wanted):
                totals[task_id] = totals.get(task_id, 0) + int(n)
        return totals

    def newest(self, now: float, limit: int) -> list[Task]:
        """The newest visible tasks of all shards, newest first (by when they were stored)."""
        self._check_fork()
        oldest = now - self.task_ttl_s
        with self._lock:
            slots = self._slots()
            per_log = [
                list(itertools.islice(
                    ((stamp, data) for _, created, stamp, data in reversed(reader.tasks.values()) if created >= oldest),
                    limit,
                ))
                for reader in self._caught_up(slots, self._epoch_now())
            ]
        newest = list(itertools.islice(heapq.merge(*per_log, key=lambda row: row[0], reverse=True), limit))
        tasks = [task for task in map(_task, (data for _, data in newest)) if task is not None]
        polls = self._polls([task.task_id for task in tasks], slots)
        for task in tasks:
            task.polls += polls.get(task.task_id, 0)
        return tasks

    # -- the Store's product methods ------------------------------------------------------
    def put_product(self, task_id: str, index: int, data: bytes) -> None:
        """Keep item ``index``'s product photo for this store's shard; the oldest ones go beyond
        ``product_bytes``.  A photo larger than that whole bound is not kept: it would push out
        every other one, then itself."""
        if len(data) > self.product_bytes:  # 0: products are not kept at all
            return
        self._check_fork()
        with self._lock:
            conn = self._own()
            slot = self._slot
            assert slot is not None
            self._has_products = True
            name = product_name(task_id, index)
            path = os.path.join(self.product_folder(slot), name)
            with open(f"{path}.new", "wb") as out:  # whole before its row: who finds the row reads it all
                out.write(data)
            os.replace(f"{path}.new", path)
            with transaction(conn):
                # The same item stored again: its old row goes (its file was just replaced).
                self._delete_products(conn, "task_id = ? AND idx = ?", (task_id, index))
                seq = conn.execute(
                    "INSERT INTO products (task_id, idx, bytes) VALUES (?, ?, ?)", (task_id, index, len(data))
                ).lastrowid
                excess = bump(conn, _PRODUCT_BYTES, len(data)) - self.product_bytes
                dropped: list[str] = []
                if excess > 0:
                    dropped = self._delete_products(conn, "seq <= ?", (self._oldest_to_drop(conn, excess, seq),))
            self._unlink_products(slot, dropped)

    @staticmethod
    def _oldest_to_drop(conn: sqlite3.Connection, excess: int, newest: int) -> int:
        """The seq up to which the oldest products hold at least ``excess`` bytes (never ``newest``)."""
        freed, last = 0, 0
        rows = conn.execute("SELECT seq, bytes FROM products WHERE seq < ? ORDER BY seq", (newest,))
        for seq, size in rows:
            freed, last = freed + size, seq
            if freed >= excess:
                break
        rows.close()
        return int(last)

    @staticmethod
    def _delete_products(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[str]:
        """Delete the rows ``where`` says and their bytes from the shard's total (in the caller's
        transaction); the names of their files, to unlink once it committed."""
        rows = conn.execute(f"DELETE FROM products WHERE {where} RETURNING task_id, idx, bytes", args).fetchall()  # noqa: S608 - fixed conditions
        if rows:
            bump(conn, _PRODUCT_BYTES, -sum(size for _, _, size in rows))
        return [product_name(task_id, index) for task_id, index, _ in rows]

    def _unlink_products(self, slot: int, names: Iterable[str]) -> None:
        folder = self.product_folder(slot)
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, name))

    def get_product(self, task_id: str, index: int) -> bytes | None:
        """Item ``index``'s product photo from whichever shard holds it, this store's first."""
        self._check_fork()
        found = self._first("SELECT 1 FROM products WHERE task_id = ? AND idx = ?", (task_id, index))
        if found is None:
            return None
        try:
            with open(os.path.join(self.product_folder(found[1]), product_name(task_id, index)), "rb") as source:
                return source.read()
        except FileNotFoundError:  # dropped since the row was read
            return None

    def stats(self, now: float | None = None) -> dict[str, int]:
        """``tasks`` (kept, and with ``now`` not past their age) and ``evictedTasks`` (stored
        since the last reset, minus those), over all logs."""
        self._check_fork()
        oldest = -math.inf if now is None else now - self.task_ttl_s
        kept = evicted = 0
        with self._lock:
            epoch = self._epoch_now()
            for reader in self._caught_up(self._slots(), epoch):
                young = sum(1 for entry in reader.tasks.values() if entry[1] >= oldest)
                kept += young
                evicted += max(0, reader.stored(epoch) - young)
        return {"tasks": kept, "evictedTasks": evicted}

    def clear(self) -> None:
        """Forget every log's tasks (a new epoch) and every shard's polls, products and counters."""
        self._check_fork()
        with self._lock:
            self._shared_epoch().bump()
            self._epoch_now()  # this process's readers forget at once
        for slot in self._slots(refresh=True):
            if not os.path.exists(self.shard_path(slot)):
                continue  # a log whose shard was deleted: its tasks went with the epoch
            with self._lock if slot == self._slot else contextlib.nullcontext():
                conn = self._db(slot)
                conn.executescript(_SCHEMA)  # an earlier version's shard gets the tables it lacks, as on claiming
                with transaction(conn):
                    dropped = self._delete_products(conn, "1", ())
                    for table in ("polls", "counters"):
                        conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
                self._unlink_products(slot, dropped)
                if slot == self._slot:  # under this store's lock: no photo of its own is half written
                    self._sweep_products(slot)
                else:
                    self._sweep_if_idle(slot)

    def _sweep_if_idle(self, slot: int) -> None:
        """Sweep the product files no row names (a half-written one that a killed process left)
        from another slot if no process holds it, its lock taken for the sweep; never from a live
        process's slot, whose next photo may be half written right now."""
        if fcntl is None:
            return
        try:
            fd = os.open(f"{self.shard_path(slot)}.lock", os.O_RDWR)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._sweep_products(slot)
        except BlockingIOError:
            pass  # a live process holds the slot
        finally:
            os.close(fd)  # closing the file releases the flock


__all__ = ["TaskShards", "bump", "connect", "disown", "dumps", "fields", "transaction"]
