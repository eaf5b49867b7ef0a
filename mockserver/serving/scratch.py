"""The private temporary folders of ``bgmock serve``, and the sweep of dead fakes' ones.

Two kinds, both made here and both ``$TMPDIR/bgmock-<kind><pid>-<random>`` (mode 0700):

- ``bgmock-<pid>-…`` (``--workers``, ``--server granian``): what granian must read from files
  (with ``--tls``, the certificate and key for the fake's host names).  It never holds the
  settings: those, app secrets and admin token included, reach the workers through an
  environment variable (``serving.workers.WORKER_CONFIG_ENV``).
- ``bgmock-redis-<pid>-…`` (``--workers`` or ``--state DIR``): the private Redis's socket and
  ``redis.log`` (``storage/private_redis.py``).

A fake killed with ``kill -9`` cannot delete its folders, so every start of ``bgmock serve``
(any mode: ``sweep`` runs before it serves) deletes the folders whose owner is gone.  "Gone" is
decided by a lock, not by a pid (pids are reused, and a container sharing ``/tmp`` sees other
pids): the owner holds an ``flock`` on the folder from before the folder gets its final name
(a ``.bgmock-starting-…`` folder, renamed a moment after it is made; one left by a start killed in
that moment is swept once it is a minute old) until it ends; its forked workers inherit the
lock, and so does its private redis-server, so a folder is in use while any process of its fake
lives.  A Redis folder is also kept while its
pid lives: an older bgmock made them without the lock.  Folders of another user, or named
otherwise, are left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..storage.dir_lock import pid_alive

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no sweep (a plain temporary folder)
    fcntl = None  # type: ignore[assignment]

PREFIX = "bgmock-"
#: The private Redis's folders: ``bgmock-redis-<pid>-<random>``.
REDIS = "redis-"
#: ``bgmock-[redis-]<pid>-<random>``: only folders of this form (made by this module) are ever swept.
_OURS = re.compile(r"bgmock-(?P<kind>redis-)?(?P<pid>\d+)-[A-Za-z0-9_]+")
#: ``Scratch``'s folder before its rename; swept only when older than this (not locked yet when new).
_STAGING = re.compile(r"\.bgmock-starting-[A-Za-z0-9_]+")
STAGING_AGE_S = 60.0


class Scratch:
    """``with Scratch(kind) as folder:`` a new locked folder, deleted when the block ends.

    ``fd`` holds the lock: a child process given it (``pass_fds``) keeps the folder in use
    for as long as it lives."""

    def __init__(self, kind: str = "", root: str | None = None) -> None:
        self.kind, self.root = kind, root
        self.path: Path | None = None
        self.fd: int | None = None

    def __enter__(self) -> Path:
        base = self.root or tempfile.gettempdir()
        staging = tempfile.mkdtemp(prefix=".bgmock-starting-", dir=base)  # swept only once it is old
        self.fd = os.open(staging, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            if fcntl is not None:  # pragma: no branch - Windows has no flock (and no sweep)
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            final = Path(base) / f"{PREFIX}{self.kind}{os.getpid()}-{Path(staging).name.rsplit('-', 1)[1]}"
            os.rename(staging, final)
        except BaseException:
            self._close()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.path = final
        return final

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        self._close()

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@contextlib.contextmanager
def scratch_dir(root: str | None = None) -> Iterator[Path]:
    """A new folder (mode 0700) for granian's files, locked while the fake runs, deleted when it stops."""
    if fcntl is None:  # pragma: no cover
        with tempfile.TemporaryDirectory(prefix=PREFIX) as plain:
            yield Path(plain)
        return
    with Scratch(root=root) as folder:
        yield folder


def sweep(root: str | None = None) -> list[Path]:
    """Delete the folders (both kinds) of fakes that are gone; returns them."""
    if fcntl is None:  # pragma: no cover
        return []
    try:
        entries = list(os.scandir(root or tempfile.gettempdir()))
    except OSError:
        return []
    return [Path(entry.path) for entry in entries if _swept(entry)]


def _own_folder(entry: os.DirEntry[str]) -> bool:
    """A folder (not a link, not a file) of this user: anyone can put any name in /tmp."""
    try:
        return entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid == os.getuid()
    except OSError:
        return False


def _swept(entry: os.DirEntry[str]) -> bool:
    """Whether ``entry`` was a dead fake's folder, now deleted."""
    if _STAGING.fullmatch(entry.name):
        return _own_folder(entry) and _old(entry) and _unlocked_removed(entry)
    ours = _OURS.fullmatch(entry.name)
    if ours is None or not _own_folder(entry) or (ours["kind"] and pid_alive(int(ours["pid"]))):
        return False
    return _unlocked_removed(entry)


def _old(entry: os.DirEntry[str]) -> bool:
    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime > STAGING_AGE_S
    except OSError:
        return False


def _unlocked_removed(entry: os.DirEntry[str]) -> bool:
    """Delete ``entry`` unless a living process holds its lock; whether it was deleted."""
    try:
        fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # its fake (one of its workers, its redis-server) is alive
        os.close(fd)
        return False
    try:
        shutil.rmtree(entry.path, ignore_errors=True)
    finally:
        os.close(fd)
    return True


__all__ = ["REDIS", "Scratch", "scratch_dir", "sweep"]
