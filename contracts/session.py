"""One kit run's shared state: what the phases use (fake, adapter, context) and what each
obligation has seen so far (its tally), turned into verdicts at the end.

The phases (``search.py`` for examples, ``probing.py`` for the fixed probes) feed
observations to ``judge`` and keep failures with ``record``; ``runner.py`` builds the session
and runs the phases the active obligations need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .calls import Caller
from .checks import REGISTRY, Broken, Context, Skip, judge
from .fake import Fake
from .observation import Observation, evidence
from .report import Failure, Progress, Verdict
from .scenarios import Catalog
from .settings import Settings
from .strategies import ItemSchema, Limits

#: A failure's identity: (obligation ID, the Broken's title). Titles name a kind of failure in
#: stable words (no task IDs or timings), so the same bug on another input has the same key.
Key = tuple[str, str]


@dataclass
class Found:
    """The latest (after shrinking: the smallest) failing observation of one failure."""

    observation: Observation
    broken: Broken


@dataclass
class Tally:
    """What one obligation has seen: observations judged, why it was last skipped, its failures."""

    judged: int = 0
    skip: str = ""
    failures: dict[str, Found] = field(default_factory=dict)  # Broken title -> evidence, first found first


@dataclass
class Session:
    """Everything the phases share within one run (``active``: the obligations checked)."""

    settings: Settings
    fake: Fake
    caller: Caller
    ctx: Context
    catalog: Catalog  # every documented code: what the checks judge by
    scenario_catalog: Catalog  # the codes the scenarios and probes use (the ``codes`` setting)
    item: ItemSchema
    limits: Limits
    progress: Progress
    active: tuple[str, ...]
    tallies: dict[str, Tally] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    hung: set[tuple[str, bool]] = field(default_factory=set)  # (scenario kind, retryable) a call hung on

    def __post_init__(self) -> None:
        self.tallies = {oid: Tally() for oid in self.active}

    @property
    def adapter(self) -> Any:
        return self.caller.adapter

    def judge(self, obs: Observation, ids: tuple[str, ...] | list[str]) -> list[tuple[str, Broken]]:
        """Run these obligations' checks on ``obs``: the failures, each with its obligation."""
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

    def record(self, oid: str, obs: Observation, broken: Broken, *, replace: bool) -> None:
        """Keep this failure's evidence: the first seen of its kind, or (``replace``, while
        shrinking) the latest, which Hypothesis's final replay makes the smallest."""
        failures = self.tallies[oid].failures
        if broken.title not in failures or replace:
            failures[broken.title] = Found(obs, broken)

    def known(self) -> set[Key]:
        return {(oid, title) for oid, tally in self.tallies.items() for title in tally.failures}

    def verdicts(self) -> list[Verdict]:
        """One verdict per active obligation, in report order."""
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
