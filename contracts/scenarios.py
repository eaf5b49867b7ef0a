"""What the fake is told to do for one example or probe, as admin-API fault rules.

A scenario is data (kind, code, how many times, answer shape); ``rules()`` turns it into the
fault rules of ``schemas/fault-rule.json`` that the runner posts to ``/__admin/faults``. The
codes and whether each may be retried come from the error catalog (``schemas/errors.json``).
Which kinds a run draws is the union of those its obligations name (``Obligation.kinds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

#: Answer shapes a real gateway may produce (fault-rule field ``shape``).
SHAPES = ("extra-fields", "reordered", "string-rescode")
#: A code the reference does not document (fault-rule field ``undocumentedCode``).
UNDOCUMENTED_CODE = 9999
#: The kinds of scenario (see ``Scenario``); an obligation names those it needs (checks.registry).
KINDS = ("success", "error", "transient", "shape", "undocumented")


@dataclass(frozen=True)
class Scenario:
    """One example's server behaviour.

    kinds: ``success``; ``error`` (``code`` on every submit); ``transient`` (``code`` on the
    first ``times`` submits, then success); ``shape`` (success in ``shape``); ``undocumented``
    (an undocumented resCode).
    """

    kind: str
    code: int | None = None
    times: int | None = None
    shape: str | None = None

    def rules(self) -> list[dict[str, Any]]:
        if self.kind == "error":
            return [{"resCode": self.code}]
        if self.kind == "transient":
            return [{"resCode": self.code, "times": self.times}]
        if self.kind == "shape":
            rule: dict[str, Any] = {"shape": self.shape}
            if self.code is not None:
                rule["resCode"] = self.code
            return [rule]
        if self.kind == "undocumented":
            return [{"undocumentedCode": UNDOCUMENTED_CODE}]
        return []

    def describe(self) -> str:
        if self.kind == "error":
            return f"the fake answers resCode {self.code} to every submit"
        if self.kind == "transient":
            return f"the fake answers resCode {self.code} to the first {self.times} submit(s), then succeeds"
        if self.kind == "shape":
            what = f"resCode {self.code}" if self.code is not None else "success"
            return f"the fake answers {what} in the {self.shape!r} shape"
        if self.kind == "undocumented":
            return f"the fake answers the undocumented resCode {UNDOCUMENTED_CODE} ('unknown error')"
        return "the fake answers success"

    def __repr__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class Catalog:
    """The documented codes and which of them may be retried."""

    codes: tuple[int, ...]
    retryable: frozenset[int]

    @classmethod
    def from_spec(cls, errors: dict[int, Any]) -> Catalog:
        return cls(tuple(sorted(errors)), frozenset(c for c, e in errors.items() if e.retryable))

    @property
    def final(self) -> tuple[int, ...]:
        return tuple(c for c in self.codes if c not in self.retryable)

    def restricted(self, codes: Sequence[int]) -> Catalog:
        """Only these codes (the ``codes`` setting): what the scenarios and probes draw from."""
        return Catalog(tuple(c for c in self.codes if c in codes), frozenset(c for c in self.retryable if c in codes))


def catalogue(
    catalog: Catalog, kinds: Sequence[str], exclude: frozenset[tuple[str, bool]] = frozenset()
) -> list[Scenario]:
    """Every scenario of these kinds, simplest first (Hypothesis shrinks towards the front).

    ``exclude`` holds (kind, retryable) pairs not to draw again: the runner adds one when a
    client hung on such a scenario, so that it costs one bound, not one per example.
    """
    out: list[Scenario] = []
    if "success" in kinds:
        out.append(Scenario("success"))
    if "error" in kinds:
        out += [Scenario("error", code) for code in catalog.codes]
    if "transient" in kinds:
        out += [Scenario("transient", code, times) for code in sorted(catalog.retryable) for times in (1, 2)]
    if "shape" in kinds:
        out += [Scenario("shape", shape=shape) for shape in SHAPES]
        out += [Scenario("shape", code, shape=shape) for code in catalog.final[:1] for shape in SHAPES]
    if "undocumented" in kinds:
        out.append(Scenario("undocumented"))
    return [s for s in out if (s.kind, s.code in catalog.retryable) not in exclude]


def scenarios(
    catalog: Catalog,
    kinds: Sequence[str],
    exclude: frozenset[tuple[str, bool]] = frozenset(),
    *,
    success_share: float = 0.4,
) -> st.SearchStrategy[Scenario]:
    """Scenarios of these kinds; success (the common case, where input bugs show) about
    ``success_share`` of the draws, the others evenly. Shrinks towards success."""
    options = catalogue(catalog, kinds, exclude)
    others = [s for s in options if s.kind != "success"]
    if len(others) == len(options) or not others:
        return st.sampled_from(options)
    copies = max(1, round(success_share * len(others) / (1 - success_share)))
    return st.sampled_from([Scenario("success")] * copies + others)
