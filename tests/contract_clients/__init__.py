"""Deliberately broken clients: each is the reference client with one realistic bug.

Every module has ``make_adapter(base_url, app_key, app_secret)``; its docstring names the bug
and the obligation that catches it. ``tests/kit/test_contract_kit.py`` runs the kit on each.
"""

from __future__ import annotations

from typing import Any

from contracts.reference_client import BackgroundClient, ReferenceAdapter

#: The reference client's test tuning (see contracts.reference_client.make_fast_adapter): its
#: read timeout and polling deadline are what a run's C9 ``timeout`` and C10 ``stuck`` probes
#: cost, and every other answer and wait must end within them on a starved machine too.
FAST: dict[str, Any] = {
    "timeout": (1.5, 1.5),
    "max_attempts": 3,
    "backoff_base": 0.1,
    "poll_interval": 0.1,
    "poll_timeout": 2.0,
}
#: The kit's bounds that tuning fits, for the tests' runs: each 1.5 s or more beyond the limit of
#: the client's that it judges (plus the kit's 0.5 s of grace), so a timer that fires late on a
#: loaded machine is still in time; a correct client never reaches one, so they cost nothing.
BOUNDS: dict[str, float] = {"transport_bound_s": 2.5, "poll_bound_s": 3.5, "call_bound_s": 4.0}
#: For a client with no timeout, caught on C9's timeout probe by the kit's bound itself: that
#: bound is what must trip, so it stays short (a wider one is only a longer wait; the fake's hang
#: lasts a second past it, and the verdict is "no timeout" whichever ends first). The run's other
#: transport probes are answered at once, and such a test looks only at which obligations broke.
NO_TIMEOUT_BOUNDS: dict[str, float] = {"transport_bound_s": 1.0}
#: ``BOUNDS`` as ``bgmock contract`` flags.
BOUND_FLAGS = [
    "--transport-bound", str(BOUNDS["transport_bound_s"]),
    "--poll-bound", str(BOUNDS["poll_bound_s"]),
    "--call-bound", str(BOUNDS["call_bound_s"]),
]


def factory(
    client_class: type[BackgroundClient], adapter_class: type[ReferenceAdapter] = ReferenceAdapter, **overrides: Any
) -> Any:
    """``make_adapter`` for a client class, with the fast tuning."""

    def make_adapter(base_url: str, app_key: str, app_secret: str) -> ReferenceAdapter:
        return adapter_class(client_class(base_url, app_key, app_secret, **{**FAST, **overrides}))

    return make_adapter
