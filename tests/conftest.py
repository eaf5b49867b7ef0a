"""Shared test settings: the import path of the feature folders, and Hypothesis profiles (CI is
derandomized with a fixed budget).

Tests live in one folder per feature (tests/api/, tests/faults/, ...), so a failing test's path
names the part that broke. The folders have no ``__init__.py``: pytest imports each test module
by its basename (which must stay unique across folders), and a folder's name can never shadow
an installed package (tests/packaging/ and the ``packaging`` library). The shared helpers sit in
tests/ itself and are imported either way, ``from helpers import X`` or ``from tests.helpers
import X``: both folders are put on ``sys.path`` here, whatever the command that started pytest.

No test writes into the user's own folders (bgmock's CA, the kit's cache) or the checkout's
``.hypothesis/``: the session has its own, set up here before anything else (tests/user_dirs.py),
and a test that writes into the real ones fails.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
for folder in (TESTS.parent, TESTS):  # the checkout (for ``tests.x``), then tests/ (for ``x``) first
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import user_dirs  # noqa: E402 - found through the sys.path entry above

user_dirs.isolate()  # before Hypothesis (or anything else) looks at the environment
user_dirs.guard()

from hypothesis import HealthCheck, settings  # noqa: E402 - after the session's folders are set

settings.register_profile(
    "ci", derandomize=True, max_examples=50, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _no_writes_into_the_user_s_folders() -> Iterator[None]:
    yield
    written = user_dirs.violations()
    assert not written, f"this test wrote into the user's own folders (tests/user_dirs.py): {written}"
