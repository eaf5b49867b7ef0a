"""The kit's settings: budgets and the bounds each obligation is judged by.

Defaults suit a client about to meet the real service; tests shrink the bounds (to about a
second) so a broken client costs little. Every field is a keyword of ``contracts.run`` and
``pytest_contract``, and all but ``polls_to_finish`` and ``slow_probes`` are flags of ``bgmock
contract``; ``profile`` starts from a preset (``PROFILES``) the others override.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

#: A bound is inclusive: a call ending this long after it still ends "within" it, so a client
#: whose timeout equals the bound (its own timer, then the thread switch back to the kit) is
#: not blamed for the machine's scheduling.
BOUND_GRACE_S = 0.5

#: Named presets of settings (``--profile``, ``profile=``); explicit settings override them.
#: ``smoke`` is for every commit: fewer examples, one retryable and one final code instead of
#: all seven, and none of the probes whose cost is the client's own full timeout, deadline
#: or backoff (C9 ``timeout``, C10 ``stuck``, C12 on an endless retryable code). A client that
#: passes the full run passes it; the full run (nightly) still checks what it leaves out.
PROFILES: dict[str, dict[str, Any]] = {
    "full": {},
    "smoke": {
        "examples": 10,
        "codes": (501, 700),
        "slow_probes": False,
        "polls_to_finish": 2,
        "shrink_budget_s": 5.0,
    },
}


class SettingsError(ValueError):
    """A setting the kit cannot use (the message names it); a usage error, exit code 2."""


@dataclass(frozen=True)
class Settings:
    """How much to try and how strictly to judge."""

    examples: int = 100  # Hypothesis examples for C1-C8 (explicit ones come on top)
    seed: int | None = None  # fixes the search (same seed, same examples)
    derandomize: bool = field(default_factory=lambda: bool(os.environ.get("CI")))
    only: tuple[str, ...] = ()  # which obligations to check (empty: every registered one; the run names them)
    retry_min_gap_s: float = 0.05  # C7/C12: a retry sooner than this after the previous attempt is back-to-back
    retry_growth: float = 1.25  # C7/C12: over 3+ attempts the last wait must be this many times the first
    max_attempts: int = 6  # C7/C12: attempts allowed for one call
    call_bound_s: float = 20.0  # C1-C8: one submit call may take this long in all (retries included)
    transport_bound_s: float = 10.0  # C9: each transport probe must end within this; also the fake's hang
    poll_bound_s: float = 15.0  # C10: a wait on a task that never ends must give up within this
    poll_min_interval_s: float = 0.2  # C11: polls of one task at least this far apart
    poll_slowdown: float = 1.2  # C11: after a 501 the next poll waits this many times the usual gap
    shrink_budget_s: float = 20.0  # per search round: time from its first new failure to find more and shrink them
    polls_to_finish: int = 3  # the kit's fake: a task finishes on its Nth poll
    codes: tuple[int, ...] = ()  # documented codes the scenarios and probes use (empty: every one)
    slow_probes: bool = True  # C9 timeout, C10 stuck, C12 endless retryable: each costs the client's own limit
    profile: str = "full"  # the preset these settings started from (PROFILES)

    def __post_init__(self) -> None:
        if any(not isinstance(o, str) for o in self.only):
            raise SettingsError(f"only: obligation IDs such as C1,C4 (got {list(self.only)})")
        self._check_numbers()
        if self.profile not in PROFILES:
            raise SettingsError(f"profile: unknown profile {self.profile!r}; use {' or '.join(PROFILES)}")
        if any(isinstance(c, bool) or not isinstance(c, int) for c in self.codes):
            raise SettingsError(f"codes: must be resCode numbers such as 501,700 (got {list(self.codes)})")

    def _check_numbers(self) -> None:
        """Counts, seconds and factors: numbers (finite: NaN passes every comparison below), within their ranges."""
        for spec in dataclasses.fields(self):
            value, kind = getattr(self, spec.name), spec.type
            if kind in ("int", "float") and (
                isinstance(value, bool) or not isinstance(value, (int, float) if kind == "float" else int)
                or not math.isfinite(value)
            ):
                what = "a whole number" if kind == "int" else "a finite number"
                raise SettingsError(f"{spec.name}: must be {what} (got {value!r})")
        if self.examples < 0:
            raise SettingsError("examples: must be 0 or more")
        for name in (
            "retry_min_gap_s",
            "call_bound_s",
            "transport_bound_s",
            "poll_bound_s",
            "poll_min_interval_s",
            "shrink_budget_s",
        ):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name}: must be 0 or more")
        for name in ("call_bound_s", "transport_bound_s", "poll_bound_s"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name}: must be more than 0")
        if self.max_attempts < 1 or self.polls_to_finish < 1:
            raise SettingsError("max_attempts and polls_to_finish: must be 1 or more")
        if self.retry_growth < 1 or self.poll_slowdown < 1:
            raise SettingsError("retry_growth and poll_slowdown: must be 1 or more")

    @classmethod
    def make(cls, **values: Any) -> Settings:
        """Settings from keywords, on top of ``profile``'s preset; an unknown keyword is a
        SettingsError naming it."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(names))})")
        profile = values.get("profile") or "full"
        if profile not in PROFILES:
            raise SettingsError(f"profile: unknown profile {profile!r}; use {' or '.join(PROFILES)}")
        values = {**PROFILES[profile], **{k: v for k, v in values.items() if v is not None}, "profile": profile}
        if values.get("seed") is not None:  # a seed is a fixed search of its own: derandomize would ignore it
            if values.get("derandomize"):
                raise SettingsError("seed: has no effect with derandomize (which fixes the search its own way); "
                                    "give one or the other")
            values["derandomize"] = False  # also where CI would derandomize by default
        if isinstance(values.get("codes"), str):
            values["codes"] = _codes(values["codes"])
        elif values.get("codes") is not None:
            values["codes"] = tuple(values["codes"])
        if "only" in values and isinstance(values["only"], str):
            values["only"] = tuple(part.strip().upper() for part in values["only"].split(",") if part.strip())
        elif "only" in values:
            values["only"] = tuple(str(v).upper() for v in values["only"])
        if "only" in values and not values["only"]:
            raise SettingsError("only: no obligation given; name some, e.g. C1,C4")
        return cls(**{k: v for k, v in values.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["only"] = list(self.only)
        data["codes"] = list(self.codes)
        return data


def _codes(text: str) -> tuple[int, ...]:
    """Parse "501,700" into (501, 700); anything else is a SettingsError naming the part."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part.isdigit() or not part.isascii():
            raise SettingsError(f"codes: {part!r} is not a resCode number (e.g. --codes 501,700)")
        out.append(int(part))
    return tuple(out)
