"""A process's tasks as an append-only log: one ``write`` per submit, read by every process.

Why not a table: with ``--workers 2`` the SQLite insert of each submitted task (its WAL append,
two B-trees, the shared WAL index) cost about a quarter of a submit's CPU (bench/RESULTS.md);
one ``os.write`` of a line costs a few microseconds.  Like the journal, but any process must
find any task by its ID, so each process keeps, in memory, the newest tasks of every log.

- **Files.**  Slot K (claimed by ``store_shards``) writes ``PATH.tasks-K.log-G`` for G = 1, 2...
  Only the slot's owner writes them.  When the current generation holds ``rotate_lines`` lines
  (at least the ``keep`` bound) the owner starts G + 1 and deletes G - 1: the newest ``keep``
  tasks are always within the newest two files, and the disk holds at most twice the bound.
- **Lines.**  ``epoch TAB n TAB created TAB stamp TAB task_id TAB length TAB json``, written
  whole by one ``write``; a reader only takes what ends in a newline, so it never sees half a
  task, and ``length`` (of the JSON) unmasks a line that a crash cut short.  ``n`` counts the
  slot's tasks in this epoch (so ``n`` minus the tasks kept is the number evicted).
- **Readers** (``LogReader``, one per slot and process) keep the offset they read up to and the
  newest ``keep`` tasks by ID; catching up is a ``pread`` of what was appended since, plus an
  ``exists`` of the next generation.  The owner's reader takes its own lines without reading
  them back.
- **Clearing** (an admin reset) cannot rewrite other processes' files, so it moves a shared
  *epoch* (``Epoch``, 8 bytes in ``PATH.tasks.epoch``): every line carries the epoch it was
  written in, and lines of an older epoch are gone for every reader.  A submit that runs at the
  very moment of a reset may be forgotten with it, as if it had come just before.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import struct
from collections import OrderedDict

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: epoch bumps are not serialized (resets are rare)
    fcntl = None  # type: ignore[assignment]

#: (epoch, created, stamp, the task's fields as JSON)
Entry = tuple[int, float, float, str]
#: Read at most this much of a log per ``pread`` (more when one line is longer).
_CHUNK = 1 << 20


class Epoch:
    """The shared clear counter: a tiny memory-mapped file every process of a store reads."""

    SIZE = 8
    #: An epoch this high was not counted by resets (one a second would take 10^11 years): the file is damaged.
    LIMIT = 1 << 62

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < self.SIZE:
            os.ftruncate(self._fd, self.SIZE)  # zeros: epoch 0
        self._map = mmap.mmap(self._fd, self.SIZE)

    def current(self) -> int:
        return int(struct.unpack_from("<Q", self._map, 0)[0])

    def bump(self) -> int:
        """Move to a new epoch: every task written before is forgotten by every reader."""
        return self.raise_to(None)

    def raise_to(self, at_least: int | None) -> int:
        """Move to ``at_least`` if the epoch is below it (None: one more than now); the epoch after."""
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            epoch = self.current()
            wanted = epoch + 1 if at_least is None else at_least
            if wanted > epoch:
                struct.pack_into("<Q", self._map, 0, wanted)
                epoch = wanted
        finally:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        return epoch


class LogReader:
    """One slot's log as this process has read it: its newest ``keep`` tasks, by ID, in order."""

    def __init__(self, base: str, keep: int) -> None:
        self.base = base  # PATH.tasks-K.log; generation G is f"{base}-{G}"
        self.keep = keep
        self.tasks: OrderedDict[str, Entry] = OrderedDict()
        self.last = (0, 0)  # (epoch, n) of the newest line read
        self.generation = 0  # the file followed (0: none yet)
        self.lines = 0  # lines read from it
        self.evicted: list[str] | None = None  # the owner collects the IDs pushed out (to drop their products)
        self._epoch = 0  # lines of an older epoch are skipped
        self._fd: int | None = None
        self._offset = 0

    def file(self, generation: int) -> str:
        return f"{self.base}-{generation}"

    def generations(self) -> list[int]:
        """The generations on disk, ascending."""
        folder, name = os.path.split(self.base)
        pattern = re.compile(re.escape(name) + r"-(\d+)")
        try:
            names = os.listdir(folder or ".")
        except OSError:
            return []
        return sorted(int(m[1]) for m in map(pattern.fullmatch, names) if m)

    # -- reading ------------------------------------------------------------------------------
    def catch_up(self) -> None:
        """Read what was appended since the last time, following the owner into new generations."""
        for _ in range(64):  # each turn moves to a newer generation; the bound only guards a bug
            if self._fd is None and not self._start():
                return
            ahead = os.path.exists(self.file(self.generation + 1))  # before draining: then the drain is complete
            self._drain()
            if ahead:
                if not self.follow(self.generation + 1):
                    self.close()  # deleted already (this reader fell two generations behind): list again
            elif self._fd is not None and os.fstat(self._fd).st_nlink == 0:
                self.close()  # this file and the next were deleted: the same
            else:
                return

    def _start(self) -> bool:
        """Begin with the newest two generations on disk (they hold the newest ``keep`` tasks)."""
        found = self.generations()[-2:]
        for generation in found:
            if self.follow(generation) and generation != found[-1]:
                self._drain()
        return self._fd is not None

    def follow(self, generation: int) -> bool:
        """Read ``generation`` from its start from now on; False if it is not there."""
        self.close()
        try:
            self._fd = os.open(self.file(generation), os.O_RDONLY)
        except FileNotFoundError:
            return False
        self.generation, self._offset, self.lines = generation, 0, 0
        return True

    def _drain(self) -> None:
        fd = self._fd
        assert fd is not None
        size = _CHUNK
        while True:
            chunk = os.pread(fd, size, self._offset)
            end = chunk.rfind(b"\n") + 1
            if not end:
                if len(chunk) < size:
                    return  # nothing new, or a line still being written
                size *= 2  # one line longer than the chunk
                continue
            self._offset += end
            for line in chunk[:end].decode("utf-8", "replace").split("\n")[:-1]:
                self._take(line)
            if len(chunk) < size:
                return

    def _take(self, line: str) -> None:
        self.lines += 1
        try:
            epoch, n, created, stamp, task_id, length, data = line.split("\t", 6)
            entry = (int(epoch), float(created), float(stamp), data)
            count = int(n)
            whole = int(length) == len(data)
        except ValueError:
            whole = False
        if not whole:  # a line a crash cut short (the owner ended it with a newline on restart)
            return
        self.add(task_id, entry, count)

    # -- the index ----------------------------------------------------------------------------
    def add(self, task_id: str, entry: Entry, n: int) -> None:
        """One more task, the newest; the oldest beyond ``keep`` goes."""
        if entry[0] < self._epoch:
            return
        tasks = self.tasks
        tasks[task_id] = entry
        tasks.move_to_end(task_id)
        self.last = (entry[0], n)
        while len(tasks) > self.keep:
            gone, _ = tasks.popitem(last=False)
            if self.evicted is not None:
                self.evicted.append(gone)

    def forget_before(self, epoch: int) -> None:
        """Drop the tasks of epochs before ``epoch`` (a reset happened), and skip them from now on."""
        if epoch == self._epoch:
            return
        self._epoch = epoch
        self.tasks = OrderedDict((k, v) for k, v in self.tasks.items() if v[0] >= epoch)
        if self.last[0] < epoch:
            self.last = (epoch, 0)

    def last_epoch(self) -> int:
        """The epoch of the newest whole line on disk (0: none), read from the end of the newest file.

        Epochs only grow along a log, so this is the highest it holds.
        """
        found = self.generations()
        if not found:
            return 0
        with open(self.file(found[-1]), "rb") as source:
            size = source.seek(0, os.SEEK_END)
            source.seek(max(0, size - _CHUNK))
            tail = source.read()
        for line in reversed(tail.split(b"\n")[1 if size > _CHUNK else 0 : -1]):  # whole lines only
            with contextlib.suppress(ValueError):
                return int(line.split(b"\t", 1)[0])
        return 0

    def stored(self, epoch: int) -> int:
        """How many tasks the slot stored in ``epoch`` (kept or evicted)."""
        return self.last[1] if self.last[0] == epoch else 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def advance(self, written: int) -> None:
        """The owner appended ``written`` bytes and has already ``add``-ed them."""
        self._offset += written
        self.lines += 1


class LogWriter:
    """The owner's end of its slot's log: appends, and starts a new generation when one is full."""

    def __init__(self, reader: LogReader, rotate_lines: int) -> None:
        self.reader = reader
        self.rotate_lines = max(rotate_lines, reader.keep)
        reader.evicted = []
        reader.catch_up()  # an earlier run's tasks in this slot
        generation = reader.generation or 1
        self._fd = os.open(reader.file(generation), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if reader.generation != generation:
            reader.follow(generation)
        size = os.fstat(self._fd).st_size
        with open(reader.file(generation), "rb") as source:
            source.seek(max(0, size - 1))
            cut = size > 0 and source.read(1) != b"\n"
        if cut:  # a line a crash left unfinished: end it, so the next one starts clean (it is skipped)
            os.write(self._fd, b"\n")
            reader.catch_up()
        for old in reader.generations():  # left by a process that died between starting a file and deleting one
            if old < generation - 1:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(reader.file(old))

    def append(self, task_id: str, entry: Entry) -> None:
        if "\t" in task_id or "\n" in task_id:
            raise ValueError(f"a task ID with a tab or a newline: {task_id!r}")
        reader = self.reader
        n = reader.stored(entry[0]) + 1
        epoch, created, stamp, data = entry
        line = f"{epoch}\t{n}\t{created!r}\t{stamp!r}\t{task_id}\t{len(data)}\t{data}\n".encode()
        written = os.write(self._fd, line)
        while written < len(line):  # a short write: only when the disk is full or on a signal
            written += os.write(self._fd, line[written:])
        reader.advance(len(line))
        reader.add(task_id, entry, n)
        if reader.lines >= self.rotate_lines:
            self._rotate()

    def _rotate(self) -> None:
        reader = self.reader
        new = reader.generation + 1
        fd = os.open(reader.file(new), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(self._fd)
        self._fd = fd
        reader.follow(new)
        with contextlib.suppress(FileNotFoundError):
            os.remove(reader.file(new - 2))

    def close(self) -> None:
        os.close(self._fd)
        self.reader.close()


__all__ = ["Entry", "Epoch", "LogReader", "LogWriter"]
