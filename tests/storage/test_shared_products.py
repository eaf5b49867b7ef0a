"""Submitted product photos shared by every fake on one Redis: any of them draws the results.

A result image is drawn by whichever process its GET reaches, and it shows the photo the client
submitted, so the photo cannot stay in the memory of the process that took the submit.  Two
backends on one Redis prefix stand for two workers (or two machines).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis_helpers import cleaned, fresh_prefix, redis_or_skip

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.storage import open_storage
from mockserver.tasks import Task
from tests.api.test_result_images import MAGENTA, picture, product_png, share
from tests.helpers import MISSING, submit_item


@pytest.fixture
def state() -> Iterator[Config]:
    """Settings of fakes sharing one Redis prefix: results finish at once, on a manual clock."""
    url = redis_or_skip()
    for prefix in cleaned(fresh_prefix()):
        yield Config(state=url, state_prefix=prefix, log_requests=False, clock="manual", task_duration=0)


def backend(state: Config, **settings: object) -> Backend:
    return Backend(state.replace(**settings), apply_startup_rules=False)


def submit_product(owner: Backend, colour: tuple[int, int, int] = MAGENTA) -> str:
    return owner.submit({"requestParams": [submit_item(imgBase64=product_png(colour), imageNum=2)]})


def test_a_result_drawn_by_another_fake_shows_the_submitted_product(state):
    a, b = backend(state), backend(state)
    task_id = submit_product(a)
    assert b.products.get((task_id, 0)) is None  # b never saw the submit
    drawn_by_b = b.result_image(task_id, 0, 1, "png")
    assert drawn_by_b is not None
    assert share(picture(drawn_by_b), MAGENTA) > 0.15  # the product, not the placeholder (no magenta)
    assert drawn_by_b == a.result_image(task_id, 0, 1, "png")  # the very image the submitting fake draws


def test_url_only_items_store_no_product_and_draw_the_placeholder_everywhere(state):
    a, b = backend(state), backend(state)
    item = submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/p/mug.jpg")
    task_id = a.submit({"requestParams": [item]})
    assert a.store.tasks.product(task_id, 0) is None
    assert b.result_image(task_id, 0, 0, "png") == a.result_image(task_id, 0, 0, "png")


def test_products_are_bounded_by_bytes_newest_kept(state):
    store = open_storage(state.replace(product_cache_bytes=2500))
    for name in ("t1", "t2", "t3"):
        store.tasks.put_product(name, 0, name.encode() * 500)  # 1000 bytes each: two fit
    assert [store.tasks.product(name, 0) for name in ("t1", "t2", "t3")] == [None, b"t2" * 500, b"t3" * 500]
    store.tasks.put_product("huge", 0, b"x" * 2501)  # larger than the whole bound: not kept, evicts nothing
    assert store.tasks.product("huge", 0) is None and store.tasks.product("t2", 0) == b"t2" * 500


def test_a_tiny_product_cache_keeps_the_newest_products_for_every_fake(state):
    size = len(product_png())  # base64 of the PNG; the stored bytes are 3/4 of it
    a, b = backend(state, product_cache_bytes=size), backend(state)
    old, new = submit_product(a), submit_product(a)
    assert share(picture(b.result_image(old, 0, 0, "png")), MAGENTA) < 0.001  # gone: the placeholder
    assert share(picture(b.result_image(new, 0, 0, "png")), MAGENTA) > 0.15


def test_an_admin_reset_on_one_fake_forgets_the_products_and_the_bound_starts_afresh(state):
    a, b = backend(state, product_cache_bytes=2500), backend(state, product_cache_bytes=2500)
    a.store.tasks.put_product("t1", 0, b"1" * 1000)
    a.store.tasks.put_product("t2", 0, b"2" * 1000)
    b.reset()
    assert a.store.tasks.product("t1", 0) is None and a.store.tasks.product("t2", 0) is None
    a.store.tasks.put_product("t3", 0, b"3" * 1000)
    a.store.tasks.put_product("t4", 0, b"4" * 1000)  # the byte count went with the products: none evicted
    assert b.store.tasks.product("t3", 0) == b"3" * 1000 and b.store.tasks.product("t4", 0) == b"4" * 1000


def test_a_restarted_fake_still_draws_the_product_of_a_task_submitted_before(state):
    task_id = submit_product(backend(state))
    assert share(picture(backend(state).result_image(task_id, 0, 0, "png")), MAGENTA) > 0.15


def test_the_memory_storage_keeps_no_copy_beside_the_backends_own_cache():
    memory = open_storage(Config())
    memory.tasks.put_product("t", 0, b"photo")
    memory.tasks.put(Task("t", 0.0, [], []), 0.0)
    assert memory.tasks.product("t", 0) is None
