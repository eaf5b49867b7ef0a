"""bgmock's contract kit: check any client of the Image Background Generation API against the fake.

Write ``make_adapter(base_url, app_key, app_secret)`` returning an object with
``submit(params) -> task ID`` (optionally ``wait(task_id)`` and ``close()``), then run
``bgmock contract --adapter package.module:make_adapter`` or :func:`run` / :func:`pytest_contract`.
"""

from .adapter import Adapter, AdapterFactory, AdapterLoadError, Rejected, TaskFailed, TransportError
from .checks import REGISTRY, Broken, Obligation
from .pytest_entry import pytest_contract
from .report import Result, Verdict
from .runner import run
from .settings import Settings, SettingsError

__all__ = [
    "REGISTRY",
    "Adapter",
    "AdapterFactory",
    "AdapterLoadError",
    "Broken",
    "Obligation",
    "Rejected",
    "Result",
    "Settings",
    "SettingsError",
    "TaskFailed",
    "TransportError",
    "Verdict",
    "pytest_contract",
    "run",
]
