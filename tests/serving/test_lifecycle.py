"""Starting and stopping the fake, in every serving mode, many times over.

``bgmock serve`` must answer the instant it prints ``bgmock listening``, stop for good on Ctrl-C
(SIGINT to the process group) and on SIGTERM (to the main process), leave no process and no
listener behind, and exit 0.  ``--workers`` once printed its line before its workers were up
(refused connects) and, in 3 of 9 Ctrl-C, never stopped: a worker handled neither the group's
SIGINT nor its main process's SIGTERM, and the main process waited for it forever.  A fake
killed with ``kill -9`` leaves nothing holding a secret, and the next one sweeps its folder.

The waits below are bounds that catch a hang, not speed claims.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests

from mockserver import running
from mockserver.serving import scratch
from mockserver.serving.lifecycle import SAME_PRESS_S, STOP_GRACE_S, Watchdog, children
from tests.cli.test_cli import bgmock_exe

LISTENING = re.compile(r"^bgmock listening on http://127\.0\.0\.1:(\d+) ")
MODES = {
    "threaded": [],
    "werkzeug": ["--server", "werkzeug"],
    "granian": ["--server", "granian"],
    "workers": ["--workers", "2"],
}
STOPS = {"ctrl-c": "SIGINT to the process group", "sigterm": "SIGTERM to the main process"}
#: Starts and stops per mode and signal: 8 combinations, ~25 s of wall time with -n 2.
REPEATS = 10
#: Longer than the watchdog needs to force a stop: past it, the stop hung.
HANG = STOP_GRACE_S + 6


def _group(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != b"Z":
                found.append(int(name))
    return found


def _family(pid: int) -> set[int]:
    """A process's children and theirs (granian's workers, the private redis-server)."""
    found, todo = set(), [pid]
    while todo:
        kids = children(todo.pop())
        found.update(kids)
        todo += kids
    return found


def _alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z"
    return False


def _start(flags: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    """``bgmock serve --port 0 FLAGS`` in its own process group (a terminal's Ctrl-C reaches it all)."""
    proc = subprocess.Popen(
        [bgmock_exe(), "serve", "--port", "0", "--quiet", *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, env=env,
    )
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(60):
            _kill(proc)
            raise AssertionError(f"no listening line within 60 s: {proc.stderr.read()}")
    line = proc.stdout.readline()
    match = LISTENING.match(line)
    if not match:
        _kill(proc)
        raise AssertionError(f"unexpected first line {line!r}: {proc.stderr.read()}")
    proc.family = _family(proc.pid)  # type: ignore[attr-defined]
    return proc, int(match[1])


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in getattr(proc, "family", ()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()


def _left(proc: subprocess.Popen) -> list[int]:
    """Processes of the fake still there: its process group, and every child it had started."""
    return sorted({pid for pid in getattr(proc, "family", ()) if _alive(pid)} | set(_group(proc.pid)))


def _wait_all_gone(proc: subprocess.Popen) -> list[int]:
    deadline = time.monotonic() + HANG
    while _left(proc) and time.monotonic() < deadline:  # orphans are reaped by init
        time.sleep(0.02)
    left = _left(proc)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def _answers_at_once(port: int) -> None:
    """A client acting on the line the instant it appears: connected, and answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:  # refused = announced too early
        conn.sendall(f"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        head = conn.recv(64)
    assert head.startswith(b"HTTP/1.1 200"), head


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["threaded", "werkzeug"])
def test_a_stop_signal_while_connections_pour_in_stops_cleanly(mode):
    """The one-process servers start a thread per connection; a stop signal whose handler ran
    while the main thread was starting one (in ``Thread.start``'s wait) left its lock broken
    and was swallowed as that RuntimeError: the fake served on until the watchdog forced it
    (seen in full runs of this suite, rarely: the moment is narrow). Connections pour in while
    the signal arrives, three times per mode."""
    for _ in range(3):
        proc, port = _start(MODES[mode])
        done = threading.Event()

        def pour(done: threading.Event = done, port: int = port) -> None:
            while not done.is_set():
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass

        clients = [threading.Thread(target=pour, daemon=True) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=HANG)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise AssertionError("still running after the stop signal") from None
        finally:
            done.set()
            for client in clients:
                client.join(5)
        err = proc.stderr.read()
        assert code == 0 and "forced" not in err and "Traceback" not in err, f"exit code {code}: {err}"


def _assert_gone(proc: subprocess.Popen, port: int) -> str:
    """The main process ended with 0, every process of its group is gone, the port is free."""
    try:
        code = proc.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        left = _left(proc)
        _kill(proc)
        raise AssertionError(f"still running {HANG} s after the stop signal: {left}") from None
    err = proc.stderr.read()
    left = _wait_all_gone(proc)
    assert not left, f"processes left behind: {left}"
    assert code == 0, f"exit code {code}: {err}"
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    return err


@pytest.mark.slow
@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("mode", MODES)
def test_each_mode_answers_when_announced_and_stops_every_time(mode, stop):
    for _ in range(REPEATS):
        proc, port = _start(MODES[mode])
        try:
            _answers_at_once(port)
        except BaseException:
            _kill(proc)
            raise
        if stop == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        err = _assert_gone(proc, port)
        assert "forced" not in err, f"the stop needed the watchdog: {err}"  # it stops by itself


@pytest.mark.slow
def test_a_stop_is_forced_when_a_request_holds_a_worker(tmp_path):
    """A request held in a ``timeout`` fault (hang_s 60) does not hold the stop past the grace."""
    config = tmp_path / "c.json"
    config.write_text('{"hang_s": 60}')
    proc, port = _start(["--workers", "2", "--config", str(config)])
    held = subprocess.Popen(  # a client waiting for an answer that never comes
        [sys.executable, "-c", f"import socket; s = socket.create_connection(('127.0.0.1', {port})); "
         f"s.sendall(b'GET /ai/image/background/generation/query?taskId=x HTTP/1.1\\r\\nHost: 127.0.0.1:{port}\\r\\n"
         "Prefer: transport=timeout\\r\\n\\r\\n'); s.recv(10)"],
    )
    try:
        time.sleep(0.5)  # the request reaches a worker
        assert held.poll() is None, "the request was answered: nothing holds the worker"
        proc.send_signal(signal.SIGTERM)
        _assert_gone(proc, port)
    finally:
        held.kill()
        held.wait()


def test_the_watchdog_stops_children_that_ignore_the_stop_and_ends_the_process():
    """The force itself: a program that ignores SIGTERM (it is given its grace, then SIGKILL),
    a main process blocked waiting for it; the line says what was done, the exit code that the
    stop was forced (128 + SIGTERM), and the clean-up a ``finally`` would have done still runs."""
    script = textwrap.dedent("""
        import os, signal, subprocess, sys, time
        from mockserver.serving.lifecycle import Watchdog
        watchdog = Watchdog(grace_s=0.5, force_exit_s=0.5, program_grace_s=0.5)
        watchdog.at_force.append(lambda: print("cleaned up", file=sys.stderr, flush=True))
        stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                    "print(1, flush=True); time.sleep(600)")
        child = subprocess.Popen([sys.executable, "-c", stubborn], stdout=subprocess.PIPE)
        child.stdout.readline()
        signal.signal(signal.SIGTERM, watchdog.wrap(lambda *a: child.send_signal(signal.SIGTERM)))
        print(child.pid, flush=True)
        while True:  # waits for its child for ever, as granian's main process did
            try:
                child.wait()
                time.sleep(600)
            except InterruptedError:
                pass
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        child = int(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=HANG)
        err = proc.stderr.read()
    finally:
        _kill(proc)
    assert code == 128 + signal.SIGTERM, err
    assert re.search(rf"^bgmock: stop forced \(still stopping 0\.5 s after SIGTERM\): \S+ \(pid {child}\) still "
                     r"running 0\.5 s after SIGTERM: SIGKILL; exit code 143$", err, re.M), err
    assert err.rstrip().endswith("cleaned up"), err  # what a finally would have done, then the end
    assert not Path(f"/proc/{child}").exists()


#: A main process, a copy of it (as granian's workers are: the same command line) that ignores
#: every stop signal, and a program it ran (as the private redis-server) that stops on SIGTERM
#: and says so. The main process waits for ever, as granian's does for a worker that hangs.
_FAMILY = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    from mockserver.serving.lifecycle import Watchdog
    if os.environ.get("ROLE") == "copy":
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(600)
        sys.exit(0)
    watchdog = Watchdog(grace_s=600)  # the countdown never forces here
    me = [sys.executable, "-c", sys.argv[-1]]
    copy = subprocess.Popen(me + [sys.argv[-1]], env={**os.environ, "ROLE": "copy"}, stdout=subprocess.PIPE)
    copy.stdout.readline()
    program = subprocess.Popen([sys.executable, "-c", (
        "import signal, sys, time\\n"
        "def stop(*_):\\n    print('program: stopped on SIGTERM', file=sys.stderr, flush=True); sys.exit(0)\\n"
        "signal.signal(signal.SIGTERM, stop); print(1, flush=True); time.sleep(600)")],
        stdout=subprocess.PIPE, start_new_session=True)
    program.stdout.readline()
    signal.signal(signal.SIGINT, watchdog.wrap(lambda *a: print("stopping", flush=True)))
    signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGINT))
    print(copy.pid, program.pid, flush=True)
    while True:
        time.sleep(600)
""")


def test_ctrl_c_again_forces_the_stop_but_a_program_the_fake_ran_stops_on_sigterm():
    """Ctrl-C pressed again while a stop is under way forces it at once: the fake's copies (its
    workers) get SIGKILL, but a program it ran (its private redis-server, which may be writing the
    user's data) gets SIGTERM and stops by itself; the line says so; the exit code is 130.
    (Before, the second signal SIGKILLed every child, the redis-server included, printed
    "still stopping after 600 s" a moment after the signal, and exited 0.)"""
    proc = subprocess.Popen([sys.executable, "-c", _FAMILY, _FAMILY], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        copy, program = map(int, proc.stdout.readline().split())
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole group (the copy ignores it)
        assert proc.stdout.readline() == "stopping\n"
        time.sleep(SAME_PRESS_S + 0.1)  # a second press, not the first one delivered twice
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=HANG)
        err = proc.stderr.read()
    finally:
        _kill(proc)
    assert code == 128 + signal.SIGINT, err
    assert "program: stopped on SIGTERM" in err, err
    assert re.search(rf"^bgmock: stop forced \(Ctrl-C again\): SIGKILL to 1 worker process\(es\) \({copy}\); "
                     rf"\S+ \(pid {program}\) stopped on SIGTERM; exit code 130$", err, re.M), err
    assert not _alive(copy) and not _alive(program)


def _pending(pid: int, signum: int) -> bool:
    """Whether ``signum`` waits to be delivered to ``pid`` (a stopped process keeps it pending)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("ShdPnd:", "SigPnd:")) and int(line.split()[1], 16) & (1 << (signum - 1)):
                return True
    return False


@pytest.mark.parametrize("mode", [[], ["--workers", "2"]], ids=["one-process", "workers"])
def test_a_repeated_stop_signal_neither_forces_nor_cuts_the_stop_short(tmp_path, mode):
    """The same stop delivered again (GNU ``timeout`` signals the fake and then its process group;
    here also a SIGHUP) while the fake stops its private redis-server, which holds ``--state DIR``'s
    data: nothing is forced, the redis-server stops on its SIGTERM, the exit code is 0.
    (Before, the second signal SIGKILLed the redis-server and the workers at once, said "still
    stopping after 4 s" ~0.1 s after the first, and exited 0.) The redis-server is held stopped
    (SIGSTOP) so that the fake's stop is certainly under way when the repeats arrive."""
    proc, port = _start([*mode, "--state", str(tmp_path / "state")])
    redis = [pid for pid in proc.family if Path(f"/proc/{pid}/comm").read_text().strip() == "redis-server"]
    assert len(redis) == 1, proc.family
    os.kill(redis[0], signal.SIGSTOP)
    try:
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + HANG
        while not _pending(redis[0], signal.SIGTERM) and time.monotonic() < deadline:  # the fake stops its Redis
            time.sleep(0.01)
        assert _pending(redis[0], signal.SIGTERM), "the fake never asked its redis-server to stop"
        os.killpg(proc.pid, signal.SIGTERM)
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)  # room for a wrong reaction to the repeats; the fake is waiting for its Redis meanwhile
    finally:
        os.kill(redis[0], signal.SIGCONT)
    err = _assert_gone(proc, port)
    assert "forced" not in err and "Traceback" not in err, err
    assert "start-up fault" not in err, err  # no --fault, a private Redis: no call to the held one


def test_the_same_ctrl_c_delivered_twice_is_one_press_and_other_repeats_change_nothing(monkeypatch):
    """Which repeated stop signal forces: only a SIGINT ``SAME_PRESS_S`` or more after the stop
    began (a second Ctrl-C); one sooner is the same press delivered twice (``timeout -s INT``)."""
    now = [100.0]
    forced: list[str] = []
    watchdog = Watchdog(clock=lambda: now[0])
    monkeypatch.setattr(watchdog, "_countdown", lambda: None)
    monkeypatch.setattr(watchdog, "_carry_out", forced.append)
    assert watchdog.arm(signal.SIGINT) is True  # begins the stop
    now[0] += SAME_PRESS_S / 10
    assert watchdog.arm(signal.SIGINT) is False
    now[0] += 5
    assert watchdog.arm(signal.SIGTERM) is False
    assert watchdog.arm(signal.SIGHUP) is False
    time.sleep(0.1)  # a force thread, had one started, has run
    assert forced == []
    assert watchdog.arm(signal.SIGINT) is False
    for _ in range(500):
        if forced:
            break
        time.sleep(0.01)
    assert forced == ["Ctrl-C again"]


def _live_threads() -> int:
    return sum(t.name == "bgmock-live" for t in threading.enumerate())


def test_running_stops_every_time_and_frees_its_port():
    """The in-Python live fake (``running()``, the pytest plugin's): answers at once, stops, no thread left."""
    before = _live_threads()  # the plugin's session fake may be running in this process
    for _ in range(10):
        with running() as fake:
            port = int(fake.url.rsplit(":", 1)[1])
            _answers_at_once(port)
            assert _live_threads() == before + 1
        assert _live_threads() == before
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


# -- what a killed fake leaves on disk ---------------------------------------------------------------

QUERY = "/ai/image/background/generation/query"
SECRET = "s3cr3t-app-secret-value"
TOKEN = "admin-token-value-42"


def _holding(folder: Path, needle: bytes) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture
def short_tmp():
    """A temporary folder with a short path: the private Redis's unix socket lives below it
    (a socket path has at most 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="bgl-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_kill_9_of_workers_leaves_no_secret_and_the_next_start_sweeps(short_tmp):
    tmp_path = short_tmp
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # this test's own temporary folder, nobody else's
    flags = ["--workers", "2", "--app-key", f"key1:{SECRET}", "--admin-token", TOKEN]
    proc, port = _start(flags, env)
    try:
        (folder,) = tmp_path.glob("bgmock-[0-9]*")
        assert folder.name.startswith(f"bgmock-{proc.pid}-")
        assert folder.stat().st_mode & 0o777 == 0o700
        headers = {"X-Bgmock-Admin-Token": TOKEN, "X-Api-Key": SECRET}
        requests.get(f"http://127.0.0.1:{port}/__admin/requests", headers=headers, timeout=10)
        requests.get(f"http://127.0.0.1:{port}{QUERY}?taskId=x&app_secret={SECRET}", headers=headers, timeout=10)
        # nothing anywhere in this fake's temporary files: its folder, its private Redis's
        assert _holding(tmp_path, SECRET.encode()) == [] and _holding(tmp_path, TOKEN.encode()) == []
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the main process only: its workers must follow it
    proc.wait()
    left = _wait_all_gone(proc)
    assert not left, f"processes outlived their main process: {left}"
    assert folder.exists()  # nobody could delete it ...
    again, port2 = _start(flags, env)  # ... until the next fake starts
    try:
        assert not folder.exists()
        assert [p.name.split("-")[1] for p in tmp_path.glob("bgmock-[0-9]*")] == [str(again.pid)]
    finally:
        again.send_signal(signal.SIGTERM)
        _assert_gone(again, port2)
    assert list(tmp_path.glob("bgmock-*")) == []  # a stopped fake deletes its own folders


NO_PID = 99999999  # above any pid_max: never a live process


def _folders(tmp_path: Path, *names: str) -> list[Path]:
    folders = [tmp_path / name for name in names]
    for folder in folders:
        folder.mkdir()
        (folder / "redis.log").write_bytes(b"x")
    return folders


def test_the_sweep_deletes_only_unlocked_folders_of_its_own_form(tmp_path):
    dead, live, legacy, other = _folders(tmp_path, "bgmock-123-abc", "bgmock-456-def", "bgmock-x1y2z3",
                                         "something-else-1-a")  # legacy: an older name, cannot be known dead
    redis_dead, redis_live, redis_old = _folders(
        tmp_path, f"bgmock-redis-{NO_PID}-abc", f"bgmock-redis-{NO_PID}-def",
        f"bgmock-redis-{os.getpid()}-ghi",  # unlocked (an older bgmock's), but its pid lives: kept
    )
    fds = [os.open(folder, os.O_RDONLY) for folder in (live, redis_live)]
    try:
        for fd in fds:
            fcntl.flock(fd, fcntl.LOCK_EX)  # as a running fake (or its redis-server) holds it
        assert sorted(scratch.sweep(str(tmp_path))) == sorted([dead, redis_dead])
    finally:
        for fd in fds:
            os.close(fd)
    assert all(f.exists() for f in (live, legacy, other, redis_live, redis_old))
    assert sorted(scratch.sweep(str(tmp_path))) == sorted([live, redis_live])  # their fakes have gone now
    assert redis_old.exists()


def test_a_staging_folder_left_by_a_start_killed_in_its_first_moment_is_swept_once_old(tmp_path):
    """``Scratch`` makes ``.bgmock-starting-…`` and renames it a moment later; a ``kill -9`` in that
    moment left it for good. One a minute old (and not locked) is swept; a new one may belong to a
    start under way (not locked yet), so it is kept, and so is one that a process holds."""
    old, new, held = _folders(tmp_path, ".bgmock-starting-old1", ".bgmock-starting-new2", ".bgmock-starting-held3")
    for folder in (old, held):
        stamp = time.time() - scratch.STAGING_AGE_S - 5
        os.utime(folder, (stamp, stamp))
    fd = os.open(held, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert scratch.sweep(str(tmp_path)) == [old]
    finally:
        os.close(fd)
    assert new.exists() and held.exists() and not old.exists()


def test_names_anyone_can_put_in_the_temporary_folder_never_stop_a_start(tmp_path):
    """Any user can make /tmp/bgmock-redis-<any number>-x; a pid beyond what os.kill takes (it
    raised OverflowError, and every bgmock serve on the machine failed with a traceback), a file
    rather than a folder, or 0 (which would signal a process group) is no fake's folder."""
    for name in ("bgmock-redis-99999999999999999999-x", "bgmock-redis-4294967296-a", "bgmock-redis-0-z"):
        (tmp_path / name).write_text("not a folder")
    (huge,) = _folders(tmp_path, "bgmock-redis-99999999999999999999-y")  # ours, unlocked: no process has it
    assert scratch.sweep(str(tmp_path)) == [huge]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bgmock-redis-0-z", "bgmock-redis-4294967296-a", "bgmock-redis-99999999999999999999-x"]
    from mockserver.storage.dir_lock import pid_alive

    assert not pid_alive(0) and not pid_alive(-1) and not pid_alive(10**20)


def test_a_one_process_start_sweeps_both_kinds_and_never_a_live_fakes(short_tmp):
    """Whichever mode starts next cleans up after a killed ``--workers`` fake: its folder and
    its private Redis's; the folders of fakes still running stay."""
    tmp_path = short_tmp
    dead, redis_dead, live, redis_live = _folders(
        tmp_path, f"bgmock-{NO_PID}-abc", f"bgmock-redis-{NO_PID}-abc", f"bgmock-{NO_PID}-def",
        f"bgmock-redis-{NO_PID}-def",
    )
    fds = [os.open(folder, os.O_RDONLY) for folder in (live, redis_live)]
    try:
        for fd in fds:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a fake running (in another pid namespace, say)
        proc, port = _start([], {**os.environ, "TMPDIR": str(tmp_path)})
        try:
            assert not dead.exists() and not redis_dead.exists()
            assert live.exists() and redis_live.exists()
        finally:
            proc.send_signal(signal.SIGTERM)
            _assert_gone(proc, port)
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.slow
def test_a_plain_start_after_kill_9_of_workers_sweeps_what_they_left(short_tmp):
    """docs/load-and-workers.md: what a killed ``--workers`` fake leaves (its folder, its private
    Redis's folder with redis.log) goes at the next start, whatever its mode."""
    env = {**os.environ, "TMPDIR": str(short_tmp)}
    proc, _ = _start(["--workers", "2"], env)
    try:
        left = sorted(p.name.rsplit("-", 1)[0] for p in short_tmp.glob("bgmock-*"))
        assert left == [f"bgmock-{proc.pid}", f"bgmock-redis-{proc.pid}"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not _wait_all_gone(proc)
    assert len(list(short_tmp.glob("bgmock-*"))) == 2  # nobody could delete them ...
    again, port = _start([], env)  # ... until the next fake starts, a one-process one here
    try:
        assert list(short_tmp.glob("bgmock-*")) == []
    finally:
        again.send_signal(signal.SIGTERM)
        _assert_gone(again, port)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["threaded", "workers"])
def test_a_closed_terminal_stops_the_fake(mode):
    """SIGHUP to the process group (the terminal closed, the ssh session dropped): granian took
    it for "reload the workers", and a --workers fake went on serving on its port for good."""
    for _ in range(3):
        proc, port = _start(MODES[mode])
        try:
            _answers_at_once(port)
        except BaseException:
            _kill(proc)
            raise
        os.killpg(proc.pid, signal.SIGHUP)
        err = _assert_gone(proc, port)
        assert "forced" not in err, f"the stop needed the watchdog: {err}"


#: A main process stopping as ``bgmock serve`` does (``Watchdog.installed``, then ``final``), and a
#: program it ran that ignores SIGTERM (a private redis-server slow to stop). Its main thread
#: finishes its stop by itself the moment a force has begun, while the force still waits for
#: the program: the order in which a forced ``--workers`` stop lost its line (~4 runs in 12).
_FINISHES_FIRST = textwrap.dedent("""
    import signal, subprocess, sys, time
    from mockserver.serving.lifecycle import Stopped, Watchdog
    watchdog = Watchdog(grace_s=600, program_grace_s=0.5)
    stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "print(1, flush=True); time.sleep(600)")
    program = subprocess.Popen([sys.executable, "-c", stubborn], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    program.stdout.readline()
    with watchdog.installed():
        print(program.pid, flush=True)
        try:
            time.sleep(600)
        except Stopped:
            print("stopping", flush=True)
        while watchdog.forced is None:  # the second Ctrl-C comes while it stops
            time.sleep(0.01)
        code = watchdog.final(0)  # and its stop is over just then
    sys.exit(code)
""")


def test_a_forced_stop_always_says_its_line_even_when_the_stop_finishes_first():
    """Ctrl-C twice: the process never ends before the force has said what it did, once, and
    truly (here: the program ran was given its grace, then SIGKILL); exit code 130. (Before,
    the main thread's end won the race and the process exited 130 with no line at all.)"""
    proc = subprocess.Popen([sys.executable, "-c", _FINISHES_FIRST], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        program = int(proc.stdout.readline())
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.stdout.readline() == "stopping\n"
        time.sleep(SAME_PRESS_S + 0.1)  # a second press, not the first one delivered twice
        os.killpg(proc.pid, signal.SIGINT)
        err = proc.communicate(timeout=HANG)[1]
        code = proc.returncode
    finally:
        _kill(proc)
        with contextlib.suppress(ProcessLookupError):
            os.kill(program, signal.SIGKILL)
    assert code == 128 + signal.SIGINT, err
    assert err.count("bgmock: stop forced") == 1, err
    assert re.search(rf"^bgmock: stop forced \(Ctrl-C again\): \S+ \(pid {program}\) still running 0\.5 s after "
                     r"SIGTERM: SIGKILL; exit code 130$", err, re.M), err
    assert not _alive(program)


#: ``bgmock serve`` whose start-up catches the ``Stopped`` a SIGTERM raises: ``swallow`` drops it
#: (as logging's fork lock once did, "Exception ignored in: <function _releaseLock ...>"),
#: ``wrap`` raises another exception from it (as ``dataclasses``' ``__set_name__`` did).
_CATCHES_THE_STOP = textwrap.dedent("""
    import os, signal, sys, time
    from mockserver import cli
    from mockserver.serving.lifecycle import Stopped
    how, flags = sys.argv[1], sys.argv[2:]
    def sweep():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            while True:
                time.sleep(0.01)
        except Stopped as exc:
            if how == "wrap":
                raise RuntimeError("a library's own error") from exc
    cli.sweep = sweep
    sys.exit(cli.main(["serve", "--port", "0", "--quiet", *flags]))
""")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["swallow", "wrap"])
@pytest.mark.parametrize("mode", ["threaded", "workers"])
def test_a_stop_that_start_up_code_caught_still_stops_the_start(how, mode):
    """A SIGTERM while starting ends the start with 143, without announcing the fake and
    without a traceback, even when start-up code swallowed or wrapped the stop. (Before: a
    swallowed stop went on to print the listening line and serve until forced 4 s later; a
    wrapped one ended in a traceback, exit code 1.)"""
    proc = subprocess.Popen([sys.executable, "-c", _CATCHES_THE_STOP, how, *MODES[mode]], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=HANG)
    finally:
        _kill(proc)
    assert (proc.returncode, out, err) == (128 + signal.SIGTERM, "", "")


def test_ctrl_c_stops_bgmock_started_with_sigint_ignored():
    """A script's background job (``bgmock serve &`` in bash) starts with SIGINT ignored: a
    SIGINT once bgmock's own code runs stops it, 130, quietly. Sent here while the command is
    still being imported (``PYTHONPROFILEIMPORTTIME`` says when ``mockserver.config`` is in);
    before, it was lost until ``bgmock serve`` installed its handlers, and the fake served on."""
    proc = subprocess.Popen(["sh", "-c", 'trap "" INT; exec "$0" serve --port 0 --quiet', bgmock_exe()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    hung = threading.Timer(HANG, lambda: os.killpg(proc.pid, signal.SIGKILL))  # ends the reads below
    hung.start()
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if re.search(r"\|\s+mockserver\.config$", line.rstrip()):
                break
        else:
            raise AssertionError(f"mockserver.config was never imported: {''.join(seen)}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=HANG)
    finally:
        hung.cancel()
        _kill(proc)
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "listening" not in out and "Traceback" not in err, (out, err)
