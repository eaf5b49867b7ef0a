"""The suite never writes into the user's own folders (tests/user_dirs.py).

A new user's trial ran the README's test command and found bgmock's CA in
``~/.local/share/bgmock``: the docs' examples (tests/docs) ran ``bgmock serve --tls`` and
``bgmock ca`` in the user's environment. The session now has its own folders, for its
subprocesses too, and a test that writes into the real ones fails.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import user_dirs
from hypothesis import configuration
from tls_support import bgmock_exe

from contracts.search import cache_dir
from mockserver.serving.tls import default_dir

SESSION = Path(os.environ.get(user_dirs.SESSION_VAR, "/nonexistent"))


def _in_session(path: Path | str) -> bool:
    return Path(path).resolve().is_relative_to(SESSION.resolve())


def test_the_real_folders_are_known_and_the_session_s_are_elsewhere() -> None:
    protected = user_dirs.protected()
    assert any(p.endswith(os.path.join(".local", "share", "bgmock")) for p in protected), protected
    assert SESSION.is_dir() and not user_dirs.is_protected(str(SESSION)), SESSION


def test_bgmock_s_folders_in_this_process_are_the_session_s() -> None:
    for folder in (default_dir(), cache_dir(), configuration.storage_directory(intent_to_write=False).path):
        assert _in_session(folder) and not user_dirs.is_protected(os.path.abspath(folder)), folder


def test_a_subprocess_keeps_bgmock_s_ca_in_the_session_s_folder() -> None:
    """What the docs' ``bgmock ca`` and ``bgmock serve --tls`` (and every other subprocess) get."""
    done = subprocess.run([bgmock_exe(), "ca"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    path = done.stdout.strip()
    assert _in_session(path) and not user_dirs.is_protected(path), path


def test_the_guard_records_writes_into_a_real_folder_and_nothing_else() -> None:
    real = Path(user_dirs.protected()[0])
    user_dirs._hook("open", (str(real / "ca.pem"), "r", os.O_RDONLY))  # reading is fine
    user_dirs._hook("open", (str(SESSION / "x"), "w", os.O_WRONLY | os.O_CREAT))  # the session's own
    assert user_dirs.violations() == []
    user_dirs._hook("os.mkdir", (str(real), 0o700, -1))
    user_dirs._hook("open", (str(real / "ca-key.pem"), None, os.O_WRONLY | os.O_CREAT))
    user_dirs._hook("os.rename", (str(SESSION / "t"), str(real / "ca.pem"), None, None))
    assert user_dirs.violations() == [
        f"os.mkdir {real}", f"open {real / 'ca-key.pem'}", f"os.rename {real / 'ca.pem'}",
    ]


def test_a_hypothesis_folder_the_user_chose_is_theirs_and_linked_real_folders_are_caught(monkeypatch, tmp_path) -> None:
    """A ``HYPOTHESIS_STORAGE_DIRECTORY`` the user points at the checkout's ``.hypothesis/`` is
    kept (``isolate``), so it must not be guarded, or every property test would fail; and a real
    folder reached through a symbolic link (a linked home) is still a real folder."""
    checkout_db = str(user_dirs.CHECKOUT / ".hypothesis")
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", checkout_db)
    assert not any(p == os.path.abspath(checkout_db) for p in user_dirs._real_user_dirs())
    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY")
    assert os.path.abspath(checkout_db) in user_dirs._real_user_dirs()

    real_home, linked_home = tmp_path / "real", tmp_path / "linked"
    (real_home / ".local" / "share").mkdir(parents=True)
    linked_home.symlink_to(real_home)
    monkeypatch.setattr(Path, "home", lambda: linked_home)
    monkeypatch.delenv("XDG_DATA_HOME")
    found = user_dirs._real_user_dirs()
    assert str(real_home / ".local" / "share" / "bgmock") in found, found
    assert str(linked_home / ".local" / "share" / "bgmock") in found, found
