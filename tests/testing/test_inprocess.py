"""The in-process mode: no socket, the same answers as the live server, faults as requests sees them."""

from __future__ import annotations

import json
import socket
import unittest

import pytest
import requests
import responses

import mockserver
from mockserver.signing import signed_query
from mockserver.testing.handle import Handle
from mockserver.testing.inprocess import DEFAULT_URL, VENDOR_URLS, mocked

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
SCENES = "/ai/image/background/generation/scene/query"
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}
BODY = {"requestParams": [ITEM]}


@pytest.fixture
def no_sockets(monkeypatch):
    """Any attempt to open a connection fails loudly."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"a socket connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def test_a_whole_flow_runs_without_opening_a_socket(no_sockets):
    with mocked() as fake:
        task_id = requests.post(fake.url + SUBMIT, json=BODY, timeout=5).json()["data"]["result"]["taskId"]
        data = requests.get(fake.url + QUERY, params={"taskId": task_id}, timeout=5).json()["data"]
        image = requests.get(data["taskResult"][0]["imageUrlList"][0], timeout=5)
        scenes = requests.post(fake.url + SCENES, json={"count": 2}, timeout=5).json()

    assert data["taskStatus"] == "finished"
    assert image.content.startswith(b"\x89PNG")
    assert len(scenes["data"]) == 2
    assert [e["endpoint"] for e in fake.requests()] == ["submit", "query", "scenes"]


def test_the_socket_guard_would_catch_a_real_connection(no_sockets):
    with mockserver.running() as fake, pytest.raises(AssertionError, match="socket connection was attempted"):
        requests.get(fake.url + QUERY, params={"taskId": "x"}, timeout=5)


# -- same answers as the live server --------------------------------------------------------------
CALLS = [
    ("POST", SUBMIT, {"json": BODY}),
    ("POST", SUBMIT, {"json": {"requestParams": [dict(ITEM, width=100)]}}),
    ("POST", SUBMIT, {"data": {"requestParams": '[{"imageFileUrl":"https://e.com/a.png","modelNum":"mod001",'
                                                 '"width":"750","height":"1000","imageNum":"1"}]'}}),
    ("POST", SUBMIT, {"data": b"{not json", "headers": {"Content-Type": "application/json"}}),
    ("POST", SUBMIT, {"json": BODY, "headers": {"Prefer": "code=1001"}}),
    ("GET", SUBMIT, {}),
    ("POST", "/no/such/path", {"json": {}}),
    ("GET", QUERY + "?taskId=not-a-uuid&taskId=second", {}),
    ("POST", SCENES, {"json": {"productTitle": "red shoe", "sceneType": "Indoor", "count": 3}}),
    ("GET", "/__admin/health", {}),
]


def _answers(fake: Handle) -> list[tuple[int, str, str]]:
    out = []
    for method, path, kwargs in CALLS:
        reply = requests.request(method, fake.url + path, timeout=5, **kwargs)
        body = reply.text.replace(fake.url, "BASE")
        out.append((reply.status_code, reply.headers["Content-Type"], body))
    return out


def test_the_same_calls_get_the_same_answers_live_and_in_process():
    with mockserver.running(seed=7, public_url=None) as live:
        expected = _answers(live)
    with mocked(seed=7, base_urls=["http://bgmock.test"], public_url=None) as inproc:
        got = _answers(inproc)

    assert got == expected
    assert {status for status, _, _ in got} >= {200, 404, 405}


def test_a_path_with_escapes_and_a_repeated_query_key_read_as_on_the_wire():
    with mocked() as fake:
        requests.get(fake.url + "/ai/image/background/generation/qu%65ry?taskId=a&taskId=b", timeout=5)
    entry = fake.requests()[0]
    assert entry["path"] == QUERY
    assert entry["query"] == {"taskId": "a"}


def test_signed_calls_verify_in_process_and_unsigned_ones_are_refused():
    with mocked(signatures=True) as fake:
        unsigned = requests.post(fake.url + "/rest" + SUBMIT, json=BODY, timeout=5).json()
        signed = requests.post(
            fake.url + "/rest" + SUBMIT, params=signed_query(fake.app_key, fake.app_secret), json=BODY, timeout=5
        ).json()

    assert unsigned["code"] == "MissingParameter"
    assert signed["resCode"] == 200
    assert fake.requests()[1]["appKey"] == fake.app_key


def test_the_vendor_hosts_are_answered_by_the_fake(no_sockets):
    with mocked() as fake:
        for host in VENDOR_URLS:
            answer = requests.post(host + "/rest" + SUBMIT, json=BODY, timeout=5).json()
            assert answer["resCode"] == 200
    assert fake.url == DEFAULT_URL
    assert len(fake.requests("submit")) == len(VENDOR_URLS)


# -- transport faults, as requests reports them ----------------------------------------------------
def _outcome(fake: Handle, kind: str, timeout: float | None) -> tuple:
    fake.fault(kind)
    try:
        reply = requests.post(fake.url + SUBMIT, json=BODY, timeout=timeout)
    except requests.RequestException as exc:
        cause = exc.args[0] if exc.args else None
        inner = cause.args[1] if getattr(cause, "args", None) and len(cause.args) > 1 else cause
        return ("raised", type(exc).__name__, type(inner).__name__)
    return ("answered", reply.status_code, reply.headers.get("Content-Type"), reply.content)


def _hang_s(timeout: float | None) -> float:
    """How long the fake holds a ``timeout`` fault: briefly for a client with no timeout (it waits
    the hold out), far longer than the 0.1 s read timeout that must end the call first (the live
    fake's drop must not win on a loaded machine; the held thread costs the test nothing)."""
    return 0.3 if timeout is None else 10.0


FAULTS = [
    ("reset", 5, ("raised", "ConnectionError", "ConnectionResetError")),
    ("empty", 5, ("raised", "ConnectionError", "RemoteDisconnected")),
    ("truncated", 5, ("raised", "ChunkedEncodingError", "IncompleteRead")),
    ("timeout", 0.1, ("raised", "ReadTimeout", "ReadTimeoutError")),
    ("timeout", None, ("raised", "ConnectionError", "ConnectionResetError")),
    ("malformed", 5, None),
    ("http502", 5, None),
    ("http503", 5, None),
    ("http504", 5, None),
    ("dribble", 5, None),
]


@pytest.mark.parametrize(("kind", "timeout", "raised"), FAULTS, ids=[f"{k}-{t}" for k, t, _ in FAULTS])
def test_a_transport_fault_looks_the_same_to_requests_in_both_modes(kind, timeout, raised):
    settings = {"hang_s": _hang_s(timeout), "dribble_s": 0.05, "seed": 7}  # same seed: the same IDs in both answers
    with mockserver.running(**settings) as live:
        expected = _outcome(live, kind, timeout)
    with mocked(**settings) as inproc:
        got = _outcome(inproc, kind, timeout)

    assert got == expected
    if raised:
        assert got == raised
    elif kind == "dribble":  # slow, but whole
        assert json.loads(got[3])["success"] is True
    else:  # a cut-off JSON body, or a load balancer's HTML page
        assert got[0] == "answered"
        with pytest.raises(ValueError):
            json.loads(got[3])


def test_a_dribbled_body_arrives_whole_after_its_time():
    with mocked(dribble_s=0.05) as fake:
        fake.fault("dribble")
        answer = requests.post(fake.url + SUBMIT, json=BODY, timeout=5).json()
    assert answer["success"] is True


def test_a_delay_longer_than_the_clients_timeout_is_a_read_timeout():
    with mocked() as fake:
        fake.inject(501, delay_ms=400)
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(fake.url + SUBMIT, json=BODY, timeout=(1, 0.05))
        fake.inject(501, delay_ms=20)
        assert requests.post(fake.url + SUBMIT, json=BODY, timeout=1).json()["resCode"] == 501


# -- living beside other traffic -----------------------------------------------------------------
def test_other_urls_go_out_as_usual_unless_passthrough_is_off():
    with mockserver.running() as live:
        with mocked() as fake:
            assert requests.get(live.url + "/__admin/health", timeout=5).json()["status"] == "ok"
            assert requests.get(fake.url + "/__admin/health", timeout=5).json()["status"] == "ok"
        with mocked(passthrough=False), pytest.raises(requests.ConnectionError, match="refused by Responses"):
            requests.get(live.url + "/__admin/health", timeout=5)


def test_the_fake_joins_a_responses_mock_the_test_already_uses():
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, "http://other.test/ping", json={"pong": True})
        with mocked(responses_mock=rsps) as fake:
            assert requests.get("http://other.test/ping", timeout=5).json() == {"pong": True}
            assert requests.post(fake.url + SUBMIT, json=BODY, timeout=5).json()["resCode"] == 200
        assert requests.get("http://other.test/ping", timeout=5).json() == {"pong": True}
        with pytest.raises(requests.ConnectionError):
            requests.post(fake.url + SUBMIT, json=BODY, timeout=5)


def test_leaving_the_block_stops_intercepting():
    original = requests.adapters.HTTPAdapter.send
    with mocked():
        assert requests.adapters.HTTPAdapter.send is not original
    assert requests.adapters.HTTPAdapter.send is original


# -- the decorator -------------------------------------------------------------------------------
@mocked(task_duration=2)
def test_the_decorator_passes_a_fresh_fake_as_the_last_argument(fake):
    task_id = requests.post(fake.url + SUBMIT, json=BODY, timeout=5).json()["data"]["result"]["taskId"]

    def status() -> str:
        return requests.get(fake.url + QUERY, params={"taskId": task_id}, timeout=5).json()["data"]["taskStatus"]

    assert status() == "submitted"
    fake.advance(2)
    assert status() == "finished"


def test_each_decorated_call_gets_its_own_fake():
    seen: list[Handle] = []

    @mocked()
    def use(fake):
        requests.post(fake.url + SUBMIT, json=BODY, timeout=5)
        seen.append(fake)
        return len(fake.requests())

    assert use() == 1 and use() == 1
    assert seen[0].backend is not seen[1].backend


class UnittestUser(unittest.TestCase):
    @mocked()
    def test_a_testcase_method_gets_the_fake_after_self(self, fake):
        fake.inject(1000)
        self.assertEqual(requests.post(fake.url + SUBMIT, json=BODY, timeout=5).json()["resCode"], 1000)

    def test_the_context_manager_in_a_testcase(self):
        with mockserver.mocked(strict=True) as fake:
            answer = requests.post(fake.url + SUBMIT, json=BODY, timeout=5).json()
        self.assertEqual(answer["resCode"], 200)
        self.assertTrue(fake.config.strict)


# -- the handle's own errors ----------------------------------------------------------------------
def test_bad_handle_calls_say_what_is_wrong():
    with mocked() as fake:
        with pytest.raises(ValueError, match="resCode"):
            fake.inject(404)
        with pytest.raises(ValueError, match="fault kind 'explode'"):
            fake.fault("explode")
        with pytest.raises(ValueError, match="endpoint 'submits'"):
            fake.requests("submits")
        with pytest.raises(mockserver.ConfigError, match="task_duration"):
            fake.configure(task_duration=-1)
    with pytest.raises(ValueError, match="base URL"):
        mocked(base_urls=["http://bgmock.local/api"]).__enter__()


def test_configure_lasts_until_restart_which_goes_back_to_the_base_settings():
    with mocked(task_duration=2) as fake:
        fake.configure(strict=True, signatures=True)
        assert fake.config.strict and fake.signatures and fake.config.task_duration == 2
        fake.inject(501)
        fake.restart()
        assert not fake.config.strict and not fake.signatures and fake.config.task_duration == 2
        assert fake.faults() == []


def test_settings_that_size_the_store_cannot_change_on_a_running_fake():
    with mocked() as fake:
        with pytest.raises(mockserver.ConfigError, match="journal_size: fixed while a fake runs"):
            fake.configure(journal_size=5)
        assert fake.config.journal_size == 1000


def test_a_test_fakes_app_keys_that_are_no_object_are_a_config_error_whatever_the_check_says(monkeypatch):
    """``handle.resolve`` reads the key pair out of ``app_keys`` after asking the settings' check
    to refuse a non-object; it no longer relies on the check raising (were it to let ``5`` by,
    ``5.items()`` was an AttributeError)."""
    from mockserver.config import Config, ConfigError
    from mockserver.testing.handle import resolve

    monkeypatch.setattr(Config, "from_mapping", classmethod(lambda cls, values=None, **overrides: Config()))
    with pytest.raises(ConfigError, match="app_keys: must be an object"):
        resolve({"app_keys": 5}, {})
