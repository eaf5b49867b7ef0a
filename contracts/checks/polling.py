"""C10-C12: how the client polls a task: it stops at the end, keeps its pace, handles query errors.

Fixed probes, each a task the kit creates itself and hands to the adapter's ``wait`` (so a
bug in ``submit`` does not hide these): the probe's rules hold while the task is created,
``during`` while the client polls it.
"""

from __future__ import annotations

from typing import Any

from ..fake import RATE_LIMITED, SUCCESS
from ..observation import Observation, Pair, is_query, pairs
from ..scenarios import Catalog
from ..titles import beyond, misreport, over
from .common import TIMING_TOLERANCE_S, outcome_is_code, paced, retry_pace
from .registry import Broken, Context, Probe, Skip, obligation

#: A task that finishes, one that fails, one that never ends (C10 judges how each ends; C11
#: the pace of the polls).
ENDINGS = (
    Probe("finishes"),
    Probe("fails", ({"endpoint": "task", "outcome": "failed", "times": 1},), expects="message"),
    Probe("stuck", ({"endpoint": "task", "outcome": "stuck", "times": 1},), slow=True),
)


_POLLS_FOR_A_PACE = 2  # a pace is the wait between two polls


def _pace_probes(catalog: Catalog) -> list[Probe]:
    """The endings, and a 501 on every other query when the run uses 501."""
    slowed = Probe("slow-501", during=({"endpoint": "query", "resCode": RATE_LIMITED, "everyN": 2, "times": 2},))
    return [*ENDINGS, slowed] if RATE_LIMITED in catalog.codes else list(ENDINGS)


def _error_probes(catalog: Catalog) -> list[Probe]:
    """A retryable code twice then the end, one on every query (slow), and each final code."""
    out = []
    retryable = sorted(catalog.retryable)
    if retryable:
        first, last = retryable[0], retryable[-1]
        out.append(Probe(f"query-{first}-transient", during=({"endpoint": "query", "resCode": first, "times": 2},)))
        out.append(Probe(f"query-{last}", during=({"endpoint": "query", "resCode": last},), slow=True))
    out += [Probe(f"query-{code}", during=({"endpoint": "query", "resCode": code},)) for code in catalog.final]
    return out


def _polls(obs: Observation) -> list[dict[str, Any]]:
    return [e for e in obs.entries if is_query(e)]


@obligation(
    "C10",
    "polling ends",
    "wait stops on finished with every URL in order, on failed with its message, and "
    "gives up on a task that never ends",
    phase="polling",
    probes=ENDINGS,
)
def polling_ends(obs: Observation, ctx: Context) -> None:
    probe = obs.probe or ""
    if probe == "finishes" or probe.endswith("-transient"):
        _returns_the_urls(obs, ctx, probe)
    elif probe == "fails":
        _reports_the_failure(obs, ctx)
    elif probe == "stuck":
        _gives_up(obs, ctx)
    else:
        raise Skip("not a probe for this obligation")


def _instead(obs: Observation, ctx: Context, *, expected: str) -> str:
    """What the client did instead of ``expected`` with an ended task: hung past the bound, or
    something else (as ``misreport`` words it)."""
    return beyond(ctx.settings.poll_bound_s) if obs.outcome.kind == "hung" else misreport(obs, expected=expected)


def _returns_the_urls(obs: Observation, ctx: Context, probe: str) -> None:
    """A finished task: wait returns every URL, in order."""
    outcome = obs.outcome
    if outcome.kind == "rejected" and probe.endswith("-transient"):
        return  # a client that does not retry reports the code (judged by C12)
    if outcome.kind != "returned":
        title = _instead(obs, ctx, expected="returning the URLs")
        raise Broken(
            f"{probe}: {title}",
            f"the task finished with {_count(obs.expected)}; the client {outcome.describe()}",
        )
    got = _as_lists(outcome.value)
    if got != obs.expected:
        raise Broken(
            f"{probe}: wrong URLs", f"imageUrlList per item was {obs.expected}; wait returned {outcome.value!r}"
        )


def _reports_the_failure(obs: Observation, ctx: Context) -> None:
    """A failed task: wait raises TaskFailed with the task's message."""
    outcome = obs.outcome
    if outcome.kind != "task_failed":
        title = _instead(obs, ctx, expected="raising TaskFailed")
        raise Broken(
            f"failed task not reported: {title}",
            f"the task ended failed ({obs.expected!r}); the client {outcome.describe()}",
        )
    if str(obs.expected) not in outcome.message:
        raise Broken(
            "failure message lost", f"taskMessage was {obs.expected!r}; TaskFailed says {outcome.message!r}"
        )


def _gives_up(obs: Observation, ctx: Context) -> None:
    """A task that never ends: wait gives up within the kit's bound, and does not pretend it ended."""
    outcome, bound = obs.outcome, ctx.settings.poll_bound_s
    if over(outcome, bound):
        raise Broken(
            f"stuck: still polling after the kit's bound of {bound:g} s",
            f"the task never ends; the client {outcome.describe()} (it must give up within {bound:g} s)",
        )
    if outcome.kind in ("returned", "crashed"):
        raise Broken(f"stuck: {misreport(obs)}", f"the task never ends; the client {outcome.describe()}")


def _count(expected: Any) -> str:
    total = sum(len(urls) for urls in expected) if isinstance(expected, list) else 0
    return f"{total} URL(s)"


def _as_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [list(v) if isinstance(v, (list, tuple)) else v for v in value]
    return value


@obligation(
    "C11",
    "polling pace",
    "polls of one task at least a minimum interval apart; a 501 slows polling down",
    phase="polling",
    probes=_pace_probes,
)
def polling_pace(obs: Observation, ctx: Context) -> None:
    polls = _polls(obs)
    if len(polls) < _POLLS_FOR_A_PACE:
        raise Skip("fewer than two polls")
    settings = ctx.settings
    chosen = pairs(polls)

    def fast(waits: list[float]) -> str | None:
        too_soon = any(g < settings.poll_min_interval_s for g in waits)
        return f"polls too fast (at least {settings.poll_min_interval_s} s apart expected)" if too_soon else None

    paced(obs.probe or "polling", chosen, fast)
    if obs.probe == "slow-501":
        codes = [before.get("resCode") for before, _ in chosen]

        def hurried(waits: list[float]) -> str | None:
            usual = [g for code, g in zip(codes, waits, strict=True) if code == SUCCESS]
            slowed = [g for code, g in zip(codes, waits, strict=True) if code == RATE_LIMITED]
            # Noise (a busy machine) only ever adds time: the shortest waits are the client's own pace.
            if usual and slowed and min(slowed) + TIMING_TOLERANCE_S < settings.poll_slowdown * min(usual):
                return f"a 501 does not slow polling (at least {settings.poll_slowdown}x the usual wait expected)"
            return None

        paced(obs.probe or "polling", chosen, hurried)


@obligation(
    "C12",
    "polling errors",
    "an error code on the query is handled as on submit: retryable codes retried "
    "with backoff, others reported with their code",
    phase="polling",
    probes=_error_probes,
)
def polling_errors(obs: Observation, ctx: Context) -> None:
    probe = obs.probe or ""
    if not probe.startswith("query-"):
        raise Skip("not an error probe")
    code = int(probe.split("-")[1])
    polls = _polls(obs)
    answered = [e for e in polls if e.get("resCode") == code]
    outcome = obs.outcome
    if code not in ctx.catalog.retryable:
        _final_code_reported(obs, code, answered)
        return
    if len(answered) > ctx.settings.max_attempts:
        raise Broken(
            f"query {code}: too many attempts",
            f"{len(answered)} queries answered {code}; at most {ctx.settings.max_attempts} attempts are allowed",
        )
    if outcome.kind == "hung":
        raise Broken(
            f"query {code}: still retrying: {beyond(ctx.settings.poll_bound_s)}",
            f"{len(polls)} queries and no result after {outcome.elapsed:.1f} s",
        )
    retry_pace(f"query {code}", _runs_answered(polls, code), ctx.settings)
    if probe.endswith("-transient"):
        if outcome.kind not in ("returned", "rejected") or (
            outcome.kind == "rejected" and not outcome_is_code(obs, code)
        ):
            raise Broken(
                f"query {code}: {misreport(obs, code)}",
                f"{code} twice, then the task finished; the client {outcome.describe()}",
            )
    elif not outcome_is_code(obs, code):
        raise Broken(
            f"query {code}: {misreport(obs, code)}", f"every query answered {code}; the client {outcome.describe()}"
        )


def _final_code_reported(obs: Observation, code: int, answered: list[dict[str, Any]]) -> None:
    """A code that may not be retried: queried once, and reported with its code."""
    if len(answered) > 1:
        raise Broken(
            f"retried {code} on the query", f"resCode {code} may not be retried; {len(answered)} queries got it"
        )
    if not outcome_is_code(obs, code):
        raise Broken(
            f"query {code}: {misreport(obs, code)}",
            f"the query answered resCode {code}; the client {obs.outcome.describe()}",
        )


def _runs_answered(polls: list[dict[str, Any]], code: int) -> list[list[Pair]]:
    """The runs of consecutive polls answered ``code``, each as the pairs of its waits."""
    runs: list[list[Pair]] = []
    current: list[Pair] = []
    for before, after in pairs(polls):
        if before.get("resCode") == code:
            current.append((before, after))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs
