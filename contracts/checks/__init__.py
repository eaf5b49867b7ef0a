"""The obligations C1-C12, one module per family, all registered in ``registry.REGISTRY``.

Importing this package registers them, in report order: ``wire`` (C1-C3, what the client
sends), ``answers`` (C4-C8, how it reads the answers), ``transport`` (C9) and ``polling``
(C10-C12). A new obligation is one ``@obligation`` function in any module that is imported
(docs/contracts.md, "Adding an obligation").
"""

from . import answers, polling, transport, wire  # noqa: F401 - imported for their registrations
from .registry import PHASES, REGISTRY, Broken, Check, Context, Obligation, Probe, Registry, Skip, judge, obligation

__all__ = [
    "PHASES",
    "REGISTRY",
    "Broken",
    "Check",
    "Context",
    "Obligation",
    "Probe",
    "Registry",
    "Skip",
    "judge",
    "obligation",
]
