"""The adapter protocol: how the kit drives a user's client, whatever HTTP library it uses.

A user writes a factory ``make_adapter(base_url, app_key, app_secret)`` returning an object
with ``submit(params) -> task ID`` (and optionally ``wait(task_id)`` and ``close()``). The
adapter translates the client's own results and exceptions into the three outcomes the kit
understands: a task ID, :class:`Rejected` (a business error with its code),
:class:`TransportError` (anything else that went wrong on the way), and, for ``wait``,
:class:`TaskFailed`. Any other exception escaping the adapter counts as a crash.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .frames import where


class Rejected(Exception):  # noqa: N818 - the protocol's name, as users write it
    """The service answered a business error: ``code`` is its resCode (an int), or a gateway
    code such as ``"IncompleteSignature"``; ``message`` its resMessage."""

    def __init__(self, code: int | str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else str(code))
        self.code = code
        self.message = message


class TransportError(Exception):
    """No usable answer: connection refused or reset, timeout, an HTML page, broken JSON."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class TaskFailed(Exception):  # noqa: N818 - the protocol's name
    """``wait`` saw the task end ``failed``; ``message`` is the task's ``taskMessage``."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


@runtime_checkable
class Adapter(Protocol):
    """What the kit calls. ``wait`` and ``close`` are optional (checked with ``hasattr``)."""

    def submit(self, params: dict[str, Any]) -> str:
        """Submit one ``requestParams`` item through the client; return the task ID."""
        ...


#: ``make_adapter(base_url, app_key, app_secret) -> Adapter``
AdapterFactory = Callable[[str, str, str], Any]


class AdapterLoadError(Exception):
    """The adapter cannot be used (bad path, import error, missing ``submit``): a usage error."""


def load_factory(path: str) -> AdapterFactory:
    """Import ``package.module:make_adapter``; raise AdapterLoadError with a clear reason.

    The current directory is put on ``sys.path`` first (as pytest and uvicorn do), so a user
    can name a module of the project they run the command from.
    """
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise AdapterLoadError(f"--adapter {path!r}: expected package.module:make_adapter")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == module_name or module_name.startswith(missing + "."):
            raise AdapterLoadError(
                f"--adapter {path!r}: no module named {missing!r} (run from your project's folder?)"
            ) from None
        from .deps import INSTALL_HINT, is_kit_package

        hint = INSTALL_HINT if is_kit_package(exc) else "install the package that provides it"
        raise AdapterLoadError(
            f"--adapter {path!r}: importing {module_name} failed: no module named {missing!r} ({hint})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise AdapterLoadError(
            f"--adapter {path!r}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from None
    factory: Any = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise AdapterLoadError(f"--adapter {path!r}: {module_name} has no attribute {attr!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise AdapterLoadError(f"--adapter {path!r}: {attr} is not callable")
    return factory


def build_adapter(factory: AdapterFactory, base_url: str, app_key: str, app_secret: str) -> Any:
    """Call the factory and check that what it made can submit."""
    try:
        adapter = factory(base_url, app_key, app_secret)
    except AdapterLoadError:
        raise  # already says what is wrong (a command adapter that did not open)
    except Exception as exc:  # noqa: BLE001 - report the user's failure, not our traceback
        raise AdapterLoadError(f"the adapter factory raised {type(exc).__name__}: {exc}") from None
    submit = getattr(adapter, "submit", None)
    if not callable(submit):
        raise AdapterLoadError(
            f"the adapter factory returned {type(adapter).__name__}, which has no submit(params) method"
        )
    return adapter


def has_wait(adapter: Any) -> bool:
    """Whether the adapter drives the client's polling (C10-C12 apply): it has ``wait``, and
    does not say otherwise with ``waits = False`` (a command adapter answers that at ``open``)."""
    return callable(getattr(adapter, "wait", None)) and getattr(adapter, "waits", True) is not False


def close(adapter: Any) -> None:
    """Call the optional ``close``; its failure does not change the verdict."""
    closer = getattr(adapter, "close", None)
    if callable(closer):
        with contextlib.suppress(Exception):  # best effort
            closer()


def describe_exception(exc: BaseException) -> str:
    """``KeyError('taskId')`` style, with where it came from: the innermost frame of the user's
    code, not the library it called (``contracts.frames.where``).

    An exception marked ``described = True`` already says what happened in words (a command
    adapter's crash): its text is used as it is."""
    if getattr(exc, "described", False):
        return str(exc)
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    location = where(exc.__traceback__)
    return f"{text} (at {location})" if location else text
