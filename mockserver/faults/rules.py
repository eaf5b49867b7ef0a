"""The fault rule model: what a rule matches and when a matching request makes it fire.

A rule's data is checked by ``validation.admin.fault_rule`` against ``schemas/fault-rule.json``
(one home for every input rule); what a fired rule does is ``decision.py``'s.

The decision is pure (a rule, its counters, one random draw -> fire or not) so that any store,
in memory or shared between processes, can apply it atomically under its own lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..parsing import parse_number, read_int
from ..spec import Spec
from ..validation.admin import fault_rule
from .kinds import TRANSPORT_FAULTS


@dataclass
class FaultRule:
    """A validated rule plus its counters (``matched`` requests, ``fired`` answers)."""

    id: str
    endpoint: str = "submit"
    res_code: int | None = None
    res_message: str | None = None
    transport: str | None = None
    outcome: str | None = None
    times: int | None = None
    probability: float = 1.0
    every_n: int = 1
    delay_ms: int | None = None  # None: none given (``delayMs: 0`` is one: no wait, whatever the latency)
    match: Mapping[str, Any] = field(default_factory=dict)
    shape: str | None = None  # reshape the answer (extra-fields, reordered, string-rescode)
    undocumented_code: int | None = None  # answer a resCode the reference does not document
    latency: str | None = None  # a latency distribution (latency.py) drawn instead of delay_ms
    matched: int = 0
    fired: int = 0

    @classmethod
    def from_json(cls, spec: Spec, data: Any, rule_id: str) -> FaultRule:
        """Validate against ``schemas/fault-rule.json``; a bad rule is a 700 naming the field."""
        data = fault_rule(spec, data)
        return cls(
            id=rule_id,
            endpoint=data.get("endpoint", "submit"),
            res_code=data.get("resCode"),
            res_message=data.get("resMessage"),
            transport=data.get("transport"),
            outcome=data.get("outcome"),
            times=data.get("times"),
            probability=float(data.get("probability", 1.0)),
            every_n=int(data.get("everyN", 1)),
            delay_ms=None if data.get("delayMs") is None else int(data["delayMs"]),
            match=data.get("match", {}),
            shape=data.get("shape"),
            undocumented_code=data.get("undocumentedCode"),
            latency=data.get("latency"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "endpoint": self.endpoint}
        for key, value in (
            ("resCode", self.res_code), ("resMessage", self.res_message),
            ("transport", self.transport), ("outcome", self.outcome),
            ("shape", self.shape), ("undocumentedCode", self.undocumented_code),
            ("latency", self.latency),
        ):
            if value is not None:
                out[key] = value
        out.update(
            times=self.times, probability=self.probability, everyN=self.every_n,
            delayMs=0 if self.delay_ms is None else self.delay_ms,  # the schema's default filled in
            match=dict(self.match),
            matched=self.matched, fired=self.fired,
            remaining=None if self.times is None else self.times - self.fired,
        )
        return out

    def same_behaviour(self, other: FaultRule) -> bool:
        """Whether ``other`` does what this rule does: every field but the ``id`` and the
        counters (``matched``, ``fired``) equal, and of the same type (a ``match`` of ``True``
        is not one of ``1``: ``_identical`` tells them apart, where matching's ``_same`` does
        not); ``delay_ms`` None (the latency applies) is not 0 (no wait)."""
        return all(_identical(getattr(self, name), getattr(other, name)) for name in _BEHAVIOUR)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, endpoint: str, candidates: Sequence[Mapping[str, Any]]) -> bool:
        """Same endpoint (or ``any``), and some parameter object carries every ``match`` value."""
        if self.endpoint not in (endpoint, "any") or (self.endpoint == "any" and endpoint == "task"):
            return False
        if not self.match:
            return True
        return any(
            all(_same(item.get(key), value) for key, value in self.match.items())
            for item in candidates
        )

    def consider(self, draw: float) -> bool:
        """Count one matching request; True when the rule fires for it (mutates counters)."""
        if self.exhausted:
            return False
        self.matched += 1
        if self.matched % self.every_n:
            return False
        if self.probability < 1.0 and draw >= self.probability:
            return False
        self.fired += 1
        return True


def same_rules(these: Sequence[FaultRule], those: Sequence[FaultRule]) -> bool:
    """Whether two sets of rules do the same (``FaultRule.same_behaviour``), each rule of one
    paired with its own of the other, in any order."""
    unpaired = list(those)
    for rule in these:
        twin = next((i for i, other in enumerate(unpaired) if rule.same_behaviour(other)), None)
        if twin is None:
            return False
        del unpaired[twin]
    return not unpaired


#: The fields that say what a rule does (``same_behaviour``): not its ``id``, not its counters.
_BEHAVIOUR = tuple(f.name for f in fields(FaultRule) if f.name not in ("id", "matched", "fired"))


def _identical(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (``True`` is not ``1``, ``800`` not ``800.0``)."""
    if type(a) is not type(b) and not (isinstance(a, Mapping) and isinstance(b, Mapping)):
        return False
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(_identical(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(_identical, a, b))
    return bool(a == b)


def _same(actual: Any, wanted: Any) -> bool:
    """Loose equality so that "800" matches 800 and "true" matches True."""
    if actual == wanted and type(actual) is type(wanted):
        return True
    return str(actual).strip().lower() == str(wanted).strip().lower() and actual is not None


def parse_fault_flag(text: str) -> dict[str, Any]:
    """``--fault 501:0.1`` (10 % of submits), ``--fault 501`` (always), ``--fault reset:0.5``."""
    code, sep, prob = text.partition(":")
    code = code.strip(" \t")
    rule: dict[str, Any] = {}
    number = read_int(code, max_digits=5)
    if number is not None:
        rule["resCode"] = number  # whether it is documented, the rule's schema says (naming the codes)
    elif code in TRANSPORT_FAULTS:
        rule["transport"] = code
    else:
        raise ValueError(
            f"--fault {text[:40]!r}: CODE must be a documented resCode (e.g. 501) or a transport fault"
            f" ({', '.join(TRANSPORT_FAULTS)})"
        )
    if sep:
        try:
            rule["probability"] = parse_number(prob.strip(" \t"), "probability", minimum=0, maximum=1)
        except ValueError as exc:
            raise ValueError(f"--fault {text[:40]!r}: {exc}") from None
    return rule
