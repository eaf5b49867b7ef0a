"""Request bodies' memory: ``BodyBudget`` (bodies.py) bounds the bodies held at once and asks
the allocator to give memory back when the last large body leaves (the server-level tests
are in test_httpd.py); and no answer leaves a reference cycle that keeps its request alive."""

from __future__ import annotations

import gc
import io
import json
import threading

import pytest
from helpers import MISSING, submit_item

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.http import Incoming
from mockserver.serving.bodies import TRIM_AFTER_BYTES, BodyBudget
from mockserver.serving.wsgi import WsgiApp


def test_a_charge_that_does_not_fit_waits_then_gives_up() -> None:
    budget = BodyBudget(100, on_idle=lambda: None)
    assert budget.acquire(60, 1) == 60
    assert budget.acquire(60, 0.05) is None  # no room before its deadline
    budget.release(60)
    assert budget.acquire(60, 0) == 60 and budget.used == 60


def test_a_waiting_charge_gets_in_when_room_is_released() -> None:
    budget = BodyBudget(100, on_idle=lambda: None)
    budget.acquire(100, 1)
    got: list[int | None] = []
    waiter = threading.Thread(target=lambda: got.append(budget.acquire(50, 10)))
    waiter.start()
    budget.release(100)
    waiter.join(10)
    assert got == [50] and budget.used == 50


def test_a_body_larger_than_the_budget_may_use_it_all_alone() -> None:
    budget = BodyBudget(100, on_idle=lambda: None)
    assert budget.acquire(1000, 0) == 100
    assert budget.acquire(1, 0) is None


def test_memory_is_given_back_when_the_last_large_body_leaves() -> None:
    trims: list[int] = []
    budget = BodyBudget(4 * TRIM_AFTER_BYTES, on_idle=lambda: trims.append(budget.used))
    first, second = budget.acquire(TRIM_AFTER_BYTES, 0), budget.acquire(10, 0)
    budget.release(first or 0)
    assert trims == []  # another body is still in flight
    budget.release(second or 0)
    assert trims == [0]  # once, with nothing in flight
    budget.release(budget.acquire(10, 0) or 0)
    assert trims == [0]  # small bodies do not trim each time


# -- a request's memory goes when its answer does ---------------------------------------------

REQUESTS = {
    "submit-ok": ("POST", "/ai/image/background/generation/scenario", None),
    "submit-bad-json": ("POST", "/ai/image/background/generation/scenario", b"{"),
    "submit-700": ("POST", "/ai/image/background/generation/scenario", b'{"requestParams": "AAAA"}'),
    "query-unknown": ("GET", "/ai/image/background/generation/query", b""),
    "scene-query-700": ("POST", "/ai/image/background/generation/scene/query", b'{"count": "x"}'),
    # Not listed: a refused admin rule (jsonschema's ValidationError objects refer to each
    # other) and an unknown path (a closure in werkzeug's matcher): library cycles holding
    # the parsed rule or the path, not a request body.
    "prefer-code": ("POST", "/ai/image/background/generation/scenario", b"{}"),
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_answering_leaves_no_reference_cycle_holding_the_request(name: str) -> None:
    """A cycle (an exception kept in a local of a frame its traceback holds) kept each
    refused request's body alive until the next full collection: with large bodies, hundreds
    of MB stayed resident after a load (bench/RESULTS.md, concurrent large uploads)."""
    method, path, body = REQUESTS[name]
    if body is None:
        body = json.dumps({"requestParams": [submit_item()]}).encode()
    dispatcher = Dispatcher(Backend(Config(log_requests=False)))
    headers = {"content-type": "application/json"}
    if name == "prefer-code":
        headers["prefer"] = "code=501"
    request = Incoming.build(method, path, headers=headers, body=body)
    dispatcher.handle(request)  # warm: first-use caches are not garbage
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        dispatcher.handle(Incoming.build(method, path, headers=headers, body=body))
        gc.collect()
        found = sorted({type(o).__name__ for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert found == []


def test_bodies_read_by_the_wsgi_host_share_one_budget() -> None:
    """Under werkzeug or granian the WSGI host reads bodies itself: the same bound applies
    (per process), and a body that finds no room in time gets a 503 envelope, not memory."""
    app = WsgiApp(Dispatcher(Backend(Config(log_requests=False, max_body_bytes=4096, body_memory_bytes=4097))))
    app.body_wait_s = 0.05
    body = json.dumps({"requestParams": [submit_item(imageFileUrl="https://example.com/p.jpg", imgBase64=MISSING)]})

    def post() -> tuple[str, dict[str, object]]:
        seen: dict[str, str] = {}
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/ai/image/background/generation/scenario",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body.encode()),
        }
        answer = app(environ, lambda status, headers: seen.update(status=status))
        return seen["status"], json.loads(b"".join(answer))

    held = app.bodies.acquire(4097, 0)  # another request's body holds all the room
    status, envelope = post()
    assert status.startswith("503") and envelope["code"] == "BadHttpRequest"
    assert "too many request bodies in flight" in str(envelope["message"])
    app.bodies.release(held or 0)
    status, envelope = post()
    assert status.startswith("200") and envelope["resCode"] == 200
    assert app.bodies.used == 0  # given back after the answer
