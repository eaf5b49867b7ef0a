"""Submitted product photos shared by the processes of one ``--state``: any worker draws them.

A result image is drawn by whichever worker its GET reaches, and it shows the photo the client
submitted, so the photo cannot stay in the memory of the worker that took the submit.  Two
backends (or stores) on one state file stand for two workers: each claims its own shard.  The
last test forks a real process, as granian does.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.store import MemoryStore
from mockserver.store_shards import TaskShards
from mockserver.store_sqlite import SqliteStore
from mockserver.tasks import Task
from tests.helpers import MISSING, submit_item
from tests.test_result_images import MAGENTA, picture, product_png, share


def backend(state: Path, **settings: object) -> Backend:
    """One worker's backend: results finish at once, on a clock the test moves."""
    config = Config(state=str(state), log_requests=False, clock="manual", task_duration=0, **settings)  # type: ignore[arg-type]
    return Backend(config, apply_startup_rules=False)


def submit_product(owner: Backend, colour: tuple[int, int, int] = MAGENTA) -> str:
    return owner.submit({"requestParams": [submit_item(imgBase64=product_png(colour), imageNum=2)]})


def store(path: Path, product_bytes: int, **bounds: float) -> SqliteStore:
    settings = {"max_tasks": 100, "task_ttl_s": 1000, "journal_size": 10, **bounds}
    return SqliteStore(path, product_bytes=product_bytes, **settings)  # type: ignore[arg-type]


def product_files(path: Path) -> list[str]:
    """Every product file of every shard of the state at ``path``."""
    return sorted(f.name for folder in path.parent.glob(f"{path.name}.tasks-*.products") for f in folder.iterdir())


def test_a_result_drawn_by_another_worker_shows_the_submitted_product(tmp_path):
    a, b = backend(tmp_path / "s.db"), backend(tmp_path / "s.db")
    task_id = submit_product(a)
    assert b.products.get((task_id, 0)) is None  # b never saw the submit
    drawn_by_b = b.result_image(task_id, 0, 1, "png")
    assert drawn_by_b is not None
    assert share(picture(drawn_by_b), MAGENTA) > 0.15  # the product, not the placeholder (no magenta)
    assert drawn_by_b == a.result_image(task_id, 0, 1, "png")  # the very image the submitting worker draws
    assert (a.store._tasks.slot, b.store._tasks.slot) == (0, None)  # a's shard holds it; b wrote nothing


def test_url_only_items_store_no_product_and_draw_the_placeholder_everywhere(tmp_path):
    a, b = backend(tmp_path / "s.db"), backend(tmp_path / "s.db")
    item = submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/p/mug.jpg")
    task_id = a.submit({"requestParams": [item]})
    assert product_files(tmp_path / "s.db") == []
    assert b.result_image(task_id, 0, 0, "png") == a.result_image(task_id, 0, 0, "png")


def test_products_are_bounded_by_bytes_per_shard_newest_kept(tmp_path):
    a, b = store(tmp_path / "s.db", 2500), store(tmp_path / "s.db", 2500)
    for name in ("t1", "t2", "t3"):
        a.put_product(name, 0, name.encode() * 500)  # 1000 bytes each: two fit
    assert [b.get_product(name, 0) for name in ("t1", "t2", "t3")] == [None, b"t2" * 500, b"t3" * 500]
    assert product_files(tmp_path / "s.db") == ["t2.0", "t3.0"]  # bounded on disk, not only hidden
    a.put_product("huge", 0, b"x" * 2501)  # larger than the whole bound: not kept, and evicts nothing
    assert b.get_product("huge", 0) is None and b.get_product("t2", 0) == b"t2" * 500
    b.put_product("t4", 0, b"t4" * 500)  # b's own shard has its own bound
    assert [a.get_product(name, 0) is not None for name in ("t2", "t3", "t4")] == [True, True, True]


def test_a_tiny_product_cache_keeps_the_newest_products_for_every_worker(tmp_path):
    size = len(product_png())  # base64 of the PNG; the stored bytes are 3/4 of it
    a, b = backend(tmp_path / "s.db", product_cache_bytes=size), backend(tmp_path / "s.db")
    old, new = submit_product(a), submit_product(a)
    assert share(picture(b.result_image(old, 0, 0, "png")), MAGENTA) < 0.001  # gone: the placeholder
    assert share(picture(b.result_image(new, 0, 0, "png")), MAGENTA) > 0.15


def test_products_go_with_their_tasks_when_tasks_are_trimmed(tmp_path, monkeypatch):
    monkeypatch.setattr(TaskShards, "TRIM_EVERY", 4)  # trim on the 4th task write, for the test
    a, b = store(tmp_path / "s.db", 10_000, max_tasks=2), store(tmp_path / "s.db", 10_000)
    for n in range(4):
        a.put_product(f"t{n}", 0, b"p" * 10)  # stored before its task, as the backend does
        a.put_task(Task(f"t{n}", 0.0, [], []), 0.0)
    assert [b.get_product(f"t{n}", 0) is not None for n in range(4)] == [False, False, True, True]
    assert product_files(tmp_path / "s.db") == ["t2.0", "t3.0"]


def test_clear_through_any_store_forgets_every_product_and_the_bound_starts_afresh(tmp_path):
    a, b = store(tmp_path / "s.db", 2500), store(tmp_path / "s.db", 2500)
    a.put_product("t1", 0, b"1" * 1000)
    a.put_product("t2", 0, b"2" * 1000)
    b.clear()
    assert a.get_product("t1", 0) is None and a.get_product("t2", 0) is None
    assert product_files(tmp_path / "s.db") == []
    a.put_product("t3", 0, b"3" * 1000)
    a.put_product("t4", 0, b"4" * 1000)  # the shard's total was reset with its rows: nothing evicted
    assert b.get_product("t3", 0) == b"3" * 1000 and b.get_product("t4", 0) == b"4" * 1000


def test_an_admin_reset_on_one_worker_forgets_the_products_of_every_worker(tmp_path):
    a, b = backend(tmp_path / "s.db"), backend(tmp_path / "s.db")
    submit_product(a)
    b.reset()
    assert product_files(tmp_path / "s.db") == []


def test_a_restart_keeps_the_products_and_their_bound(tmp_path):
    first = store(tmp_path / "s.db", 2500)
    first.put_product("t1", 0, b"1" * 1000)
    first.put_product("t2", 0, b"2" * 1000)
    first.close()
    again = store(tmp_path / "s.db", 2500)
    assert again.get_product("t1", 0) == b"1" * 1000
    again.put_product("t3", 0, b"3" * 1000)  # same slot, same shard: its total counts the kept two
    assert [again.get_product(name, 0) is not None for name in ("t1", "t2", "t3")] == [False, True, True]


def test_a_restarted_fake_still_draws_the_product_of_a_task_submitted_before(tmp_path):
    first = backend(tmp_path / "s.db")
    task_id = submit_product(first)
    first.store.close()
    assert share(picture(backend(tmp_path / "s.db").result_image(task_id, 0, 0, "png")), MAGENTA) > 0.15


def test_files_a_dead_process_left_without_a_row_are_swept_when_its_slot_is_claimed(tmp_path):
    first = store(tmp_path / "s.db", 2500)
    first.put_product("kept", 0, b"k")
    folder = Path(first._tasks.product_folder(0))
    (folder / "lost.0.new").write_bytes(b"half")  # died while writing
    (folder / "lost.0").write_bytes(b"whole")  # died before storing the row
    first.close()
    again = store(tmp_path / "s.db", 2500)
    again.put_product("next", 0, b"n")  # claims slot 0 again
    assert product_files(tmp_path / "s.db") == ["kept.0", "next.0"]
    assert again.get_product("kept", 0) == b"k"


def test_a_shard_of_an_earlier_version_without_products_reads_as_holding_none(tmp_path):
    import sqlite3

    a, b = store(tmp_path / "s.db", 2500), store(tmp_path / "s.db", 2500)
    b.put_task(Task("t", 0.0, [], []), 0.0)
    with sqlite3.connect(f"{tmp_path / 's.db'}.tasks-0") as conn:
        conn.execute("DROP TABLE products")  # as a shard written before products were shared
    assert a.get_product("t", 0) is None
    a.clear()  # still empties it
    assert a.get_task("t", 0.0) is None


def test_the_memory_store_keeps_no_copy_beside_the_backends_own_cache():
    memory = MemoryStore(max_tasks=10, task_ttl_s=10, journal_size=10)
    memory.put_product("t", 0, b"photo")
    assert memory.get_product("t", 0) is None


def _submit_in_child(state: str) -> str:
    return submit_product(backend(Path(state)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a process, as granian does")
def test_a_product_submitted_in_another_process_is_drawn_here(tmp_path):
    with multiprocessing.get_context("fork").Pool(1) as pool:
        task_id = pool.apply(_submit_in_child, (str(tmp_path / "s.db"),))
    here = backend(tmp_path / "s.db")
    assert share(picture(here.result_image(task_id, 0, 0, "png")), MAGENTA) > 0.15
