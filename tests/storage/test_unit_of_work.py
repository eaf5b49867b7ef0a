"""The optimistic unit of work on Redis (``storage/redis_unit.py``): one round trip per submit,
and never an answer on rules or a clock another fake had already changed.

Two fakes (two Flask apps, each its own backend and Redis connection) share one prefix: what
one changes through the admin API, the other's very next request sees, although that one
answered from the rules and clock it saw last, without asking Redis first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from helpers import QUERY, SUBMIT
from redis_helpers import cleaned, fresh_prefix, redis_or_skip

from mockserver.api import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.http import Incoming
from mockserver.serving.app import create_app

ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}


@pytest.fixture
def pair() -> Iterator[tuple[object, object]]:
    url = redis_or_skip()
    for prefix in cleaned(fresh_prefix()):
        config = Config(state=url, state_prefix=prefix, log_requests=False, clock="manual", task_duration=10)
        yield create_app(config).test_client(), create_app(config).test_client()


def _submit(client) -> dict:
    return client.post(SUBMIT, json={"requestParams": [ITEM]}).get_json()


def _journal(client) -> list[dict]:
    return client.get("/__admin/requests", query_string={"limit": 100}).get_json()["requests"]


def test_a_rule_added_on_one_fake_fires_on_the_next_submit_of_the_other(pair):
    one, two = pair
    assert _submit(one)["resCode"] == 200  # one now holds a view: no rules
    assert two.post("/__admin/faults", json={"resCode": 501, "times": 1}).status_code == 201
    assert _submit(one)["resCode"] == 501  # its view was stale: answered again, on the rule
    assert _submit(one)["resCode"] == 200  # times: 1, fired once in all
    submits = [entry for entry in _journal(two) if entry["path"] == SUBMIT]
    assert [entry["resCode"] for entry in submits] == [200, 501, 200]  # newest first: no stale attempt recorded
    assert len(two.get("/__admin/tasks").get_json()["tasks"]) == 2


def test_the_clock_moved_on_one_fake_is_the_clock_of_the_others_next_request(pair):
    one, two = pair
    task_id = _submit(one)["data"]["result"]["taskId"]
    assert one.post(QUERY, json={"taskId": task_id}).get_json()["data"]["taskStatus"] != "finished"
    assert two.post("/__admin/clock", json={"advance": 11}).status_code == 200
    assert one.post(QUERY, json={"taskId": task_id}).get_json()["data"]["taskStatus"] == "finished"
    assert one.get("/__admin/clock").get_json()["now"] == pytest.approx(11)


def test_a_reset_on_one_fake_is_seen_by_the_other(pair):
    one, two = pair
    two.post("/__admin/faults", json={"resCode": 501})
    assert _submit(one)["resCode"] == 501
    assert two.post("/__admin/reset").status_code == 200
    assert _submit(one)["resCode"] == 200
    assert one.get("/__admin/faults").get_json()["faults"] == []


def test_a_submit_on_a_warm_fake_is_one_round_trip(pair, monkeypatch):
    """The hot path's promise (README, load and workers): a submit sends one command to Redis."""
    from redis.connection import AbstractConnection

    one, _ = pair
    _submit(one)  # warm: the fake has read the rules and the clock once
    sent = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    for _ in range(5):
        assert _submit(one)["resCode"] == 200
    assert len(sent) == 5


@contextmanager
def _warm_dispatcher() -> Iterator[tuple[Dispatcher, Incoming]]:
    """A fake on the machine's Redis (a prefix of its own) that has answered one submit, and that
    submit's request: the next one's only store call is its writes at the end."""
    url = redis_or_skip()
    for prefix in cleaned(fresh_prefix()):
        dispatcher = Dispatcher(Backend(Config(state=url, state_prefix=prefix, log_requests=True)))
        body = json.dumps({"requestParams": [ITEM]}).encode()
        request = Incoming.build("POST", SUBMIT, headers={"Content-Type": "application/json"}, body=body)
        assert dispatcher.handle(request).res_code == 200
        yield dispatcher, request


def test_the_log_line_of_a_request_whose_writes_were_lost_shows_the_answer_sent(caplog):
    """A request's log line is written once its unit of work is done: when Redis is lost at the
    end, it shows the 500 ``system error`` the client got, not the answer that was not kept."""
    import redis


    with _warm_dispatcher() as (dispatcher, request):
        batch = dispatcher.backend.store.tasks.s.batch

        def lost(*args, **kwargs):
            raise redis.ConnectionError("Redis went away")

        batch.run = lost
        with caplog.at_level("INFO", logger="bgmock"):
            assert dispatcher.handle(request).res_code == 500
        lines = [record.getMessage() for record in caplog.records if record.getMessage().startswith("POST")]
        assert len(lines) == 1 and "resCode=500" in lines[0], lines


@pytest.mark.parametrize("how", ["submit", "proxy refusal"])
def test_a_requests_log_line_counts_the_store_call_that_failed(how, caplog, monkeypatch):
    """The time on a request's log line is the time to answer: its whole handling, a store
    call that timed out included (a stopped Redis: 0.5 ms logged for a 2.2 s wait). The store
    call here moves the process's performance counter on by 2.2 s, then fails."""
    import time

    import redis

    from mockserver.errors import GatewayError

    real, waited = time.perf_counter, []

    def timed_out(*args, **kwargs):
        waited.append(2.2)
        raise redis.TimeoutError("Timeout reading from Redis")

    with _warm_dispatcher() as (dispatcher, request):
        monkeypatch.setattr(time, "perf_counter", lambda: real() + sum(waited))
        monkeypatch.setattr(dispatcher.backend.store.tasks.s.batch, "run", timed_out)
        with caplog.at_level("INFO", logger="bgmock"):
            if how == "submit":
                assert dispatcher.handle(request).res_code == 500
            else:
                assert dispatcher.refuse(request, GatewayError("ProxyRefused", "not faked", status=403)).status == 403
        (line,) = [record.getMessage() for record in caplog.records if record.getMessage().startswith("POST")]
        assert float(line.rsplit(" ", 1)[1].removesuffix("ms")) >= 2200, line


def test_a_store_error_at_the_end_of_a_request_is_answered_and_logged_with_its_line(caplog, monkeypatch):
    """Whatever fails the writes at the end of a request (here an error Redis answers that is no
    outage), the client gets the 500 envelope and the request its log line, not a traceback."""
    import redis


    def refused(*args, **kwargs):
        raise redis.ResponseError("ERR something Redis refused")

    with _warm_dispatcher() as (dispatcher, request):
        monkeypatch.setattr(dispatcher.backend.store.tasks.s.batch, "run", refused)
        with caplog.at_level("INFO", logger="bgmock"):
            assert dispatcher.handle(request).res_code == 500
        messages = [record.getMessage() for record in caplog.records]
        assert f"bgmock: internal error on POST {SUBMIT}" in messages
        assert sum(message.startswith(f"POST {SUBMIT} -> 200 resCode=500 ") for message in messages) == 1, messages


@pytest.mark.parametrize(("path", "status"), [("/nope", 404), (SUBMIT, 405)], ids=["unknown-path", "wrong-method"])
def test_a_store_error_writing_a_stateless_answers_journal_entry_loses_the_entry_not_the_answer(
    caplog, monkeypatch, path, status
):
    """An answer given without the store (an unknown path, a wrong method) holds when the store
    refuses its journal entry for a reason that is no outage, as it does in an outage: it was
    the 500 "internal error"."""
    import redis

    def refused(*args, **kwargs):
        raise redis.ResponseError("ERR something Redis refused")

    with _warm_dispatcher() as (dispatcher, _):
        monkeypatch.setattr(dispatcher.backend.store.tasks.s.batch, "run", refused)
        with caplog.at_level("INFO", logger="bgmock"):
            reply = dispatcher.handle(Incoming.build("GET" if path == SUBMIT else "POST", path))
        assert reply.status == status and reply.res_code is None, reply
        messages = [record.getMessage() for record in caplog.records]
        assert not any("internal error" in message for message in messages), messages
        assert sum(message.startswith("bgmock: could not record ") for message in messages) == 1, messages
        assert sum(f" {path} -> {status} " in message for message in messages) == 1, messages
