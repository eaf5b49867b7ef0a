"""State shared across worker processes, and kept across a restart with ``--state``.

``bgmock serve --workers 2`` runs two granian processes over one private Redis.  Every request
here goes over a fresh connection, and the ``X-Bgmock-Worker`` header says which process
answered, so each test can show that what one worker did, the other one sees.  The storage
repositories are also tested in-process, memory and Redis alike (tests/storage/test_redis_state.py has
the Redis-only ones: several fakes, Redis going away).
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
from redis_helpers import cleaned, fresh_prefix, redis_or_skip

from mockserver.backend import Backend
from mockserver.config import Config, ConfigError
from mockserver.storage import open_storage
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
    """A ``bgmock serve --workers 2`` subprocess on a free port; ``state``: a directory (kept in a
    private Redis's append-only file there) or None (a private Redis keeping nothing)."""

    def __init__(self, state: Path | None, config: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver.cli", "serve", "--workers", "2", "--port", str(self.port),
             *(["--state", str(state)] if state else []), "--config", str(config), "--quiet"],
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
    server = Workers(None, state_dir / "config.json")
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
    workers = Workers(tmp_path / "state", tmp_path / "config.json")
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

    again = Workers(tmp_path / "state", tmp_path / "config.json")
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
def _fault(workers: Workers, kind: str, timeout: float | tuple[float, float] = 5) -> requests.Response:
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
    with pytest.raises(requests.exceptions.ReadTimeout):  # a tenth of hang_s: ended by the client, not the drop
        _fault(workers, "timeout", timeout=(5, SETTINGS["hang_s"] / 10))


# -- the storage repositories, in-process (fast): memory and Redis alike -----------------------
@pytest.fixture(params=["memory", "redis"])
def store(request):
    bounds = {"max_tasks": 5, "task_ttl_s": 100, "journal_size": 3, "log_requests": False}
    if request.param == "memory":
        yield open_storage(Config(**bounds))
        return
    url = redis_or_skip()
    for prefix in cleaned(fresh_prefix()):
        yield open_storage(Config(state=url, state_prefix=prefix, **bounds))


def test_stores_bound_tasks_by_count_and_age(store):
    for i in range(8):
        store.tasks.put(Task(f"t{i}", float(i), [], []), float(i))
    assert [t.task_id for t in store.tasks.newest(8.0, 10)] == ["t7", "t6", "t5", "t4", "t3"]
    assert store.tasks.get("t2", 8.0) is None and store.tasks.get("t3", 8.0) is not None
    assert store.tasks.get("t3", 103.5) is None  # older than task_ttl_s
    assert store.stats()["tasks"] <= 5


def test_stores_count_no_task_past_its_age(store):
    for i in range(4):
        store.tasks.put(Task(f"t{i}", float(i * 50), [], []), float(i * 50))
    counts = store.stats(160.0)  # t0 (0 s) and t1 (50 s) are past task_ttl_s (100 s)
    assert (counts["tasks"], counts["evictedTasks"]) == (2, 2)
    assert len(store.tasks.newest(160.0, 10)) == 2


def test_stores_bound_the_journal(store):
    for i in range(5):
        store.journal.append({"n": i})
    assert [e["n"] for e in store.journal.newest()] == [4, 3, 2]
    assert [e["n"] for e in store.journal.newest(1)] == [4]


def test_stores_count_polls(store):
    store.tasks.put(Task("t", 0.0, [], []), 0.0)
    store.tasks.get("t", 1.0, poll=True)
    assert store.tasks.get("t", 1.0, poll=True).polls == 2


def test_stores_clear_everything_and_ids_start_again(store):
    from mockserver.faults import FaultRule

    store.tasks.put(Task("t", 0.0, [], []), 0.0)
    store.journal.append({"n": 1})
    store.rules.add(FaultRule(id="rule-1", res_code=500))
    store.ids.next("rule")
    store.clear()
    counts = store.stats(0.0)
    assert [counts[k] for k in ("tasks", "evictedTasks", "rules", "journal")] == [0, 0, 0, 0]
    assert store.ids.next("rule") == 1


def test_a_seed_does_not_make_fakes_on_one_redis_replay_each_others_task_ids():
    """Same --seed in every process (and after a restart on the same Redis): tasks never overwrite."""
    url = redis_or_skip()
    for prefix in cleaned(fresh_prefix()):
        config = Config(state=url, state_prefix=prefix, seed=7, log_requests=False, clock="manual")
        one, two = Backend(config), Backend(config, apply_startup_rules=False)
        ids = [b.submit({"requestParams": [ITEM]}) for b in (one, two, one, two)]
        restarted = Backend(config)
        ids.append(restarted.submit({"requestParams": [ITEM]}))
        assert len(set(ids)) == 5
        assert len(restarted.tasks()) == 5


def test_an_old_sqlite_state_file_gets_one_clear_line(tmp_path):
    old = tmp_path / "state.db"
    old.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--workers", "2", "--state", str(old), "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "state now lives in Redis" in done.stderr and "Traceback" not in done.stderr
    assert old.read_bytes().startswith(b"SQLite format 3")  # left as it was


def test_a_state_that_is_neither_a_url_nor_served_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="expected a Redis URL"):
        Backend(Config(state=str(tmp_path)))


def test_a_second_fake_on_a_busy_port_is_refused_not_sharing_it(workers, tmp_path):
    """granian listens with SO_REUSEPORT: without a check, the second one took half the traffic."""
    second = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--workers", "2", "--port", str(workers.port),
         "--quiet"],
        capture_output=True, text=True, timeout=60,
    )
    assert second.returncode == 2
    assert f"cannot listen on 127.0.0.1:{workers.port}" in second.stderr


def test_workers_that_keep_dying_stop_the_fake_with_a_message(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(SETTINGS))
    server = Workers(None, tmp_path / "config.json")
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


def _children(parent: int) -> set[str]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.add(stat.parent.name)
    return found


def _name(pid: str) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_killed_main_process(tmp_path):
    """Orphaned workers went on serving the port, and met the next fake started on it."""
    (tmp_path / "config.json").write_text(json.dumps(SETTINGS))
    server = Workers(None, tmp_path / "config.json")
    private_redis = {pid for pid in _children(server.proc.pid) if _name(pid) == "redis-server"}
    assert len(private_redis) == 1
    try:
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(map(_running, server.pids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_running, server.pids))
        while any(map(_running, private_redis)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_running, private_redis))  # the private Redis died with the fake too
    finally:
        for pid in filter(_running, server.pids | private_redis):
            os.kill(int(pid), signal.SIGKILL)


def _until_written(folder: Path, text: str) -> None:
    """Wait until Redis's append-only files under ``folder`` hold ``text`` (a fixed pause could
    end first on a busy machine, and a kill then loses the task)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(text.encode() in f.read_bytes() for f in folder.rglob("*.aof*") if f.is_file()):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text} never reached the append-only file under {folder}")


def test_a_private_redis_that_dies_is_started_again_and_its_data_directory_kept(tmp_path):
    """Killed under a running fake (out of memory, a stray kill): the fake said nothing and
    answered 500 for good. Now the same socket comes back, and with --state DIR the tasks too."""
    (tmp_path / "config.json").write_text(json.dumps(SETTINGS))
    server = Workers(tmp_path / "state", tmp_path / "config.json")
    try:
        body, _ = _submit(server)
        task_id = body["data"]["result"]["taskId"]
        _until_written(tmp_path / "state", task_id)  # appendfsync everysec: then the kill loses nothing
        (redis_pid,) = [pid for pid in _children(server.proc.pid) if _name(pid) == "redis-server"]
        os.kill(int(redis_pid), signal.SIGKILL)
        deadline, answer = time.monotonic() + 20, None
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                answer = server.call("GET", QUERY, params={"taskId": task_id})[0].json()
                if answer.get("resCode") == 200:
                    break
            time.sleep(0.1)
        assert answer is not None and answer["resCode"] == 200, answer
        assert [pid for pid in _children(server.proc.pid) if _name(pid) == "redis-server"] != [redis_pid]
    finally:
        server.stop()
    assert "the private redis-server died (exit -9); starting it again" in server.proc.stdout.read().decode()
