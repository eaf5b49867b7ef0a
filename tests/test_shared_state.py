"""State shared across worker processes, and kept across a restart with ``--state``.

``bgmock serve --workers 2`` runs two granian processes over one SQLite store.  Every request
here goes over a fresh connection, and the ``X-Bgmock-Worker`` header says which process
answered, so each test can show that what one worker did, the other one sees.  A few store
tests run in-process (two backends on one file stand for two workers) to stay fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from helpers import QUERY, SCENES, SUBMIT

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.store import MemoryStore
from mockserver.store_sqlite import SqliteStore
from mockserver.tasks import Task

pytest.importorskip("granian")

ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}
SETTINGS = {
    "hang_s": 1,
    "dribble_s": 0.3,
    "task_duration": 60,
    "journal_size": 5000,
    "rate_limits": [{"rate": "1/h", "burst": 30, "scope": "global", "endpoint": "scenes"}],
}


class Workers:
    """A ``bgmock serve --workers 2`` subprocess on a free port."""

    def __init__(self, state: Path, config: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver.cli", "serve", "--workers", "2", "--port", str(self.port),
             "--state", str(state), "--config", str(config), "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.pids = self._wait_for_both()

    def _wait_for_both(self) -> set[str]:
        seen: set[str] = set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(seen) < 2:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read().decode(errors='replace')}")
            try:
                seen.add(self.call("GET", "/__admin/health")[1])
            except requests.ConnectionError:
                time.sleep(0.05)
        assert len(seen) == 2, f"only saw workers {seen}"
        return seen

    def call(self, method: str, path: str, **kwargs) -> tuple[requests.Response, str]:
        """One request on a new connection; (answer, pid of the worker that answered)."""
        headers = {"Connection": "close", **kwargs.pop("headers", {})}
        answer = requests.request(method, self.url + path, headers=headers, timeout=10, **kwargs)
        return answer, answer.headers.get("X-Bgmock-Worker", "")

    def on(self, worker: str, method: str, path: str, **kwargs) -> requests.Response:
        """The same request repeated until ``worker`` answers it (bounded); only for reads."""
        for _ in range(200):
            answer, pid = self.call(method, path, **kwargs)
            if pid == worker:
                return answer
        raise AssertionError(f"worker {worker} never answered")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # granian stops its workers and exits
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shared")
    (folder / "config.json").write_text(json.dumps(SETTINGS))
    return folder


@pytest.fixture(scope="module")
def workers(state_dir) -> Iterator[Workers]:
    server = Workers(state_dir / "state.db", state_dir / "config.json")
    yield server
    server.stop()


def _submit(workers: Workers, **headers: str) -> tuple[dict, str]:
    answer, pid = workers.call("POST", SUBMIT, json={"requestParams": [ITEM]}, headers=headers)
    return answer.json(), pid


def _other(workers: Workers, pid: str) -> str:
    return next(p for p in workers.pids if p != pid)


def test_a_task_submitted_through_one_worker_is_queryable_through_the_other(workers):
    body, submitter = _submit(workers)
    task_id = body["data"]["result"]["taskId"]
    answer = workers.on(_other(workers, submitter), "GET", QUERY, params={"taskId": task_id}).json()
    assert answer["success"] is True and answer["data"]["taskId"] == task_id


def test_advancing_the_clock_on_one_worker_moves_every_worker(workers):
    body, submitter = _submit(workers)
    task_id = body["data"]["result"]["taskId"]
    other = _other(workers, submitter)
    assert workers.on(other, "GET", QUERY, params={"taskId": task_id}).json()["data"]["taskStatus"] == "submitted"
    workers.on(submitter, "POST", "/__admin/clock", json={"advance": 61})
    answer = workers.on(other, "GET", QUERY, params={"taskId": task_id}).json()
    assert answer["data"]["taskStatus"] == "finished"


def test_a_times_3_rule_fires_three_times_in_total(workers):
    only_mod003 = {"resCode": 1001, "times": 3, "match": {"modelNum": "mod003"}}
    rule, _ = workers.call("POST", "/__admin/faults", json=only_mod003)
    assert rule.status_code == 201
    codes, answered_by = [], set()
    for _ in range(12):
        answer, pid = workers.call("POST", SUBMIT, json={"requestParams": [{**ITEM, "modelNum": "mod003"}]})
        codes.append(answer.json()["resCode"])
        answered_by.add(pid)
    assert codes.count(1001) == 3 and codes.count(200) == 9
    assert answered_by == workers.pids  # both workers took part in counting down one rule
    rules = workers.call("GET", "/__admin/faults")[0].json()["faults"]
    assert rule.json()["id"] not in [r["id"] for r in rules]  # exhausted, gone for both


def test_n_clients_by_m_submits_give_distinct_queryable_tasks(workers):
    clients, submits = 8, 25

    def client(_: int) -> list[tuple[str, str]]:
        with requests.Session() as session:  # keep-alive: each client sticks to one connection
            out = []
            for _ in range(submits):
                answer = session.post(workers.url + SUBMIT, json={"requestParams": [ITEM]}, timeout=10)
                out.append((answer.json()["data"]["result"]["taskId"], answer.headers["X-Bgmock-Worker"]))
            return out

    with ThreadPoolExecutor(clients) as pool:
        results = [pair for batch in pool.map(client, range(clients)) for pair in batch]
    ids = [task_id for task_id, _ in results]
    assert len(ids) == clients * submits and len(set(ids)) == clients * submits
    with requests.Session() as session:
        for task_id in ids:
            answer = session.get(workers.url + QUERY, params={"taskId": task_id}, timeout=10).json()
            assert answer["success"] is True, answer


def test_the_journal_holds_every_workers_requests(workers):
    marker = f"journal-{time.monotonic_ns()}"
    pids = {workers.call("GET", QUERY, params={"taskId": marker})[1] for _ in range(20)}
    entries = workers.call("GET", "/__admin/requests?limit=40")[0].json()["requests"]
    mine = [e for e in entries if e["query"].get("taskId") == marker]
    assert len(mine) == 20 and len(pids) == 2
    assert len({e["id"] for e in entries}) == len(entries)  # IDs unique across workers


def test_a_rate_limit_counts_every_workers_requests(workers):
    """A burst of 30 on the scene query, shared: 60 calls from 6 threads over both workers."""
    lock, codes, pids = threading.Lock(), [], set()

    def call(_: int) -> None:
        for _ in range(10):
            answer, pid = workers.call("POST", SCENES, json={})
            with lock:
                codes.append(answer.json()["resCode"])
                pids.add(pid)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(call, range(6)))
    assert codes.count(200) == 30 and codes.count(501) == 30
    assert pids == workers.pids


def test_state_survives_a_restart(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(SETTINGS))
    workers = Workers(tmp_path / "state.db", tmp_path / "config.json")
    try:
        workers.call("POST", "/__admin/clock", json={"advance": 30})
        body, _ = _submit(workers)
        task_id = body["data"]["result"]["taskId"]
        workers.call("POST", "/__admin/faults", json={"resCode": 1002, "times": 2, "match": {"modelNum": "mod004"}})
        first, _ = workers.call("POST", SUBMIT, json={"requestParams": [{**ITEM, "modelNum": "mod004"}]})
        assert first.json()["resCode"] == 1002
        clock = workers.call("GET", "/__admin/clock")[0].json()["now"]
    finally:
        workers.stop()

    again = Workers(tmp_path / "state.db", tmp_path / "config.json")
    try:
        answer = again.call("GET", QUERY, params={"taskId": task_id})[0].json()
        assert answer["success"] is True and answer["data"]["taskId"] == task_id
        assert again.call("GET", "/__admin/clock")[0].json()["now"] >= clock  # the advanced clock kept
        codes = [
            again.call("POST", SUBMIT, json={"requestParams": [{**ITEM, "modelNum": "mod004"}]})[0].json()["resCode"]
            for _ in range(3)
        ]
        assert codes == [1002, 200, 200]  # the rule's counter was kept: one left of two
        journal = again.call("GET", "/__admin/requests?limit=1000")[0].json()["requests"]
        assert any(e.get("taskId") == task_id for e in journal)
    finally:
        again.stop()


# -- transport faults on granian (no socket access: see docs/load-and-workers.md) ----------------
def _fault(workers: Workers, kind: str, timeout: float = 5) -> requests.Response:
    headers = {"Prefer": f"transport={kind}", "Connection": "close"}
    return requests.post(workers.url + SUBMIT, json={"requestParams": [ITEM]}, headers=headers, timeout=timeout)


@pytest.mark.parametrize("kind", ["reset", "empty", "truncated"])
def test_workers_break_the_connection_before_the_answer_is_whole(workers, kind):
    """granian cannot reset a socket: the connection closes with the body short (or absent)."""
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        _fault(workers, kind)


def test_workers_act_out_the_answer_level_faults(workers):
    malformed = _fault(workers, "malformed")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        malformed.json()
    page = _fault(workers, "http504")
    assert page.status_code == 504 and page.headers["Content-Type"].startswith("text/html")
    started = time.perf_counter()
    assert _fault(workers, "dribble").json()["success"] is True
    assert time.perf_counter() - started >= 0.25
    with pytest.raises(requests.exceptions.ReadTimeout):
        _fault(workers, "timeout", timeout=0.3)


# -- the store itself, in-process (fast) ------------------------------------------------------
@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    bounds = {"max_tasks": 5, "task_ttl_s": 100, "journal_size": 3}
    if request.param == "memory":
        return MemoryStore(**bounds)
    return SqliteStore(tmp_path / "s.db", **bounds)


def test_stores_bound_tasks_by_count_and_age(store):
    for i in range(8):
        store.put_task(Task(f"t{i}", float(i), [], []), float(i))
    assert [t.task_id for t in store.list_tasks(8.0, 10)] == ["t7", "t6", "t5", "t4", "t3"]
    assert store.get_task("t2", 8.0) is None and store.get_task("t3", 8.0) is not None
    assert store.get_task("t3", 103.5) is None  # older than task_ttl_s
    assert store.stats()["tasks"] <= 5


def test_stores_count_no_task_past_its_age(store):
    for i in range(4):
        store.put_task(Task(f"t{i}", float(i * 50), [], []), float(i * 50))
    counts = store.stats(160.0)  # t0 (0 s) and t1 (50 s) are past task_ttl_s (100 s)
    assert (counts["tasks"], counts["evictedTasks"]) == (2, 2)
    assert len(store.list_tasks(160.0, 10)) == 2


def test_stores_bound_the_journal(store):
    for i in range(5):
        store.record({"n": i})
    assert [e["n"] for e in store.journal()] == [4, 3, 2]
    assert [e["n"] for e in store.journal(1)] == [4]


def test_stores_count_polls(store):
    store.put_task(Task("t", 0.0, [], []), 0.0)
    store.get_task("t", 1.0, poll=True)
    assert store.get_task("t", 1.0, poll=True).polls == 2


def test_two_backends_on_one_file_share_everything(tmp_path):
    """What two workers do, in one process: rules, IDs, clock, tasks and the journal."""
    config = Config(state=str(tmp_path / "s.db"), log_requests=False, clock="manual", task_duration=10)
    one, two = Backend(config), Backend(config, apply_startup_rules=False)
    rule = one.add_fault({"resCode": 500, "times": 3})
    assert two.add_fault({"resCode": 501})["id"] != rule["id"]
    fired = [b.injected("submit", [], None) for b in (one, two, one, two, one)]
    assert [f.error.res_code for f in fired] == [500, 500, 500, 501, 501]
    one.delete_faults()
    task_id = one.submit({"requestParams": [ITEM]})
    assert two.store.get_task(task_id, two.clock.now()) is not None
    one.advance(11)
    assert two.clock.now() == pytest.approx(11)
    assert two.query({"taskId": task_id}, base_url="http://x")["taskStatus"] == "finished"
    one.reset()
    assert two.clock.now() == 0 and two.tasks() == [] and two.faults() == []


def test_startup_rules_are_replaced_not_duplicated_on_restart(tmp_path):
    config = Config(state=str(tmp_path / "s.db"), faults=({"resCode": 500, "times": 2},))
    first = Backend(config)
    first.injected("submit", [], None)  # one of two used
    again = Backend(config)  # a restart with the same start-up config
    faults = again.faults()
    assert len(faults) == 1 and faults[0]["remaining"] == 2  # the start-up rule, as configured


def test_a_file_that_is_not_a_state_file_is_a_clear_error(tmp_path):
    from mockserver.config import ConfigError

    bad = tmp_path / "notes.txt"
    bad.write_text("hello, this is not SQLite" * 100)
    with pytest.raises(ConfigError, match="not a usable bgmock state file"):
        SqliteStore(bad, max_tasks=1, task_ttl_s=1, journal_size=1)


def test_a_seed_does_not_make_workers_replay_each_others_task_ids(tmp_path):
    """Same --seed in every worker (and after a restart on the same file): tasks never overwrite."""
    config = Config(state=str(tmp_path / "s.db"), seed=7, log_requests=False, clock="manual")
    one, two = Backend(config), Backend(config, apply_startup_rules=False)
    ids = [b.submit({"requestParams": [ITEM]}) for b in (one, two, one, two)]
    restarted = Backend(config)
    ids.append(restarted.submit({"requestParams": [ITEM]}))
    assert len(set(ids)) == 5
    assert len(restarted.tasks()) == 5


def test_another_programs_database_is_left_alone(tmp_path):
    import sqlite3

    from mockserver.config import ConfigError

    theirs = tmp_path / "app.sqlite"
    with sqlite3.connect(theirs) as conn:
        conn.execute("CREATE TABLE precious (x)")
    with pytest.raises(ConfigError, match="something else"):
        SqliteStore(theirs, max_tasks=1, task_ttl_s=1, journal_size=1)
    with sqlite3.connect(theirs) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["precious"]


def test_the_journal_rotates_and_resets_for_every_writer(tmp_path):
    """Two stores on one file stand for two workers: rotation and reset reach both writers."""
    a = SqliteStore(tmp_path / "s.db", max_tasks=10, task_ttl_s=100, journal_size=50)
    b = SqliteStore(tmp_path / "s.db", max_tasks=10, task_ttl_s=100, journal_size=50)
    for store in (a, b):
        store._journal.rotate_bytes = 2000  # rotate every few dozen entries, for the test
    for n in range(300):
        (a if n % 2 else b).record({"n": n, "pad": "x" * 40})
    newest = a.journal()
    assert [e["n"] for e in newest] == list(range(299, 249, -1))  # the newest 50, newest first
    assert [e["id"] for e in newest] == sorted((e["id"] for e in newest), reverse=True)
    assert b.journal(3) == newest[:3]
    a.clear()
    b.record({"n": "after"})
    assert [e["n"] for e in a.journal()] == ["after"]
    assert a.journal()[0]["id"] > newest[0]["id"]  # IDs never repeat, even across a reset


def test_threads_writing_the_journal_across_rotations_lose_no_line(tmp_path):
    """A thread reopening the journal after a rotation once closed the file another thread was
    writing to: EBADF, or its line written into whatever reused the descriptor (a client's socket)."""
    store = SqliteStore(tmp_path / "s.db", max_tasks=10, task_ttl_s=100, journal_size=100_000)
    store._journal.rotate_bytes = 8_000  # a rotation every ~80 entries
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for n in range(1500):
                store.record({"thread": thread, "n": n, "pad": "x" * 60})
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kept = store.journal()  # the two newest files: every line in them whole, none missing in between
    assert len(kept) > 50 and all(set(e) == {"id", "thread", "n", "pad"} for e in kept)
    last = {}
    for entry in reversed(kept):  # oldest first: each thread's numbers run on without a gap
        t = entry["thread"]
        assert entry["n"] == last.get(t, entry["n"] - 1) + 1
        last[t] = entry["n"]


def test_a_second_fake_on_a_busy_port_is_refused_not_sharing_it(workers, tmp_path):
    """granian listens with SO_REUSEPORT: without a check, the second one took half the traffic."""
    second = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--workers", "2", "--port", str(workers.port),
         "--state", str(tmp_path / "other.db"), "--quiet"],
        capture_output=True, text=True, timeout=60,
    )
    assert second.returncode == 2
    assert f"cannot listen on 127.0.0.1:{workers.port}" in second.stderr


def test_workers_that_keep_dying_stop_the_fake_with_a_message(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(SETTINGS))
    server = Workers(tmp_path / "s.db", tmp_path / "config.json")
    try:
        first = int(next(iter(server.pids)))
        os.kill(first, signal.SIGKILL)
        deadline, respawned = time.monotonic() + 20, None
        while respawned is None and time.monotonic() < deadline:  # the replacement's first answer
            with contextlib.suppress(requests.ConnectionError):
                pid = server.call("GET", "/__admin/health")[1]
                respawned = int(pid) if pid and pid not in server.pids else None
        assert respawned is not None
        os.kill(respawned, signal.SIGKILL)  # within granian's 5.5 s: it gives up
        assert server.proc.wait(timeout=30) == 1
        assert "crash-loop guard" in server.proc.stdout.read().decode()
    finally:
        server.stop()


def _running(pid: str) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_killed_main_process(tmp_path):
    """Orphaned workers went on serving the port, and met the next fake started on it."""
    (tmp_path / "config.json").write_text(json.dumps(SETTINGS))
    server = Workers(tmp_path / "s.db", tmp_path / "config.json")
    try:
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(map(_running, server.pids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_running, server.pids))
    finally:
        for pid in filter(_running, server.pids):
            os.kill(int(pid), signal.SIGKILL)
