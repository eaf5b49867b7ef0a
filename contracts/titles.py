"""The words of a verdict's title: what the kit saw the client do, in stable words.

A title names a kind of failure (the runner tells failures apart by it), so it carries no task
ID, message or timing; those go in the reason after it. Each phrase says only what was seen:
a call still running when its bound ran out is "no result within the kit's bound", not "no
timeout", because the kit lifts the fault then and cannot know whether the client would ever
have stopped (C9's timeout probe, where the fake alone ends the wait, is told apart below).
"""

from __future__ import annotations

from typing import Any

from .observation import Observation
from .settings import BOUND_GRACE_S


def beyond(bound: float) -> str:
    """Title words for a call still running when its bound (inclusive, plus the grace) ran out.

    Only what was seen: the kit lifts the fault then, so how the call ends afterwards says
    nothing about what it would have done (C9's timeout probe is the exception, see there)."""
    return f"no result within the kit's bound of {bound:g} s"


def over(outcome: Any, bound: float) -> bool:
    """The call outlived ``bound`` (the bound is inclusive: ``BOUND_GRACE_S`` of slack)."""
    return bool(outcome.kind == "hung" or outcome.elapsed > bound + BOUND_GRACE_S)


def misreport(obs: Observation, code: int | None = None, expected: str | None = None) -> str:
    """What the client did instead of reporting ``code`` (without a code: a TransportError;
    or ``expected``, e.g. "returning the task ID").

    Stable words (no task ID, no message): the title names a kind of failure, and the report
    lists each kind once with its minimal example."""
    outcome = obs.outcome
    if expected is None:
        expected = f"raising Rejected({code})" if code is not None else "raising TransportError"
    if outcome.kind == "rejected" and code is not None:
        return f"reported another code instead of {code}"
    if outcome.kind == "crashed":
        return f"crashed on resCode {code}" if code is not None else "crashed"
    return f"{did(outcome)} instead of {expected}"


def did(outcome: Any) -> str:
    """What a call did, in stable words (no IDs, messages or timings)."""
    if outcome.kind == "returned":
        if outcome.value is None:
            return "returned None"
        if isinstance(outcome.value, str):
            return "returned a task ID"
        return f"returned a {type(outcome.value).__name__}"
    return {
        "rejected": "raised Rejected",
        "transport": "raised TransportError",
        "task_failed": "raised TaskFailed",
        "crashed": "crashed",
    }.get(outcome.kind, "had not returned")


def late_transport(obs: Observation, bound: float, hang_s: float | None) -> tuple[str, str]:
    """Title and reason for a transport probe that outlived its bound.

    On the ``timeout`` probe the fake holds the reply ``hang_s`` (more than the bound), then
    drops the connection, and the kit lifts nothing meanwhile; so a client that ended before
    the drop gave up by its own timer, only later than the bound, and one that ended at the
    drop (or not at all) has no timeout. Other probes end at once; the kit lifts the fault
    when they outlive the bound, so only "no result within" was seen."""
    must = f"it must end within {bound:g} s"
    ended = obs.outcome.later if obs.outcome.kind == "hung" else obs.outcome
    if obs.probe != "timeout" or ended is None:
        if obs.probe == "timeout":
            return "no timeout", f"{beyond(bound)} and none after it; {must}"
        return beyond(bound), must
    if hang_s is not None and ended.elapsed >= hang_s:
        return "no timeout", f"the client waited until the fake dropped the connection after {hang_s:g} s; {must}"
    return (
        f"timeout longer than the kit's bound of {bound:g} s",
        f"the client gave up by itself after {ended.elapsed:.2f} s; {must}",
    )
