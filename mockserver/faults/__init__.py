"""Fault injection, one home: the rule model, the decision, one table of kinds, the back-ends.

- ``rules.py``     ``FaultRule``: what a rule matches and when it fires (its data is checked by
                   ``validation.admin.fault_rule`` against ``schemas/fault-rule.json``);
                   ``parse_fault_flag`` for ``bgmock serve --fault``.
- ``decision.py``  ``Injector``: the rules of one fake and the decision per request (the
                   ``Prefer`` header first, read by ``validation.prefer``, then the rules);
                   ``raise_injected``, ``apply_to_reply`` (what is left for the answer).
- ``kinds.py``     ``KINDS``: every transport fault kind once (name, carries the answer or not,
                   the status the client sees, how it is acted out), and the bodies they send.
- ``shapes.py``    the off-schema answer shapes (``shape``).
- back-ends, one function per act of the table each: ``on_socket.py`` (every WSGI host),
  ``on_responses.py`` (``requests`` in-process), ``on_httpx.py`` (httpx in-process); the last
  two import their optional client and are imported by their in-process mode only.

Nothing here knows of serving or routes: the behaviour (``api``) and the dispatcher call in.
"""

from __future__ import annotations

from .decision import (
    INJECTED,
    Injected,
    Injector,
    TransportFault,
    apply_to_reply,
    injected_error,
    own_delay,
    raise_injected,
)
from .kinds import ANSWER_FAULTS, KINDS, TRANSPORT_FAULTS, FaultKind, wire_status
from .rules import FaultRule, parse_fault_flag

__all__ = [
    "ANSWER_FAULTS", "INJECTED", "KINDS", "TRANSPORT_FAULTS", "FaultKind", "FaultRule", "Injected", "Injector",
    "TransportFault", "apply_to_reply", "injected_error", "own_delay", "parse_fault_flag", "raise_injected",
    "wire_status",
]
