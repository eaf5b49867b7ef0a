"""Start-up fault rules on shared state belong to the fake that installed them, and leave with it.

Fakes on one Redis prefix share one set of start-up rules (docs/load-and-workers.md). A fake
started with ``--fault 501`` and then stopped used to leave its rule in force for good: every
submit through its siblings answered 501, and their listening lines named no start-up rule. Now
a stopping fake takes itself off the owners of the start-up rules in force, which deletes those
it was the last owner of, and says so on stderr; several fakes started with the same rules all
own them (the last-started one's stop left its siblings without them); with ``--workers`` they
are the fake's (a reset through any worker installs them as the fake's), not one worker's. Only
on a Redis the user gave: a private Redis has no other fake on it. A fake without start-up rules
makes no call at its stop (with Redis away it said it had left rules behind, and could be forced).
Runs against the real Redis (tests/redis_helpers.py).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

import pytest
import requests
from helpers import SUBMIT, stop_process
from redis_helpers import own_redis_server

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.faults.rules import FaultRule
from mockserver.spec import load_spec
from mockserver.storage import open_storage
from mockserver.storage.base import Rules

ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}


def _start(url: str, prefix: str, *faults: dict, owner: str | None = None) -> Backend:
    return Backend(Config(state=url, state_prefix=prefix, faults=faults, log_requests=False), startup_owner=owner)


def _codes(fake: Backend) -> list[int | None]:
    return [rule.get("resCode") for rule in fake.faults()]


def test_a_fake_takes_back_its_start_up_rules_only_while_they_are_in_force(url, prefix):
    plain = _start(url, prefix)
    faulty = _start(url, prefix, {"resCode": 501})
    plain.add_fault({"resCode": 500, "endpoint": "query"})  # programmed: nobody's start-up rule
    assert _codes(plain) == [501, 500]
    assert [rule["resCode"] for rule in faulty.withdraw_startup_rules()] == [501]
    assert _codes(plain) == [500]
    assert faulty.withdraw_startup_rules() == []  # gone already
    faulty.reset()  # a reset puts the fake's own back, as its own
    later = _start(url, prefix, {"resCode": 1000})  # a later start replaced them: its rules, not faulty's
    assert faulty.withdraw_startup_rules() == [] and _codes(plain) == [1000]
    assert [rule["resCode"] for rule in later.withdraw_startup_rules()] == [1000]


def test_fakes_started_with_the_same_start_up_rules_all_own_them_until_the_last_stops(url, prefix):
    """docs/load-and-workers.md gives fakes on one prefix the same --fault: scaling one down, the
    last-started first or not, must leave the others injecting them, counters and all."""
    for stopping_first in ("newest", "oldest"):
        oldest = _start(url, prefix, {"resCode": 501, "times": 5})
        oldest.injected("submit", [], None)
        newest = _start(url, prefix, {"resCode": 501, "times": 5})
        assert [(rule["resCode"], rule["remaining"]) for rule in oldest.faults()] == [(501, 4)]  # one set, kept
        assert newest.replaced_startup == []
        first, last = (newest, oldest) if stopping_first == "newest" else (oldest, newest)
        assert first.withdraw_startup_rules() == []
        assert [(rule["resCode"], rule["remaining"]) for rule in last.faults()] == [(501, 4)]
        assert [rule["resCode"] for rule in last.withdraw_startup_rules()] == [501]  # the last owner
        assert _codes(first) == []


def test_a_reset_leaves_the_same_rules_with_every_fake_that_owned_them(url, prefix):
    """Tests reset fakes on one prefix through a load balancer: the fake that took the reset
    stopping must not turn the rules off for a sibling started with the same ones; a sibling
    with other rules owns none of the receiving fake's."""
    took_it = _start(url, prefix, {"resCode": 501})
    sibling = _start(url, prefix, {"resCode": 501})
    took_it.reset()
    assert took_it.withdraw_startup_rules() == [] and _codes(sibling) == [501]
    other = _start(url, prefix, {"resCode": 1000})
    sibling.reset()  # the rules in force (other's) did something else: the sibling's alone
    assert other.withdraw_startup_rules() == [] and _codes(sibling) == [501]
    assert [rule["resCode"] for rule in sibling.withdraw_startup_rules()] == [501]


def test_start_up_rules_the_last_release_stored_are_read_and_owned_by_the_next_start(url, prefix):
    """A shared Redis or a ``--state DIR`` of the last release holds start-up rules marked
    ``"startup": true``, with no owner: a start on it read them as a list of owners and failed
    with a TypeError. Now they are start-up rules of no known owner: a start with the same rules
    owns them (counters kept), and its stop removes them."""
    import json

    import redis

    legacy = {"id": "rule-1", "endpoint": "submit", "res_code": 501, "times": 5, "probability": 1.0, "every_n": 1,
              "delay_ms": None, "match": {}, "matched": 1, "fired": 1, "startup": True}
    redis.Redis.from_url(url).set(prefix + "rules", json.dumps([legacy]))
    fake = _start(url, prefix, {"resCode": 501, "times": 5})
    assert fake.replaced_startup == []
    assert [(rule["resCode"], rule["remaining"]) for rule in fake.faults()] == [(501, 4)]
    assert [rule["resCode"] for rule in fake.withdraw_startup_rules()] == [501]
    assert fake.faults() == []


def test_a_start_with_other_rules_replaces_them_as_their_only_owner(url, prefix):
    first = _start(url, prefix, {"resCode": 501})
    second = _start(url, prefix, {"resCode": 501})
    other = _start(url, prefix, {"resCode": 1000})
    assert [rule["resCode"] for rule in other.replaced_startup] == [501]
    assert first.withdraw_startup_rules() == [] and second.withdraw_startup_rules() == []
    assert _codes(first) == [1000]
    assert [rule["resCode"] for rule in other.withdraw_startup_rules()] == [1000]


@pytest.fixture(params=["memory", "redis"])
def rules(request: pytest.FixtureRequest) -> Rules:
    """Both stores' rules: the ownership is decided once (``storage.base``), kept by each."""
    if request.param == "memory":
        return open_storage(Config()).rules
    url, prefix = request.getfixturevalue("url"), request.getfixturevalue("prefix")
    return open_storage(Config(state=url, state_prefix=prefix)).rules


def test_each_store_keeps_one_set_of_start_up_rules_with_every_owner(rules):
    spec = load_spec()

    def rule(rule_id: str, code: int) -> FaultRule:
        return FaultRule.from_json(spec, {"resCode": code}, rule_id)

    rules.add(rule("rule-1", 500))  # programmed: nobody's, never withdrawn
    assert rules.install_startup([rule("rule-2", 501)], "a") == []
    assert rules.install_startup([rule("rule-3", 501)], "b") == []  # the same: kept, b one more owner
    assert rules.install_startup([rule("rule-4", 501)], "b") == []  # b again: still two owners
    assert [r.id for r in rules.all()] == ["rule-2", "rule-1"]
    assert rules.withdraw_startup("b") == []
    assert [r.id for r in rules.withdraw_startup("a")] == ["rule-2"]
    assert [r.id for r in rules.all()] == ["rule-1"]
    rules.install_startup([rule("rule-5", 501)], "a")
    assert rules.delete("rule-5") == 1  # deleted by hand: its owners go with it
    assert rules.withdraw_startup("a") == [] and [r.id for r in rules.all()] == ["rule-1"]
    rules.install_startup([rule("rule-6", 501)], "a")
    assert [r.id for r in rules.install_startup([rule("rule-7", 1000)], "c")] == ["rule-6"]
    assert rules.withdraw_startup("a") == []  # not a's any more
    assert [r.id for r in rules.withdraw_startup("c")] == ["rule-7"]


def test_a_reset_through_one_of_a_fakes_workers_installs_the_fakes_rules(url, prefix):
    """``--workers``: each worker has a Backend of its own, handed its fake's owner; the rules a
    reset through any worker installs are the fake's, which its main process takes back."""
    main = _start(url, prefix, {"resCode": 501})
    worker = Backend(main.config, apply_startup_rules=False, startup_owner=main.startup_owner)
    worker.reset()
    assert _codes(main) == [501]
    assert [rule["resCode"] for rule in main.withdraw_startup_rules()] == [501]
    assert _codes(worker) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(url: str, prefix: str, *flags: str) -> tuple[subprocess.Popen, str]:
    """``bgmock serve --state URL`` (``url`` None: ``flags`` say where its state is)."""
    port = _free_port()
    state = ["--state", url, "--state-prefix", prefix] if url else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), "--quiet", *state, *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    if "listening" not in line:
        stop_process(proc)
        raise AssertionError(f"bgmock serve did not start: {line}{proc.stderr.read()}")
    return proc, f"http://127.0.0.1:{port}"


def _submit_code(base: str) -> int:
    return int(requests.post(base + SUBMIT, json={"requestParams": [ITEM]}, timeout=10).json()["resCode"])


@pytest.mark.parametrize("mode", [[], ["--workers", "2"]], ids=["one-process", "workers"])
def test_a_stopped_fake_leaves_its_siblings_without_its_start_up_rules_and_says_so(url, prefix, mode):
    sibling, sibling_url = _serve(url, prefix)
    try:
        faulty, faulty_url = _serve(url, prefix, "--fault", "501", *mode)
        try:
            assert requests.post(faulty_url + "/__admin/reset", timeout=10).ok  # through a worker with --workers
            assert _submit_code(sibling_url) == 501  # shared while it runs, as documented
        finally:
            faulty.send_signal(signal.SIGTERM)
            code = faulty.wait(timeout=30)
        err = faulty.stderr.read()
        assert code == 0, err
        assert ("bgmock: stopped: removed its 1 start-up fault rule(s) from the state (submit resCode 501): "
                "fakes still on it no longer inject them") in err.splitlines(), err
        assert requests.get(sibling_url + "/__admin/faults", timeout=10).json()["faults"] == []
        assert _submit_code(sibling_url) == 200  # a success again
    finally:
        stop_process(sibling)


def _stopped(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    return code, proc.stderr.read()


def test_a_stop_while_redis_does_not_answer_is_not_held_up_and_says_only_what_is_true(tmp_path, prefix):
    """Redis held stopped, ``state_timeout_s`` 5 (above the stop's 4 s grace): a fake without
    start-up rules makes no call and says nothing about them; one with them waits a short while
    (not ``state_timeout_s``, which got the stop forced: exit 143) and says it left them."""
    config = tmp_path / "bgmock.json"
    config.write_text(json.dumps({"state_timeout_s": 5}))
    with own_redis_server(tmp_path) as redis:
        plain, _ = _serve(redis.url, prefix, "--config", str(config))
        faulty, _ = _serve(redis.url, prefix, "--config", str(config), "--fault", "501")
        with redis.paused():
            (plain_code, plain_err), (faulty_code, faulty_err) = _stopped(plain), _stopped(faulty)
    assert plain_code == 0 and "start-up fault" not in plain_err, plain_err
    assert faulty_code == 0 and "forced" not in faulty_err, faulty_err
    assert ("bgmock: stopped without removing its start-up fault rule(s) from the state: Redis did not answer"
            in faulty_err), faulty_err


@pytest.mark.parametrize("mode", [["--workers", "2"], ["--state", "DIR"]], ids=["workers", "state-dir"])
def test_a_fake_on_a_private_redis_keeps_its_start_up_rules_to_itself(tmp_path, mode):
    """No other fake can be on a private Redis: nothing to take back, nothing to say; and
    ``--state DIR`` keeps the rules, counters and all, for the next start, as documented."""
    flags = [str(tmp_path / "state") if flag == "DIR" else flag for flag in mode]
    fake, base = _serve(None, "", *flags, "--fault", "501")
    assert _submit_code(base) == 501
    code, err = _stopped(fake)
    assert code == 0 and "start-up fault" not in err, err
    if "--state" in mode:
        again, base = _serve(None, "", *flags, "--fault", "501")
        try:
            rules = requests.get(base + "/__admin/faults", timeout=10).json()["faults"]
            assert [(rule["resCode"], rule["fired"]) for rule in rules] == [(501, 1)]
        finally:
            code, err = _stopped(again)
        assert code == 0 and "start-up fault" not in err, err
