"""One fake across machines: Redis and three fakes on separate network hosts, one cut off mid-run.

The hosts are network namespaces this test makes (``ip netns``), each joined by a veth pair to
a bridge in a hub namespace of its own, on a private /24 that exists only inside them: nothing
is routed from or to the machine's own network.  The clients run on a fifth host.  Needs root
(CAP_NET_ADMIN) and iproute2; skipped without them, except under CI, which runs as root.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import stop_process

ROOT = Path(__file__).resolve().parents[2]
NET = "10.213.7"  # only inside this test's namespaces
REDIS_IP, FAKES, CLIENT_IP = f"{NET}.1", {"a": f"{NET}.11", "b": f"{NET}.12", "c": f"{NET}.13"}, f"{NET}.100"
TOKEN = "netns-admin-token"
PORT = 8080


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _skip_or_fail(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the multi-host test: {why}")
    pytest.skip(why)


class Hosts:
    """Namespaces ``<tag>-hub`` (a bridge) and one per host, each with ``eth0`` on the bridge."""

    def __init__(self) -> None:
        self.tag = "bgm" + uuid.uuid4().hex[:6]
        self.names: list[str] = []
        self.procs: list[subprocess.Popen] = []
        _ip("netns", "add", self.ns("hub"))
        self.names.append(self.ns("hub"))
        _ip("-n", self.ns("hub"), "link", "add", "br0", "type", "bridge")
        _ip("-n", self.ns("hub"), "link", "set", "br0", "up")

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def add(self, host: str, address: str) -> None:
        name = self.ns(host)
        _ip("netns", "add", name)
        self.names.append(name)
        port = f"v{self.tag[3:]}{host[:3]}"  # interface names: 15 characters at most
        _ip("link", "add", port, "netns", self.ns("hub"), "type", "veth", "peer", "name", "eth0", "netns", name)
        _ip("-n", self.ns("hub"), "link", "set", port, "master", "br0", "up")
        _ip("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        _ip("-n", name, "link", "set", "lo", "up")

    def cut(self, host: str) -> None:
        """The host's cable pulled: its link goes down, for clients and for Redis alike."""
        _ip("-n", self.ns(host), "link", "set", "eth0", "down")

    def run(self, host: str, *command: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(host), *command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, cwd=ROOT,
        )
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            stop_process(proc)
        for name in reversed(self.names):
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10)
                for pid in pids.stdout.split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), 9)
                _ip("netns", "del", name)


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    if shutil.which("ip") is None or shutil.which("redis-server") is None:
        _skip_or_fail("needs iproute2 (ip) and redis-server")
    try:
        made = Hosts()
    except (subprocess.CalledProcessError, OSError) as exc:
        _skip_or_fail(f"cannot make network namespaces here (root and CAP_NET_ADMIN needed): {exc}")
    try:
        yield made
    finally:
        made.close()


def _wait_line(proc: subprocess.Popen, start: str) -> str:
    """The first line that starts with ``start`` (stderr's warnings come first: the pipes are merged)."""
    seen = []
    for line in proc.stdout:
        if line.startswith(start):
            return line
        seen.append(line)
    raise AssertionError(f"expected a line {start!r}..., got {''.join(seen)!r}")


DRIVER = textwrap.dedent("""
    import json, sys, threading, time
    from concurrent.futures import ThreadPoolExecutor
    import requests
    fakes, token = json.loads(sys.argv[1]), sys.argv[2]
    SUBMIT = "/ai/image/background/generation/scenario"
    QUERY = "/ai/image/background/generation/query"
    ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800}
    dead, lock, acked, failed = set(), threading.Lock(), [], []
    go_on = threading.Event()

    def client(n):
        s = requests.Session()
        for i in range(150):
            live = [u for u in fakes if u not in dead]
            url = live[(n + i) % len(live)]
            try:
                answer = s.post(url + SUBMIT, json={"requestParams": [ITEM]}, timeout=3).json()
            except requests.RequestException as exc:
                with lock:
                    dead.add(url); failed.append(f"{url}: {exc!r}")
                s = requests.Session()
                continue
            if answer.get("resCode") == 200:
                with lock:
                    acked.append(answer["data"]["result"]["taskId"])
            if len(acked) > 200:
                go_on.set()

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(client, n) for n in range(8)]
        go_on.wait(60)
        print("CUT", flush=True)  # the test pulls a fake's cable now
        sys.stdin.readline()
        for f in futures:
            f.result()
    survivors = [u for u in fakes if u not in dead]
    missing = []
    s = requests.Session()
    for n, task_id in enumerate(acked):
        q = s.get(survivors[n % len(survivors)] + QUERY, params={"taskId": task_id}, timeout=5).json()
        if q.get("resCode") != 200:
            missing.append(task_id)
    print(json.dumps({"acked": len(acked), "unique": len(set(acked)), "missing": len(missing),
                      "dead": sorted(dead), "survivors": survivors, "failed": failed}), flush=True)
""")


@pytest.mark.slow
def test_fakes_on_separate_hosts_share_one_redis_and_survive_losing_one(hosts, tmp_path):
    hosts.add("redis", REDIS_IP)
    for host, address in FAKES.items():
        hosts.add(host, address)
    hosts.add("client", CLIENT_IP)
    redis = hosts.run("redis", "redis-server", "--bind", REDIS_IP, "--port", "6379", "--protected-mode", "no",
                      "--save", "", "--appendonly", "no")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ping = subprocess.run(["ip", "netns", "exec", hosts.ns("redis"), "redis-cli", "-h", REDIS_IP, "ping"],
                              capture_output=True, text=True, timeout=10)
        if ping.stdout.strip() == "PONG":
            break
        time.sleep(0.1)
    assert redis.poll() is None
    for host, address in FAKES.items():
        fake = hosts.run(host, sys.executable, "-m", "mockserver.cli", "serve", "--host", address, "--port", str(PORT),
                         "--admin-token", TOKEN, "--state", f"redis://{REDIS_IP}:6379/0", "--quiet")
        _wait_line(fake, "bgmock listening on")
    urls = [f"http://{address}:{PORT}" for address in FAKES.values()]
    driver = subprocess.Popen(
        ["ip", "netns", "exec", hosts.ns("client"), sys.executable, "-c", DRIVER, json.dumps(urls), TOKEN],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert driver.stdout.readline().strip() == "CUT"
        hosts.cut("b")  # mid-run: clients and Redis lose fake b
        driver.stdin.write("\n")
        driver.stdin.flush()
        report = json.loads(driver.stdout.readline())
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.wait(30)
    assert report["dead"] == [urls[1]] and report["survivors"] == [urls[0], urls[2]], report["failed"][:3]
    assert report["acked"] > 200 and report["unique"] == report["acked"]  # nothing duplicated
    assert report["missing"] == 0  # every acknowledged task, b's included, is served by a and c
