"""The lean WSGI host (``serving.WsgiApp``) that ``bgmock serve`` runs: same answers as Flask's.

``bgmock serve`` (werkzeug) and ``--workers`` (granian) both run ``WsgiApp``; ``create_app``
stays the Flask host. Both hand every request to ``Dispatcher.handle``, so what differs is only
the conversion from WSGI, checked here with werkzeug's test client (no socket).
"""

from __future__ import annotations

import json

import pytest
from helpers import QUERY, SUBMIT, submit_item
from werkzeug.test import Client

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.serving.app import create_app
from mockserver.serving.wsgi import WsgiApp

SETTINGS = {"log_requests": False, "clock": "manual", "task_duration": 0, "seed": 11}


def _lean(**settings) -> Client:
    return Client(WsgiApp(Dispatcher(Backend(Config.from_mapping({**SETTINGS, **settings})))))


def _flask(**settings) -> Client:
    return Client(create_app({**SETTINGS, **settings}))


@pytest.mark.parametrize("make", [_lean, _flask], ids=["lean", "flask"])
def test_a_submit_and_its_query_answer_the_same_on_both_hosts(make):
    c = make()
    answer = c.post(SUBMIT, json={"requestParams": [submit_item()]})
    body = answer.get_json()
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert body["success"] is True
    query = c.get(QUERY, query_string={"taskId": body["data"]["result"]["taskId"]}).get_json()
    assert query["data"]["taskStatus"] == "finished"


def test_both_hosts_give_byte_identical_answers():
    """Same seed, same requests: the same bytes, whichever host converts them."""
    answers = []
    for make in (_lean, _flask):
        c = make()
        answers.append([
            c.post(SUBMIT, json={"requestParams": [submit_item()]}).data,
            c.post(SUBMIT, json={"requestParams": [submit_item(width=801)]}).data,
            c.get("/nowhere").data,
            c.open("/__admin/health", method="PROPFIND").data,
        ])
    assert answers[0] == answers[1]


def test_the_first_query_value_wins_as_in_flask():
    c = _lean()
    task = c.post(SUBMIT, json={"requestParams": [submit_item()]}).get_json()["data"]["result"]["taskId"]
    answer = c.get(f"{QUERY}?taskId={task}&taskId=nope").get_json()
    assert answer["success"] is True


def test_a_body_over_the_cap_is_a_700_not_a_crash():
    c = _lean(max_body_bytes=2048)
    answer = c.post(SUBMIT, data=json.dumps({"requestParams": [submit_item(productTitle="x" * 5000)]}),
                    content_type="application/json").get_json()
    assert answer["resCode"] == 700 and "body" in answer["resMessage"]


def test_unknown_methods_and_paths_get_the_gateway_envelope():
    c = _lean()
    answer = c.open(SUBMIT, method="PROPFIND")
    assert answer.status_code == 405 and answer.get_json()["code"] == "MethodNotAllowed"
    assert c.get("/caf%C3%A9").get_json()["code"] == "InvalidApiPath"


def test_only_workers_name_themselves():
    assert "X-Bgmock-Worker" not in _lean().get("/__admin/health").headers
    app = WsgiApp(Dispatcher(Backend(Config.from_mapping(SETTINGS))), worker="4242")
    assert Client(app).get("/__admin/health").headers["X-Bgmock-Worker"] == "4242"


def test_a_broken_request_stream_answers_400_bad_http_request():
    """A body the server cannot hand over (the client went away, werkzeug met a bad chunk
    size) is the request's fault, not the fake's: no 500 "internal error", no traceback."""

    class Broken:
        def read(self, *_):
            raise OSError("connection lost")

    app = WsgiApp(Dispatcher(Backend(Config.from_mapping(SETTINGS))))
    seen = {}
    body = app(
        {"REQUEST_METHOD": "POST", "PATH_INFO": SUBMIT, "CONTENT_LENGTH": "10", "wsgi.input": Broken()},
        lambda status, headers: seen.update(status=status),
    )
    envelope = json.loads(b"".join(body))
    assert seen["status"].startswith("400") and envelope["code"] == "BadHttpRequest"
    assert "connection lost" in envelope["message"]
