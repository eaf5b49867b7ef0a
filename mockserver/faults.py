"""Fault rules: what a rule matches, when a matching request makes it fire, and ``Prefer``.

The decision is pure (a rule, its counters, one random draw -> fire or not) so that any store,
in memory or shared between processes, can apply it atomically under its own lock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .coercion import integer_plan, whole, whole_numbers
from .errors import InvalidInput
from .parsing import parse_number, read_int
from .problems import schema_problems
from .spec import Spec

TRANSPORT_FAULTS = ("reset", "empty", "malformed", "truncated", "dribble", "http502", "http503", "http504", "timeout")
#: Transport faults that carry the real answer (cut short, or sent slowly): the request is
#: handled as usual, so a task a dribbled submit names really exists.
ANSWER_FAULTS = frozenset({"truncated", "dribble"})
#: One ``name=value`` of a Prefer header; around it only HTTP's whitespace (space, tab).
_PREFER_ITEM = re.compile(r"[ \t]*([A-Za-z_-]+)[ \t]*=[ \t]*\"?([^\",;]*)\"?[ \t]*")


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
    delay_ms: int = 0
    match: Mapping[str, Any] = field(default_factory=dict)
    shape: str | None = None  # reshape the answer (extra-fields, reordered, string-rescode)
    undocumented_code: int | None = None  # answer a resCode the reference does not document
    latency: str | None = None  # a latency distribution (latency.py) drawn instead of delay_ms
    matched: int = 0
    fired: int = 0

    @classmethod
    def from_json(cls, spec: Spec, data: Any, rule_id: str) -> FaultRule:
        """Validate against ``schemas/fault-rule.json``; a bad rule is a 700 naming the field."""
        if not isinstance(data, Mapping):
            raise InvalidInput(["rule: must be a JSON object"])
        data = whole_numbers(dict(data), integer_plan(spec, "fault-rule.json"))  # {"times": 2.0} is 2
        problems = schema_problems(spec.validator("fault-rule.json"), data, "rule")
        if problems:
            raise InvalidInput(problems)
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
            delay_ms=int(data.get("delayMs", 0)),
            # A match value 800.0 is the 800 a coerced item carries (compared as "800" otherwise).
            match={key: whole(value) for key, value in data.get("match", {}).items()},
            shape=data.get("shape"),
            undocumented_code=data.get("undocumentedCode"),
            latency=_checked_latency(data.get("latency")),
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
            delayMs=self.delay_ms, match=dict(self.match),
            matched=self.matched, fired=self.fired,
            remaining=None if self.times is None else self.times - self.fired,
        )
        return out

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


def _checked_latency(text: str | None) -> str | None:
    """A rule's ``latency`` spelling, checked now so a bad one is a 700 when the rule is added."""
    if text is None:
        return None
    from .latency import Latency

    try:
        Latency.parse(text)
    except ValueError as exc:
        raise InvalidInput([f"rule.latency: {exc}"]) from None
    return text


def _same(actual: Any, wanted: Any) -> bool:
    """Loose equality so that "800" matches 800 and "true" matches True."""
    if actual == wanted and type(actual) is type(wanted):
        return True
    return str(actual).strip().lower() == str(wanted).strip().lower() and actual is not None


def parse_prefer(header: str | None) -> dict[str, str]:
    """``Prefer: code=501, delay=200`` -> ``{"code": "501", "delay": "200"}`` (Prism's convention)."""
    if not header:
        return {}
    out: dict[str, str] = {}
    for part in re.split(r"[,;]", header):
        match = _PREFER_ITEM.fullmatch(part)
        if match:
            out[match.group(1).lower()] = match.group(2).strip(" \t")
    return out


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
