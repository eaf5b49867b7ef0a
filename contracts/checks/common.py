"""What several obligations' checks share: reading outcomes, pacing rules, showing values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..journal import TEXT_LIMIT, shortened_length
from ..observation import Observation, Pair, code_of, measures, reached_api
from ..settings import Settings
from .registry import Broken, Skip

#: Slack for the "growing" comparisons: the fake measures waits with the client's send time in them.
TIMING_TOLERANCE_S = 0.02


def outcome_is_code(obs: Observation, code: int) -> bool:
    return obs.outcome.kind == "rejected" and code_of(obs.outcome.code) == code


def refused(obs: Observation) -> None:
    """Skip when the gateway refused a request: the answer-based checks cannot judge then."""
    stopped = [e for e in obs.entries if not reached_api(e)]
    if stopped:
        raise Skip(f"the gateway refused {len(stopped)} request(s) (see C1/C3)")


def same_text(sent: Any, given: Any) -> bool:
    """The journal shortens long strings to "<N chars>" (the abbreviation rule of
    schemas/journal-entry.json, read in journal.py): compare lengths then."""
    if isinstance(sent, str) and isinstance(given, str) and len(given) > TEXT_LIMIT:
        length = shortened_length(sent)
        if length is not None:
            return length == len(given)
    return sent == given


def paced(title: str, chosen: list[Pair], rule: Callable[[list[float]], str | None]) -> None:
    """Broken when ``rule`` (a reason, or None) fails on every measure of the waits."""
    if not chosen:
        return
    found = [(name, waits, rule(waits)) for name, waits in measures(chosen)]
    if all(reason for _, _, reason in found):
        shown = "; ".join(f"{name}: {waits} s" for name, waits, _ in found)
        raise Broken(f"{title}: {found[0][2]}", f"waits between attempts {shown}")


_WAITS_FOR_A_GROWTH = 2  # the first wait and a later one


def retry_pace(title: str, runs: list[list[Pair]], settings: Settings) -> None:
    """Every wait at least ``retry_min_gap_s``; over 3+ attempts the wait grows."""

    def short(waits: list[float]) -> str | None:
        return "back-to-back retries" if any(g < settings.retry_min_gap_s for g in waits) else None

    def flat(waits: list[float]) -> str | None:
        if len(waits) >= _WAITS_FOR_A_GROWTH and waits[-1] + TIMING_TOLERANCE_S < settings.retry_growth * waits[0]:
            return "the wait does not grow"
        return None

    for run in runs:
        paced(title, run, short)
    for run in runs:
        paced(title, run, flat)


def show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
