"""Start-up fault rules on shared state belong to the fake that installed them, and leave with it.

Fakes on one Redis prefix share one set of start-up rules (docs/load-and-workers.md). A fake
started with ``--fault 501`` and then stopped used to leave its rule in force for good: every
submit through its siblings answered 501, and their listening lines named no start-up rule. Now
a stopping fake deletes the start-up rules it installed if they are still those in force, and
says so on stderr; with ``--workers`` they are the fake's (a reset through any worker installs
them as the fake's), not one worker's. Runs against the real Redis (tests/redis_helpers.py).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
import requests
from helpers import SUBMIT, stop_process

from mockserver.backend import Backend
from mockserver.config import Config

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
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), "--quiet", "--state", url,
         "--state-prefix", prefix, *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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
