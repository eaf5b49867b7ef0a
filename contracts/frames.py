"""Where in the user's code an exception came from, for a crash's one-line description.

The innermost frame of a traceback is usually a library's (``http/client.py``, requests,
urllib3): naming it tells a user nothing about their adapter. :func:`where` names the
innermost frame of the user's own code instead: not Python's standard library, not an
installed package (site-packages, dist-packages), not bgmock itself (the kit that called the
adapter, the fake it talks to). Its path is relative to the current directory when the file
is under it (``adapters/myclient.py:42``), else absolute. A traceback without such a frame (the
adapter is itself an installed package) falls back to its innermost frame outside bgmock, named
by its import path (``http/client.py:640``, ``requests/adapters.py:501``).
"""

from __future__ import annotations

import importlib.util
import os
import site
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path
from types import TracebackType

_PACKAGE_DIRS = ("site-packages", "dist-packages")


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    """The folders of code that is not the user's: the standard library, installed packages."""
    paths = sysconfig.get_paths()
    found = [paths.get(name, "") for name in ("stdlib", "platstdlib", "purelib", "platlib")]
    found += getattr(site, "getsitepackages", list)()
    user_site = getattr(site, "getusersitepackages", str)()
    found += [user_site] if isinstance(user_site, str) else []
    return tuple(sorted({_real(p) for p in found if p}))


@lru_cache(maxsize=1)
def _bgmock_roots() -> tuple[str, ...]:
    """bgmock's own packages: the contract kit and the fake."""
    spec = importlib.util.find_spec("mockserver")
    fake = [os.path.dirname(spec.origin)] if spec is not None and spec.origin else []
    return tuple(_real(p) for p in (os.path.dirname(__file__), *fake))


def _real(path: str) -> str:
    return os.path.realpath(path)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _is_library(path: str) -> bool:
    return _under(path, _library_roots()) or any(part in _PACKAGE_DIRS for part in Path(path).parts)


def _shown(path: str) -> str:
    """``path`` as the user knows it: relative to the current directory when under it."""
    try:
        cwd = _real(os.getcwd())
    except OSError:  # the current directory was removed
        return path
    return os.path.relpath(path, cwd) if _under(path, (cwd,)) else path


def _import_path(path: str) -> str:
    """A library file named the way it is imported (``http/client.py``): relative to the
    longest ``sys.path`` entry (or library folder) holding it, else its name."""
    roots = [_real(p) for p in sys.path if p] + list(_library_roots())
    holding = [root for root in roots if _under(path, (root,)) and root != path]
    return os.path.relpath(path, max(holding, key=len)) if holding else os.path.basename(path)


def where(tb: TracebackType | None) -> str | None:
    """``file:line`` of the innermost frame of the user's code in ``tb`` (see the module)."""
    frames: list[tuple[str, int]] = []
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    outside_bgmock = [
        (_real(name), line) for name, line in frames
        if not name.startswith("<") and not _under(_real(name), _bgmock_roots())
    ]
    for path, line in reversed(outside_bgmock):
        if not _is_library(path):
            return f"{_shown(path)}:{line}"
    if outside_bgmock:
        path, line = outside_bgmock[-1]
        return f"{_import_path(path)}:{line}"
    return None
