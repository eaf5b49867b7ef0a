"""The fake's images: result images rendered on first fetch, scene covers, and the resolution
of image URLs a submit names (this fake's own in-process; others only under ``fetch_images``).

Which URL names which image is ``answers.urls``'s (the same rules the route table serves).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import render
from ..answers.urls import own_image

if TYPE_CHECKING:
    from ..clock import Clock
    from ..scenes import Scene
    from ..storage import Storage
    from .parts import Parts


class Images:
    """One fake's images, made from its store (tasks, products) and its settings' parts."""

    def __init__(self, parts: Parts, store: Storage, clock: Clock, scene: Callable[[str], Scene | None]) -> None:
        self.parts = parts
        self.store = store
        self.clock = clock
        self.scene = scene

    def result(self, task_id: str, item: int, index: int, ext: str) -> bytes | None:
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
                title=params.get("productTitle") or None, fmt=fmt, decoded=self.parts.decoded,
            )

        return self.parts.results.get_or_make((task_id, item, index, fmt), draw)

    def product(self, task_id: str, item: int) -> bytes | None:
        """The image an item of a known task was submitted with (GET /__admin/tasks/<id>/products/<n>)."""
        task = self.store.tasks.get(task_id, self.clock.now())
        if task is None or item >= len(task.items):
            return None
        return self._product(task_id, item)

    def _product(self, task_id: str, item: int) -> bytes | None:
        """The item's submitted photo: this process's cache, else the store (with several workers,
        another one may have taken the submit); None draws the placeholder product."""
        products = self.parts.products
        found = products.get((task_id, item))
        if found is None:
            found = self.store.tasks.product(task_id, item)
            if found is not None:  # the task's other images are drawn from it too
                products.put((task_id, item), found)
        return found

    def cover(self, model_num: str) -> bytes | None:
        scene = self.parts.catalog.get(model_num)
        if scene is None:
            return None
        return self.parts.results.get_or_make(("cover", model_num), lambda: render.render_cover(scene.as_dict()))

    def resolve_url(self, url: str) -> bytes | None:
        """The fake's own images in-process; any other URL is downloaded only under
        ``fetch_images`` (fetch.py's fences apply), else left unchecked (None)."""
        local = self.resolve_local(url)
        fetcher = self.parts.fetcher
        if local is not None or fetcher is None:
            return local
        return fetcher.fetch(url)  # FetchRefused is a LookupError: a 700 naming the field

    def resolve_local(self, url: str) -> bytes | None:
        """Image bytes for a URL that points at this fake's own images (resolved in-process).

        None when the URL is not the fake's (it is then never fetched); LookupError when it is
        the fake's but there is no image there, as the real service could not download one.
        """
        named = own_image(url, self.parts.config.public_url)
        if named is None:
            return None
        endpoint, args = named
        if endpoint == "result_image":
            found = self.result(str(args["task_id"]), args["item"], args["index"], args["ext"])
            if found is None:
                raise LookupError("no such result image on this fake (unknown task, not finished, or beyond imageNum)")
            return found
        found = self.cover(args["model_num"]) if endpoint == "cover_image" else None
        if found is None:
            raise LookupError("no such image on this fake")
        return found
