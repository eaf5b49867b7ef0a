"""The private temporary folder of ``bgmock serve --workers``, and the sweep of dead fakes' ones.

The folder holds what granian must read from files (with ``--tls``, the certificate and key
for the fake's host names).  It never holds the settings: those, app secrets and admin token
included, reach the workers through an environment variable (``serving.workers.WORKER_CONFIG_ENV``).

A fake killed with ``kill -9`` cannot delete its folder, so the next fake to start deletes
the folders whose owner is gone.  "Gone" is decided by a lock, not by a pid (pids are reused,
and a container sharing ``/tmp`` sees other pids): the owner holds an ``flock`` on the folder
from before the folder gets its final name until it ends; its forked workers inherit the lock,
so a folder is in use while any process of its fake lives.  Folders of another user, or named
otherwise, are left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no sweep (a plain temporary folder)
    fcntl = None  # type: ignore[assignment]

PREFIX = "bgmock-"
#: ``bgmock-<pid>-<random>``: only folders of this form (made by this module) are ever swept.
_OURS = re.compile(r"bgmock-\d+-[A-Za-z0-9_]+")


@contextlib.contextmanager
def scratch_dir(root: str | None = None) -> Iterator[Path]:
    """A new folder (mode 0700), locked while the fake runs, deleted when it stops.

    Dead fakes' folders are swept first."""
    if fcntl is None:  # pragma: no cover
        with tempfile.TemporaryDirectory(prefix=PREFIX) as plain:
            yield Path(plain)
        return
    base = root or tempfile.gettempdir()
    sweep(base)
    staging = tempfile.mkdtemp(prefix=".bgmock-starting-", dir=base)  # never swept: not yet locked
    fd = os.open(staging, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        final = Path(base) / f"{PREFIX}{os.getpid()}-{Path(staging).name.rsplit('-', 1)[1]}"
        os.rename(staging, final)
    except BaseException:
        os.close(fd)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        yield final
    finally:
        shutil.rmtree(final, ignore_errors=True)
        os.close(fd)


def sweep(root: str | None = None) -> list[Path]:
    """Delete the folders of fakes that are gone (no process holds their lock); returns them."""
    if fcntl is None:  # pragma: no cover
        return []
    base = root or tempfile.gettempdir()
    swept = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return []
    for entry in entries:
        if not _OURS.fullmatch(entry.name):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its fake (or one of its workers) is alive
            os.close(fd)
            continue
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
            swept.append(Path(entry.path))
        finally:
            os.close(fd)
    return swept


__all__ = ["scratch_dir", "sweep"]
