"""Shared test settings: the import path of the feature folders, and Hypothesis profiles (CI is
derandomized with a fixed budget).

Tests live in one folder per feature (tests/api/, tests/faults/, ...), so a failing test's path
names the part that broke. The folders have no ``__init__.py``: pytest imports each test module
by its basename (which must stay unique across folders), and a folder's name can never shadow
an installed package (tests/packaging/ and the ``packaging`` library). The shared helpers sit in
tests/ itself and are imported either way, ``from helpers import X`` or ``from tests.helpers
import X``: both folders are put on ``sys.path`` here, whatever the command that started pytest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

TESTS = Path(__file__).resolve().parent
for folder in (TESTS.parent, TESTS):  # the checkout (for ``tests.x``), then tests/ (for ``x``) first
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

settings.register_profile(
    "ci", derandomize=True, max_examples=50, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
