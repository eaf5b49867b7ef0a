"""README, ``state_timeout_s``: how long one Redis call may take before the request answers 500.

A request that met an outage makes no other call on Redis (``Session.met``): a task query,
whose task read timed out, then wrote its journal entry at the end of its unit of work and
waited ``state_timeout_s`` a second time (4 s with the default 2). Counted, not timed: the
commands each request sends to a Redis held stopped (SIGSTOP: it takes them and answers none),
each of which the request would wait on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import QUERY, SCENES, SUBMIT
from redis_helpers import OwnRedis, own_redis_server

from mockserver.config import Config
from mockserver.serving.app import create_app

ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}

#: name -> (method, path, JSON body; "TASK" stands for a real task's ID)
REQUESTS: dict[str, tuple[str, str, Any]] = {
    "query": ("POST", QUERY, {"taskId": "TASK"}),
    "query-unknown-task": ("POST", QUERY, {"taskId": "nope"}),
    "submit": ("POST", SUBMIT, {"requestParams": [ITEM]}),
    "scene-query": ("POST", SCENES, {}),
    "admin-requests": ("GET", "/__admin/requests", None),
    "admin-tasks": ("GET", "/__admin/tasks", None),
    "admin-faults": ("POST", "/__admin/faults", {"resCode": 501}),
    "admin-reset": ("POST", "/__admin/reset", None),
    "health": ("GET", "/__admin/health", None),
}


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedis]:
    with own_redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every command any Redis connection sends from here on (a request waits on each one's reply)."""
    from redis.connection import AbstractConnection

    commands: list[bytes] = []
    original: Callable[..., Any] = AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        commands.append(command if isinstance(command, bytes) else b"".join(command))
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return commands


@pytest.mark.parametrize("name", list(REQUESTS))
def test_a_request_that_met_an_outage_waits_on_redis_once(redis: OwnRedis, sent: list[bytes], name: str) -> None:
    client = create_app(Config(state=redis.url, state_timeout_s=0.5, log_requests=False)).test_client()
    task_id = client.post(SUBMIT, json={"requestParams": [ITEM]}).get_json()["data"]["result"]["taskId"]
    client.get("/__admin/requests")  # warm: a connection each for the batcher and the direct calls
    method, path, body = REQUESTS[name]
    if body == {"taskId": "TASK"}:
        body = {"taskId": task_id}
    with redis.paused():
        sent.clear()
        answer = client.open(path, method=method, json=body)
        waited = list(sent)
    assert len(waited) == 1, (name, waited)
    if name == "health":
        assert answer.status_code == 503 and answer.get_json()["redis"] == "down", answer.get_data(as_text=True)
    else:
        assert answer.status_code in (200, 503) and answer.get_json()["resMessage"] == "system error", (
            name, answer.get_data(as_text=True))
