"""C4-C8: how the client reads the answers to its submits: success, errors, retries, odd shapes.

Each needs the fake to answer in a certain way: the scenario kinds it names are what the
runner draws for it (contracts/scenarios.py).
"""

from __future__ import annotations

from ..observation import Observation, code_of, gaps, is_submit, pairs, valid
from ..scenarios import UNDOCUMENTED_CODE, Scenario
from ..titles import beyond, misreport
from .common import outcome_is_code, refused, retry_pace
from .registry import Broken, Context, Skip, obligation


@obligation("C4", "success", "the task ID returned is exactly data.result.taskId", kinds=("success",))
def success(obs: Observation, ctx: Context) -> None:
    if obs.scenario is None or obs.scenario.kind != "success":
        raise Skip("not a success scenario")
    submits = [e for e in obs.entries if is_submit(e)]
    if any(not valid(e) for e in submits):
        raise Skip("a request was refused (see C1/C3)")
    created = [e["taskId"] for e in submits if e.get("taskId")]
    if not created:
        raise Broken("no submit", f"the client sent no submit and {obs.outcome.describe()}")
    if obs.outcome.kind == "hung":
        raise Broken(
            beyond(ctx.settings.call_bound_s),
            f"the fake answered success with taskId {created[-1]!r}; the client {obs.outcome.describe()}",
        )
    if obs.outcome.kind != "returned":
        raise Broken(
            misreport(obs, expected="returning the task ID"),
            f"the fake answered success with taskId {created[-1]!r}; the client {obs.outcome.describe()}",
        )
    if len(created) > 1:
        raise Broken("submitted more than once", f"{len(created)} tasks created for one call ({', '.join(created)})")
    if obs.outcome.value != created[-1]:
        raise Broken("wrong task ID", f"returned {obs.outcome.value!r}; data.result.taskId was {created[-1]!r}")


@obligation(
    "C5", "errors", "for each documented code the client reports that code (no task ID, no crash)", kinds=("error",)
)
def errors(obs: Observation, ctx: Context) -> None:
    if obs.scenario is None or obs.scenario.kind != "error":
        raise Skip("not an error scenario")
    refused(obs)
    code = obs.scenario.code
    assert code is not None
    if obs.outcome.kind == "hung":
        if code in ctx.catalog.retryable:
            raise Skip("still retrying (see C7)")
        raise Broken(
            beyond(ctx.settings.call_bound_s), f"resCode {code} was answered; the client {obs.outcome.describe()}"
        )
    if not outcome_is_code(obs, code):
        raise Broken(misreport(obs, code), f"the fake answered resCode {code}; the client {obs.outcome.describe()}")


@obligation("C6", "no retry", "the non-retryable codes are sent exactly once", kinds=("error",))
def no_retry(obs: Observation, ctx: Context) -> None:
    if obs.scenario is None or obs.scenario.kind != "error" or obs.scenario.code in ctx.catalog.retryable:
        raise Skip("not a non-retryable error scenario")
    refused(obs)
    sent = [e for e in obs.entries if is_submit(e)]
    if len(sent) > 1:
        raise Broken(
            f"retried {obs.scenario.code}",
            f"resCode {obs.scenario.code} may not be retried; the client sent {len(sent)} submits "
            f"(waits {gaps(sent)} s)",
        )


@obligation(
    "C7",
    "retries",
    "retryable codes: bounded, spaced, growing retries; task ID when the fault is transient",
    kinds=("error", "transient"),
)
def retries(obs: Observation, ctx: Context) -> None:
    scenario = obs.scenario
    if scenario is None or scenario.kind not in ("error", "transient") or scenario.code not in ctx.catalog.retryable:
        raise Skip("not a retryable error scenario")
    refused(obs)
    settings = ctx.settings
    sent = [e for e in obs.entries if is_submit(e)]
    if len(sent) > settings.max_attempts:
        raise Broken(
            "too many attempts", f"{len(sent)} submits for one call; at most {settings.max_attempts} are allowed"
        )
    if obs.outcome.kind == "hung":
        raise Broken(
            f"still retrying: {beyond(settings.call_bound_s)}",
            f"{len(sent)} submits and no result after {obs.outcome.elapsed:.1f} s",
        )
    retry_pace(f"resCode {scenario.code}", [pairs(sent)], settings)
    created = [e["taskId"] for e in sent if e.get("taskId")]
    if created:
        if obs.outcome.kind != "returned" or obs.outcome.value != created[-1]:
            did = (
                "returned another task ID"
                if obs.outcome.kind == "returned"
                else misreport(obs, expected="returning its task ID")
            )
            raise Broken(
                f"after a successful retry: {did}",
                f"attempt {len(sent)} succeeded with taskId {created[-1]!r}; the client {obs.outcome.describe()}",
            )
    elif not outcome_is_code(obs, scenario.code):  # type: ignore[arg-type]
        codes = [e.get("resCode") for e in sent]
        answered = (
            f"resCode {scenario.code} on every attempt" if set(codes) == {scenario.code}
            else f"resCodes {', '.join(str(c) for c in codes)} on its {len(codes)} attempt(s)"
        )  # what the journal shows, never more (a later attempt may have been refused for its own fault)
        raise Broken(misreport(obs, scenario.code), f"{answered}; the client {obs.outcome.describe()}")


@obligation(
    "C8",
    "tolerance",
    "extra fields, reordered keys, resCode as a string and unknown codes do not break it",
    kinds=("shape", "undocumented"),
)
def tolerance(obs: Observation, ctx: Context) -> None:
    scenario = obs.scenario
    if scenario is None or scenario.kind not in ("shape", "undocumented"):
        raise Skip("not a tolerance scenario")
    refused(obs)
    if scenario.kind == "undocumented":
        _undocumented_code_reported(obs, ctx)
    elif scenario.code is not None:
        if not outcome_is_code(obs, scenario.code):
            raise Broken(
                f"{scenario.shape} error answer: {misreport(obs, scenario.code)}",
                f"resCode {scenario.code} in the {scenario.shape!r} shape; the client {obs.outcome.describe()}",
            )
    else:
        _odd_success_read(obs, ctx, scenario)


def _undocumented_code_reported(obs: Observation, ctx: Context) -> None:
    """A resCode the documentation does not list: reported as that code, not read as success or a known code."""
    what = f"undocumented resCode {UNDOCUMENTED_CODE}"
    if obs.outcome.kind == "hung":
        raise Broken(f"{what}: {beyond(ctx.settings.call_bound_s)}", f"the client {obs.outcome.describe()}")
    if obs.outcome.kind in ("returned", "crashed", "task_failed"):
        raise Broken(f"{what}: {misreport(obs, UNDOCUMENTED_CODE)}", f"the client {obs.outcome.describe()}")
    if obs.outcome.kind == "rejected" and code_of(obs.outcome.code) in ctx.catalog.codes:
        raise Broken(f"{what} reported as a documented code", f"reported as {obs.outcome.code}")


def _odd_success_read(obs: Observation, ctx: Context, scenario: Scenario) -> None:
    """A success answer in an odd shape: the client still returns the task ID it created."""
    sent = [e for e in obs.entries if is_submit(e)]
    if any(not valid(e) for e in sent):
        raise Skip("a request was refused (see C1)")
    created = [e["taskId"] for e in sent if e.get("taskId")]
    if obs.outcome.kind != "returned" or not created or obs.outcome.value != created[-1]:
        expected = created[-1] if created else None
        if obs.outcome.kind == "hung":
            what = beyond(ctx.settings.call_bound_s)
        elif obs.outcome.kind == "returned":
            what = "returned another task ID" if created else "returned without a submit"
        else:
            what = misreport(obs, expected="returning the task ID")
        raise Broken(
            f"{scenario.shape} success answer: {what}",
            f"success with taskId {expected!r} in the {scenario.shape!r} shape; the client {obs.outcome.describe()}",
        )
