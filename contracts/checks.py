"""The obligations C1-C12: each a small function, registered by ID in one registry.

A check looks at one :class:`~contracts.observation.Observation` and either returns (kept for
this example), raises :class:`Skip` (it says nothing about this example) or raises
:class:`Broken` with a short title and the reason in words. The runner decides which
observations a check sees; the checks never talk to the fake or the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.parsing import read_int, read_number

from .journal import TEXT_LIMIT, shortened_length
from .observation import Observation, Pair, code_of, gaps, is_query, is_submit, measures, pairs, reached_api, valid
from .scenarios import UNDOCUMENTED_CODE, Catalog
from .settings import Settings
from .strategies import ImageSpec
from .strictness import request_leniencies, signing_leniencies
from .titles import beyond, late_transport, misreport, over


class Broken(Exception):  # noqa: N818 - reads as "the obligation is broken"
    """The obligation does not hold for this example."""

    def __init__(self, title: str, reason: str) -> None:
        super().__init__(f"{title}: {reason}")
        self.title = title
        self.reason = reason


class Skip(Exception):  # noqa: N818
    """The obligation cannot be judged on this example (why, for the report)."""


@dataclass(frozen=True)
class Context:
    """What checks may know besides the observation."""

    settings: Settings
    catalog: Catalog
    signatures: bool  # the fake checks signatures
    item_schema: Mapping[str, Any]  # schemas/submit-request-item.json
    signing_validator: Any  # compiled schemas/signing-params.json
    hang_s: float | None = None  # the fake holds a "timeout" reply this long, then drops the connection


Check = Callable[[Observation, Context], None]

#: Slack for the "growing" comparisons: the fake measures waits with the client's send time in them.
TIMING_TOLERANCE_S = 0.02


@dataclass(frozen=True)
class Obligation:
    id: str
    title: str
    summary: str
    phases: tuple[str, ...]  # observation phases the check is run on
    check: Check


#: The one registry: obligation ID -> Obligation, in report order.
REGISTRY: dict[str, Obligation] = {}


def obligation(id: str, title: str, summary: str, phases: tuple[str, ...] = ("example",)) -> Callable[[Check], Check]:
    """Register a check under its obligation ID."""

    def register(func: Check) -> Check:
        if id in REGISTRY:
            raise ValueError(f"obligation {id} registered twice")
        REGISTRY[id] = Obligation(id, title, summary, phases, func)
        return func

    return register


ALL_PHASES = ("example", "transport", "polling")


# -- helpers -------------------------------------------------------------------------------------
def _outcome_is_code(obs: Observation, code: int) -> bool:
    return obs.outcome.kind == "rejected" and code_of(obs.outcome.code) == code


def _refused(obs: Observation) -> None:
    """Skip when the gateway refused a request: the answer-based checks cannot judge then."""
    refused = [e for e in obs.entries if not reached_api(e)]
    if refused:
        raise Skip(f"the gateway refused {len(refused)} request(s) (see C1/C3)")


def _normal(schema: Mapping[str, Any], key: str, value: Any) -> Any:
    """A value in its documented type when a string spells it ("800" -> 800, "true" -> True)."""
    declared = schema.get("properties", {}).get(key, {}).get("type")
    if isinstance(value, str):
        text = value.strip(" \t\n\r")
        if declared == "integer" and (whole := read_int(text, signed=True)) is not None:
            return whole  # the fake's own grammar (mockserver/parsing.py): ASCII digits, bounded
        if declared == "number":
            number = read_number(text)
            if number is None:
                return value
            return int(number) if number.is_integer() else number
        if declared == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    if isinstance(value, float) and value.is_integer() and declared == "integer":
        return int(value)
    return value


def _same_text(sent: Any, given: Any) -> bool:
    """The journal shortens long strings to "<N chars>" (the abbreviation rule of
    schemas/journal-entry.json, read in journal.py): compare lengths then."""
    length = shortened_length(sent)
    if length is not None and isinstance(given, str) and len(given) > TEXT_LIMIT:
        return length == len(given)
    return sent == given


def _paced(title: str, chosen: list[Pair], rule: Callable[[list[float]], str | None]) -> None:
    """Broken when ``rule`` (a reason, or None) fails on every measure of the waits."""
    if not chosen:
        return
    found = [(name, waits, rule(waits)) for name, waits in measures(chosen)]
    if all(reason for _, _, reason in found):
        shown = "; ".join(f"{name}: {waits} s" for name, waits, _ in found)
        raise Broken(f"{title}: {found[0][2]}", f"waits between attempts {shown}")


def _retry_pace(title: str, runs: list[list[Pair]], settings: Settings) -> None:
    """Every wait at least ``retry_min_gap_s``; over 3+ attempts the wait grows."""

    def short(waits: list[float]) -> str | None:
        return "back-to-back retries" if any(g < settings.retry_min_gap_s for g in waits) else None

    def flat(waits: list[float]) -> str | None:
        if len(waits) >= 2 and waits[-1] + TIMING_TOLERANCE_S < settings.retry_growth * waits[0]:
            return "the wait does not grow"
        return None

    for run in runs:
        _paced(title, run, short)
    for run in runs:
        _paced(title, run, flat)


# -- C1-C8: over Hypothesis-generated requests -----------------------------------------------------
@obligation(
    "C1", "schema", "every request validates against the request schemas (body, item, signing parameters)", ALL_PHASES
)
def schema(obs: Observation, ctx: Context) -> None:
    if not obs.entries:
        raise Skip("the client sent no request")
    for e in obs.entries:
        if e.get("endpoint") is None:
            raise Broken(
                "not an API path", f"{e.get('method')} {e.get('path')} (the fake answered HTTP {e.get('status')})"
            )
        if e.get("problems"):
            raise Broken("request breaks the schema", "; ".join(e["problems"]))
        if ctx.signatures:
            signing = e.get("signing") or {}
            problems = sorted(err.message for err in ctx.signing_validator.iter_errors(signing))
            if problems:
                raise Broken("signing parameters break the schema", f"{signing}: {'; '.join(problems)}")
    for e in obs.entries:  # what the fake accepted only by its leniency (contracts/strictness.py)
        for leaned in request_leniencies(e, obs.request, ctx.item_schema):
            raise Broken(*leaned)


@obligation("C2", "fidelity", "what arrives is what the caller asked for: every field, value and the image bytes")
def fidelity(obs: Observation, ctx: Context) -> None:
    if obs.request is None:
        raise Skip("no caller input")
    submits = [e for e in obs.entries if is_submit(e) and reached_api(e) and e.get("params") is not None]
    if not submits:
        raise Skip("no submit reached the API")
    given = dict(obs.request.fields)
    schema = ctx.item_schema
    for e in submits:
        params = e["params"]
        if len(params) != 1:
            if not params and e.get("problems"):
                raise Skip("the body could not be read (see C1)")
            raise Broken("wrong number of items", f"the caller asked for 1 item; the request carried {len(params)}")
        sent = params[0]
        both = "imgBase64" in given and "imageFileUrl" in given
        for key, value in given.items():
            if key == "imageFileUrl" and both and key not in sent:
                continue  # base64 wins; leaving the URL out is fine
            if key not in sent:
                why = (
                    " (the caller gave both; the service uses base64 when both are given)"
                    if both and key == "imgBase64"
                    else ""
                )
                raise Broken(f"{key} dropped", f"the caller gave {key}={_show(value)}; the request left it out{why}")
            if isinstance(value, ImageSpec):
                continue  # compared by digest below
            if not _same_text(_normal(schema, key, sent[key]), _normal(schema, key, value)):
                raise Broken(
                    f"{key} changed", f"the caller gave {key}={_show(value)}; the request sent {_show(sent[key])}"
                )
        for key, value in sent.items():
            if key in given:
                continue
            default = schema.get("properties", {}).get(key, {}).get("default")
            if default is None or _normal(schema, key, value) != default:
                raise Broken(f"{key} added", f"the caller did not give {key}; the request sent {key}={_show(value)}")
        image = given.get("imgBase64")
        notes = e.get("images") or []
        if isinstance(image, ImageSpec) and notes:
            note = notes[0]
            if note.get("source") != "imgBase64":
                raise Broken(
                    "image source changed", f"the caller gave the image as base64; the fake used {note.get('source')}"
                )
            if note.get("crc32") != image.crc32:
                raise Broken(
                    "image bytes changed",
                    f"the caller gave {image!r}; the fake decoded {note.get('format')} {note.get('width')}x"
                    f"{note.get('height')}, {note.get('bytes')} bytes with another digest (re-encoded or resized?)",
                )


@obligation("C3", "signing", "the signature verifies with the given key pair (v2 or IOP form scheme)", ALL_PHASES)
def signing(obs: Observation, ctx: Context) -> None:
    if not ctx.signatures:
        raise Skip("the fake checks no signatures")
    if not obs.entries:
        raise Skip("the client sent no request")
    for e in obs.entries:
        if e.get("endpoint") is not None and e.get("gateway"):
            sent = e.get("signing") or {}
            shown = {k: sent.get(k) for k in ("app_key", "timestamp", "sign_method", "sign_ver", "sign") if k in sent}
            raise Broken(
                f"gateway answered {e['gateway']}",
                f"{e.get('method')} {e.get('path')} with {shown or 'no signing parameters'}",
            )
    for e in obs.entries:  # a signature the fake accepted only by its leniency
        for leaned in signing_leniencies(e):
            raise Broken(*leaned)


@obligation("C4", "success", "the task ID returned is exactly data.result.taskId")
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


@obligation("C5", "errors", "for each documented code the client reports that code (no task ID, no crash)")
def errors(obs: Observation, ctx: Context) -> None:
    if obs.scenario is None or obs.scenario.kind != "error":
        raise Skip("not an error scenario")
    _refused(obs)
    code = obs.scenario.code
    assert code is not None
    if obs.outcome.kind == "hung":
        if code in ctx.catalog.retryable:
            raise Skip("still retrying (see C7)")
        raise Broken(
            beyond(ctx.settings.call_bound_s), f"resCode {code} was answered; the client {obs.outcome.describe()}"
        )
    if not _outcome_is_code(obs, code):
        raise Broken(misreport(obs, code), f"the fake answered resCode {code}; the client {obs.outcome.describe()}")


@obligation("C6", "no retry", "the non-retryable codes are sent exactly once")
def no_retry(obs: Observation, ctx: Context) -> None:
    if obs.scenario is None or obs.scenario.kind != "error" or obs.scenario.code in ctx.catalog.retryable:
        raise Skip("not a non-retryable error scenario")
    _refused(obs)
    sent = [e for e in obs.entries if is_submit(e)]
    if len(sent) > 1:
        raise Broken(
            f"retried {obs.scenario.code}",
            f"resCode {obs.scenario.code} may not be retried; the client sent {len(sent)} submits "
            f"(waits {gaps(sent)} s)",
        )


@obligation("C7", "retries", "retryable codes: bounded, spaced, growing retries; task ID when the fault is transient")
def retries(obs: Observation, ctx: Context) -> None:
    scenario = obs.scenario
    if scenario is None or scenario.kind not in ("error", "transient") or scenario.code not in ctx.catalog.retryable:
        raise Skip("not a retryable error scenario")
    _refused(obs)
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
    _retry_pace(f"resCode {scenario.code}", [pairs(sent)], settings)
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
    elif not _outcome_is_code(obs, scenario.code):  # type: ignore[arg-type]
        raise Broken(
            misreport(obs, scenario.code),
            f"resCode {scenario.code} on every attempt; the client {obs.outcome.describe()}",
        )


@obligation("C8", "tolerance", "extra fields, reordered keys, resCode as a string and unknown codes do not break it")
def tolerance(obs: Observation, ctx: Context) -> None:
    scenario = obs.scenario
    if scenario is None or scenario.kind not in ("shape", "undocumented"):
        raise Skip("not a tolerance scenario")
    _refused(obs)
    sent = [e for e in obs.entries if is_submit(e)]
    if scenario.kind == "undocumented":
        what = f"undocumented resCode {UNDOCUMENTED_CODE}"
        if obs.outcome.kind == "hung":
            raise Broken(f"{what}: {beyond(ctx.settings.call_bound_s)}", f"the client {obs.outcome.describe()}")
        if obs.outcome.kind in ("returned", "crashed", "task_failed"):
            raise Broken(f"{what}: {misreport(obs, UNDOCUMENTED_CODE)}", f"the client {obs.outcome.describe()}")
        if obs.outcome.kind == "rejected" and code_of(obs.outcome.code) in ctx.catalog.codes:
            raise Broken(f"{what} reported as a documented code", f"reported as {obs.outcome.code}")
        return
    if scenario.code is not None:
        if not _outcome_is_code(obs, scenario.code):
            raise Broken(
                f"{scenario.shape} error answer: {misreport(obs, scenario.code)}",
                f"resCode {scenario.code} in the {scenario.shape!r} shape; the client {obs.outcome.describe()}",
            )
        return
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


# -- C9: fixed transport probes ---------------------------------------------------------------------
@obligation(
    "C9",
    "transport",
    "reset, empty reply, malformed JSON, a 502/503 page and no reply end as an error in bounded time",
    ("transport",),
)
def transport(obs: Observation, ctx: Context) -> None:
    bound = ctx.settings.transport_bound_s
    kind = obs.outcome.kind
    if over(obs.outcome, bound):
        title, why = late_transport(obs, bound, ctx.hang_s)
        raise Broken(f"{obs.probe}: {title}", f"{why} (the client {obs.outcome.describe()})")
    if kind in ("returned", "crashed", "task_failed"):
        raise Broken(f"{obs.probe}: {misreport(obs)}", f"the client {obs.outcome.describe()}")


# -- C10-C12: fixed polling probes -----------------------------------------------------------------
def _polls(obs: Observation) -> list[dict[str, Any]]:
    return [e for e in obs.entries if is_query(e)]


@obligation(
    "C10",
    "polling ends",
    "wait stops on finished with every URL in order, on failed with its message, and "
    "gives up on a task that never ends",
    ("polling",),
)
def polling_ends(obs: Observation, ctx: Context) -> None:
    probe, outcome = obs.probe or "", obs.outcome
    if probe == "finishes" or probe.endswith("-transient"):
        if outcome.kind == "rejected" and probe.endswith("-transient"):
            return  # a client that does not retry reports the code (judged by C12)
        if outcome.kind != "returned":
            title = (
                beyond(ctx.settings.poll_bound_s)
                if outcome.kind == "hung"
                else misreport(obs, expected="returning the URLs")
            )
            raise Broken(
                f"{probe}: {title}",
                f"the task finished with {_count(obs.expected)}; the client {outcome.describe()}",
            )
        got = _as_lists(outcome.value)
        if got != obs.expected:
            raise Broken(
                f"{probe}: wrong URLs", f"imageUrlList per item was {obs.expected}; wait returned {outcome.value!r}"
            )
    elif probe == "fails":
        if outcome.kind != "task_failed":
            title = (
                beyond(ctx.settings.poll_bound_s)
                if outcome.kind == "hung"
                else misreport(obs, expected="raising TaskFailed")
            )
            raise Broken(
                f"failed task not reported: {title}",
                f"the task ended failed ({obs.expected!r}); the client {outcome.describe()}",
            )
        if str(obs.expected) not in outcome.message:
            raise Broken(
                "failure message lost", f"taskMessage was {obs.expected!r}; TaskFailed says {outcome.message!r}"
            )
    elif probe == "stuck":
        bound = ctx.settings.poll_bound_s
        if over(outcome, bound):
            raise Broken(
                f"stuck: still polling after the kit's bound of {bound:g} s",
                f"the task never ends; the client {outcome.describe()} (it must give up within {bound:g} s)",
            )
        if outcome.kind in ("returned", "crashed"):
            raise Broken(f"stuck: {misreport(obs)}", f"the task never ends; the client {outcome.describe()}")
    else:
        raise Skip("not a probe for this obligation")


def _count(expected: Any) -> str:
    total = sum(len(urls) for urls in expected) if isinstance(expected, list) else 0
    return f"{total} URL(s)"


def _as_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [list(v) if isinstance(v, (list, tuple)) else v for v in value]
    return value


@obligation(
    "C11", "polling pace", "polls of one task at least a minimum interval apart; a 501 slows polling down", ("polling",)
)
def polling_pace(obs: Observation, ctx: Context) -> None:
    polls = _polls(obs)
    if len(polls) < 2:
        raise Skip("fewer than two polls")
    settings = ctx.settings
    chosen = pairs(polls)

    def fast(waits: list[float]) -> str | None:
        too_soon = any(g < settings.poll_min_interval_s for g in waits)
        return f"polls too fast (at least {settings.poll_min_interval_s} s apart expected)" if too_soon else None

    _paced(obs.probe or "polling", chosen, fast)
    if obs.probe == "slow-501":
        codes = [before.get("resCode") for before, _ in chosen]

        def hurried(waits: list[float]) -> str | None:
            usual = [g for code, g in zip(codes, waits, strict=True) if code == 200]
            slowed = [g for code, g in zip(codes, waits, strict=True) if code == 501]
            # Noise (a busy machine) only ever adds time: the shortest waits are the client's own pace.
            if usual and slowed and min(slowed) + TIMING_TOLERANCE_S < settings.poll_slowdown * min(usual):
                return f"a 501 does not slow polling (at least {settings.poll_slowdown}x the usual wait expected)"
            return None

        _paced(obs.probe or "polling", chosen, hurried)


@obligation(
    "C12",
    "polling errors",
    "an error code on the query is handled as on submit: retryable codes retried "
    "with backoff, others reported with their code",
    ("polling",),
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
        if len(answered) > 1:
            raise Broken(
                f"retried {code} on the query", f"resCode {code} may not be retried; {len(answered)} queries got it"
            )
        if not _outcome_is_code(obs, code):
            raise Broken(
                f"query {code}: {misreport(obs, code)}",
                f"the query answered resCode {code}; the client {outcome.describe()}",
            )
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
    _retry_pace(f"query {code}", runs, ctx.settings)
    if probe.endswith("-transient"):
        if outcome.kind not in ("returned", "rejected") or (
            outcome.kind == "rejected" and not _outcome_is_code(obs, code)
        ):
            raise Broken(
                f"query {code}: {misreport(obs, code)}",
                f"{code} twice, then the task finished; the client {outcome.describe()}",
            )
    elif not _outcome_is_code(obs, code):
        raise Broken(
            f"query {code}: {misreport(obs, code)}", f"every query answered {code}; the client {outcome.describe()}"
        )


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge(obligation_id: str, obs: Observation, ctx: Context) -> Broken | None | Skip:
    """Run one check: the Broken it raised, a Skip, or None when kept."""
    entry = REGISTRY[obligation_id]
    if obs.phase not in entry.phases:
        return Skip(f"{obligation_id} is not judged on {obs.phase} observations")
    try:
        entry.check(obs, ctx)
    except (Broken, Skip) as verdict:
        return verdict
    return None
