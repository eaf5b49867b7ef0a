"""Phase 1, examples: a Hypothesis search over valid requests and server scenarios.

Each distinct failure (an obligation and the kind of failure, its ``Broken`` title) is shrunk
to a minimal example (within ``shrink_budget_s``); then the search runs again looking only for
failures not seen yet, until a round finds nothing new. The scenario kinds drawn are those the
active obligations name (``Obligation.kinds``).
"""

from __future__ import annotations

import sys
import time
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


class _ExampleFailed(Exception):
    """Raised inside the Hypothesis test so that it shrinks; the verdicts are kept aside.

    Each set of new failure keys gets its own subclass, so Hypothesis (which tells bugs apart
    by exception type) shrinks each distinct failure on its own instead of only the first."""


class Search:
    """The example phase of one session."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._cache: dict[tuple[Request, Scenario], list[tuple[str, Observation, Broken]]] = {}
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
        explicit = [(simplest(self.s.item, self.s.limits), s) for s in options]
        if len(self.s.item.sizes) > 1:
            other = {k: v for k, v in self.s.item.sizes[1].items()}
            explicit.append((simplest(self.s.item, self.s.limits, **other), Scenario("success")))
        known = self.s.known()
        cache = self._cache  # across rounds: an example the client already answered is not sent again
        found: dict[Key, tuple[str, Observation, Broken]] = {}
        deadline: list[float] = []
        ran = [0]
        total = len(explicit) + self.s.settings.examples
        looking = f"round {round_no}: {', '.join(active)}"
        if known:
            looking += f"; past {len(known)} known failure(s)"
        self.s.progress.phase(f"{REGISTRY.label('example')} examples ({looking})", total)

        def test(request: Request, scenario: Scenario) -> None:
            key = (request, scenario)
            failures = cache.get(key)
            if failures is None:
                if deadline and time.monotonic() > deadline[0]:
                    return  # shrink budget spent: stop exploring, keep the smallest failures so far
                obs = self._example(request, scenario)
                failures = [(oid, obs, b) for oid, b in self.s.judge(obs, active)]
                cache[key] = failures
                ran[0] += 1
                fresh = any((oid, b.title) not in known for oid, _, b in failures)
                self.s.progress.tick(ran[0], "new failure" if fresh else "known failure" if failures else "")
            new = [(oid, obs, b) for oid, obs, b in failures if (oid, b.title) not in known]
            if new:
                for oid, obs, b in new:
                    found[(oid, b.title)] = (oid, obs, b)
                if not deadline:
                    deadline.append(time.monotonic() + self.s.settings.shrink_budget_s)
                keys = frozenset((oid, b.title) for oid, _, b in new)
                raise self._failure_type(keys)(", ".join(f"{oid} {title}" for oid, title in sorted(keys)))

        phases = [Phase.explicit, Phase.generate, Phase.shrink] if self.s.settings.examples else [Phase.explicit]
        wrapped: Any = given(
            request=requests(self.s.item, self.s.limits), scenario=scenarios(self.s.scenario_catalog, kinds, exclude)
        )(test)
        for req, scen in reversed(explicit):
            wrapped = example(request=req, scenario=scen)(wrapped)
        wrapped = hypothesis_settings(
            max_examples=max(1, self.s.settings.examples),
            derandomize=self.s.settings.derandomize,
            database=None,
            deadline=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,  # every distinct failure is shrunk, not only the first
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(wrapped)
        if self.s.settings.seed is not None and not self.s.settings.derandomize:
            wrapped = hypothesis_seed(self.s.settings.seed)(wrapped)
        try:
            wrapped()
        except (_ExampleFailed, HypothesisException, _Group):
            if not found:
                raise
        for oid, obs, b in found.values():
            self.s.record(oid, obs, b, replace=True)
        self.s.progress.phase_done()
        return set(found)

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
