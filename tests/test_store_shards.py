"""The shared store's tasks: one shard per process, every shard read by all (``store_shards``).

Two ``SqliteStore`` objects on one path stand for two worker processes: a slot is a ``flock``,
which belongs to an open file, so each store claims its own.  The last tests fork real
processes, as granian does, to show the same across processes and after a fork.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import sqlite3
from pathlib import Path

import pytest

from mockserver.backend import Backend
from mockserver.config import Config, ConfigError
from mockserver.store_shards import TaskShards
from mockserver.store_sqlite import SqliteStore
from mockserver.tasks import Task

ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="forks processes, as granian does")


def store(path: Path, **bounds: float) -> SqliteStore:
    settings = {"max_tasks": 100, "task_ttl_s": 1000, "journal_size": 10, **bounds}
    return SqliteStore(path, **settings)  # type: ignore[arg-type]


def task(task_id: str, created: float = 0.0) -> Task:
    return Task(task_id, created, [], [], progression="polls", polls_to_finish=3)


def shards(folder: Path, name: str) -> list[str]:
    """The shard files (not their locks, WAL or shared-memory files), by name."""
    return sorted(p.name for p in folder.iterdir() if re.fullmatch(re.escape(name) + r"\.tasks-\d+", p.name))


def shard_polls(path: Path, slot: int) -> list[tuple[str, int]]:
    with contextlib.closing(sqlite3.connect(f"{path}.tasks-{slot}")) as conn:
        return conn.execute("SELECT task_id, n FROM polls ORDER BY task_id").fetchall()


def test_two_stores_on_one_path_write_two_shards(tmp_path):
    a, b = store(tmp_path / "s.db"), store(tmp_path / "s.db")
    assert a._tasks.slot is None  # nothing claimed before the first task: a parent that forks holds no slot
    a.put_task(task("a"), 0.0)
    b.put_task(task("b"), 0.0)
    assert (a._tasks.slot, b._tasks.slot) == (0, 1)
    assert shards(tmp_path, "s.db") == ["s.db.tasks-0", "s.db.tasks-1"]


def test_a_task_stored_through_one_store_is_read_and_polled_through_the_other(tmp_path):
    a, b = store(tmp_path / "s.db"), store(tmp_path / "s.db")
    a.put_task(task("t"), 0.0)
    assert b.get_task("t", 1.0) is not None  # b has no shard of its own yet: it reads a's
    polls = [s.get_task("t", 1.0, poll=True).polls for s in (a, b, a)]
    assert polls == [1, 2, 3]  # every poll sees the sum over both stores, its own included
    assert a.get_task("t", 1.0).polls == 3 and b.get_task("t", 1.0).status(1.0) == "finished"
    assert [(t.task_id, t.polls) for t in b.list_tasks(1.0, 10)] == [("t", 3)]
    # Each store counted its polls in its own shard: neither wrote into the other's file.
    assert shard_polls(tmp_path / "s.db", a._tasks.slot) == [("t", 2)]
    assert shard_polls(tmp_path / "s.db", b._tasks.slot) == [("t", 1)]


def test_tasks_of_every_shard_are_listed_newest_first(tmp_path):
    a, b = store(tmp_path / "s.db"), store(tmp_path / "s.db")
    for name, owner in [("1", a), ("2", b), ("3", a), ("4", b), ("5", b)]:
        owner.put_task(task(name), 0.0)  # one clock instant: the order is the order of storing
    assert [t.task_id for t in a.list_tasks(0.0, 10)] == ["5", "4", "3", "2", "1"]
    assert [t.task_id for t in b.list_tasks(0.0, 3)] == ["5", "4", "3"]


def test_clear_through_one_store_forgets_every_stores_tasks_and_polls(tmp_path):
    a, b = store(tmp_path / "s.db"), store(tmp_path / "s.db")
    a.put_task(task("a"), 0.0)
    b.put_task(task("b"), 0.0)
    a.get_task("b", 0.0, poll=True)
    b.clear()
    assert a.get_task("a", 0.0) is None and a.get_task("b", 0.0) is None and a.list_tasks(0.0, 10) == []
    assert a.stats()["tasks"] == 0 and b.stats()["tasks"] == 0
    b.put_task(task("b"), 0.0)  # the same ID again: no poll survived the reset
    assert a.get_task("b", 0.0).polls == 0


def test_a_restart_keeps_the_tasks_and_takes_slot_0_again(tmp_path):
    first = store(tmp_path / "s.db")
    first.put_task(task("kept"), 0.0)
    first.get_task("kept", 0.0, poll=True)
    first.close()
    again = store(tmp_path / "s.db")
    assert again.get_task("kept", 0.0).polls == 1
    again.put_task(task("new"), 0.0)
    assert again._tasks.slot == 0
    assert [t.task_id for t in again.list_tasks(0.0, 10)] == ["new", "kept"]


def test_max_tasks_bounds_each_shard_and_stats_add_the_shards_up(tmp_path, monkeypatch):
    monkeypatch.setattr(TaskShards, "TRIM_EVERY", 4)  # trim after the 4th and 8th task, for the test
    a, b = store(tmp_path / "s.db", max_tasks=5), store(tmp_path / "s.db", max_tasks=5)
    for i in range(8):
        a.put_task(task(f"a{i}", float(i)), float(i))
        b.put_task(task(f"b{i}", float(i)), float(i))
    listed = {t.task_id for t in a.list_tasks(8.0, 100)}
    assert listed == {f"{side}{i}" for side in "ab" for i in range(3, 8)}  # the newest 5 of each process
    assert b.get_task("a2", 8.0) is None and b.get_task("a3", 8.0) is not None
    assert a.stats()["tasks"] == b.stats()["tasks"] == 10
    assert a.stats()["evictedTasks"] == b.stats()["evictedTasks"] == 2 * 3  # both shards' evictions
    assert a.get_task("a7", 7.0 + 1001) is None  # older than task_ttl_s, whoever asks


def test_a_state_file_of_the_previous_layout_is_refused_untouched(tmp_path):
    old = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(old)) as conn, conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value)")
        conn.execute("INSERT INTO meta VALUES ('schema', 1)")
        conn.execute("CREATE TABLE tasks (seq INTEGER PRIMARY KEY, task_id TEXT, created REAL, data TEXT)")
    with pytest.raises(ConfigError, match="another bgmock version"):
        store(old)
    with contextlib.closing(sqlite3.connect(old)) as conn:
        assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {"meta", "tasks"}
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
    assert shards(tmp_path, "old.db") == []


# -- real processes --------------------------------------------------------------------------
def _in_child(target, *args) -> object:  # noqa: ANN001 - any picklable result
    """Run ``target(*args)`` in a forked process and return what it returned."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=lambda: results.put(target(*args)))
    child.start()
    result = results.get(timeout=60)
    child.join(timeout=30)
    assert child.exitcode == 0
    return result


@needs_fork
def test_a_forked_child_claims_its_own_slot_and_shares_the_tasks(tmp_path):
    parent = store(tmp_path / "s.db")
    parent.put_task(task("from-parent"), 0.0)  # the parent holds slot 0 while the child runs

    def child() -> tuple[int | None, bool]:
        parent.put_task(task("from-child"), 0.0)  # the inherited store object, in a new process
        return parent._tasks.slot, parent.get_task("from-parent", 0.0) is not None

    assert _in_child(child) == (1, True)
    assert parent._tasks.slot == 0 and parent.get_task("from-child", 0.0) is not None
    assert store(tmp_path / "s.db")._tasks.slot is None  # and nothing was claimed on the way
    late = store(tmp_path / "s.db")
    late.put_task(task("late"), 0.0)
    assert late._tasks.slot == 1  # the dead child's slot is free again: shard files stay bounded


def _worker(path: str, submits: int, number: int, ready, folder: str) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """One worker: submit, wait for the others, then query every worker's tasks."""
    config = Config(state=path, seed=7, log_requests=False, clock="manual")
    backend = Backend(config, apply_startup_rules=False)
    mine = [backend.submit({"requestParams": [ITEM]}) for _ in range(submits)]
    Path(folder, f"ids-{number}.json").write_text(json.dumps(mine))
    ready.wait(timeout=60)
    everyone = [i for f in sorted(Path(folder).glob("ids-*.json")) for i in json.loads(f.read_text())]
    missing = [i for i in everyone if backend.store.get_task(i, backend.clock.now(), poll=True) is None]
    return mine, missing


@needs_fork
def test_n_processes_by_m_submits_give_distinct_tasks_queryable_from_every_process(tmp_path):
    processes, submits = 3, 40
    path = str(tmp_path / "state.db")
    Backend(Config(state=path, seed=7, log_requests=False, clock="manual"))  # the parent prepares the file
    context = multiprocessing.get_context("fork")
    ready, results = context.Barrier(processes), context.Queue()

    def run(number: int) -> None:
        results.put(_worker(path, submits, number, ready, str(tmp_path)))

    children = [context.Process(target=run, args=(n,)) for n in range(processes)]
    for child in children:
        child.start()
    answers = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    ids = [task_id for mine, _ in answers for task_id in mine]
    assert len(ids) == processes * submits and len(set(ids)) == processes * submits
    assert [missing for _, missing in answers] == [[]] * processes  # each process found all of them
    reader = store(Path(path))
    assert {t.task_id for t in reader.list_tasks(0.0, 1000)} == set(ids)
    assert all(reader.get_task(i, 0.0).polls == processes for i in ids)  # one poll from each, summed
    assert len(shards(tmp_path, "state.db")) == processes
