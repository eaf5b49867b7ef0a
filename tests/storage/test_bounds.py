"""Bounds: a fake left running for days under load keeps a bounded amount of state.

Tasks are bounded by count (``max_tasks``) and age (``task_ttl_s``); rendered images by count,
bytes and age (``image_cache_items``, ``image_cache_bytes``, the task TTL); submitted products
by bytes and age (``product_cache_bytes``). Each test shows eviction happening *and* that
nothing else is lost: newer tasks still answer, evicted images are drawn again identically.
"""

from __future__ import annotations

import base64
import io
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageChops

from tests.helpers import MISSING, QUERY, b64, client, submit, submit_item, tasks

URL_ITEM = submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/p/mug.jpg")
MAGENTA, CYAN = (255, 0, 255), (0, 255, 255)


def new_task(c: Any, item: dict[str, Any] = URL_ITEM) -> str:
    answer = submit(c, item)
    assert answer["success"] is True, answer
    return answer["data"]["result"]["taskId"]


def query(c: Any, task_id: str) -> dict[str, Any]:
    return c.get(QUERY, query_string={"taskId": task_id}).get_json()


def image_paths(c: Any, task_id: str) -> list[str]:
    data = query(c, task_id)["data"]
    return [urlsplit(u).path for r in data["taskResult"] for u in r["imageUrlList"]]


def health(c: Any) -> dict[str, Any]:
    return c.get("/__admin/health").get_json()


def advance(c: Any, seconds: float) -> None:
    assert c.post("/__admin/clock", json={"advance": seconds}).status_code == 200


def product(colour: tuple[int, int, int]) -> str:
    image = Image.new("RGB", (600, 600), (255, 255, 255))
    image.paste(colour, (150, 150, 450, 450))
    out = io.BytesIO()
    image.save(out, "PNG")
    return b64(out.getvalue())


def has_colour(data: bytes, colour: tuple[int, int, int]) -> bool:
    rgb = Image.open(io.BytesIO(data)).convert("RGB")
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, colour))
    near = ImageChops.lighter(ImageChops.lighter(*diff.split()[:2]), diff.split()[2])
    return sum(near.histogram()[:9]) > rgb.width * rgb.height // 20


# -- tasks --------------------------------------------------------------------------------


def test_max_tasks_forgets_the_oldest_and_keeps_the_rest() -> None:
    c = client(max_tasks=3)
    ids = [new_task(c) for _ in range(5)]
    for gone in ids[:2]:
        answer = query(c, gone)
        assert answer["resCode"] == 700 and answer["resMessage"].startswith("invalid input: taskId: no such task")
    for kept in ids[2:]:
        assert query(c, kept)["data"]["taskStatus"] == "finished"
        assert all(c.get(p).status_code == 200 for p in image_paths(c, kept)[:1])
    assert [t["taskId"] for t in tasks(c)] == ids[:1:-1]  # newest first, only the kept three
    assert (health(c)["tasks"], health(c)["evictedTasks"]) == (3, 2)


def test_an_evicted_tasks_cached_images_are_no_longer_served() -> None:
    c = client(max_tasks=1)
    first = new_task(c)
    path = image_paths(c, first)[0]
    assert c.get(path).status_code == 200  # rendered and cached
    new_task(c)
    assert c.get(path).status_code == 404


def test_task_ttl_forgets_old_tasks_on_the_fake_clock() -> None:
    c = client(task_ttl_s=100)
    old = new_task(c)
    advance(c, 60)
    young = new_task(c)
    advance(c, 41)
    assert query(c, old)["resCode"] == 700
    assert query(c, young)["data"]["taskStatus"] == "finished"
    assert [t["taskId"] for t in tasks(c)] == [young]


def test_a_long_run_stays_bounded() -> None:
    """Sixty submissions over ten simulated minutes, some images fetched: every store stays
    within its limit, and the newest tasks are intact."""
    c = client(max_tasks=20, image_cache_items=5, task_ttl_s=3600)
    ids = []
    for n in range(60):
        ids.append(new_task(c, {**URL_ITEM, "productTitle": f"item {n}"}))
        advance(c, 10)
        if n % 4 == 0:
            assert c.get(image_paths(c, ids[-1])[0]).status_code == 200
        state = health(c)
        assert state["tasks"] <= 20 and state["imageCacheStats"]["items"] <= 5
    assert (health(c)["tasks"], health(c)["evictedTasks"]) == (20, 40)
    assert all(query(c, t)["data"]["taskStatus"] == "finished" for t in ids[-20:])
    assert all(query(c, t)["resCode"] == 700 for t in ids[:40])


# -- rendered images ----------------------------------------------------------------------


def test_image_cache_count_is_bounded_and_evicted_images_come_back_identical() -> None:
    c = client(image_cache_items=2, seed=8)
    paths = image_paths(c, new_task(c, {**URL_ITEM, "imageNum": 5}))
    first = [c.get(p).data for p in paths]
    stats = health(c)["imageCacheStats"]
    assert stats["items"] == 2 and stats["evictions"] == 3
    assert [c.get(p).data for p in paths] == first  # re-rendered, byte for byte


def test_image_cache_bytes_are_bounded() -> None:
    c = client(image_cache_items=100, image_cache_bytes=150_000)
    paths = image_paths(c, new_task(c, {**URL_ITEM, "imageNum": 6}))
    sizes = [len(c.get(p).data) for p in paths]
    stats = health(c)["imageCacheStats"]
    assert stats["bytes"] <= 150_000 and stats["items"] < 6 and stats["evictions"] >= 1
    assert stats["bytes"] == sum(sizes[-stats["items"]:])  # the newest images stay


def test_zero_image_cache_renders_every_time_and_keeps_nothing() -> None:
    c = client(image_cache_items=0)
    path = image_paths(c, new_task(c))[0]
    assert c.get(path).data == c.get(path).data
    assert health(c)["imageCacheStats"]["items"] == 0


def test_cached_images_and_products_expire_with_their_task() -> None:
    c = client(task_ttl_s=60, image_cache_items=50)
    old = new_task(c, submit_item(imgBase64=product(MAGENTA)))
    assert c.get(image_paths(c, old)[0]).status_code == 200
    assert (health(c)["imageCacheStats"]["items"], health(c)["productCacheStats"]["items"]) == (1, 1)
    advance(c, 61)
    young = new_task(c, submit_item(imgBase64=product(CYAN)))
    assert c.get(image_paths(c, young)[0]).status_code == 200
    state = health(c)
    assert (state["imageCacheStats"]["items"], state["productCacheStats"]["items"]) == (1, 1)


# -- submitted products -------------------------------------------------------------------


def test_product_cache_bytes_bound_falls_back_to_a_placeholder_for_older_tasks() -> None:
    magenta, cyan = product(MAGENTA), product(CYAN)
    one_product = max(len(base64.b64decode(magenta)), len(base64.b64decode(cyan)))
    c = client(product_cache_bytes=one_product + 16, image_cache_items=0)
    older = new_task(c, submit_item(imgBase64=magenta))
    newer = new_task(c, submit_item(imgBase64=cyan))
    stats = health(c)["productCacheStats"]
    assert stats["items"] == 1 and stats["bytes"] <= one_product + 16 and stats["evictions"] == 1
    newer_image = c.get(image_paths(c, newer)[0])
    older_image = c.get(image_paths(c, older)[0])
    assert newer_image.status_code == older_image.status_code == 200
    assert has_colour(newer_image.data, CYAN)  # the newer task keeps its product
    assert not has_colour(older_image.data, MAGENTA)  # the older one is drawn with a stand-in
    assert Image.open(io.BytesIO(older_image.data)).size == (800, 800)
