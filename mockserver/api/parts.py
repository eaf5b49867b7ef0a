"""What a fake builds from its settings: limits, latency, the scene catalog, caches, magic IDs.

``Parts.build`` makes them all from one ``Config`` or raises ``ConfigError`` before anything
is used, so ``Backend.reconfigure`` can adopt a new set whole (a part added here is rebuilt
there without touching it) while the spec, clock, IDs and store stay the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import render
from ..cache import LruCache
from ..clock import Clock
from ..config import Config, ConfigError
from ..fetch import ImageFetcher
from ..latency import LatencyModel
from ..ratelimit import RateLimiter, limits_from_config
from ..scenes import CatalogError, SceneCatalog
from ..spec import Spec


@dataclass(frozen=True)
class Parts:
    """The settings-made parts of one fake (see the module's docstring)."""

    config: Config
    limiter: RateLimiter
    latency: LatencyModel
    catalog: SceneCatalog
    fetcher: ImageFetcher | None  # None unless fetch_images is on
    results: LruCache  # rendered result images and covers
    products: LruCache  # submitted product photos, by (task, item)
    decoded: render.DecodedProducts
    magic_errors: dict[str, int]  # modelNum -> the resCode a submit naming it gets
    magic_outcomes: dict[str, str]  # modelNum -> the outcome of a task naming it

    @classmethod
    def build(cls, config: Config, spec: Spec, clock: Clock) -> Parts:
        """Every part from ``config``; a bad setting is a ConfigError naming it, no traceback."""
        try:
            limiter = RateLimiter(limits_from_config(config.rate_limits))
        except ValueError as exc:
            raise ConfigError(f"invalid configuration: rate_limits: {exc}") from None
        try:
            latency = LatencyModel.from_config(config.latency)
        except ValueError as exc:
            raise ConfigError(f"invalid configuration: latency: {exc}") from None
        try:
            catalog = SceneCatalog.load(config.catalog or spec.fixture("scenes.json"))
        except CatalogError as exc:  # a user's file: say which line to fix, no traceback
            raise ConfigError(f"catalog: {exc}") from None
        triggers = {e.trigger.get("modelNum"): code for code, e in spec.errors.items()}
        return cls(
            config=config, limiter=limiter, latency=latency, catalog=catalog,
            fetcher=ImageFetcher.from_config(config),
            # Age bound = task_ttl_s: nothing in these caches is reachable once its task is forgotten.
            results=LruCache(
                max_items=config.image_cache_items, max_bytes=config.image_cache_bytes,
                max_age_s=config.task_ttl_s, now=clock.now,
            ),
            products=LruCache(max_bytes=config.product_cache_bytes, max_age_s=config.task_ttl_s, now=clock.now),
            decoded=render.DecodedProducts(),
            magic_errors={k: v for k, v in triggers.items() if k},
            magic_outcomes=dict(spec.task_outcomes),
        )

    def scene_ids(self) -> frozenset[str] | None:
        """The scene IDs a submit may name (None: any): the catalog's and the magic ones."""
        if self.config.allow_any_scene:
            return None
        return frozenset([*(s.model_num for s in self.catalog), *self.magic_errors, *self.magic_outcomes])
