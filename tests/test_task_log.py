"""The task logs (``task_log``): one append-only file per process, read by every process.

Two ``SqliteStore`` objects on one path stand for two workers (each claims its own slot); the
files are looked at directly where the promise is about them (bounded disk, torn lines).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mockserver.config import ConfigError
from mockserver.store_shards import TaskShards
from mockserver.store_sqlite import SqliteStore
from mockserver.task_log import Epoch, LogReader, LogWriter
from mockserver.tasks import Task


def store(path: Path, max_tasks: int = 5) -> SqliteStore:
    return SqliteStore(path, max_tasks=max_tasks, task_ttl_s=1000, journal_size=10)


def put(owner: SqliteStore, *names: str) -> None:
    for name in names:
        owner.put_task(Task(name, 0.0, [], []), 0.0)


def listed(reader: SqliteStore) -> list[str]:
    return [t.task_id for t in reader.list_tasks(0.0, 1000)]


def counts(reader: SqliteStore) -> dict[str, int]:
    stats = reader.stats()
    return {"tasks": stats["tasks"], "evicted": stats["evictedTasks"]}


def log_files(folder: Path, slot: int = 0) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if re.fullmatch(rf"s\.db\.tasks-{slot}\.log-\d+", p.name))


@pytest.fixture
def small_files(monkeypatch):
    """A new log file every 5 lines (the bound is 5 tasks), so a few puts rotate several times."""
    monkeypatch.setattr(TaskShards, "ROTATE_LINES", 5)


def test_a_reader_follows_the_writer_through_many_new_files_and_disk_stays_bounded(tmp_path, small_files):
    a, b = store(tmp_path / "s.db"), store(tmp_path / "s.db")
    for n in range(23):
        put(a, f"t{n}")
        if n % 3 == 0:  # b reads now and then: sometimes within a file, sometimes just after a new one
            assert listed(b)[0] == f"t{n}"
    assert listed(b) == [f"t{n}" for n in range(22, 17, -1)]
    assert b.get_task("t17", 0.0) is None and b.get_task("t18", 0.0) is not None
    assert log_files(tmp_path) == ["s.db.tasks-0.log-4", "s.db.tasks-0.log-5"]  # the newest two files only


def test_a_reader_that_fell_generations_behind_still_sees_the_newest_tasks(tmp_path, small_files):
    a, b = store(tmp_path / "s.db"), store(tmp_path / "s.db")
    put(a, "first")
    assert listed(b) == ["first"]  # b follows file 1 and holds it open
    put(a, *(f"t{n}" for n in range(30)))  # six new files; the one b follows is deleted
    assert listed(b) == [f"t{n}" for n in range(29, 24, -1)]
    assert counts(b) == {"tasks": 5, "evicted": 26}


def test_a_late_reader_starts_from_the_two_newest_files(tmp_path, small_files):
    a = store(tmp_path / "s.db")
    put(a, *(f"t{n}" for n in range(12)))
    late = store(tmp_path / "s.db")
    assert listed(late) == [f"t{n}" for n in range(11, 6, -1)]
    assert counts(late) == counts(a) == {"tasks": 5, "evicted": 7}


def test_a_restart_continues_the_log_where_it_ended(tmp_path, small_files):
    first = store(tmp_path / "s.db")
    put(first, *(f"t{n}" for n in range(7)))
    first.close()
    again = store(tmp_path / "s.db")
    put(again, "new")
    assert again._tasks.slot == 0
    assert listed(again) == ["new", "t6", "t5", "t4", "t3"]
    assert counts(again) == {"tasks": 5, "evicted": 3}  # the count of stored tasks went on too


def test_files_a_crash_left_behind_are_deleted_when_the_slot_is_taken_again(tmp_path, small_files):
    first = store(tmp_path / "s.db")
    put(first, *(f"t{n}" for n in range(12)))
    first.close()
    (tmp_path / "s.db.tasks-0.log-1").write_bytes(b"")  # as if a rotation had died before deleting it
    again = store(tmp_path / "s.db")
    put(again, "new")
    assert log_files(tmp_path) == ["s.db.tasks-0.log-2", "s.db.tasks-0.log-3"]
    assert listed(again) == ["new", "t11", "t10", "t9", "t8"]


def test_a_line_a_crash_cut_short_costs_only_itself(tmp_path):
    first = store(tmp_path / "s.db")
    put(first, "kept")
    first.close()
    (log,) = log_files(tmp_path)
    with open(tmp_path / log, "ab") as out:
        out.write(b"0\t2\t0.0\t0.0\thalf\t80\t{\"task_id\": \"ha")  # what a process killed mid-write leaves
    reader = store(tmp_path / "s.db")
    again = store(tmp_path / "s.db")
    put(again, "next")  # the new owner ends the cut line first
    assert listed(reader) == ["next", "kept"]
    assert reader.get_task("half", 0.0) is None


def test_a_line_whose_json_is_damaged_reads_as_no_task(tmp_path):
    a = store(tmp_path / "s.db")
    put(a, "good")
    (log,) = log_files(tmp_path)
    with open(tmp_path / log, "ab") as out:  # framed right (tabs, length), but not a task inside
        out.write(b"0\t2\t0.0\t0.0\tbad\t5\t{nope\n0\t3\t0.0\t0.0\tlist\t2\t[]\n")
    reader = store(tmp_path / "s.db")
    assert listed(reader) == ["good"]
    assert reader.get_task("bad", 0.0) is None and reader.get_task("list", 0.0) is None


def test_a_reset_forgets_every_log_for_readers_that_come_later_too(tmp_path, small_files):
    a, b = store(tmp_path / "s.db"), store(tmp_path / "s.db")
    put(a, "a1", "a2")
    put(b, "b1")
    b.clear()
    assert listed(a) == listed(b) == [] and counts(a) == {"tasks": 0, "evicted": 0}
    later = store(tmp_path / "s.db")  # a restart: the lines are still on disk, of an older epoch
    assert listed(later) == [] and later.get_task("a1", 0.0) is None
    put(a, "a3")
    assert listed(later) == ["a3"] and counts(b) == {"tasks": 1, "evicted": 0}


def test_lines_written_in_an_older_epoch_are_skipped(tmp_path):
    """A submit racing a reset: its line carries the epoch it read before the reset."""
    base = str(tmp_path / "x.log")
    epoch = Epoch(str(tmp_path / "x.epoch"))
    writer = LogWriter(LogReader(base, keep=10), rotate_lines=100)
    writer.append("before", (epoch.current(), 0.0, 0.0, "{}"))
    late = epoch.current()
    epoch.bump()
    writer.append("racing", (late, 0.0, 0.0, "{}"))
    writer.append("after", (epoch.current(), 0.0, 0.0, "{}"))
    reader = LogReader(base, keep=10)
    reader.forget_before(epoch.current())
    reader.catch_up()
    assert list(reader.tasks) == ["after"] and reader.stored(epoch.current()) == 1


def test_a_long_line_is_read_whole(tmp_path):
    base = str(tmp_path / "x.log")
    writer = LogWriter(LogReader(base, keep=10), rotate_lines=100)
    data = '{"pad": "' + "x" * (3 << 20) + '"}'  # longer than one read of the log
    writer.append("big", (0, 0.0, 0.0, data))
    writer.append("small", (0, 0.0, 0.0, "{}"))
    reader = LogReader(base, keep=10)
    reader.catch_up()
    assert list(reader.tasks) == ["big", "small"] and reader.tasks["big"][3] == data


def test_a_task_id_that_would_break_a_line_is_refused(tmp_path):
    writer = LogWriter(LogReader(str(tmp_path / "x.log"), keep=10), rotate_lines=100)
    with pytest.raises(ValueError, match="tab or a newline"):
        writer.append("a\tb", (0, 0.0, 0.0, "{}"))
    assert os.path.getsize(tmp_path / "x.log-1") == 0


def test_a_lost_epoch_file_does_not_bring_back_what_a_reset_forgot(tmp_path):
    first = store(tmp_path / "s.db")
    put(first, "before")
    first.clear()
    put(first, "after")
    first.close()
    (tmp_path / "s.db.tasks.epoch").unlink()  # or emptied: it comes back as epoch 0
    again = store(tmp_path / "s.db")
    assert listed(again) == ["after"]
    again.clear()  # and a reset still forgets everything
    assert listed(again) == [] and listed(store(tmp_path / "s.db")) == []


@pytest.mark.parametrize(
    ("damage", "names"),
    [
        (lambda d: (d / "s.db.tasks.epoch").write_bytes(b"\xff" * 8), "s.db.tasks.epoch: damaged"),
        (lambda d: (d / "s.db.tasks-0").write_bytes(b"not SQLite " * 200), "s.db.tasks-0: not a usable task shard"),
        (lambda d: ((d / "s.db.tasks-0.lock").unlink(), (d / "s.db.tasks-0.lock").mkdir()), "s.db.tasks-0.lock"),
    ],
    ids=["epoch", "shard", "lock"],
)
def test_a_damaged_task_file_stops_the_start_with_its_name(tmp_path, damage, names):
    first = store(tmp_path / "s.db")
    put(first, "t")
    first.close()
    damage(tmp_path)
    with pytest.raises(ConfigError, match=re.escape(names)):
        store(tmp_path / "s.db")


def test_a_log_whose_shard_was_deleted_is_still_read_and_reset(tmp_path):
    a, b = store(tmp_path / "s.db"), store(tmp_path / "s.db")
    put(a, "a1")
    put(b, "b1")
    a.close()
    for leftover in tmp_path.glob("s.db.tasks-0*"):
        if ".log-" not in leftover.name and leftover.is_file():
            leftover.unlink()  # the shard (polls, product rows) gone; the log kept
    late = store(tmp_path / "s.db")
    assert listed(late) == ["b1", "a1"]
    late.clear()
    assert listed(late) == [] and counts(late) == {"tasks": 0, "evicted": 0}


def test_a_reset_sweeps_half_written_photos_from_idle_slots_only(tmp_path):
    a, b, c = store(tmp_path / "s.db"), store(tmp_path / "s.db"), store(tmp_path / "s.db")
    for owner, name in ((a, "a"), (b, "b"), (c, "c")):
        owner.put_product(name, 0, b"photo")
        (tmp_path / f"s.db.tasks-{owner._tasks.slot}.products" / f"{name}.1.new").write_bytes(b"")
    a.close()  # slot 0 idle: what a killed worker leaves
    b.clear()
    left = sorted(p.name for p in tmp_path.glob("s.db.tasks-*.products/*"))
    assert left == ["c.1.new"]  # b swept its own and idle slot 0; c is alive and may be writing
