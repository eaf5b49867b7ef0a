"""Deliberately broken clients: each is the reference client with one realistic bug.

Every module has ``make_adapter(base_url, app_key, app_secret)``; its docstring names the bug
and the obligation that catches it. ``tests/kit/test_contract_kit.py`` runs the kit on each.
"""

from __future__ import annotations

from typing import Any

from contracts.reference_client import BackgroundClient, ReferenceAdapter

#: The reference client's test tuning (see contracts.reference_client.make_fast_adapter).
FAST: dict[str, Any] = {
    "timeout": (0.5, 0.5),
    "max_attempts": 3,
    "backoff_base": 0.1,
    "poll_interval": 0.1,
    "poll_timeout": 1.2,
}


def factory(
    client_class: type[BackgroundClient], adapter_class: type[ReferenceAdapter] = ReferenceAdapter, **overrides: Any
) -> Any:
    """``make_adapter`` for a client class, with the fast tuning."""

    def make_adapter(base_url: str, app_key: str, app_secret: str) -> ReferenceAdapter:
        return adapter_class(client_class(base_url, app_key, app_secret, **{**FAST, **overrides}))

    return make_adapter
