"""Phase 1, examples: a Hypothesis search over valid requests and server scenarios.

Each distinct failure (an obligation and the kind of failure, its ``Broken`` title) is shrunk
to a minimal example (within ``shrink_budget_s``); then the search runs again looking only for
failures not seen yet, until a round finds nothing new. The scenario kinds drawn are those the
active obligations name (``Obligation.kinds``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, example, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import HypothesisException

from .checks import REGISTRY, Broken
from .observation import Observation
from .scenarios import Scenario, catalogue, scenarios
from .session import Key, Session
from .strategies import Request, fullest, requests, simplest

if sys.version_info >= (3, 11):
    _Group = ExceptionGroup  # noqa: F821 - a builtin from 3.11
else:  # pragma: no cover - Hypothesis depends on the backport there
    from exceptiongroup import ExceptionGroup as _Group

#: The search stops after this many rounds even if each found something new (noted in the report).
MAX_ROUNDS = 10


def cache_dir() -> Path:
    """Where ``bgmock contract`` keeps Hypothesis's files: ``$XDG_CACHE_HOME/bgmock/hypothesis``
    (``~/.cache/bgmock/hypothesis``; ``%LOCALAPPDATA%\\bgmock\\cache\\hypothesis`` on Windows)."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "bgmock" / "cache" / "hypothesis"
    base = os.environ.get("XDG_CACHE_HOME", "")
    try:
        root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"  # XDG: a relative one is ignored
    except RuntimeError:  # no home directory to be found
        root = Path(tempfile.gettempdir()) / f"bgmock-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    return root / "bgmock" / "hypothesis"


@contextmanager
def hypothesis_home(directory: Path) -> Iterator[None]:
    """Hypothesis's own files under ``directory`` for the block, then as they were.

    The kit keeps no example database (``database=None``: a run's examples depend on its seed
    alone), but Hypothesis still caches its Unicode tables and the constants it reads in the
    code under test, in ``.hypothesis/`` of the current folder unless told otherwise. A
    ``HYPOTHESIS_STORAGE_DIRECTORY`` the user set wins."""
    from hypothesis import configuration

    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    # What was set before (None: nothing yet, Hypothesis's default then), read where every
    # Hypothesis since 6.90 keeps it: its public getter changed shape in 6.152.
    before = vars(configuration).get("__hypothesis_home_directory")
    configuration.set_hypothesis_home_dir(directory)
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(before)


class _ExampleFailed(Exception):
    """Raised inside the Hypothesis test so that it shrinks; the verdicts are kept aside.

    Each set of new failure keys gets its own subclass, so Hypothesis (which tells bugs apart
    by exception type) shrinks each distinct failure on its own instead of only the first."""


Failure = tuple[str, Observation, Broken]


class Search:
    """The example phase of one session."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._cache: dict[tuple[Request, Scenario], list[Failure]] = {}
        self._failure_types: dict[frozenset[Key], type[_ExampleFailed]] = {}

    def run(self, active: list[str]) -> None:
        """Search in rounds until one finds nothing new, then try the boundary example."""
        for round_no in range(1, MAX_ROUNDS + 1):
            if not self._search(active, round_no):
                break
        else:
            self.s.notes.append(
                f"the search stopped after {MAX_ROUNDS} rounds that each found a new failure; there may be more"
            )
        self._boundaries(active)

    def _boundaries(self, active: list[str]) -> None:
        """A safety net after the search: the largest valid request (largest image, every
        optional field at its maximum), in case the random search never drew one. A failure
        not seen before is reported as it is (a boundary example is minimal in its own way)."""
        judged = [o for o in active if "success" in REGISTRY[o].kinds]
        if not judged:
            return
        request = fullest(self.s.item, self.s.limits)
        obs = self._example(request, Scenario("success"))
        for oid, b in self.s.judge(obs, judged):
            self.s.record(oid, obs, b, replace=False)

    def _failure_type(self, keys: frozenset[Key]) -> type[_ExampleFailed]:
        found = self._failure_types.get(keys)
        if found is None:
            found = type(f"_ExampleFailed{len(self._failure_types)}", (_ExampleFailed,), {})
            self._failure_types[keys] = found
        return found

    def _search(self, active: list[str], round_no: int) -> set[Key]:
        """One Hypothesis search over every active obligation, where only failures not known
        before this round count (so it shrinks and reports new ones); the new keys."""
        kinds = sorted({k for o in active for k in REGISTRY[o].kinds})
        exclude = frozenset(self.s.hung)
        options = catalogue(self.s.scenario_catalog, kinds, exclude)
        if not options:
            return set()
        explicit = self._explicit(options)
        this_round = _Round(self, active)
        total = len(explicit) + self.s.settings.examples
        looking = f"round {round_no}: {', '.join(active)}"
        if this_round.known:
            looking += f"; past {len(this_round.known)} known failure(s)"
        self.s.progress.phase(f"{REGISTRY.label('example')} examples ({looking})", total)

        def test(request: Request, scenario: Scenario) -> None:  # a plain function, for Hypothesis to wrap
            this_round.test(request, scenario)

        try:
            self._hypothesis_test(test, kinds, exclude, explicit)()
        except (_ExampleFailed, HypothesisException, _Group):
            if not this_round.found:
                raise
        for oid, obs, b in this_round.found.values():
            self.s.record(oid, obs, b, replace=True)
        self.s.progress.phase_done()
        return set(this_round.found)

    def _explicit(self, options: list[Scenario]) -> list[tuple[Request, Scenario]]:
        """The examples every round tries first: the simplest request under each scenario, and
        a success with the item schema's second size."""
        explicit = [(simplest(self.s.item, self.s.limits), s) for s in options]
        if len(self.s.item.sizes) > 1:
            other = {k: v for k, v in self.s.item.sizes[1].items()}
            explicit.append((simplest(self.s.item, self.s.limits, **other), Scenario("success")))
        return explicit

    def _hypothesis_test(
        self, test: Callable[[Request, Scenario], None], kinds: list[str], exclude: frozenset[tuple[str, bool]],
        explicit: list[tuple[Request, Scenario]],
    ) -> Callable[[], None]:
        """``test`` as a Hypothesis test: the explicit examples first, then drawn ones, at the run's settings."""
        settings = self.s.settings
        phases = [Phase.explicit, Phase.generate, Phase.shrink] if settings.examples else [Phase.explicit]
        wrapped: Any = given(
            request=requests(self.s.item, self.s.limits), scenario=scenarios(self.s.scenario_catalog, kinds, exclude)
        )(test)
        for req, scen in reversed(explicit):
            wrapped = example(request=req, scenario=scen)(wrapped)
        wrapped = hypothesis_settings(
            max_examples=max(1, settings.examples),
            derandomize=settings.derandomize,
            database=None,
            deadline=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,  # every distinct failure is shrunk, not only the first
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(wrapped)
        if settings.seed is not None and not settings.derandomize:
            wrapped = hypothesis_seed(settings.seed)(wrapped)
        return wrapped

    def _example(self, request: Request, scenario: Scenario) -> Observation:
        rules = scenario.rules()
        self.s.fake.program(rules)
        self.s.fake.mark()
        params = request.params()
        outcome, pending = self.s.caller.call(lambda: self.s.adapter.submit(params), self.s.settings.call_bound_s)
        if outcome.kind == "hung":
            self.s.fake.clear_faults()  # a client retrying forever now gets a success and can stop
            self.s.caller.settle(outcome, pending, self.s.settings.transport_bound_s + 2)
            self.s.hung.add((scenario.kind, scenario.code in self.s.catalog.retryable))
        entries = self.s.fake.since_mark()
        return Observation("example", outcome, entries, request, scenario, rules=rules)


class _Round:
    """One round of the search: the new failures it found, its shrink deadline, the examples it ran."""

    def __init__(self, search: Search, active: list[str]) -> None:
        self.search, self.active = search, active
        self.known = search.s.known()
        self.found: dict[Key, Failure] = {}
        self.deadline: float | None = None  # set by the first new failure: the shrink budget's end
        self.ran = 0

    def test(self, request: Request, scenario: Scenario) -> None:
        """Judge one example; failures not known before are kept and raised, so Hypothesis shrinks them."""
        new = [(oid, obs, b) for oid, obs, b in self._judged(request, scenario) if (oid, b.title) not in self.known]
        if not new:
            return
        for oid, obs, b in new:
            self.found[(oid, b.title)] = (oid, obs, b)
        if self.deadline is None:
            self.deadline = time.monotonic() + self.search.s.settings.shrink_budget_s
        keys = frozenset((oid, b.title) for oid, _, b in new)
        raise self.search._failure_type(keys)(", ".join(f"{oid} {title}" for oid, title in sorted(keys)))

    def _judged(self, request: Request, scenario: Scenario) -> list[Failure]:
        """The example's failures: remembered across rounds (an example the client already answered
        is not sent again); none once the shrink budget is spent."""
        key = (request, scenario)
        failures = self.search._cache.get(key)
        if failures is not None:
            return failures
        if self.deadline is not None and time.monotonic() > self.deadline:
            return []  # shrink budget spent: stop exploring, keep the smallest failures so far
        session = self.search.s
        obs = self.search._example(request, scenario)
        failures = [(oid, obs, b) for oid, b in session.judge(obs, self.active)]
        self.search._cache[key] = failures
        self.ran += 1
        fresh = any((oid, b.title) not in self.known for oid, _, b in failures)
        session.progress.tick(self.ran, "new failure" if fresh else "known failure" if failures else "")
        return failures
