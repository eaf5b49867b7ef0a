"""Run the obligations against one adapter over a live fake.

Three phases, each feeding observations to the checks of ``checks.REGISTRY``:

1. **examples** (C1-C8): a Hypothesis search over valid requests and server scenarios; each
   distinct failure (an obligation and the kind of failure, its ``Broken`` title) is shrunk to
   a minimal example (within ``shrink_budget_s``), then the search runs again looking only for
   failures not seen yet, until a round finds nothing new;
2. **transport probes** (C9): one submit per transport fault, bounded by ``transport_bound_s``;
3. **polling probes** (C10-C12, only when the adapter has ``wait``): a task that finishes, one
   that fails, one that never ends, a 501 mid-polling, and error codes on the query.

Every distinct failure is kept and reported (not only the first of an obligation), so one bug
does not hide another.

The kit starts its own fake (127.0.0.1, signatures on with a fresh key pair, tasks finishing
on their ``polls_to_finish``-th poll, hangs bounded by the C9 bound) unless given a base URL.
Every adapter call runs in a worker thread joined with a bound, so a client that hangs costs
one bound, not the run.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, example, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import HypothesisException

from mockserver.spec import load_spec

from .adapter import (
    AdapterFactory,
    Rejected,
    TaskFailed,
    TransportError,
    build_adapter,
    close,
    describe_exception,
    has_wait,
)
from .checks import REGISTRY, Broken, Context, Skip, judge
from .fake import Fake, FakeError
from .observation import Observation, Outcome, evidence
from .report import Failure, Progress, Result, Verdict
from .scenarios import KINDS_FOR, TRANSPORT_PROBES, Catalog, Scenario, catalogue, scenarios
from .settings import BOUND_GRACE_S, Settings, SettingsError
from .strategies import ItemSchema, Limits, Request, fullest, requests, simplest

if sys.version_info >= (3, 11):
    _Group = ExceptionGroup  # noqa: F821 - a builtin from 3.11
else:  # pragma: no cover - Hypothesis depends on the backport there
    from exceptiongroup import ExceptionGroup as _Group

EXAMPLE_IDS = tuple(f"C{i}" for i in range(1, 9))
POLLING_IDS = ("C10", "C11", "C12")
#: The search stops after this many rounds even if each found something new (noted in the report).
MAX_ROUNDS = 10

#: A failure's identity: (obligation ID, the Broken's title). Titles name a kind of failure in
#: stable words (no task IDs or timings), so the same bug on another input has the same key.
Key = tuple[str, str]


class _ExampleFailed(Exception):
    """Raised inside the Hypothesis test so that it shrinks; the verdicts are kept aside.

    Each set of new failure keys gets its own subclass, so Hypothesis (which tells bugs apart
    by exception type) shrinks each distinct failure on its own instead of only the first."""


@dataclass
class _Found:
    """The latest (after shrinking: the smallest) failing observation of one failure."""

    observation: Observation
    broken: Broken


@dataclass
class _Pending:
    """An adapter call's worker thread and where it leaves its outcome."""

    worker: threading.Thread
    holder: dict[str, Any]


@dataclass
class _Tally:
    judged: int = 0
    skip: str = ""
    failures: dict[str, _Found] = field(default_factory=dict)  # Broken title -> evidence, first found first

    @property
    def found(self) -> _Found | None:
        return next(iter(self.failures.values()), None)


@dataclass
class Run:
    """One kit run's state: the fake, the adapter, what each obligation has seen."""

    factory: AdapterFactory
    settings: Settings
    base_url: str | None = None
    app_key: str | None = None
    app_secret: str | None = None
    admin_token: str | None = None
    progress: Progress = field(default_factory=Progress)
    tallies: dict[str, _Tally] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    abandoned: int = 0
    hung: set[tuple[str, bool]] = field(default_factory=set)  # (scenario kind, retryable) a call hung on
    client_s: float = 0.0  # seconds spent in (or waiting for) the adapter's calls

    def execute(self) -> Result:
        started = time.perf_counter()
        live = None
        if self.base_url is None:
            from mockserver.live import LiveServer

            self.app_key = self.app_key or "kit-" + secrets.token_hex(4)
            self.app_secret = self.app_secret or secrets.token_urlsafe(24)
            live = LiveServer(
                {
                    "app_keys": {self.app_key: self.app_secret},
                    "progression": "polls",
                    "polls_to_finish": self.settings.polls_to_finish,
                    "hang_s": self.settings.transport_bound_s + 1,
                    "journal_size": 5000,
                    "log_requests": False,
                }
            )
            self.base_url = live.url
        try:
            return self._execute(started)
        finally:
            if live is not None:
                live.stop()

    def _execute(self, started: float) -> Result:
        assert self.base_url is not None
        self.fake = Fake(
            self.base_url, app_key=self.app_key or "", app_secret=self.app_secret or "", admin_token=self.admin_token
        )
        config = self.fake.config()
        if config.get("app_keys") and not self.app_key:
            raise FakeError(
                f"the fake at {self.base_url} requires signatures (it has app keys): pass one key pair it "
                "accepts with --app-key and --app-secret (app_key=/app_secret= from Python)"
            )
        spec = load_spec()
        self.catalog = Catalog.from_spec(spec.errors)
        self.ctx = Context(
            settings=self.settings,
            catalog=self.catalog,
            signatures=bool(config.get("app_keys")),
            item_schema=spec.schema("submit-request-item.json"),
            signing_validator=spec.validator("signing-params.json"),
            hang_s=float(config["hang_s"]) if isinstance(config.get("hang_s"), (int, float)) else None,
        )
        self.scenario_catalog = self._scenario_catalog()
        self.item = ItemSchema.read(
            spec.schema("submit-request-item.json"), spec.schema("submit-request-item.strict.json")
        )
        self.limits = Limits.from_config(config, self.fake.scene_ids())
        self.fake.clear_faults()
        self.adapter = build_adapter(self.factory, self.base_url, self.app_key or "", self.app_secret or "")
        self.tallies = {oid: _Tally() for oid in self.settings.only}
        self.progress.start(self.base_url, self.settings)
        try:
            if any(o in self.settings.only for o in EXAMPLE_IDS):
                self._examples()
            if "C9" in self.settings.only:
                self._transport()
            if any(o in self.settings.only for o in POLLING_IDS):
                if has_wait(self.adapter):
                    self._polling()
                else:
                    for oid in POLLING_IDS:
                        if oid in self.tallies:
                            self.tallies[oid].skip = "the adapter has no wait(task_id)"
        finally:
            close(self.adapter)
            self.fake.clear_faults()
        if self.abandoned:
            self.notes.append(
                f"{self.abandoned} adapter call(s) never returned and were abandoned; "
                "requests they sent later may appear in later observations"
            )
        result = Result(
            self._verdicts(),
            self.settings,
            time.perf_counter() - started,
            self.base_url,
            self.notes,
            client_elapsed=self.client_s,
        )
        self.progress.done(result)
        return result

    def _scenario_catalog(self) -> Catalog:
        """The codes the scenarios and probes use (``codes``); the checks keep the whole catalog."""
        if not self.settings.codes:
            return self.catalog
        unknown = [c for c in self.settings.codes if c not in self.catalog.codes]
        if unknown:
            raise SettingsError(
                f"codes: {', '.join(map(str, unknown))} not documented; "
                f"use some of {', '.join(map(str, self.catalog.codes))}"
            )
        return self.catalog.restricted(self.settings.codes)

    # -- calling the adapter ---------------------------------------------------------------------
    def _call(self, fn: Callable[[], Any], bound: float) -> tuple[Outcome, _Pending]:
        """Run one adapter call in a worker thread; ``hung`` when it outlives ``bound`` (which
        is inclusive: the call has ``BOUND_GRACE_S`` more before it counts as late)."""
        holder: dict[str, Any] = {}

        def target() -> None:
            begin = time.perf_counter()
            try:
                holder["outcome"] = Outcome("returned", value=fn())
            except Rejected as exc:
                holder["outcome"] = Outcome("rejected", code=exc.code, message=exc.message)
            except TransportError as exc:
                holder["outcome"] = Outcome("transport", message=exc.reason)
            except TaskFailed as exc:
                holder["outcome"] = Outcome("task_failed", message=exc.message)
            except BaseException as exc:  # noqa: BLE001 - whatever the client throws is a verdict
                holder["outcome"] = Outcome("crashed", message=describe_exception(exc))
            holder["outcome"].elapsed = time.perf_counter() - begin
            if callable(take_log):  # a command adapter: what it printed on stderr during this call
                holder["outcome"].log = take_log()

        worker = threading.Thread(target=target, name="bgmock-contract-call", daemon=True)
        take_log = getattr(self.adapter, "take_log", None)
        ready = getattr(self.adapter, "ready", None)
        if callable(ready):
            ready()  # a command adapter restarts a process the last call lost: before the call's timing
        begin = time.perf_counter()
        worker.start()
        worker.join(bound + BOUND_GRACE_S)
        self.client_s += time.perf_counter() - begin
        pending = _Pending(worker, holder)
        if worker.is_alive():
            return Outcome("hung", elapsed=time.perf_counter() - begin), pending
        return holder["outcome"], pending

    def _settle(self, outcome: Outcome, pending: _Pending, grace: float) -> None:
        """Give a call that outlived its bound time to end after the fault was lifted; how it
        ended, if it did, goes into ``outcome.later`` (a late timeout is not a missing one).

        A command adapter still silent then is stopped (``abandon``): its call ends as the crash
        it is ("did not answer within ..."), with its stderr, instead of hanging on."""
        begin = time.perf_counter()
        pending.worker.join(grace)
        abandon = getattr(self.adapter, "abandon", None)
        abandoned = pending.worker.is_alive() and callable(abandon)
        if abandoned:
            abandon()
            pending.worker.join(5.0)
        self.client_s += time.perf_counter() - begin
        if pending.worker.is_alive():
            self.abandoned += 1
            return
        late = pending.holder.get("outcome")
        if late is None:
            return
        outcome.log = late.log
        if abandoned and late.kind == "crashed":
            outcome.kind, outcome.message, outcome.elapsed = late.kind, late.message, late.elapsed
        else:
            outcome.later = late

    # -- judging -----------------------------------------------------------------------------------
    def _judge(self, obs: Observation, ids: tuple[str, ...] | list[str]) -> list[tuple[str, Broken]]:
        broken = []
        for oid in ids:
            verdict = judge(oid, obs, self.ctx)
            tally = self.tallies[oid]
            if isinstance(verdict, Skip):
                tally.skip = str(verdict)
                continue
            tally.judged += 1
            if isinstance(verdict, Broken):
                broken.append((oid, verdict))
        return broken

    def _record(self, oid: str, obs: Observation, broken: Broken, *, replace: bool) -> None:
        """Keep this failure's evidence: the first seen of its kind, or (``replace``, while
        shrinking) the latest, which Hypothesis's final replay makes the smallest."""
        failures = self.tallies[oid].failures
        if broken.title not in failures or replace:
            failures[broken.title] = _Found(obs, broken)

    def _known(self) -> set[Key]:
        return {(oid, title) for oid, tally in self.tallies.items() for title in tally.failures}

    # -- phase 1: Hypothesis over requests and scenarios ------------------------------------------
    def _examples(self) -> None:
        active = [o for o in EXAMPLE_IDS if o in self.settings.only]
        self._cache: dict[tuple[Request, Scenario], list[tuple[str, Observation, Broken]]] = {}
        self._failure_types: dict[frozenset[Key], type[_ExampleFailed]] = {}
        for round_no in range(1, MAX_ROUNDS + 1):
            if not self._search(active, round_no):
                break
        else:
            self.notes.append(
                f"the search stopped after {MAX_ROUNDS} rounds that each found a new failure; there may be more"
            )
        self._boundaries(active)

    def _boundaries(self, active: list[str]) -> None:
        """A safety net after the search: the largest valid request (largest image, every
        optional field at its maximum), in case the random search never drew one. A failure
        not seen before is reported as it is (a boundary example is minimal in its own way)."""
        judged = [o for o in active if "success" in KINDS_FOR[o]]
        if not judged:
            return
        request = fullest(self.item, self.limits)
        obs = self._example(request, Scenario("success"))
        for oid, b in self._judge(obs, judged):
            self._record(oid, obs, b, replace=False)

    def _failure_type(self, keys: frozenset[Key]) -> type[_ExampleFailed]:
        found = self._failure_types.get(keys)
        if found is None:
            found = type(f"_ExampleFailed{len(self._failure_types)}", (_ExampleFailed,), {})
            self._failure_types[keys] = found
        return found

    def _search(self, active: list[str], round_no: int) -> set[Key]:
        """One Hypothesis search over every active obligation, where only failures not known
        before this round count (so it shrinks and reports new ones); the new keys."""
        kinds = sorted({k for o in active for k in KINDS_FOR[o]})
        exclude = frozenset(self.hung)
        options = catalogue(self.scenario_catalog, kinds, exclude)
        if not options:
            return set()
        explicit = [(simplest(self.item, self.limits), s) for s in options]
        if len(self.item.sizes) > 1:
            other = {k: v for k, v in self.item.sizes[1].items()}
            explicit.append((simplest(self.item, self.limits, **other), Scenario("success")))
        known = self._known()
        cache = self._cache  # across rounds: an example the client already answered is not sent again
        found: dict[Key, tuple[str, Observation, Broken]] = {}
        deadline: list[float] = []
        ran = [0]
        total = len(explicit) + self.settings.examples
        looking = f"round {round_no}: {', '.join(active)}"
        if known:
            looking += f"; past {len(known)} known failure(s)"
        self.progress.phase(f"C1-C8 examples ({looking})", total)

        def test(request: Request, scenario: Scenario) -> None:
            key = (request, scenario)
            failures = cache.get(key)
            if failures is None:
                if deadline and time.monotonic() > deadline[0]:
                    return  # shrink budget spent: stop exploring, keep the smallest failures so far
                obs = self._example(request, scenario)
                failures = [(oid, obs, b) for oid, b in self._judge(obs, active)]
                cache[key] = failures
                ran[0] += 1
                fresh = any((oid, b.title) not in known for oid, _, b in failures)
                self.progress.tick(ran[0], "new failure" if fresh else "known failure" if failures else "")
            new = [(oid, obs, b) for oid, obs, b in failures if (oid, b.title) not in known]
            if new:
                for oid, obs, b in new:
                    found[(oid, b.title)] = (oid, obs, b)
                if not deadline:
                    deadline.append(time.monotonic() + self.settings.shrink_budget_s)
                keys = frozenset((oid, b.title) for oid, _, b in new)
                raise self._failure_type(keys)(", ".join(f"{oid} {title}" for oid, title in sorted(keys)))

        phases = [Phase.explicit, Phase.generate, Phase.shrink] if self.settings.examples else [Phase.explicit]
        wrapped: Any = given(
            request=requests(self.item, self.limits), scenario=scenarios(self.scenario_catalog, kinds, exclude)
        )(test)
        for req, scen in reversed(explicit):
            wrapped = example(request=req, scenario=scen)(wrapped)
        wrapped = hypothesis_settings(
            max_examples=max(1, self.settings.examples),
            derandomize=self.settings.derandomize,
            database=None,
            deadline=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,  # every distinct failure is shrunk, not only the first
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(wrapped)
        if self.settings.seed is not None and not self.settings.derandomize:
            wrapped = hypothesis_seed(self.settings.seed)(wrapped)
        try:
            wrapped()
        except (_ExampleFailed, HypothesisException, _Group):
            if not found:
                raise
        for oid, obs, b in found.values():
            self._record(oid, obs, b, replace=True)
        self.progress.phase_done()
        return set(found)

    def _example(self, request: Request, scenario: Scenario) -> Observation:
        rules = scenario.rules()
        self.fake.program(rules)
        self.fake.mark()
        params = request.params()
        outcome, pending = self._call(lambda: self.adapter.submit(params), self.settings.call_bound_s)
        if outcome.kind == "hung":
            self.fake.clear_faults()  # a client retrying forever now gets a success and can stop
            self._settle(outcome, pending, self.settings.transport_bound_s + 2)
            self.hung.add((scenario.kind, scenario.code in self.catalog.retryable))
        entries = self.fake.since_mark()
        return Observation("example", outcome, entries, request, scenario, rules=rules)

    # -- phase 2: transport probes ---------------------------------------------------------------
    def _transport(self) -> None:
        ids = [o for o in ("C9", "C1", "C3") if o in self.settings.only]
        request = simplest(self.item, self.limits)
        probes = [p for p in TRANSPORT_PROBES if self.settings.slow_probes or p != "timeout"]
        self.progress.phase("C9 transport probes", len(probes))
        for n, kind in enumerate(probes, 1):
            rules = [{"transport": kind}]
            self.fake.program(rules)
            self.fake.mark()
            params = request.params()
            outcome, pending = self._call(lambda p=params: self.adapter.submit(p), self.settings.transport_bound_s)
            self.fake.clear_faults()
            if outcome.kind == "hung":
                self._settle(outcome, pending, self.settings.transport_bound_s + 2)
            obs = Observation("transport", outcome, self.fake.since_mark(), request, probe=kind, rules=rules)
            broken = self._judge(obs, ids)
            for oid, b in broken:
                self._record(oid, obs, b, replace=False)
            self.progress.tick(n, f"{kind}: {'broken' if any(o == 'C9' for o, _ in broken) else 'ok'}")
        self.progress.phase_done()

    # -- phase 3: polling probes -------------------------------------------------------------------
    def _polling_probes(self) -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
        """(name, rules before the task is created, rules while the client polls)."""
        catalog, slow = self.scenario_catalog, self.settings.slow_probes
        retryable = sorted(catalog.retryable)
        probes: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = []
        if "C10" in self.settings.only or "C11" in self.settings.only:
            probes += [
                ("finishes", [], []),
                ("fails", [{"endpoint": "task", "outcome": "failed", "times": 1}], []),
            ]
            if slow:
                probes.append(("stuck", [{"endpoint": "task", "outcome": "stuck", "times": 1}], []))
        if "C11" in self.settings.only and 501 in catalog.codes:
            probes.append(("slow-501", [], [{"endpoint": "query", "resCode": 501, "everyN": 2, "times": 2}]))
        if "C12" in self.settings.only:
            if retryable:
                probes.append(
                    (
                        f"query-{retryable[0]}-transient",
                        [],
                        [{"endpoint": "query", "resCode": retryable[0], "times": 2}],
                    )
                )
                if slow:
                    probes.append((f"query-{retryable[-1]}", [], [{"endpoint": "query", "resCode": retryable[-1]}]))
            probes += [(f"query-{code}", [], [{"endpoint": "query", "resCode": code}]) for code in catalog.final]
        return probes

    def _polling(self) -> None:
        ids = [o for o in (*POLLING_IDS, "C1", "C3") if o in self.settings.only]
        probes = self._polling_probes()
        request = simplest(
            self.item, self.limits, imageNum=min(3, int(self.item.properties.get("imageNum", {}).get("maximum", 3)))
        )
        self.progress.phase("C10-C12 polling probes", len(probes))
        for n, (name, before, during) in enumerate(probes, 1):
            self.fake.program(before)
            task_id = self.fake.create_task(request.params())
            self.fake.program(during)
            self.fake.mark()
            outcome, pending = self._call(lambda t=task_id: self.adapter.wait(t), self.settings.poll_bound_s)
            self.fake.clear_faults()
            entries = self.fake.since_mark()
            data = self.fake.task_data(task_id)  # the kit's own query, after the client's (not in entries)
            expected: Any = (
                data.get("taskMessage")
                if name == "fails"
                else [list(item.get("imageUrlList", [])) for item in data.get("taskResult", [])]
            )
            if outcome.kind == "hung":
                self.fake.reset()  # forget the task: a client polling forever now gets an error
                self._settle(outcome, pending, 5.0)
            obs = Observation(
                "polling",
                outcome,
                entries,
                request,
                probe=name,
                task_id=task_id,
                expected=expected,
                rules=before + during,
            )
            broken = self._judge(obs, ids)
            for oid, b in broken:
                self._record(oid, obs, b, replace=False)
            self.progress.tick(n, f"{name}: {'broken' if broken else 'ok'}")
        self.progress.phase_done()

    # -- verdicts ------------------------------------------------------------------------------------
    def _verdicts(self) -> list[Verdict]:
        out = []
        for oid, entry in REGISTRY.items():
            if oid not in self.tallies:
                continue
            tally = self.tallies[oid]
            if tally.failures:
                failures = [
                    Failure(
                        f.broken.title,
                        f"{f.broken.title}: {f.broken.reason}",
                        example=f.observation.example(),
                        requests=evidence(f.observation.entries),
                        client=f.observation.outcome.as_dict(),
                    )
                    for f in tally.failures.values()
                ]
                out.append(Verdict.from_failures(oid, entry.title, entry.summary, failures, tally.judged))
            elif tally.judged:
                out.append(
                    Verdict(
                        oid,
                        entry.title,
                        entry.summary,
                        "kept",
                        f"held on {tally.judged} observation(s)",
                        judged=tally.judged,
                    )
                )
            else:
                out.append(
                    Verdict(oid, entry.title, entry.summary, "not applicable", tally.skip or "no observation applied")
                )
        return out


def run(
    factory: AdapterFactory,
    *,
    base_url: str | None = None,
    app_key: str | None = None,
    app_secret: str | None = None,
    admin_token: str | None = None,
    progress: Progress | None = None,
    **settings: Any,
) -> Result:
    """Check the client behind ``factory`` against every obligation; ``settings`` are
    :class:`~contracts.settings.Settings` fields (``examples=50``, ``only="C1,C4"``, ...)."""
    return Run(
        factory,
        Settings.make(**settings),
        base_url=base_url,
        app_key=app_key,
        app_secret=app_secret,
        admin_token=admin_token,
        progress=progress or Progress(enabled=False),
    ).execute()
