"""The one registry of obligations: each carries everything the runner needs to know about it.

An obligation is registered by name with its check function, the way Schemathesis registers
checks (``@schemathesis.check``): besides its ID, title and summary it says which phase of
the run produces its observations (``example``, ``transport`` or ``polling``), which other
phases' observations it also judges, the scenario kinds it needs (examples) and the probes it
runs (transport, polling). The runner and the scenarios derive everything from here, so a new
obligation is one decorated function in one file (docs/contracts.md, "Adding an obligation").

A check looks at one :class:`~contracts.observation.Observation` and either returns (kept for
this example), raises :class:`Skip` (it says nothing about this example) or raises
:class:`Broken` with a short title and the reason in words. The checks never talk to the fake
or the client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..observation import Observation
from ..scenarios import KINDS, Catalog
from ..settings import Settings, SettingsError

#: The run's phases, in the order the runner runs them.
PHASES = ("example", "transport", "polling")

Rule = Mapping[str, Any]  # one fault rule (schemas/fault-rule.json)


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


@dataclass(frozen=True, eq=False)
class Probe:
    """One fixed probe of the transport or polling phase, as fault rules.

    transport: ``rules`` hold while the kit's one submit runs. polling: ``rules`` hold while
    the kit creates the task, ``during`` while the client polls it; ``expects`` says what the
    observation's ``expected`` is (``urls``: each item's imageUrlList; ``message``: the failed
    task's taskMessage). A ``slow`` probe costs the client's own full limit: it is left out
    when the ``slow_probes`` setting is off (the smoke profile).
    """

    name: str
    rules: tuple[Rule, ...] = ()
    during: tuple[Rule, ...] = ()
    slow: bool = False
    expects: str = "urls"


#: An obligation's probes: fixed, or drawn from the codes the run uses (the ``codes`` setting).
Probes = Sequence[Probe] | Callable[[Catalog], Sequence[Probe]]


@dataclass(frozen=True)
class Obligation:
    """One obligation and what it needs from the run."""

    id: str
    title: str
    summary: str
    check: Check
    phase: str = "example"  # the phase that runs for it
    also: tuple[str, ...] = ()  # other phases whose observations it judges too (C1, C3: every request)
    kinds: tuple[str, ...] = ()  # example phase: the scenario kinds it needs (scenarios.KINDS)
    probes: Probes = ()  # transport and polling phases: the probes it runs

    @property
    def phases(self) -> tuple[str, ...]:
        """Every phase whose observations this obligation judges."""
        return (self.phase, *self.also)

    def probes_for(self, catalog: Catalog) -> list[Probe]:
        return list(self.probes(catalog) if callable(self.probes) else self.probes)


class Registry(dict[str, Obligation]):
    """Obligation ID -> Obligation, in report order: by number (C2 before C10), whatever order
    the modules that register them are imported in."""

    def register(self, entry: Obligation) -> Obligation:
        """Add ``entry``; a ValueError for a second registration or a need no phase can meet."""
        if entry.id in self:
            raise ValueError(f"obligation {entry.id} registered twice")
        if entry.phase not in PHASES or any(p not in PHASES for p in entry.also):
            raise ValueError(f"obligation {entry.id}: phases are {', '.join(PHASES)}")
        unknown = [k for k in entry.kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"obligation {entry.id}: unknown scenario kind(s) {unknown}; use some of {KINDS}")
        if entry.phase == "example" and not entry.kinds:
            raise ValueError(f"obligation {entry.id}: an example obligation names the scenario kinds it needs")
        if entry.phase != "example" and not entry.probes:
            raise ValueError(f"obligation {entry.id}: a {entry.phase} obligation names the probes it runs")
        entries = sorted([*self.values(), entry], key=lambda e: _number_order(e.id))
        self.clear()
        self.update((e.id, e) for e in entries)
        return entry

    def unregister(self, obligation_id: str) -> None:
        """Forget an obligation (a test's throwaway one)."""
        del self[obligation_id]

    def of_phase(self, phase: str, among: Iterable[str] | None = None) -> list[str]:
        """The IDs whose own phase is ``phase`` (only those in ``among``, when given), in order."""
        chosen = set(self if among is None else among)
        return [oid for oid, entry in self.items() if entry.phase == phase and oid in chosen]

    def judging(self, phase: str, among: Iterable[str]) -> list[str]:
        """The IDs in ``among`` that judge ``phase``'s observations: its own first, then the others."""
        chosen = set(among)
        own = self.of_phase(phase, chosen)
        return own + [oid for oid, e in self.items() if oid in chosen and oid not in own and phase in e.also]

    def label(self, phase: str) -> str:
        """``C1-C8``: the span of the phase's obligations, for progress lines."""
        ids = self.of_phase(phase)
        return ids[0] if len(ids) == 1 else f"{ids[0]}-{ids[-1]}" if ids else phase

    def resolve(self, only: Sequence[str]) -> tuple[str, ...]:
        """The ``only`` setting made concrete: every obligation when empty; a SettingsError
        naming any ID not registered."""
        if not only:
            return tuple(self)
        unknown = [o for o in only if o not in self]
        if unknown:
            raise SettingsError(
                f"only: unknown obligation(s) {', '.join(unknown)}; use IDs {', '.join(self)}"
            )
        return tuple(only)


def _number_order(obligation_id: str) -> tuple[str, int, str]:
    """``C10`` -> ("C", 10, "C10"): IDs sort by their number, not as text."""
    found = re.fullmatch(r"([^0-9]*)([0-9]+)", obligation_id)
    if found is None:
        return (obligation_id, -1, obligation_id)
    return (found.group(1), int(found.group(2)), obligation_id)


#: The one registry.
REGISTRY = Registry()


def obligation(  # noqa: PLR0913 - Obligation's fields, as the decorator heading each check names them
    id: str,  # noqa: A002 - the obligation's ID, as the report names it
    title: str,
    summary: str,
    *,
    phase: str = "example",
    also: tuple[str, ...] = (),
    kinds: tuple[str, ...] = (),
    probes: Probes = (),
) -> Callable[[Check], Check]:
    """Register the decorated check as obligation ``id`` (see :class:`Obligation`)."""

    def register(func: Check) -> Check:
        REGISTRY.register(Obligation(id, title, summary, func, phase, also, kinds, probes))
        return func

    return register


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
