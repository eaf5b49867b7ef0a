"""bgmock's fake of the Aidge Image Background Generation API.

``create_app(config)`` gives a Flask app; ``Backend`` is its HTTP-free state; ``Dispatcher``
is the one path both transports use; ``mocked()`` and ``running()`` give a test ``Handle``.

The names load on first use: the pytest plugin lives in this package, so every pytest run in
an environment with bgmock imports it, and must not pay for Flask, jsonschema and Pillow
unless a test uses the fake. ``mocked`` also needs ``responses`` and ``requests``, which a
plain install does not bring (``pip install responses requests``, or from the bgmock checkout
``pip install -e ".[test]"``); ``mocked_httpx`` and ``httpx_transport`` need ``httpx``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import Backend
    from .config import Config, ConfigError
    from .dispatch import Dispatcher
    from .http import Incoming, Reply
    from .serving.app import create_app
    from .testing.handle import Handle, running
    from .testing.inprocess import mocked
    from .testing.inprocess_httpx import httpx_transport, mocked_httpx

_EXPORTS = {
    "create_app": ".serving.app", "Backend": ".backend", "Config": ".config", "ConfigError": ".config",
    "Dispatcher": ".dispatch", "Handle": ".testing.handle", "running": ".testing.handle", "Incoming": ".http",
    "Reply": ".http", "mocked": ".testing.inprocess", "mocked_httpx": ".testing.inprocess_httpx",
    "httpx_transport": ".testing.inprocess_httpx",
}

__all__ = [
    "Backend", "Config", "ConfigError", "Dispatcher", "Handle", "Incoming", "Reply", "create_app", "httpx_transport",
    "mocked", "mocked_httpx", "running",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
