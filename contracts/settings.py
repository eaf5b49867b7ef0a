"""The kit's settings: budgets and the bounds each obligation is judged by.

Defaults suit a client about to meet the real service; tests shrink the bounds (to about a
second) so a broken client costs little. Every field is a flag of ``bgmock contract`` and a
keyword of ``contracts.run``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

#: Obligation IDs in report order.
ALL_IDS = tuple(f"C{i}" for i in range(1, 13))


class SettingsError(ValueError):
    """A setting the kit cannot use (the message names it); a usage error, exit code 2."""


@dataclass(frozen=True)
class Settings:
    """How much to try and how strictly to judge."""

    examples: int = 100  # Hypothesis examples for C1-C8 (explicit ones come on top)
    seed: int | None = None  # fixes the search (same seed, same examples)
    derandomize: bool = field(default_factory=lambda: bool(os.environ.get("CI")))
    only: tuple[str, ...] = ALL_IDS  # which obligations to check
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

    def __post_init__(self) -> None:
        unknown = [o for o in self.only if o not in ALL_IDS]
        if unknown or not self.only:
            raise SettingsError(
                f"only: unknown obligation(s) {', '.join(unknown) or '(none given)'}; use IDs C1 to C12"
            )
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
        """Settings from keywords; an unknown keyword is a SettingsError naming it."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(names))})")
        if "only" in values and isinstance(values["only"], str):
            values["only"] = tuple(part.strip().upper() for part in values["only"].split(",") if part.strip())
        elif "only" in values:
            values["only"] = tuple(str(v).upper() for v in values["only"])
        return cls(**{k: v for k, v in values.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["only"] = list(self.only)
        return data
