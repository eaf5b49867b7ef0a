"""A private ``redis-server`` for the fake's lifetime: ``--workers N`` and ``--state DIR`` need
shared state but no Redis of the user's.

It listens on a unix socket in a private directory (0700, no TCP port: nothing else on the
machine can reach it), keeps nothing on disk unless given a data directory (then Redis's own
append-only file there, so a restart keeps tasks, rules and the journal), and dies with the
fake: stopped on a clean exit, and on Linux sent SIGTERM by the kernel when the process that
started it dies, even by ``kill -9`` (``PR_SET_PDEATHSIG``).  Its directory is a locked scratch
folder (``serving/scratch.py``) that the redis-server holds too: one a killed fake left behind
is swept by the next start of ``bgmock serve``, whatever its mode.  A data directory is locked for the fake's lifetime
(``dir_lock.py``): a second fake on it is refused instead of running a second Redis on the
same files.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..config import Config, ConfigError
from ..serving.lifecycle import PROGRAM_GRACE_S
from ..serving.scratch import REDIS, Scratch
from .dir_lock import DirLock
from .state_url import check_directory, is_redis_url, parse_redis_url

_INSTALL = (
    "redis-server is not on PATH: install it (apt-get install redis-server, brew install redis) "
    "or pass the URL of a Redis you run (--state redis://HOST:PORT/DB)"
)


def _die_with(parent: int) -> None:  # pragma: no cover - runs in the child between fork and exec
    """SIGTERM for the redis-server when the fake's thread that started it ends (the kernel's
    rule: the thread, not the process; starts and restarts come from threads that live as long
    as the fake). A fake that died before the request leaves no orphan: the child checks."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)


def check_data_dir(path: str) -> Path:
    """``--state DIR``: a directory (made if missing); an old bgmock state file gets one clear line."""
    data = Path(path).expanduser()
    if data.is_file():
        raise ConfigError(
            f"--state {path}: this is a file (bgmock before 0.2 kept state in an SQLite file); state now lives "
            "in Redis: pass a directory (a private Redis keeps its data there) or --state redis://HOST:PORT/DB"
        )
    try:
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"--state {path}: cannot use this directory ({exc.strerror or exc})") from None
    return data.resolve()


class PrivateRedis:
    """``with PrivateRedis(data_dir) as url:`` a ``unix://`` URL of a redis-server of our own."""

    #: A redis-server that died is started again, unless it died this often within a minute.
    MAX_RESTARTS = 5
    RESTART_WINDOW_S = 60  # ... within this many seconds

    def __init__(
        self, data_dir: Path | None = None, *, timeout_s: float = 10.0, fake_stopping: threading.Event | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.timeout_s = timeout_s
        #: Set once the fake is stopping (its first stop signal): a redis-server that ends then
        #: was stopped, most likely by a forced stop (``lifecycle``), and is not started again.
        self.fake_stopping = fake_stopping or threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.home: Path | None = None
        self._scratch = Scratch(REDIS)
        self._args: list[str] = []
        self._stopping = threading.Event()
        self._restarts: list[float] = []
        self._lock: DirLock | None = None

    def __enter__(self) -> str:
        server = shutil.which("redis-server")
        if server is None:
            raise ConfigError(_INSTALL)
        if self.data_dir is not None:  # before anything else: a refused start changes nothing
            self._lock = DirLock(self.data_dir).__enter__()
        try:
            return self._enter(server)
        except BaseException:
            self.__exit__()
            raise

    def _enter(self, server: str) -> str:
        self.home = self._scratch.__enter__()  # 0700, locked for as long as this fake or its redis-server lives
        sock = self.home / "redis.sock"
        self._args = [server, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                      "--save", "", "--dir", str(self.data_dir or self.home), "--logfile", str(self.home / "redis.log")]
        if self.data_dir is not None:  # Redis's own append-only file keeps the state across restarts
            self._args += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            self._args += ["--appendonly", "no"]
        self._start(sock)
        threading.Thread(target=self._watch, args=(sock,), name="bgmock-private-redis", daemon=True).start()
        return f"unix://{quote(str(sock))}"  # a temporary folder's name may hold '?', '#' or '%'

    def _start(self, sock: Path) -> None:
        lock, parent = self._lock, os.getpid()
        keep = (lock.fd,) if lock is not None and lock.fd is not None else ()  # it writes there: it holds the lock
        keep += (self._scratch.fd,) if self._scratch.fd is not None else ()  # its folder is in use while it lives
        self.proc = subprocess.Popen(
            self._args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=lambda: _die_with(parent), start_new_session=True,  # Ctrl-C reaches the fake, which stops it
            pass_fds=keep,
        )
        if lock is not None:
            lock.record(self.proc.pid)
        self._wait_ready(sock)

    def _watch(self, sock: Path) -> None:
        """A private Redis that dies (killed, out of memory) is started again on the same socket,
        so the fake's clients reconnect by themselves: with a data directory nothing is lost;
        without one, the state starts empty, and stderr says so. Given up on after
        ``MAX_RESTARTS`` deaths within a minute (the API then answers 500 ``system error``)."""
        while not self._stopping.is_set():
            proc = self.proc
            if proc is None or proc.poll() is None:
                self._stopping.wait(0.2)
                continue
            if self._stopping.is_set() or self.fake_stopping.is_set():
                return
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < self.RESTART_WINDOW_S] + [now]
            kept = "its data directory kept the state" if self.data_dir else "the state it held is lost"
            if len(self._restarts) > self.MAX_RESTARTS:
                print(f"bgmock: the private redis-server died {len(self._restarts)} times within a minute "
                      f"(exit {proc.returncode}); not starting it again: API calls answer 500 system error",
                      file=sys.stderr, flush=True)
                return
            print(f"bgmock: the private redis-server died (exit {proc.returncode}); starting it again ({kept})",
                  file=sys.stderr, flush=True)
            try:
                self._start(sock)
            except ConfigError as exc:
                print(f"bgmock: {exc}", file=sys.stderr, flush=True)
                return

    def _wait_ready(self, sock: Path) -> None:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
                probe.settimeout(0.5)
                probe.connect(str(sock))
                probe.sendall(b"PING\r\n")
                if probe.recv(64).startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        log: list[str] = []
        with contextlib.suppress(OSError):  # a redis-server that exits at once writes no log
            log = (self.home / "redis.log").read_text(errors="replace").strip().splitlines() if self.home else []
        self._stop()
        raise ConfigError(f"the private redis-server did not start: {log[-1] if log else 'no log'}")

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._stop()
        self._scratch.__exit__()
        if self._lock is not None:  # last: the redis-server writing there has exited
            self._lock.__exit__()

    def _stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            try:
                self.proc.wait(PROGRAM_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def others_may_share(config: Any) -> bool:
    """Whether other fakes can be on this fake's state: a Redis the user gave (``--state URL``).
    Memory and a private Redis (``--workers``, ``--state DIR``: a unix socket in a 0700 folder, a
    directory lock) are this fake's alone."""
    return is_redis_url(config.state)


@contextlib.contextmanager
def serving_state(config: Any, *, stopping: threading.Event | None = None) -> Iterator[tuple[Any, str]]:
    """The settings ``bgmock serve`` runs on, and what to say about where state lives.
    ``stopping``: set once the fake is stopping (``Watchdog.stopping``): its private Redis is
    then not restarted if it ends.

    Several processes (``workers`` > 1) or a ``state`` directory: a private Redis for the
    fake's lifetime, its URL put in ``state``. A Redis URL (checked here, before anything
    starts) or one process in memory: as given.
    """
    prefix = f", prefix {config.state_prefix}" if config.state_prefix != Config.state_prefix else ""
    if others_may_share(config):
        target = parse_redis_url(config.state)
        yield config, f"state in Redis at {target.described}, prefix {config.state_prefix}"
        return
    if config.state:
        check_directory(config.state)
    elif prefix:
        _unused_prefix(config)
    if not config.state and config.workers <= 1:
        yield config, "state in memory"
        return
    data = check_data_dir(config.state) if config.state else None
    with PrivateRedis(data, fake_stopping=stopping) as url:
        said = f"state kept in {data} (private Redis{prefix})" if data else "state shared in a private Redis"
        yield config.replace(state=url), said


def _unused_prefix(config: Any) -> None:
    """A prefix keeps fakes apart on one Redis; without a ``state`` there is none to share, so
    a prefix there (a config file written for a shared Redis, say) does nothing: said once.
    With ``--state DIR`` it is used: the directory's Redis keeps each prefix's state apart."""
    where = "in a private Redis of this fake's own" if config.workers > 1 else "in this process's memory"
    print(f"bgmock: warning: --state-prefix {config.state_prefix} has no effect: the state is {where}; "
          f"a prefix keeps fakes apart on a Redis given by --state redis://HOST:PORT/DB (or a --state DIR)",
          file=sys.stderr, flush=True)
