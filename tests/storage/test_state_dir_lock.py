"""One fake per ``--state DIR``: a second start is refused and changes nothing there.

Before, two ``bgmock serve --state DIR`` (on two ports) both started, each with a private
redis-server writing the same append-only file: the state split, and the file ended up with
journal IDs twice and tasks lost.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from helpers import SUBMIT, stop_process

from mockserver.config import ConfigError
from mockserver.storage.dir_lock import NAME, DirLock

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="flock and PR_SET_PDEATHSIG: Linux")

ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800}


def _contents(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and a hash of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*")) if path.is_file()
    }


def _gone_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


# -- the lock itself ---------------------------------------------------------------------------
def test_a_second_lock_on_a_directory_is_refused_naming_the_holder_and_how_to_share(tmp_path):
    with DirLock(tmp_path):
        before = (tmp_path / NAME).read_bytes()
        with pytest.raises(ConfigError) as caught:
            DirLock(tmp_path).__enter__()
        assert (tmp_path / NAME).read_bytes() == before  # the refused one wrote nothing
    message = str(caught.value)
    assert f"in use by another bgmock (pid {os.getpid()})" in message
    assert "--state redis://HOST:PORT/DB" in message and "\n" not in message
    with DirLock(tmp_path):  # released when the holder's block ends
        pass


def test_the_lock_stays_with_the_redis_server_of_a_fake_that_is_gone_until_it_exits(tmp_path):
    """The private redis-server inherits the lock: after its fake died it still writes the end of
    its file, and a new start must wait for it, not run a second Redis on that file."""
    holder = DirLock(tmp_path).__enter__()
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], pass_fds=(holder.fd,))
    try:
        holder.record(server.pid)
        fake = _gone_pid()
        os.pwrite(holder.fd, f"bgmock {fake}\nredis-server {server.pid}\n".encode(), 0)
        holder.__exit__()  # the fake is gone; its redis-server still holds the lock
        with pytest.raises(ConfigError) as caught:
            DirLock(tmp_path, wait_s=0.3).__enter__()
        assert f"still in use by redis-server (pid {server.pid})" in str(caught.value)
        assert f"a bgmock (pid {fake}) that has ended" in str(caught.value)
        assert f"kill {server.pid}" in str(caught.value)
    finally:
        stop_process(server)
    with DirLock(tmp_path, wait_s=0):
        pass


def test_a_start_waits_for_the_redis_server_of_a_fake_that_is_gone_to_finish(tmp_path):
    holder = DirLock(tmp_path).__enter__()
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"], pass_fds=(holder.fd,))
    try:
        os.pwrite(holder.fd, f"bgmock {_gone_pid()}\nredis-server {server.pid}\n".encode(), 0)
        holder.__exit__()
        with DirLock(tmp_path, wait_s=60) as lock:  # taken once the redis-server has exited
            assert server.poll() is not None
            assert (tmp_path / NAME).read_text() == f"bgmock {os.getpid()}\n"
            assert lock.fd is not None
    finally:
        stop_process(server)


def test_a_directory_that_cannot_be_locked_is_one_line(tmp_path):
    (tmp_path / NAME).mkdir()  # a directory where the lock file goes
    with pytest.raises(ConfigError, match=r"cannot lock this directory"):
        DirLock(tmp_path).__enter__()


# -- two `bgmock serve --state DIR` ----------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(state: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), "--state", str(state), "--quiet",
         "--task-duration", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("bgmock listening on"), line
    return proc


def _redis_servers_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and Path(stat.parent, "comm").read_text().strip() == "redis-server":
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_second_fake_on_a_state_directory_is_refused_and_touches_nothing(tmp_path):
    state = tmp_path / "state"
    first = _serve(state, _free_port())
    try:
        (redis_pid,) = _redis_servers_of(first.pid)
        held = {os.readlink(f"/proc/{redis_pid}/fd/{fd}") for fd in os.listdir(f"/proc/{redis_pid}/fd")}
        assert str(state / NAME) in held  # its redis-server holds the lock too
        before = _contents(state)
        second = subprocess.run(
            [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(_free_port()), "--state", str(state)],
            capture_output=True, text=True, timeout=60,
        )
        assert second.returncode == 2 and second.stdout == ""
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
        assert f"--state {state}: in use by another bgmock (pid {first.pid})" in second.stderr
        assert "--state redis://HOST:PORT/DB" in second.stderr
        assert _contents(state) == before
        assert _redis_servers_of(first.pid) == [redis_pid]
    finally:
        stop_process(first)


def test_a_fake_killed_with_kill_9_leaves_no_lock_and_its_state_is_kept(tmp_path):
    state, port = tmp_path / "state", _free_port()
    first = _serve(state, port)
    try:
        (redis_pid,) = _redis_servers_of(first.pid)
        task = requests.post(f"http://127.0.0.1:{port}{SUBMIT}", json={"requestParams": [ITEM]}, timeout=10)
        task_id = task.json()["data"]["result"]["taskId"]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        again = _serve(state, port)  # at once: the start waits for the old redis-server to finish
    finally:
        stop_process(first)
    try:
        assert not _running(redis_pid)
        tasks = requests.get(f"http://127.0.0.1:{port}/__admin/tasks", timeout=10).json()["tasks"]
        assert task_id in [t["taskId"] for t in tasks]
    finally:
        stop_process(again)
