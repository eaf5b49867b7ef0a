"""The fake's state and behaviour, free of HTTP: tasks, fault rules, the journal and the clock.

Views parse a request, call one method here and serialize what comes back; errors come out
as the typed exceptions of ``errors.py``.  Each app (and each pytest fixture) owns its own
backend: there is no module-level state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from . import render
from .cache import LruCache
from .clock import Clock
from .config import Config, ConfigError
from .errors import ApiError, InvalidInput
from .faults import ANSWER_FAULTS, FaultRule
from .fetch import ImageFetcher
from .ids import Ids
from .journal import Notes, image_note
from .latency import Latency, LatencyModel
from .ratelimit import RateLimiter, limits_from_config
from .scenes import CatalogError, Scene, SceneCatalog
from .spec import Spec, load_spec
from .storage import Storage, open_storage
from .tasks import Task
from .validation import RequestRules, SubmitItem

RESULT_PATH = re.compile(r"^/__bgmock/results/([0-9a-fA-F-]{36})/([0-9]{1,2})/([0-9]{1,2})\.(png|jpg)$")
#: Matched on the unquoted path: a user catalog's modelNum may hold any character (coverUrl quotes it).
COVER_PATH = re.compile(r"^/__bgmock/covers/(.+)\.png$", re.DOTALL)


class TransportFault(Exception):
    """Not an answer: the transport must misbehave (reset, empty reply, 502 page, ...)."""

    def __init__(self, kind: str, delay_ms: int = 0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.delay_ms = delay_ms


@dataclass
class Injected:
    """What a fired rule or a ``Prefer`` header asks for: an error code or a transport fault."""

    error: ApiError | None = None
    transport: str | None = None
    delay_ms: int = 0
    rule_id: str | None = None
    shape: str | None = None  # reshape the answer (the dispatcher applies it to the envelope)


class Backend:
    """One fake's state. Thread-safe: the store and caches carry their own locks."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        spec: Spec | None = None,
        clock: Clock | None = None,
        store: Storage | None = None,
        apply_startup_rules: bool = True,
    ) -> None:
        self.config = config or Config()
        self.spec = spec or load_spec()
        self.store: Storage = store or open_storage(self.config)
        # A shared store keeps the clock's origin and offset, so every worker reads one time.
        self.clock = clock or Clock(self.config.clock, cell=self.store.cell)
        self.ids = Ids(self._id_seed())
        try:
            self.limiter = RateLimiter(limits_from_config(self.config.rate_limits))
        except ValueError as exc:
            raise ConfigError(f"invalid configuration: rate_limits: {exc}") from None
        try:
            self.latency = LatencyModel.from_config(self.config.latency)
        except ValueError as exc:
            raise ConfigError(f"invalid configuration: latency: {exc}") from None
        try:
            self.catalog = SceneCatalog.load(self.config.catalog or self.spec.fixture("scenes.json"))
        except CatalogError as exc:  # a user's file: say which line to fix, no traceback
            raise ConfigError(f"catalog: {exc}") from None
        self.fetcher = ImageFetcher.from_config(self.config)  # None unless fetch_images is on
        # Age bound = task_ttl_s: nothing in these caches is reachable once its task is forgotten.
        self.results = LruCache(
            max_items=self.config.image_cache_items, max_bytes=self.config.image_cache_bytes,
            max_age_s=self.config.task_ttl_s, now=self.clock.now,
        )
        self.products = LruCache(
            max_bytes=self.config.product_cache_bytes, max_age_s=self.config.task_ttl_s, now=self.clock.now
        )
        self.decoded = render.DecodedProducts()
        triggers = {e.trigger.get("modelNum"): code for code, e in self.spec.errors.items()}
        self.magic_errors: dict[str, int] = {k: v for k, v in triggers.items() if k}
        self.magic_outcomes: dict[str, str] = dict(self.spec.task_outcomes)
        self.requests = self._request_rules()
        if apply_startup_rules:  # False in worker processes: the parent installed them once
            self._startup_rules()

    def _request_rules(self) -> RequestRules:
        """The request rules, given what they need: the scene IDs submit accepts (None: any)
        and a resolver for this fake's own image URLs (and downloads, under ``fetch_images``)."""
        scene_ids = None if self.config.allow_any_scene else frozenset(
            [*(s.model_num for s in self.catalog), *self.magic_errors, *self.magic_outcomes]
        )
        return RequestRules(self.spec, self.config, scene_ids=scene_ids, resolve_image=self.resolve_image_url)

    def _id_seed(self) -> int | None:
        """The configured seed; with a shared store, mixed with a per-start number from the store.

        Processes sharing a store (workers, or one process restarted on a ``--state`` file)
        must not replay each other's task IDs, which would overwrite tasks in the store.
        """
        seed = self.config.seed
        if seed is None or not self.store.shared:
            return seed
        return seed * 1_000_003 + self.store.ids.next("ids")

    # -- faults ---------------------------------------------------------------------------
    def _startup_rules(self) -> None:
        """Install the configured rules (replacing an earlier run's in a ``--state`` file)."""
        self.store.rules.install_startup(
            [FaultRule.from_json(self.spec, data, self._rule_id()) for data in self.config.faults]
        )

    def _rule_id(self) -> str:
        # From the store, so that worker processes sharing it never hand out the same ID.
        return f"rule-{self.store.ids.next('rule')}"

    def add_fault(self, data: Any) -> dict[str, Any]:
        """Validate and store a rule; returns it with its id."""
        rule = FaultRule.from_json(self.spec, data, self._rule_id())
        self.store.rules.add(rule)
        return rule.to_json()

    def faults(self) -> list[dict[str, Any]]:
        return [rule.to_json() for rule in self.store.rules.all()]

    def delete_faults(self, rule_id: str | None = None) -> int:
        return self.store.rules.delete(rule_id)

    def injected(
        self, endpoint: str, candidates: Sequence[Mapping[str, Any]], prefer: str | None
    ) -> Injected | None:
        """The fault this request gets: ``Prefer`` first, then programmed rules in order."""
        wish = self.requests.prefer(prefer)  # a value the fake cannot act on is a 700
        delay = wish.delay_ms
        if wish.code is not None:
            return Injected(error=ApiError(wish.code, INJECTED if wish.code == 700 else None), delay_ms=delay)
        if wish.transport is not None:
            return Injected(transport=wish.transport, delay_ms=delay)
        rule = self.store.rules.fire(endpoint, candidates, self.ids.chance)
        if rule is None:
            return Injected(delay_ms=delay) if delay else None
        error = None
        if rule.res_code is not None:
            detail = INJECTED if rule.res_code == 700 else None
            error = ApiError(rule.res_code, detail, message=_rule_message(self.spec, rule))
        elif rule.undocumented_code is not None:
            error = ApiError(rule.undocumented_code, message=rule.res_message or "unknown error")
        delay_ms = rule.delay_ms
        if rule.latency:  # a distribution instead of a fixed delay (checked when the rule was added)
            delay_ms = int(round(Latency.parse(rule.latency).sample(self.ids.chance())))
        return Injected(
            error=error, transport=rule.transport, delay_ms=delay_ms, rule_id=rule.id, shape=rule.shape
        )

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
        candidates = params.candidates
        notes.params = candidates
        injected = self.injected("submit", candidates, prefer)
        notes.injected = injected
        problems: InvalidInput | None = None
        items: list[SubmitItem] = []
        try:
            items = self.requests.submit(body, params)
        except InvalidInput as exc:
            # Kept without its traceback: that holds this frame, whose local would hold the
            # exception, a cycle that kept the request's body alive until a full collection.
            problems = exc.with_traceback(None)
            notes.problems = exc.problems
        else:
            # What arrived, for clients' fidelity checks: the decoded image's digest per item. Only
            # the journal shows notes, so without one the digest (~2 ms for 3 MiB) is not computed.
            if self.config.journal_size:
                notes.images = [image_note(index, item) for index, item in enumerate(items)]
        if injected is not None:
            raise_injected(injected)
        if problems is not None:
            try:
                raise problems
            finally:  # the same cycle, through the traceback of this raise
                problems = None
        for item in items:
            code = self.magic_errors.get(item.params["modelNum"])
            if code is not None:
                raise ApiError(code, INJECTED if code == 700 else None)
        return self._create_task(items, app_key)

    def _create_task(self, items: Sequence[SubmitItem], app_key: str | None) -> str:
        now = self.clock.now()
        task_id = self.ids.task_id()
        outcome, message = "finished", "success"
        for item in items:
            magic = self.magic_outcomes.get(item.params["modelNum"])
            if magic:
                outcome, message = magic, self.spec.errors[801].message if magic == "failed" else "running"
        rule = self.store.rules.fire("task", [i.params for i in items], self.ids.chance)
        if rule is not None and rule.outcome:
            outcome = rule.outcome
            message = _rule_message(self.spec, rule, default_code=801) if outcome == "failed" else "running"
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
                self.products.put((task_id, index), item.product)
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
    def query(
        self,
        body: Mapping[str, Any],
        *,
        base_url: str,
        prefer: str | None = None,
        notes: Notes | None = None,
    ) -> dict[str, Any]:
        """The ``data`` of a result query; counts a poll of the task."""
        notes = notes if notes is not None else Notes()
        try:
            params = self.requests.query(body)
        except InvalidInput as exc:
            notes.problems = exc.problems
            raise
        notes.params = [params]
        injected = self.injected("query", [params], prefer)
        notes.injected = injected
        if injected is not None:
            raise_injected(injected)
        task_id = self.requests.task_id(params)
        now = self.clock.now()
        task = self.store.tasks.get(task_id, now, poll=True)
        if task is None:
            raise InvalidInput([f"taskId: no such task {task_id} (unknown, or expired and forgotten)"])
        return self.task_view(task, now, base_url)

    def task_view(self, task: Task, now: float, base_url: str) -> dict[str, Any]:
        status = task.status(now)
        ext = "png" if self.config.result_format == "PNG" else "jpg"
        base = (self.config.public_url or base_url).rstrip("/")
        message = task.message if status in ("finished", "failed") else status
        results = []
        for index, item in enumerate(task.items):
            urls = []
            if status == "finished":
                urls = [
                    f"{base}/__bgmock/results/{task.task_id}/{index}/{n}.{ext}"
                    for n in range(int(item["imageNum"]))
                ]
            record = {k: v for k, v in item.items() if not k.startswith("_")}
            results.append({
                "imageUrlList": urls,
                "sceneTemplate": str(item["modelNum"]),
                "recordContent": json.dumps(record, ensure_ascii=False, sort_keys=True),
                "taskStatus": status,
                "taskMessage": message,
            })
        return {"taskId": task.task_id, "taskStatus": status, "taskMessage": message, "taskResult": results}

    def tasks(self, limit: int = 100) -> list[dict[str, Any]]:
        now = self.clock.now()
        return [task.to_json(now) for task in self.store.tasks.newest(now, limit)]

    # -- scenes ---------------------------------------------------------------------------
    def scene(self, model_num: str) -> Scene | None:
        """A catalog scene, or a stand-in for magic IDs and (when allowed) unknown ones."""
        found = self.catalog.get(model_num)
        if found is not None:
            return found
        if model_num in self.magic_errors or model_num in self.magic_outcomes or self.config.allow_any_scene:
            return Scene(model_num, model_num, model_num, 1, (1,), ("General Purpose",), (), ())
        return None

    def scene_query(
        self,
        body: Mapping[str, Any],
        *,
        base_url: str,
        prefer: str | None = None,
        notes: Notes | None = None,
    ) -> list[dict[str, Any]]:
        notes = notes if notes is not None else Notes()
        params = self.requests.scene_query(body)
        notes.params = [params]
        injected = self.injected("scenes", [params], prefer)
        notes.injected = injected
        if injected is not None:
            raise_injected(injected)
        scene_type = params.get("sceneType")
        if isinstance(scene_type, str):
            scene_type = {v: k for k, v in self.catalog.scene_type_names.items()}[scene_type]
        found = self.catalog.query(
            product_title=params.get("productTitle"),
            category_type=params.get("categoryType"),
            scene_type=scene_type,
            count=params.get("count", 10),
        )
        base = (self.config.public_url or base_url).rstrip("/")
        return [
            {
                "modelNum": s.model_num, "name": s.name, "sceneName": s.scene_name,
                "sceneType": s.scene_type, "sceneTypeName": self.catalog.scene_type_names.get(s.scene_type, ""),
                "categoryType": list(s.category_types), "categoryNameList": list(s.category_names),
                "coverUrl": f"{base}/__bgmock/covers/{quote(s.model_num, safe='')}.png",
            }
            for s in found
        ]

    # -- images ---------------------------------------------------------------------------
    def result_image(self, task_id: str, item: int, index: int, ext: str) -> bytes | None:
        """A result image, rendered on first fetch; None unless the task finished with it."""
        now = self.clock.now()
        task = self.store.tasks.get(task_id, now)
        if task is None or task.status(now) != "finished" or item >= len(task.items):
            return None
        params = task.items[item]
        if index >= int(params["imageNum"]):
            return None
        fmt = "PNG" if ext == "png" else "JPEG"

        def draw() -> bytes:  # not named render: that is the module
            scene = self.scene(str(params["modelNum"]))
            return render.render_result(
                width=int(params["width"]), height=int(params["height"]),
                scene=scene.as_dict() if scene else {"modelNum": params["modelNum"], "name": "", "sceneName": ""},
                # Seeded per item too: two equal items of one task still get distinct pictures.
                index=index, seed=f"{task_id}/{item}", product=self._product(task_id, item),
                need_layout=bool(params.get("needLayout", False)),
                title=params.get("productTitle") or None, fmt=fmt, decoded=self.decoded,
            )

        return self.results.get_or_make((task_id, item, index, fmt), draw)

    def product_image(self, task_id: str, item: int) -> bytes | None:
        """The image an item of a known task was submitted with (GET /__admin/tasks/<id>/products/<n>)."""
        task = self.store.tasks.get(task_id, self.clock.now())
        if task is None or item >= len(task.items):
            return None
        return self._product(task_id, item)

    def _product(self, task_id: str, item: int) -> bytes | None:
        """The item's submitted photo: this process's cache, else the store (with several workers,
        another one may have taken the submit); None draws the placeholder product."""
        found = self.products.get((task_id, item))
        if found is None:
            found = self.store.tasks.product(task_id, item)
            if found is not None:  # the task's other images are drawn from it too
                self.products.put((task_id, item), found)
        return found

    def cover(self, model_num: str) -> bytes | None:
        scene = self.catalog.get(model_num)
        if scene is None:
            return None
        return self.results.get_or_make(("cover", model_num), lambda: render.render_cover(scene.as_dict()))

    def resolve_image_url(self, url: str) -> bytes | None:
        """The fake's own images in-process; any other URL is downloaded only under
        ``fetch_images`` (fetch.py's fences apply), else left unchecked (None)."""
        local = self.resolve_local(url)
        if local is not None or self.fetcher is None:
            return local
        return self.fetcher.fetch(url)  # FetchRefused is a LookupError: a 700 naming the field

    def resolve_local(self, url: str) -> bytes | None:
        """Image bytes for a URL that points at this fake's own images (resolved in-process).

        None when the URL is not the fake's (it is then never fetched); LookupError when it is
        the fake's but there is no image there, as the real service could not download one.
        """
        if "%" not in url and "/__bgmock/" not in url:
            return None  # the common case, unsplit: without escapes, a path below /__bgmock/ shows in the URL
        parts = urlsplit(url)  # once: splitting is a good part of a URL submit's cost
        path = unquote(parts.path)
        host = (parts.hostname or "").lower()
        if host not in ("127.0.0.1", "localhost", "::1") and not (
            self.config.public_url and urlsplit(self.config.public_url).hostname == host
        ):
            return None
        if not path.startswith("/__bgmock/"):
            return None
        match = RESULT_PATH.match(path)
        if match:
            found = self.result_image(match[1], int(match[2]), int(match[3]), match[4])
            if found is None:
                raise LookupError("no such result image on this fake (unknown task, not finished, or beyond imageNum)")
            return found
        match = COVER_PATH.match(path)
        found = self.cover(match[1]) if match else None
        if found is None:
            raise LookupError("no such image on this fake")
        return found

    # -- admin ----------------------------------------------------------------------------
    def advance(self, seconds: float) -> float:
        return self.clock.advance(seconds)

    def journal(self, limit: int | None = None) -> list[dict[str, Any]]:
        return self.store.journal.newest(limit)

    def record(self, entry: dict[str, Any]) -> None:
        if self.config.journal_size:
            self.store.journal.append(entry)

    def reset(self) -> None:
        """Forget tasks, rules, the journal and caches; start-up rules and the seed apply again."""
        self.store.clear()
        self.results.clear()
        self.products.clear()
        self.clock.reset()
        self.ids.reseed(self._id_seed())
        self._startup_rules()  # the store's ID counters were cleared: start-up rules are rule-1, ... again

    #: Settings that size the store: a running fake keeps them (``reconfigure`` refuses a change).
    STORE_SETTINGS = ("journal_size", "max_tasks", "task_ttl_s")

    def reconfigure(self, config: Config) -> None:
        """Adopt other settings and start afresh, keeping this object (a running server holds it).

        The pytest plugin's session fake takes each test's marker settings this way. The spec,
        clock, ID source and store stay the same objects (the dispatcher and the caches hold
        them); every other part is taken from a backend freshly built with ``config``, so a
        part added to ``__init__`` later is rebuilt here without touching this method.
        """
        changed = [k for k in self.STORE_SETTINGS if getattr(config, k) != getattr(self.config, k)]
        if changed:
            raise ConfigError(f"{', '.join(changed)}: fixed while a fake runs (they size its store)")
        # Built on this store (no other store is opened), without touching it: reset() below
        # installs the start-up rules. Raises ConfigError before anything here changes.
        fresh = Backend(config, spec=self.spec, clock=self.clock, store=self.store, apply_startup_rules=False)
        kept = {"spec", "clock", "ids", "store"}
        vars(self).update({name: part for name, part in vars(fresh).items() if name not in kept})
        self.requests = self._request_rules()  # fresh's would resolve image URLs through fresh
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
            "scenes": len(self.catalog),
            "signatures": bool(self.config.app_keys),
            "strict": self.config.strict,
            **stats,
            "imageCache": len(self.results),
            "imageCacheStats": self.results.stats(),
            "productCacheStats": self.products.stats(),
        }


#: The detail of a 700 that was asked for rather than earned (no field is at fault).
INJECTED = "injected by bgmock (no field of this request is at fault)"


def raise_injected(injected: Injected) -> None:
    """Turn a fault decision into the exception the transport layer answers with.

    Faults that carry the real answer (``ANSWER_FAULTS``) raise nothing: the request goes on
    and the dispatcher hands its answer to the transport to cut short or send slowly.
    """
    if injected.transport in ANSWER_FAULTS:
        return
    if injected.transport:
        raise TransportFault(injected.transport, injected.delay_ms)
    if injected.error is not None:
        # A new exception each time: the stored one, raised, would carry a traceback whose
        # frames hold ``injected`` and so itself, a cycle that kept the request alive until a
        # full collection.
        stored = injected.error
        error = ApiError(stored.res_code, stored.detail, message=stored.message, delay_ms=injected.delay_ms)
        try:
            raise error
        finally:
            del error


def _rule_message(spec: Spec, rule: FaultRule, default_code: int = 0) -> str | None:
    code = rule.res_code or default_code
    if rule.res_message is None:
        return spec.errors[code].message if default_code else None
    if code == 700:
        return f"{spec.errors[700].message}: {rule.res_message}"
    return rule.res_message
