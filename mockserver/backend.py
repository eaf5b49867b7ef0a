"""Kept for imports that name it (``from mockserver.backend import Backend``): the behaviour
lives in ``mockserver/api/``, the fault decision in ``mockserver/faults/``."""

from __future__ import annotations

from .api.backend import Backend
from .faults import INJECTED, Injected, TransportFault, raise_injected

__all__ = ["INJECTED", "Backend", "Injected", "TransportFault", "raise_injected"]
