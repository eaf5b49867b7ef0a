"""The test session's own user folders: no test writes into the real user's.

bgmock keeps files in the user's folders: its CA in ``$XDG_DATA_HOME/bgmock`` (``bgmock serve
--tls``, ``bgmock ca``, the pytest plugin's ``tls=True``), the contract kit's Hypothesis files
in ``$XDG_CACHE_HOME/bgmock``; and Hypothesis (the suite's own property tests) writes
``.hypothesis/`` into the current folder, the checkout. A new user's trial found the README's
test command leaving a CA in ``~/.local/share/bgmock``: the docs' examples ran ``bgmock serve
--tls`` and ``bgmock ca`` as a user would, in the user's environment.

:func:`isolate` (called by tests/conftest.py before any test is collected) points
``XDG_DATA_HOME``, ``XDG_CACHE_HOME``, ``XDG_CONFIG_HOME``, ``XDG_STATE_HOME`` (and
``LOCALAPPDATA`` on Windows) and ``HYPOTHESIS_STORAGE_DIRECTORY`` at one temporary folder for
the whole session: every subprocess a test starts inherits them, and xdist's workers, started
by the controller after this ran, reuse the controller's folder. ``HOME`` stays: compilers,
browsers and version managers keep their settings there, and bgmock reads it only when the
``XDG_*`` variable is unset. A ``HYPOTHESIS_STORAGE_DIRECTORY`` the user set is kept (to keep
an example database across runs), and is not guarded even if it is the checkout's
``.hypothesis/``.

:func:`guard` is the check behind it: an audit hook in each test process records every file
opened for writing, folder made or file moved into the real user's bgmock folders or the
checkout's ``.hypothesis/``, and :func:`violations` lists them (an autouse fixture fails the
test that did it). ``tests/test_user_dirs.py`` proves both, for subprocesses too.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Set by the process that made the session's folder: its path (xdist workers reuse it).
SESSION_VAR = "BGMOCK_TESTS_USER_DIRS"
#: The real folders tests must not write to, as the first process saw them (os.pathsep-joined).
PROTECTED_VAR = "BGMOCK_TESTS_PROTECTED_DIRS"
XDG = {"XDG_DATA_HOME": "data", "XDG_CACHE_HOME": "cache", "XDG_CONFIG_HOME": "config", "XDG_STATE_HOME": "state"}
CHECKOUT = Path(__file__).resolve().parents[1]
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_seen: list[str] = []


def _real_user_dirs() -> list[str]:
    """The user's bgmock folders (as this environment names them, and the defaults), and the
    checkout's ``.hypothesis/``."""
    home = Path.home()
    data = [os.environ.get("XDG_DATA_HOME") or home / ".local" / "share", home / ".local" / "share"]
    cache = [os.environ.get("XDG_CACHE_HOME") or home / ".cache", home / ".cache"]
    found = [Path(base) / "bgmock" for base in (*data, *cache)]
    if os.environ.get("LOCALAPPDATA"):
        found.append(Path(os.environ["LOCALAPPDATA"]) / "bgmock")
    chosen = os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")  # the user's own choice is theirs to write
    if not chosen or os.path.realpath(chosen) != os.path.realpath(CHECKOUT / ".hypothesis"):
        found.append(CHECKOUT / ".hypothesis")
    # As written and as resolved: a path opened through a symbolic link (a linked home) is caught too.
    return sorted({form(p) for p in found for form in (os.path.abspath, os.path.realpath)})


def isolate() -> Path:
    """Point the user folders of this process and its children at the session's folder."""
    made = os.environ.get(SESSION_VAR)
    if made and Path(made).is_dir():
        return Path(made)  # an xdist worker: the controller's folder
    os.environ[PROTECTED_VAR] = os.pathsep.join(_real_user_dirs())
    root = Path(tempfile.mkdtemp(prefix="bgmock-tests-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for var, name in XDG.items():
        os.environ[var] = str(root / name)
    if sys.platform == "win32":
        os.environ["LOCALAPPDATA"] = str(root / "localappdata")
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(root / "hypothesis"))
    os.environ[SESSION_VAR] = str(root)
    return root


def protected() -> list[str]:
    return [p for p in os.environ.get(PROTECTED_VAR, "").split(os.pathsep) if p]


def is_protected(path: str) -> bool:
    return any(path == p or path.startswith(p + os.sep) for p in protected())


def _as_path(value: Any) -> str | None:
    if isinstance(value, int) or value is None:
        return None  # a file descriptor: its opening was seen already
    try:
        return os.path.abspath(os.fsdecode(value))
    except TypeError:
        return None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "open":
        path, flags = args[0], args[2]
        if not isinstance(flags, int) or not flags & _WRITE_FLAGS:
            return
        targets = [path]
    elif event in ("os.mkdir", "os.rename", "os.link", "os.symlink"):
        targets = [args[0]] if event == "os.mkdir" else [args[1]]
    else:
        return
    for target in targets:
        text = _as_path(target)
        if text is not None and is_protected(text):
            _seen.append(f"{event} {text}")


def guard() -> None:
    """Record this process's writes into the protected folders (an audit hook: it stays)."""
    if protected():
        sys.addaudithook(_hook)


def violations() -> list[str]:
    """The writes recorded since the last call (and forget them)."""
    found = list(_seen)
    _seen.clear()
    return found
