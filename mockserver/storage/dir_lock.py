"""One fake per ``--state DIR``: an exclusive lock on the directory for as long as anything writes there.

Two fakes started on one directory each ran a private redis-server on the same append-only
file: the state split between them and the file ended up mixed (journal IDs twice, tasks
lost).  Now the first holds an ``flock`` on ``DIR/bgmock.lock``, and a second start reads who
holds it and stops with one line, having changed nothing in the directory.

The lock belongs to processes, not to a file that must be cleaned up: the kernel drops it when
the last descriptor of it closes, so a fake killed with ``kill -9`` leaves no stale lock.  The
descriptor is opened ``O_CLOEXEC`` (no program bgmock runs gets it by accident) and handed on
purpose to the private redis-server (``pass_fds``): the directory is in use while the process
writing its files runs.  (granian's workers, forked from the fake, share it too, and die with
it: ``serving/workers.py``.)  On Linux that process gets SIGTERM when the fake dies
(``PR_SET_PDEATHSIG``), writes the end of its file and exits, which drops the lock; a start
that finds the lock held for a fake that is gone waits for that, ``wait_s`` at most.  Where
there is no ``PR_SET_PDEATHSIG`` (macOS), a redis-server that a killed fake left running keeps
the directory, rightly (it may still write there), and the message names it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..config import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock and no private Redis either
    fcntl = None  # type: ignore[assignment]

NAME = "bgmock.lock"
_SHARE = "or share one state between fakes through one Redis: --state redis://HOST:PORT/DB"


#: Above any process number a kernel hands out (Linux's pid_max is at most 2**22).
_MAX_PID = 2**31 - 1


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (someone else's counts). A number no process can have
    (read from a name in /tmp that anyone can make) is no process: ``os.kill`` would raise
    ``OverflowError`` for it, and 0 or less would signal a whole process group."""
    if not 0 < pid <= _MAX_PID:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DirLock:
    """``with DirLock(directory) as lock:`` the directory is this process's until the block ends.

    ``lock.fd`` is the descriptor to hand to a child that writes there; ``lock.record(pid)``
    names that child in the lock file, for the message of the next start."""

    def __init__(self, directory: Path, *, wait_s: float = 5.0) -> None:
        self.directory = directory
        self.path = directory / NAME
        self.wait_s = wait_s
        self.fd: int | None = None

    def __enter__(self) -> DirLock:
        if fcntl is None:  # pragma: no cover
            return self
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags, 0o600)  # an existing file is opened as it is: nothing changes
        except OSError as exc:
            raise ConfigError(f"--state {self.directory}: cannot lock this directory ({exc.strerror or exc})") from None
        try:
            self._take(fd)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.record()
        return self

    def _take(self, fd: int) -> None:
        """The lock, at once, or after the redis-server of a fake that is gone has exited."""
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                holder = _holder(fd)
            fake = holder.get("bgmock")
            if fake is None or pid_alive(fake) or time.monotonic() >= deadline:
                raise ConfigError(self._in_use(holder))
            time.sleep(0.05)

    def _in_use(self, holder: dict[str, int]) -> str:
        fake, server = holder.get("bgmock"), holder.get("redis-server")
        where = f"--state {self.directory}"
        if fake is not None and not pid_alive(fake) and server is not None and pid_alive(server):
            return (f"{where}: still in use by redis-server (pid {server}), the private Redis of a bgmock (pid "
                    f"{fake}) that has ended; stop it (kill {server}) and start again, {_SHARE}")
        who = f"another bgmock (pid {fake})" if fake is not None else "another bgmock"
        return (f"{where}: in use by {who}: one directory serves one fake at a time (each would run its own "
                f"Redis on the same files); stop that one, {_SHARE}")

    def record(self, redis_server: int | None = None) -> None:
        """Write who holds the lock (this process, and the redis-server it runs there)."""
        if self.fd is None:
            return
        text = f"bgmock {os.getpid()}\n" + (f"redis-server {redis_server}\n" if redis_server else "")
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text.encode(), 0)

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # the file stays: removing it would let two starts lock two files
            self.fd = None


def _holder(fd: int) -> dict[str, int]:
    """The pids the lock file names (``bgmock PID``, ``redis-server PID``); what cannot be read, left out."""
    try:
        text = os.pread(fd, 256, 0).decode("ascii", "replace")
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        name, _, pid = line.partition(" ")
        if pid.isascii() and pid.isdigit():
            found[name] = int(pid)
    return found
