"""State on Redis: any number of fakes on one Redis and one key prefix behave as one fake.

Runs against the real ``redis-server`` of the machine (tests/redis_helpers.py), each test
under a key prefix of its own.  First the store in-process (fast), then three ``bgmock serve``
processes on one Redis, driven round-robin, then Redis going away under a running fake.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from helpers import QUERY, SUBMIT, stop_process
from redis_helpers import cleaned, fresh_prefix, own_redis_server
from redis_helpers import free_port as _free_port

from mockserver.backend import Backend
from mockserver.config import Config, ConfigError
from mockserver.storage import open_storage
from mockserver.tasks import Task

ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}


def _store(url: str, prefix: str, **bounds):
    values = {"max_tasks": 5, "task_ttl_s": 100, "journal_size": 3, "product_cache_bytes": 1000, **bounds}
    return open_storage(Config(state=url, state_prefix=prefix, **values))


# -- the store, in-process ------------------------------------------------------------------
def test_tasks_are_bounded_by_count_and_by_age_on_the_fakes_clock(url, prefix):
    store = _store(url, prefix)
    for i in range(8):
        store.tasks.put(Task(f"t{i}", float(i), [], []), float(i))
    assert [t.task_id for t in store.tasks.newest(8.0, 10)] == ["t7", "t6", "t5", "t4", "t3"]
    assert store.tasks.get("t2", 8.0) is None and store.tasks.get("t3", 8.0) is not None
    assert store.tasks.get("t3", 103.5) is None  # older than task_ttl_s on the fake's clock
    counts = store.stats(160.0)
    assert (counts["tasks"], counts["evictedTasks"]) == (0, 8)


def test_polls_count_once_each_and_unknown_tasks_are_not_created(url, prefix):
    store = _store(url, prefix)
    store.tasks.put(Task("t", 0.0, [{"a": 1}], ["url"]), 0.0)
    store.tasks.get("t", 1.0, poll=True)
    task = store.tasks.get("t", 1.0, poll=True)
    assert (task.polls, task.items, task.sources) == (2, [{"a": 1}], ["url"])
    assert store.tasks.get("nope", 1.0, poll=True) is None
    assert store.stats()["tasks"] == 1


def test_the_journal_is_bounded_newest_first_with_ids_shared_by_every_fake(url, prefix):
    one, two = _store(url, prefix), _store(url, prefix)
    for i in range(5):
        (one if i % 2 else two).journal.append({"n": i, "id": 999})
    entries = one.journal.newest()
    assert [e["n"] for e in entries] == [4, 3, 2] and [e["id"] for e in entries] == [5, 4, 3]
    assert [e["n"] for e in two.journal.newest(1)] == [4]


def test_product_photos_are_bounded_by_bytes(url, prefix):
    store = _store(url, prefix, product_cache_bytes=1000)
    for i in range(5):
        store.tasks.put_product("task", i, bytes([i]) * 300)
    kept = [store.tasks.product("task", i) for i in range(5)]
    assert kept[:2] == [None, None] and kept[4] == bytes([4]) * 300  # the oldest went first
    store.tasks.put_product("task", 9, b"x" * 1001)  # larger than the whole bound: not kept
    assert store.tasks.product("task", 9) is None and store.tasks.product("task", 4) is not None


def test_a_times_rule_fires_exactly_times_under_concurrent_fakes(url, prefix):
    """The counters move inside a WATCH transaction: 16 threads on 4 stores, 2 firings in all."""
    config = Config(state=url, state_prefix=prefix, log_requests=False)
    backends = [Backend(config, apply_startup_rules=False) for _ in range(4)]
    backends[0].add_fault({"resCode": 500, "times": 2})
    backends[0].add_fault({"resCode": 501, "everyN": 5})
    with ThreadPoolExecutor(16) as pool:
        fired = list(pool.map(lambda i: backends[i % 4].injected("submit", [], None), range(200)))
    codes = Counter(f.error.res_code for f in fired if f is not None)
    assert codes[500] == 2
    assert codes[501] == 198 // 5  # every 5th of the 198 requests the first rule let through
    assert [r["id"] for r in backends[3].faults()] == ["rule-2"]  # rule-1 used up, gone


def test_rate_limit_tokens_are_exact_across_fakes(url, prefix):
    limits = ({"rate": "1/h", "burst": 30, "scope": "global", "endpoint": "scenes"},)
    config = Config(state=url, state_prefix=prefix, log_requests=False, rate_limits=limits)
    backends = [Backend(config, apply_startup_rules=False) for _ in range(3)]
    with ThreadPoolExecutor(12) as pool:
        refused = list(pool.map(lambda i: backends[i % 3].rate_limited("scenes", None), range(90)))
    assert sum(r is None for r in refused) == 30


def test_backends_on_one_prefix_share_rules_ids_clock_tasks_and_reset(url, prefix):
    config = Config(state=url, state_prefix=prefix, log_requests=False, clock="manual", task_duration=10)
    one, two = Backend(config), Backend(config, apply_startup_rules=False)
    rule = one.add_fault({"resCode": 500, "times": 1})
    assert two.add_fault({"resCode": 501})["id"] != rule["id"]
    one.delete_faults()
    task_id = one.submit({"requestParams": [ITEM]})
    assert two.store.tasks.get(task_id, two.clock.now()) is not None
    one.advance(11)
    assert two.clock.now() == pytest.approx(11)
    assert two.query({"taskId": task_id}, base_url="http://x")["taskStatus"] == "finished"
    one.reset()
    assert two.clock.now() == 0 and two.tasks() == [] and two.faults() == []


def test_a_reset_never_makes_a_seeded_fake_replay_another_fakes_task_ids(url, prefix):
    """With ``--seed`` each start mixes in a number from the store; a reset draws a new one, never
    one a sibling already had, so no fake overwrites another's tasks after a reset."""
    config = Config(state=url, state_prefix=prefix, log_requests=False, seed=7)
    one, two = Backend(config), Backend(config, apply_startup_rules=False)
    one.submit({"requestParams": [ITEM]})
    two.reset()
    mine = one.submit({"requestParams": [ITEM]})
    theirs = [two.submit({"requestParams": [ITEM]}) for _ in range(3)]
    assert mine not in theirs
    assert len({task.task_id for task in one.store.tasks.newest(one.clock.now(), 10)}) == 4


def test_two_prefixes_on_one_redis_do_not_see_each_other(url, prefix):
    other = fresh_prefix()
    for _ in cleaned(other):
        mine = Backend(Config(state=url, state_prefix=prefix, log_requests=False))
        theirs = Backend(Config(state=url, state_prefix=other, log_requests=False))
        mine.add_fault({"resCode": 500, "endpoint": "query"})
        mine.submit({"requestParams": [ITEM]})
        assert theirs.faults() == [] and theirs.tasks() == []
        theirs.reset()
        assert len(mine.faults()) == 1 and len(mine.tasks()) == 1


def test_a_reset_puts_back_only_the_start_up_rules_of_the_fake_that_received_it(url, prefix):
    """docs/load-and-workers.md: reset empties the shared rules for all, then installs the
    receiving fake's own start-up rules; a fake started without any leaves none."""
    faulty = Backend(Config(state=url, state_prefix=prefix, faults=({"resCode": 501},), log_requests=False))
    plain = Backend(Config(state=url, state_prefix=prefix, log_requests=False))
    faulty.add_fault({"resCode": 500, "endpoint": "query"})
    plain.reset()
    assert faulty.faults() == []
    faulty.add_fault({"resCode": 500, "endpoint": "query"})
    faulty.reset()
    assert [(rule["id"], rule["resCode"]) for rule in plain.faults()] == [("rule-1", 501)]


def test_startup_rules_are_not_duplicated_when_a_fake_starts_again(url, prefix):
    """Fakes on one prefix share one set of start-up rules: a start with the same ones adds no
    copy and keeps their counters (a ``times: 2`` fires twice in all); once every fake that
    installed them stopped (which took them back), a start installs them afresh."""
    config = Config(state=url, state_prefix=prefix, faults=({"resCode": 500, "times": 2},), log_requests=False)
    first = Backend(config)
    first.add_fault({"resCode": 501})
    first.injected("submit", [], None)  # one of two used
    second = Backend(config)  # another start with the same start-up config
    assert [(r["resCode"], r.get("remaining")) for r in second.faults()] == [(500, 1), (501, None)]
    first.withdraw_startup_rules()
    second.withdraw_startup_rules()
    again = Backend(config)
    assert [(r["resCode"], r.get("remaining")) for r in again.faults()] == [(500, 2), (501, None)]


def test_a_start_knows_which_of_its_siblings_start_up_rules_it_replaced(url, prefix):
    """Fakes on one prefix share one set of start-up rules: a start with other rules turns its
    siblings' off, and knows it (the same rules again, a restart, is no news)."""
    def start(*faults: dict) -> Backend:
        return Backend(Config(state=url, state_prefix=prefix, faults=faults, log_requests=False))

    assert start({"resCode": 1000, "times": 2}).replaced_startup == []
    assert start({"resCode": 1000, "times": 2}).replaced_startup == []  # same rules: kept
    replaced = start({"transport": "reset"}).replaced_startup
    assert [(r["endpoint"], r["resCode"], r["times"]) for r in replaced] == [("submit", 1000, 2)]
    assert [r.get("transport") for r in start().replaced_startup] == ["reset"]  # none at all replaces too
    assert start().replaced_startup == []
    start({"resCode": 1000})
    # delayMs 0 (no wait, whatever the latency) is not the same rule as no delayMs (the latency's)
    assert [r["resCode"] for r in start({"resCode": 1000, "delayMs": 0}).replaced_startup] == [1000]


def test_serve_says_in_one_line_that_it_turned_a_siblings_start_up_rules_off(url, prefix):
    common = [sys.executable, "-m", "mockserver.cli", "serve", "--quiet", "--state", url, "--state-prefix", prefix]
    first = Serve("--state", url, "--state-prefix", prefix, "--fault", "1000")
    try:
        second = subprocess.Popen([*common, "--port", str(_free_port())], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            assert "listening" in second.stdout.readline()
        finally:
            stop_process(second)
        notes = [line for line in second.stderr.read().splitlines() if "start-up fault rule" in line]
        assert len(notes) == 1 and "replaced 1 start-up fault rule(s)" in notes[0] and "submit resCode 1000" in notes[0]
        assert requests.get(first.url + "/__admin/faults", timeout=5).json()["faults"] == []  # what the line warns of
    finally:
        first.stop()


def test_an_unreachable_redis_is_one_clear_error(prefix):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket is closed
    with pytest.raises(ConfigError, match=rf"--state redis://u:\*\*\*@127.0.0.1:{port}/0: cannot reach Redis"):
        Backend(Config(state=f"redis://u:hunter22@127.0.0.1:{port}/0", state_timeout_s=0.5))


def test_a_rediss_url_for_a_redis_without_tls_says_so_not_cannot_reach(tmp_path):
    """A plain Redis leaves a TLS handshake unanswered (redis-py: "Timeout connecting to server"):
    the line says Redis was reached and does not serve TLS, and which scheme to use."""
    with own_redis_server(tmp_path) as (url, *_):
        tls_url = url.replace("redis://", "rediss://")
        with pytest.raises(ConfigError, match=r"did not complete a TLS handshake.*use redis:// for a Redis"):
            Backend(Config(state=tls_url, state_timeout_s=0.5))


def test_a_redis_url_for_a_redis_serving_tls_or_a_certificate_not_trusted_says_so(tmp_path):
    """The other way round (a TLS-only Redis resets a plain PING), and a TLS Redis whose
    certificate this machine does not trust: each says what failed, not "cannot reach"."""
    with own_redis_server(tmp_path, tls=True) as (url, *_):
        port = url.rsplit(":", 1)[1].split("/")[0]
        with pytest.raises(ConfigError, match=rf"Redis serves TLS on port {port}.*use rediss://"):
            Backend(Config(state=url, state_timeout_s=5))
        tls_url = url.replace("redis://", "rediss://")
        with pytest.raises(ConfigError, match=r"the TLS handshake failed \(.*certificate verify failed.*ssl_ca_certs"):
            Backend(Config(state=tls_url, state_timeout_s=5))
        trusted = Backend(Config(state=f"{tls_url}?ssl_ca_certs={tmp_path / 'ca.pem'}", state_timeout_s=5))
        assert trusted.health()["redis"] == "up"  # the same Redis, reachable over TLS all along


def test_the_admin_config_never_shows_the_redis_password(url, prefix):
    secret_url = url.replace("redis://", "redis://:pw-not-shown@")
    config = Config(state=secret_url, state_prefix=prefix)
    assert "pw-not-shown" not in json.dumps(config.redacted())


# -- three `bgmock serve` processes on one Redis ---------------------------------------------
class Serve:
    """``bgmock serve --state REDIS`` in a subprocess; ready when its line is printed.
    ``quiet=False`` keeps the request log; ``lines()`` is its output once stopped."""

    def __init__(self, *args: str, quiet: bool = True) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(self.port),
             *(["--quiet"] if quiet else []), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        line = self.proc.stdout.readline()
        if "listening" not in line:
            self.stop()
            raise AssertionError(f"bgmock serve did not start: {line}{self.proc.stdout.read()}")
        self._output: list[str] = []
        self._drain = threading.Thread(target=lambda: self._output.extend(self.proc.stdout), daemon=True)
        self._drain.start()  # keep the pipe drained

    def stop(self) -> None:
        stop_process(self.proc)

    def lines(self) -> list[str]:
        """Everything it wrote after its start-up line (it is stopped first)."""
        self.stop()
        self._drain.join()
        return [line.rstrip("\n") for line in self._output]


@pytest.fixture
def three(url, prefix) -> Iterator[list[Serve]]:
    fakes: list[Serve] = []
    try:
        for _ in range(3):
            fakes.append(Serve("--state", url, "--state-prefix", prefix, "--clock", "manual",
                               "--task-duration", "5"))
        yield fakes
    finally:
        for fake in fakes:
            fake.stop()


def _submit(base: str, session: requests.Session | None = None, **kwargs) -> dict:
    http = session or requests
    return http.post(base + SUBMIT, json={"requestParams": [ITEM]}, timeout=10, **kwargs).json()


def test_three_fakes_on_one_redis_are_one_fake(three):
    a, b, c = (fake.url for fake in three)
    task_id = _submit(a)["data"]["result"]["taskId"]
    assert requests.get(b + QUERY, params={"taskId": task_id}, timeout=10).json()["data"]["taskStatus"] == "submitted"
    requests.post(c + "/__admin/clock", json={"advance": 6}, timeout=10).raise_for_status()  # one clock for all
    answer = requests.get(b + QUERY, params={"taskId": task_id}, timeout=10).json()["data"]
    assert answer["taskStatus"] == "finished"
    for url in answer["taskResult"][0]["imageUrlList"]:  # drawn by another fake than the one submitted to
        image = requests.get(c + url.split(str(three[1].port), 1)[1], timeout=10)
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    requests.post(a + "/__admin/faults", json={"resCode": 500, "times": 2}, timeout=10).raise_for_status()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: _submit(three[i % 3].url)["resCode"], range(24)))
    assert codes.count(500) == 2 and codes.count(200) == 22
    journal = requests.get(b + "/__admin/requests", params={"limit": 1000}, timeout=10).json()["requests"]
    ids = [entry["id"] for entry in journal]
    assert len(ids) == len(set(ids)) == 1 + 2 + 24  # every call exactly once (admin calls are not journaled)
    requests.post(c + "/__admin/reset", timeout=10).raise_for_status()
    for fake in (a, b):
        assert requests.get(fake + "/__admin/tasks", timeout=10).json()["tasks"] == []
        assert requests.get(fake + "/__admin/faults", timeout=10).json()["faults"] == []
        assert requests.get(fake + "/__admin/health", timeout=10).json()["clock"] == 0


def test_concurrent_submits_over_three_fakes_lose_and_duplicate_nothing(three):
    """8 clients x 500 submits, round-robin over the three fakes on kept connections."""

    def client(n: int) -> list[str]:
        with requests.Session() as session:
            return [_submit(three[(n + i) % 3].url, session)["data"]["result"]["taskId"] for i in range(500)]

    with ThreadPoolExecutor(8) as pool:
        ids = [task_id for batch in pool.map(client, range(8)) for task_id in batch]
    assert len(ids) == len(set(ids)) == 4000
    health = requests.get(three[0].url + "/__admin/health", timeout=10).json()
    assert health["tasks"] == 4000 and health["redis"] == "up"


# -- Redis going away under a running fake -----------------------------------------------------
def test_a_lost_redis_answers_system_error_then_the_fake_serves_again(tmp_path):
    with own_redis_server(tmp_path) as (url, start, stop, _):
        fake = Serve("--state", url, "--task-duration", "0")
        try:
            task_id = _submit(fake.url)["data"]["result"]["taskId"]
            stop()
            down = requests.post(fake.url + SUBMIT, json={"requestParams": [ITEM]}, timeout=10)
            assert down.status_code == 200 and down.json()["resCode"] == 500
            assert down.json()["resMessage"] == "system error"
            health = requests.get(fake.url + "/__admin/health", timeout=10)
            assert health.status_code == 503 and health.json()["redis"] == "down", health.text
            rules = requests.get(fake.url + "/__admin/faults", timeout=10)  # a REST API: the outage is a 503
            assert rules.status_code == 503 and rules.json()["resMessage"] == "system error"
            start()  # the same data directory: what Redis kept is back
            answer = requests.get(fake.url + QUERY, params={"taskId": task_id}, timeout=10).json()
            assert answer["resCode"] == 200 and answer["data"]["taskStatus"] == "finished"
            assert requests.get(fake.url + "/__admin/health", timeout=10).json()["redis"] == "up"
        finally:
            fake.stop()


def test_the_first_calls_after_a_redis_restart_the_fake_did_not_see_are_served(tmp_path):
    """A fake idle while Redis restarts holds connections the old server closed. Its first
    calls after must be served, not answered "system error" (health "down") once per fake and
    per restart: a readiness probe would take every replica out after each Redis blip."""
    with own_redis_server(tmp_path) as (url, start, stop, _):
        fake = Serve("--state", url, "--task-duration", "0")
        try:
            task_id = _submit(fake.url)["data"]["result"]["taskId"]
            assert requests.get(fake.url + "/__admin/health", timeout=10).json()["redis"] == "up"
            stop()
            start()  # nothing asked the fake meanwhile: it has not seen the outage
            health = requests.get(fake.url + "/__admin/health", timeout=10)
            assert health.status_code == 200 and health.json()["redis"] == "up", health.text
            answer = requests.get(fake.url + QUERY, params={"taskId": task_id}, timeout=10).json()
            assert answer["resCode"] == 200 and answer["data"]["taskStatus"] == "finished", answer
            stop()
            start()
            assert _submit(fake.url)["resCode"] == 200
            assert requests.get(fake.url + "/__admin/faults", timeout=10).status_code == 200
        finally:
            fake.stop()


#: Admin calls that need Redis (docs/load-and-workers.md, "Failure behaviour"), with their bodies.
ADMIN_ON_REDIS = [("POST", "/__admin/reset", None), ("GET", "/__admin/requests", None), ("GET", "/__admin/tasks", None),
                  ("POST", "/__admin/faults", {"resCode": 501}), ("GET", "/__admin/clock", None)]


def test_a_lost_redis_fails_every_admin_call_that_needs_it_with_503_but_the_settings_answer(tmp_path):
    """The admin API is a plain REST API: during an outage a script's ``curl -f`` or
    ``raise_for_status()`` must fail, whatever the call; the settings need no Redis."""
    with own_redis_server(tmp_path) as (url, _, stop, _):
        fake = Serve("--state", url)
        try:
            stop()
            for method, path, body in ADMIN_ON_REDIS:
                answer = requests.request(method, fake.url + path, json=body, timeout=10)
                assert answer.status_code == 503, (method, path, answer.status_code, answer.text)
                assert answer.json()["resMessage"] == "system error", (method, path, answer.text)
            assert requests.get(fake.url + "/__admin/config", timeout=10).status_code == 200
        finally:
            fake.stop()


def test_a_lost_redis_leaves_the_answers_that_need_no_state_as_documented(tmp_path):
    """An unknown path, a wrong method, a body the fake cannot read: their answers need nothing
    from Redis (only their journal entries do, and those are what is lost), so they stay the
    documented 404, 405 and 700, not 200 "system error". Health still says redis: down (503),
    and a submit, which needs the rules, still answers system error."""
    with own_redis_server(tmp_path) as (url, _, stop, _):
        fake = Serve("--state", url)
        try:
            assert requests.get(fake.url + "/nope", timeout=10).status_code == 404  # journaled while up
            stop()
            unknown = requests.get(fake.url + "/nope", timeout=10)
            assert unknown.status_code == 404 and unknown.json()["code"] == "InvalidApiPath", unknown.text
            method = requests.put(fake.url + SUBMIT, timeout=10)
            assert method.status_code == 405 and method.json()["code"] == "MethodNotAllowed", method.text
            typed = requests.post(fake.url + SUBMIT, data="x", headers={"Content-Type": "text/plain"}, timeout=10)
            assert typed.status_code == 200 and typed.json()["resCode"] == 700, typed.text
            assert "Content-Type: text/plain is not supported" in typed.json()["resMessage"]
            health = requests.get(fake.url + "/__admin/health", timeout=10)
            assert health.status_code == 503 and health.json()["redis"] == "down", health.text
            submit = requests.post(fake.url + SUBMIT, json={"requestParams": [ITEM]}, timeout=10)
            assert submit.status_code == 200 and submit.json()["resMessage"] == "system error", submit.text
        finally:
            fake.stop()


def test_a_lost_redis_logs_each_request_once_with_its_access_line(tmp_path):
    """docs/load-and-workers.md, "Failure behaviour": every answered request keeps its access line
    (the answer the client got), and the outage is one line per request saying what was lost,
    however many of its store calls failed (after a reset no view is kept: a submit's rules, then
    its journal entry's clock, each failed on the store)."""
    with own_redis_server(tmp_path) as (url, _, stop, _):
        fake = Serve("--state", url, quiet=False)
        try:
            assert _submit(fake.url)["resCode"] == 200
            requests.post(fake.url + "/__admin/reset", timeout=10).raise_for_status()
            stop()
            assert _submit(fake.url)["resCode"] == 500
            assert requests.get(fake.url + "/nope", timeout=10).status_code == 404
        finally:
            lines = fake.lines()
    outages = [line for line in lines if "state store unavailable" in line]
    assert len(outages) == 2, lines
    assert f"state store unavailable on POST {SUBMIT}: answered system error (" in outages[0], lines
    assert "state store unavailable on GET /nope: the journal entry is lost (" in outages[1], lines
    assert sum(f"POST {SUBMIT} -> 200 resCode=500 " in line for line in lines) == 1, lines
    assert sum("GET /nope -> 404 " in line for line in lines) == 1, lines


@pytest.mark.parametrize(
    ("setting", "words"),
    [("maxmemory", "maxmemory"), ("min-replicas-to-write", "Not enough good replicas")],
    ids=["full-OOM", "no-replicas-NOREPLICAS"],
)
def test_a_redis_that_refuses_writes_is_an_outage_in_one_line_not_a_traceback(tmp_path, setting, words):
    """A Redis full at its maxmemory, or short of the replicas it must write to, answers the
    writes with an error (not a lost connection): the submit answers system error and is logged
    as an outage, with its access line. (NOREPLICAS, a plain ResponseError in redis-py, was a
    500 "internal error" with a traceback per request.)"""
    import redis

    with own_redis_server(tmp_path) as (url, *_):
        fake = Serve("--state", url, quiet=False)
        try:
            assert _submit(fake.url)["resCode"] == 200
            redis.Redis.from_url(url).config_set(setting, 1)
            answer = _submit(fake.url)
            assert answer["resCode"] == 500 and answer["resMessage"] == "system error", answer
        finally:
            lines = fake.lines()
    assert not any("Traceback" in line for line in lines), lines
    (outage,) = [line for line in lines if "state store unavailable" in line]
    assert f"on POST {SUBMIT}: answered system error (" in outage and words in outage, lines
    assert sum(f"POST {SUBMIT} -> 200 resCode=500 " in line for line in lines) == 1, lines


@pytest.mark.parametrize(
    "reply",
    [
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
        "NOREPLICAS Not enough good replicas to write.",
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        "OOM command not allowed when used memory > 'maxmemory'.",
        "READONLY You can't write against a read only replica.",
    ],
)
def test_every_reply_of_a_redis_that_refuses_writes_is_an_outage(reply):
    """What the fake's client makes of Redis's refusals: each is one of ``Storage.unavailable``
    (the API's system error and one log line), never the safety net's traceback. MISCONF (a
    failed snapshot) cannot simply be caused in a test Redis, so its reply is read here."""
    from mockserver.storage.redis_connect import OUTAGES, _Parser

    error = _Parser.parse_error(reply)
    assert isinstance(error, OUTAGES), type(error)
    assert not isinstance(_Parser.parse_error("ERR unknown command 'NOPE'"), OUTAGES)


def test_a_private_redis_that_cannot_start_says_so_and_leaves_no_folder(tmp_path, monkeypatch):
    """A redis-server that exits at once (before writing its log: once a FileNotFoundError
    traceback) is one ConfigError line, and its private folder goes with it."""
    from mockserver.storage import private_redis

    exits_at_once = shutil.which("false")
    monkeypatch.setattr(private_redis.shutil, "which", lambda name: exits_at_once)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ConfigError, match="the private redis-server did not start: no log"), \
            private_redis.PrivateRedis(timeout_s=5):
        pass
    assert list(tmp_path.iterdir()) == []


def test_serve_with_an_unreachable_redis_says_so_in_one_line_and_exits_2():
    port = _free_port()
    done = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--state", f"redis://127.0.0.1:{port}/0", "--port", "0"],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot reach Redis" in done.stderr and "Traceback" not in done.stderr


def _until_asleep(url: str) -> None:
    """Return once Redis leaves a PING unanswered for half a second: its DEBUG SLEEP has begun
    (a fixed pause could end before the sleeping thread was even scheduled on a busy machine)."""
    import redis

    pinger = redis.Redis.from_url(url, socket_timeout=0.5)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            pinger.ping()
        except redis.TimeoutError:
            return
        time.sleep(0.01)
    raise AssertionError("Redis never fell asleep")


def test_a_slow_redis_answers_system_error_within_the_timeout_never_hangs(tmp_path):
    """Redis sleeps 4 s; the fake gives up on it after its 1 s state timeout. Both are far from
    what they are raced against: a normal submit's Redis calls, and that timeout."""
    with own_redis_server(tmp_path, "--enable-debug-command", "yes") as (url, *_):
        fake = Serve("--state", url, "--config", str(_config(tmp_path, state_timeout_s=1.0)))
        try:
            import redis

            assert _submit(fake.url)["resCode"] == 200  # warm: the next submit only writes, at its end
            stall = threading.Thread(target=lambda: redis.Redis.from_url(url).execute_command("DEBUG", "SLEEP", "4"))
            stall.start()
            _until_asleep(url)
            answer = requests.post(fake.url + SUBMIT, json={"requestParams": [ITEM]}, timeout=10).json()
            asleep = stall.is_alive()  # the fake answered while Redis still slept: it did not wait for it
            stall.join()
            assert answer["resCode"] == 500 and answer["resMessage"] == "system error"
            assert asleep
            assert _submit(fake.url)["resCode"] == 200  # Redis awake again: served
            # The submit the client was told failed left nothing behind once Redis woke: the
            # journal and the tasks show only the one that succeeded (redis.lua's deadline).
            journal = requests.get(fake.url + "/__admin/requests", timeout=10).json()["requests"]
            assert [entry["resCode"] for entry in journal] == [200, 200]
            assert len(requests.get(fake.url + "/__admin/tasks", timeout=10).json()["tasks"]) == 2
        finally:
            fake.stop()


def _config(folder: Path, **settings) -> Path:
    path = folder / "config.json"
    path.write_text(json.dumps(settings))
    return path


def test_workers_without_redis_server_say_how_to_get_it_in_one_line(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    done = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--workers", "2", "--port", "0"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": str(bare)},
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "redis-server is not on PATH" in done.stderr and "--state redis://" in done.stderr


def test_concurrent_round_trips_of_one_process_share_one_pipeline_and_keep_their_own_results(url, prefix):
    """Group commit (storage/batch.py): while one round trip is under way, the requests that
    arrive queue; the next one sends them all at once, and each gets its own results."""
    import redis

    from mockserver.storage.batch import Batcher

    client = redis.Redis.from_url(url)
    sent: list[int] = []  # commands per round trip
    first_sent, release = threading.Event(), threading.Event()
    batcher = Batcher(client)
    real_send = batcher._send

    def counting_send(batch):
        sent.append(sum(len(ticket.commands) for ticket in batch))
        if len(sent) == 1:  # hold the first round trip until the others have queued
            first_sent.set()
            release.wait(10)
        real_send(batch)

    batcher._send = counting_send
    counter = prefix + "n"
    with ThreadPoolExecutor(9) as pool:
        first = pool.submit(batcher.run, [("INCR", counter)])
        assert first_sent.wait(10)
        others = [pool.submit(batcher.run, [("INCR", counter), ("GET", counter)]) for _ in range(8)]
        deadline = time.monotonic() + 10
        while len(batcher._queue) < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        results = [first.result(10)] + [f.result(10) for f in others]
    assert sent == [1, 16]  # the first alone, then the eight that queued behind it in one round trip
    counts = [r[0] for r in results]
    assert sorted(counts) == list(range(1, 10))  # every INCR answered its own caller, none lost
    assert int(client.get(counter)) == 9
