"""bgmock's contract kit: check any client of the Image Background Generation API against the fake.

Write ``make_adapter(base_url, app_key, app_secret)`` returning an object with
``submit(params) -> task ID`` (optionally ``wait(task_id)`` and ``close()``), then run
``bgmock contract --adapter package.module:make_adapter``, :func:`run` or :func:`pytest_contract`.
A client in another language is driven by a command instead: ``bgmock contract --adapter-cmd CMD``,
or :func:`command_factory` (``CMD``) in place of ``make_adapter``.

The adapter's exceptions load with no dependency beyond the standard library; the rest (which
needs ``hypothesis``, and the reference client ``requests``: ``pip install hypothesis requests``,
or from the bgmock checkout ``pip install -e ".[contract]"``) loads on first use.
"""

from typing import Any

from .adapter import Adapter, AdapterFactory, AdapterLoadError, Rejected, TaskFailed, TransportError
from .settings import Settings, SettingsError

#: name -> module that defines it (imported on first access, PEP 562)
_LAZY = {
    "run": "runner",
    "pytest_contract": "pytest_entry",
    "command_factory": "command_adapter",
    "REGISTRY": "checks",
    "Broken": "checks",
    "Obligation": "checks",
    "obligation": "checks",
    "Probe": "checks",
    "Skip": "checks",
    "Result": "report",
    "Verdict": "report",
}

__all__ = [
    "REGISTRY",
    "Adapter",
    "AdapterFactory",
    "AdapterLoadError",
    "Broken",
    "Obligation",
    "Probe",
    "Rejected",
    "Result",
    "Settings",
    "SettingsError",
    "Skip",
    "TaskFailed",
    "TransportError",
    "Verdict",
    "command_factory",
    "obligation",
    "pytest_contract",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        from .deps import is_kit_package, missing

        try:
            module = importlib.import_module(f".{_LAZY[name]}", __name__)
        except ModuleNotFoundError as exc:
            if is_kit_package(exc):
                raise missing(exc, f"contracts.{name}") from None
            raise
        return getattr(module, name)
    raise AttributeError(f"module 'contracts' has no attribute {name!r}")
