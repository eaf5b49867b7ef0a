"""Phases 2 and 3: the fixed probes of the transport and polling obligations.

A probe is data an obligation carries (``checks.registry.Probe``): the runner runs each probe
the active obligations name once, in report order, and every obligation that judges the
phase's observations (its own, then C1 and C3 on every request) judges each one.

- transport: one submit of the simplest request while the probe's fault rules hold, bounded
  by ``transport_bound_s``;
- polling: the kit creates a task itself (the probe's ``rules`` hold meanwhile) and hands its
  ID to the adapter's ``wait`` while ``during`` holds, bounded by ``poll_bound_s``; so a bug in
  ``submit`` does not hide the polling ones.
"""

from __future__ import annotations

from typing import Any

from .checks import REGISTRY, Probe
from .observation import Observation
from .session import Session
from .strategies import Request, simplest


def probes(session: Session, phase: str) -> list[Probe]:
    """The probes the active obligations of ``phase`` run, each name once, in report order;
    the slow ones only when the ``slow_probes`` setting is on."""
    chosen: dict[str, Probe] = {}
    for oid in REGISTRY.of_phase(phase, session.active):
        for probe in REGISTRY[oid].probes_for(session.scenario_catalog):
            if probe.name not in chosen and (session.settings.slow_probes or not probe.slow):
                chosen[probe.name] = probe
    return list(chosen.values())


def transport(session: Session) -> None:
    s = session
    request = simplest(s.item, s.limits)
    chosen = probes(s, "transport")
    s.progress.phase(f"{REGISTRY.label('transport')} transport probes", len(chosen))
    for n, probe in enumerate(chosen, 1):
        rules = [dict(rule) for rule in probe.rules]
        s.fake.program(rules)
        s.fake.mark()
        params = request.params()
        outcome, pending = s.caller.call(lambda p=params: s.adapter.submit(p), s.settings.transport_bound_s)
        s.fake.clear_faults()
        if outcome.kind == "hung":
            s.caller.settle(outcome, pending, s.settings.transport_bound_s + 2)
        obs = Observation("transport", outcome, s.fake.since_mark(), request, probe=probe.name, rules=rules)
        _judge(s, "transport", obs, n)
    s.progress.phase_done()


def polling(session: Session) -> None:
    s = session
    chosen = probes(s, "polling")
    most = int(s.item.properties.get("imageNum", {}).get("maximum", 3))
    request = simplest(s.item, s.limits, imageNum=min(3, most))
    s.progress.phase(f"{REGISTRY.label('polling')} polling probes", len(chosen))
    for n, probe in enumerate(chosen, 1):
        obs = _poll(s, probe, request)
        _judge(s, "polling", obs, n)
    s.progress.phase_done()


def _poll(s: Session, probe: Probe, request: Request) -> Observation:
    before, during = [dict(rule) for rule in probe.rules], [dict(rule) for rule in probe.during]
    s.fake.program(before)
    task_id = s.fake.create_task(request.params())
    s.fake.program(during)
    s.fake.mark()
    outcome, pending = s.caller.call(lambda t=task_id: s.adapter.wait(t), s.settings.poll_bound_s)
    s.fake.clear_faults()
    entries = s.fake.since_mark()
    data = s.fake.task_data(task_id)  # the kit's own query, after the client's (not in entries)
    expected: Any = (
        data.get("taskMessage")
        if probe.expects == "message"
        else [list(item.get("imageUrlList", [])) for item in data.get("taskResult", [])]
    )
    if outcome.kind == "hung":
        s.fake.reset()  # forget the task: a client polling forever now gets an error
        s.caller.settle(outcome, pending, 5.0)
    return Observation(
        "polling",
        outcome,
        entries,
        request,
        probe=probe.name,
        task_id=task_id,
        expected=expected,
        rules=before + during,
    )


def _judge(s: Session, phase: str, obs: Observation, n: int) -> None:
    """Judge one probe's observation, keep its failures, and say on the progress line whether
    the probe broke an obligation of its own phase."""
    broken = s.judge(obs, REGISTRY.judging(phase, s.active))
    for oid, b in broken:
        s.record(oid, obs, b, replace=False)
    own = set(REGISTRY.of_phase(phase))
    s.progress.tick(n, f"{obs.probe}: {'broken' if any(oid in own for oid, _ in broken) else 'ok'}")
