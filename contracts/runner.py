"""Run the obligations against one adapter over a live fake.

Three phases, each run when an active obligation of ``checks.REGISTRY`` belongs to it, each
feeding observations to the checks of the obligations that judge it:

1. **examples** (``search.py``; C1-C8): a Hypothesis search over valid requests and the server
   scenarios the active obligations name, each distinct failure shrunk to a minimal example;
2. **transport probes** (``probing.py``; C9): one submit per probe, bounded by ``transport_bound_s``;
3. **polling probes** (``probing.py``; C10-C12, only when the adapter has ``wait``): tasks the
   kit creates, with the probes' faults on the query.

Every distinct failure is kept and reported (not only the first of an obligation), so one bug
does not hide another. Nothing here names an obligation: what each needs is in its registration.

The kit starts its own fake (127.0.0.1, signatures on with a fresh key pair, tasks finishing
on their ``polls_to_finish``-th poll, hangs bounded by the C9 bound) unless given a base URL.
Every adapter call runs in a worker thread joined with a bound (``calls.py``), so a client
that hangs costs one bound, not the run.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockserver.parsing import parse_base_url
from mockserver.spec import Spec, load_spec

from . import probing
from .adapter import AdapterFactory, build_adapter, close, has_wait
from .calls import Caller
from .checks import PHASES, REGISTRY, Context
from .fake import Fake, FakeError
from .report import Progress, Result
from .scenarios import Catalog
from .search import Search
from .session import Session
from .settings import Settings, SettingsError
from .strategies import ItemSchema, Limits

#: How each phase runs, given the session and the IDs of the obligations judging its observations.
PHASE_RUNS: dict[str, Callable[[Session, list[str]], None]] = {
    "example": lambda session, ids: Search(session).run(ids),
    "transport": lambda session, _ids: probing.transport(session),
    "polling": lambda session, _ids: probing.polling(session),
}
#: What a phase needs of the adapter beyond ``submit``: the method, and the skip reason without it.
PHASE_NEEDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "polling": (has_wait, "the adapter has no wait(task_id)"),
}


@dataclass
class Run:
    """One kit run: where the fake is, the adapter factory, the settings."""

    factory: AdapterFactory
    settings: Settings
    base_url: str | None = None
    app_key: str | None = None
    app_secret: str | None = None
    admin_token: str | None = None
    progress: Progress = field(default_factory=Progress)

    def execute(self) -> Result:
        started = time.perf_counter()
        # ``only`` checked against the registry before anything starts; empty means every obligation
        self.settings = dataclasses.replace(self.settings, only=REGISTRY.resolve(self.settings.only))
        if self.base_url is not None:  # checked before anything starts, as the settings are
            try:
                self.base_url = parse_base_url(self.base_url, "base_url")
            except ValueError as exc:
                raise SettingsError(str(exc)) from None
        elif self.admin_token is not None:
            raise SettingsError("admin_token: needs base_url (the fake the kit starts has no admin token)")
        live = None
        if self.base_url is None:
            from mockserver.testing.live import LiveServer

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
        fake = Fake(
            self.base_url, app_key=self.app_key or "", app_secret=self.app_secret or "", admin_token=self.admin_token
        )
        config = self._fake_config(fake)
        spec = load_spec()
        catalog = Catalog.from_spec(spec.errors)
        ctx = self._context(catalog, config, spec)
        scenario_catalog = self._scenario_catalog(catalog)
        item = ItemSchema.read(spec.schema("submit-request-item.json"), spec.schema("submit-request-item.strict.json"))
        limits = Limits.from_config(config, fake.scene_ids())
        fake.clear_faults()
        adapter = build_adapter(self.factory, self.base_url, self.app_key or "", self.app_secret or "")
        session = Session(
            self.settings,
            fake,
            Caller(adapter),
            ctx,
            catalog,
            scenario_catalog,
            item,
            limits,
            self.progress,
            active=self.settings.only,
        )
        self.progress.start(self.base_url, self.settings)
        try:
            self._phases(session)
        finally:
            close(adapter)
            fake.clear_faults()
        return self._result(session, started)

    def _fake_config(self, fake: Fake) -> dict[str, Any]:
        """The fake's settings; a FakeError when it checks signatures and the kit has no key pair for it."""
        config = fake.config()
        if config.get("app_keys") and not self.app_key:
            raise FakeError(
                f"the fake at {self.base_url} requires signatures (it has app keys): pass one key pair it "
                "accepts with --app-key and --app-secret (app_key=/app_secret= from Python)"
            )
        return config

    def _context(self, catalog: Catalog, config: dict[str, Any], spec: Spec) -> Context:
        """What every check judges by: the settings, the documented codes, the fake's settings, the schemas."""
        return Context(
            settings=self.settings,
            catalog=catalog,
            signatures=bool(config.get("app_keys")),
            item_schema=spec.schema("submit-request-item.json"),
            signing_validator=spec.validator("signing-params.json"),
            hang_s=float(config["hang_s"]) if isinstance(config.get("hang_s"), (int, float)) else None,
        )

    def _result(self, session: Session, started: float) -> Result:
        """The verdicts, with a note of the adapter calls that never returned."""
        if session.caller.abandoned:
            session.notes.append(
                f"{session.caller.abandoned} adapter call(s) never returned and were abandoned; "
                "requests they sent later may appear in later observations"
            )
        result = Result(
            session.verdicts(),
            self.settings,
            time.perf_counter() - started,
            self.base_url,
            session.notes,
            client_elapsed=session.caller.client_s,
        )
        self.progress.done(result)
        return result

    def _phases(self, session: Session) -> None:
        """Each phase an active obligation belongs to, in order; one the adapter cannot serve
        leaves its obligations not applicable, saying why."""
        for phase in PHASES:
            own = REGISTRY.of_phase(phase, session.active)
            if not own:
                continue
            need = PHASE_NEEDS.get(phase)
            if need is not None and not need[0](session.adapter):
                for oid in own:
                    session.tallies[oid].skip = need[1]
                continue
            PHASE_RUNS[phase](session, REGISTRY.judging(phase, session.active))

    def _scenario_catalog(self, catalog: Catalog) -> Catalog:
        """The codes the scenarios and probes use (``codes``); the checks keep the whole catalog."""
        if not self.settings.codes:
            return catalog
        unknown = [c for c in self.settings.codes if c not in catalog.codes]
        if unknown:
            raise SettingsError(
                f"codes: {', '.join(map(str, unknown))} not documented; "
                f"use some of {', '.join(map(str, catalog.codes))}"
            )
        return catalog.restricted(self.settings.codes)


def run(  # noqa: PLR0913 - Run's fields, keyword-only: the kit's public entry point from Python
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
