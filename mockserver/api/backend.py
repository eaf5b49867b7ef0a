"""The fake's state and behaviour, free of HTTP: submit, query, scenes, tasks, images, admin.

The routes (``routes/``) parse a request, call one method here and shape what comes back with
``answers/`` (envelopes, views, URLs); errors come out as the typed exceptions of
``errors.py``. Request rules are ``validation/``'s, fault decisions ``faults/``'s, state lives
in ``storage/``. Each app (and each pytest fixture) owns its own backend: there is no
module-level state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..answers.views import scene_views, task_view
from ..clock import Clock
from ..config import Config, ConfigError
from ..errors import InvalidInput
from ..faults import Injector, injected_error, raise_injected
from ..ids import Ids
from ..journal import Notes, Pending, image_note
from ..scenes import Scene
from ..spec import load_spec
from ..storage import open_storage
from ..tasks import Task
from ..validation import RequestRules, SubmitItem, SubmitParams
from .images import Images
from .parts import Parts

if TYPE_CHECKING:  # annotations only: the parts are built in parts.py
    from ..cache import LruCache
    from ..faults import Injected
    from ..latency import LatencyModel
    from ..ratelimit import RateLimiter
    from ..scenes import SceneCatalog
    from ..spec import Spec
    from ..storage import Storage


class Backend:
    """One fake's state. Thread-safe: the store and caches carry their own locks."""

    #: Settings that size the store: a running fake keeps them (``reconfigure`` refuses a change).
    STORE_SETTINGS = ("journal_size", "max_tasks", "task_ttl_s")

    def __init__(  # noqa: PLR0913 - keyword-only after config, each with its default
        self,
        config: Config | None = None,
        *,
        spec: Spec | None = None,
        clock: Clock | None = None,
        store: Storage | None = None,
        apply_startup_rules: bool = True,
        startup_owner: str | None = None,
    ) -> None:
        config = config or Config()
        self.spec = spec or load_spec()
        self.store: Storage = store or open_storage(config)
        # A shared store keeps the clock's origin and offset, so every worker reads one time.
        self.clock = clock or Clock(config.clock, cell=self.store.cell)
        self.config = config
        self.ids = Ids(self._id_seed())
        self.injector = Injector(self.spec, self.store, self.ids.chance)
        #: Whose start-up rules this backend installs (at start and on reset): this fake's, named
        #: by a start number no other start on the store got; ``--workers`` hand theirs the parent's.
        self.startup_owner = startup_owner or f"start {self.store.ids.start()}"
        #: Requests being answered, not journaled yet (the dispatcher counts; the journal's reader reads).
        self.pending = Pending()
        self._adopt(Parts.build(config, self.spec, self.clock))
        #: Start-up rules a sibling fake on the same shared store had installed, unlike this
        #: start's, that this start replaced (``Injector.install_startup``); the start says so.
        self.replaced_startup: list[dict[str, Any]] = []
        if apply_startup_rules:  # False in worker processes (the parent installed them once) and in
            self.install_startup_rules()  # bgmock serve, which installs them once it can take them back

    def _adopt(self, parts: Parts) -> None:
        """Use ``parts`` (and their config) from now on, with the request rules and images made
        on them: what ``__init__`` and ``reconfigure`` both do."""
        self.parts = parts
        self.config = parts.config
        self.images = Images(parts, self.store, self.clock, self.scene)
        # The request rules, given what they need: the scene IDs submit accepts (None: any) and
        # a resolver for this fake's own image URLs (and downloads, under ``fetch_images``).
        self.requests = RequestRules(
            self.spec, parts.config, scene_ids=parts.scene_ids(), resolve_image=self.images.resolve_url
        )

    # The parts others read (the dispatcher: limiter, latency; tests: the caches).
    @property
    def limiter(self) -> RateLimiter:
        return self.parts.limiter

    @property
    def latency(self) -> LatencyModel:
        return self.parts.latency

    @property
    def catalog(self) -> SceneCatalog:
        return self.parts.catalog

    @property
    def results(self) -> LruCache:
        return self.parts.results

    @property
    def products(self) -> LruCache:
        return self.parts.products

    def _id_seed(self) -> int | None:
        """The configured seed; with a shared store, mixed with a per-start number from the store.

        Processes sharing a store (workers, or one process restarted on a ``--state`` file)
        must not replay each other's task IDs, which would overwrite tasks in the store.
        """
        seed = self.config.seed
        if seed is None or not self.store.shared:
            return seed
        return seed * 1_000_003 + self.store.ids.start()

    # -- faults (faults/decision.py decides) -------------------------------------------------
    def add_fault(self, data: Any) -> dict[str, Any]:
        """Validate and store a rule; returns it with its id."""
        return self.injector.add(data)

    def faults(self) -> list[dict[str, Any]]:
        return self.injector.all()

    def delete_faults(self, rule_id: str | None = None) -> int:
        return self.injector.delete(rule_id)

    def injected(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], prefer: str | None
    ) -> Injected | None:
        """The fault this request gets: ``Prefer`` first (a value the fake cannot act on is a
        700), then programmed rules in order."""
        return self.injector.decide(endpoint, candidates, self.requests.prefer(prefer))

    def _faulted(self, endpoint: str, candidates: Sequence[Mapping[str, Any]], prefer: str | None,
                 notes: Notes, problems: Sequence[str] = ()) -> Injected | None:
        """``injected``, noted for the journal. A ``Prefer`` the fake cannot act on is a 700 that
        lists its problems after the body's (``problems``): every problem of the request at once."""
        try:
            injected = self.injected(endpoint, candidates, prefer)
        except InvalidInput as exc:
            raise self._invalid(notes, [*problems, *exc.problems]) from None
        notes.injected = injected
        return injected

    def prefer_problems(self, prefer: str | None) -> list[str]:
        """What a ``Prefer`` header breaks, for a request refused for its body anyway."""
        try:
            self.requests.prefer(prefer)
        except InvalidInput as exc:
            return exc.problems
        return []

    @staticmethod
    def _invalid(notes: Notes, problems: list[str]) -> InvalidInput:
        """The 700 listing ``problems``, noted for the journal."""
        notes.problems = problems
        return InvalidInput(problems)

    def rate_limited(self, endpoint: str, app_key: str | None) -> str | None:
        """Take a token from each bucket that applies; the exhausted limit described, or None."""
        if not self.limiter:
            return None
        limit = self.limiter.check(self.store.buckets, endpoint, app_key, self.clock.now())
        return None if limit is None else limit.describe()

    # -- submit ---------------------------------------------------------------------------
    def submit(
        self,
        body: Mapping[str, Any],
        *,
        prefer: str | None = None,
        app_key: str | None = None,
        notes: Notes | None = None,
    ) -> str:
        """Validate a submit body and create its task; returns the task ID.

        Order: injected faults win over validation (so a test can force a code whatever it
        sends), validation over magic scene IDs; the validation outcome is noted either way.
        """
        notes = notes if notes is not None else Notes()
        params = self.requests.submit_params(body)  # once: rules match on it, validation checks it
        notes.params = params.candidates
        # The problems alone are kept, not the exception: its traceback would hold a frame whose
        # local held the exception, a cycle that kept the request's body alive until a full collection.
        problems, items = self._checked_items(body, params, notes)
        injected = self._faulted("submit", params.candidates, prefer, notes, problems)
        if injected is not None:
            raise_injected(injected)
        if problems:
            raise InvalidInput(problems)
        for item in items:
            code = self.parts.magic_errors.get(item.params["modelNum"])
            if code is not None:
                raise injected_error(code)
        return self._create_task(items, app_key)

    def _checked_items(
        self, body: Mapping[str, Any], params: SubmitParams, notes: Notes
    ) -> tuple[list[str], list[SubmitItem]]:
        """A submit's problems, or its validated items (the journal notes either)."""
        try:
            items = self.requests.submit(body, params)
        except InvalidInput as exc:
            notes.problems = exc.problems
            return exc.problems, []
        # What arrived, for clients' fidelity checks: the decoded image's digest per item. Only
        # the journal shows notes, so without one the digest (~2 ms for 3 MiB) is not computed.
        if self.config.journal_size:
            notes.images = [image_note(index, item) for index, item in enumerate(items)]
        return [], items

    def _create_task(self, items: Sequence[SubmitItem], app_key: str | None) -> str:
        now = self.clock.now()
        task_id = self.ids.task_id()
        outcome, message = "finished", "success"
        for item in items:
            magic = self.parts.magic_outcomes.get(item.params["modelNum"])
            if magic:
                outcome, message = magic, self.spec.errors[801].message if magic == "failed" else "running"
        ruled = self.injector.task_outcome([i.params for i in items])
        if ruled is not None:
            outcome, message = ruled
        recorded = []
        for index, item in enumerate(items):
            if "imgBase64" in item.params:  # the image last, as its size: the task keeps no base64
                params = {k: v for k, v in item.params.items() if k != "imgBase64"}
                params["imgBase64"] = f"<{len(item.product or b'')} bytes>"
            else:
                params = dict(item.params)
            if item.image is not None:
                params["_image"] = {"format": item.image.format, "width": item.image.width, "height": item.image.height}
            recorded.append(params)
            if item.product is not None:  # before the task: whoever sees the task finds its product
                self.parts.products.put((task_id, index), item.product)
                self.store.tasks.put_product(task_id, index, item.product)
        cfg = self.config
        task = Task(
            task_id=task_id, created=now, items=recorded, sources=[i.source for i in items],
            outcome=outcome, message=message, progression=cfg.progression,
            duration=cfg.task_duration, polls_to_finish=cfg.polls_to_finish, app_key=app_key,
        )
        self.store.tasks.put(task, now)
        return task_id

    # -- result query ---------------------------------------------------------------------
    def poll(
        self,
        body: Mapping[str, Any],
        *,
        prefer: str | None = None,
        notes: Notes | None = None,
    ) -> tuple[Task, float]:
        """The task a result query names and the time it is seen at; counts a poll of it.
        (``answers.views.task_view`` shapes the answer.)"""
        notes = notes if notes is not None else Notes()
        try:
            params = self.requests.query(body)
        except InvalidInput as exc:
            raise self._invalid(notes, [*exc.problems, *self.prefer_problems(prefer)]) from None
        notes.params = [params]
        injected = self._faulted("query", [params], prefer, notes)
        if injected is not None:
            raise_injected(injected)
        task_id = self.requests.task_id(params)
        now = self.clock.now()
        task = self.store.tasks.get(task_id, now, poll=True)
        if task is None:
            raise InvalidInput([f"taskId: no such task {task_id} (unknown, or expired and forgotten)"])
        return task, now

    def query(self, body: Mapping[str, Any], *, base_url: str, prefer: str | None = None,
              notes: Notes | None = None) -> dict[str, Any]:
        """The ``data`` of a result query, as the route answers it (``poll``, then the view)."""
        task, now = self.poll(body, prefer=prefer, notes=notes)
        return task_view(task, now, self.config, base_url)

    def tasks(self, limit: int = 100) -> list[dict[str, Any]]:
        now = self.clock.now()
        return [task.to_json(now) for task in self.store.tasks.newest(now, limit)]

    # -- scenes ---------------------------------------------------------------------------
    def scene(self, model_num: str) -> Scene | None:
        """A catalog scene, or a stand-in for magic IDs and (when allowed) unknown ones."""
        parts = self.parts
        found = parts.catalog.get(model_num)
        if found is not None:
            return found
        if model_num in parts.magic_errors or model_num in parts.magic_outcomes or parts.config.allow_any_scene:
            return Scene(model_num, model_num, model_num, 1, (1,), ("General Purpose",), (), ())
        return None

    def find_scenes(
        self,
        body: Mapping[str, Any],
        *,
        prefer: str | None = None,
        notes: Notes | None = None,
    ) -> list[Scene]:
        """The scenes a scene query finds, best first (``answers.views.scene_views`` shapes them)."""
        notes = notes if notes is not None else Notes()
        try:
            params = self.requests.scene_query(body)
        except InvalidInput as exc:
            raise self._invalid(notes, [*exc.problems, *self.prefer_problems(prefer)]) from None
        notes.params = [params]
        injected = self._faulted("scenes", [params], prefer, notes)
        if injected is not None:
            raise_injected(injected)
        catalog = self.parts.catalog
        scene_type = params.get("sceneType")
        if isinstance(scene_type, str):
            scene_type = {v: k for k, v in catalog.scene_type_names.items()}[scene_type]
        return list(catalog.query(
            product_title=params.get("productTitle"),
            category_type=params.get("categoryType"),
            scene_type=scene_type,
            count=params.get("count", 10),
        ))

    def scene_query(self, body: Mapping[str, Any], *, base_url: str, prefer: str | None = None,
                    notes: Notes | None = None) -> list[dict[str, Any]]:
        """The ``data`` of a scene query, as the route answers it (``find_scenes``, then the view)."""
        found = self.find_scenes(body, prefer=prefer, notes=notes)
        return scene_views(found, self.parts.catalog.scene_type_names, self.config, base_url)

    # -- images (api/images.py) -----------------------------------------------------------
    def result_image(self, task_id: str, item: int, index: int, ext: str) -> bytes | None:
        """A result image, rendered on first fetch; None unless the task finished with it."""
        return self.images.result(task_id, item, index, ext)

    def cover(self, model_num: str) -> bytes | None:
        return self.images.cover(model_num)

    def product_image(self, task_id: str, item: int) -> bytes | None:
        """The image an item was submitted with (the dashboard's thumbnail); None if unknown."""
        return self.images.product(task_id, item)

    def resolve_image_url(self, url: str) -> bytes | None:
        return self.images.resolve_url(url)

    # -- admin ----------------------------------------------------------------------------
    def advance(self, seconds: float) -> float:
        return self.clock.advance(seconds)

    def journal(self, limit: int | None = None) -> list[dict[str, Any]]:
        return self.store.journal.newest(limit)

    def record(self, entry: dict[str, Any]) -> None:
        if self.config.journal_size:
            self.store.journal.append(entry)

    def reset(self) -> None:
        """Forget tasks, rules, the journal and caches; start-up rules and the seed apply again
        (owned, on a shared store, by every fake that owned the same ones before: ``share_startup``)."""
        before = self.injector.startup_in_force()
        self.store.clear()
        self.parts.results.clear()
        self.parts.products.clear()
        self.clock.reset()
        self.ids.reseed(self._id_seed())
        # The store's ID counters were cleared: start-up rules are rule-1, ... again.
        self.injector.install_startup(self.config.faults, self.startup_owner)
        self.injector.share_startup(before)

    def install_startup_rules(self) -> list[dict[str, Any]]:
        """Install this fake's start-up rules as its own (``Injector.install_startup``); returns,
        and keeps as ``replaced_startup``, the different ones of a sibling that they replaced."""
        self.replaced_startup = self.injector.install_startup(self.config.faults, self.startup_owner)
        return self.replaced_startup

    def withdraw_startup_rules(self) -> list[dict[str, Any]]:
        """At the fake's stop: take it off the owners of the start-up rules on a shared store;
        those it was the last owner of are deleted (the fakes left on it stop injecting them),
        and returned. A fake without start-up rules of its own owns none: no call at all."""
        if not (self.store.shared and self.config.faults):
            return []
        return self.injector.withdraw_startup(self.startup_owner)

    def reconfigure(self, config: Config) -> None:
        """Adopt other settings and start afresh, keeping this object (a running server holds it).

        The pytest plugin's session fake takes each test's marker settings this way. The spec,
        clock, ID source and store stay the same objects (the dispatcher and the caches hold
        them); every part made from the settings (``api/parts.py``) is built anew from
        ``config`` first, so a bad setting raises ConfigError before anything here changes.
        """
        changed = [k for k in self.STORE_SETTINGS if getattr(config, k) != getattr(self.config, k)]
        if changed:
            raise ConfigError(f"{', '.join(changed)}: fixed while a fake runs (they size its store)")
        self._adopt(Parts.build(config, self.spec, self.clock))
        self.clock.mode = config.clock
        self.reset()

    def health(self) -> dict[str, Any]:
        """Liveness and sizes; ``status`` is ``down`` (HTTP 503) while a shared store's engine is."""
        engine = self.store.engine  # "redis" for the Redis store
        try:
            now = self.clock.now()
            stats = self.store.stats(now)
        except self.store.unavailable as exc:
            return {"status": "down", engine or "store": "down", "error": str(exc)}
        return {
            "status": "ok",
            **({engine: "up"} if engine else {}),
            "clock": round(now, 3),
            "scenes": len(self.parts.catalog),
            "signatures": bool(self.config.app_keys),
            "strict": self.config.strict,
            **stats,
            "imageCache": len(self.parts.results),
            "imageCacheStats": self.parts.results.stats(),
            "productCacheStats": self.parts.products.stats(),
        }
