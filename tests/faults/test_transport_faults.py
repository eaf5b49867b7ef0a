"""Transport faults seen by a plain ``requests`` client: each fault fails the way it should.

The fake runs for real on loopback (the default threaded server), with short bounds for the
slow faults (``hang_s``, ``dribble_s``) so this file stays fast.  Each fault is asked for with
``Prefer: transport=...``; the admin API and start-up config reach the same code, checked
once each below.  The production server (granian, ``--workers``) is covered in
``test_shared_state.py``.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from helpers import SUBMIT, submit_item
from werkzeug.serving import make_server

from mockserver import running
from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.serving import httpd
from mockserver.serving.wsgi import WsgiApp

HANG_S = 1.0
DRIBBLE_S = 0.4


class _Lean:
    """``bgmock serve``'s host (serving.WsgiApp) on its default server, or on werkzeug's
    (``--server werkzeug``), in a thread."""

    def __init__(self, server: str = "threaded", **settings) -> None:
        config = Config.from_mapping({"log_requests": False, **settings})
        app = WsgiApp(Dispatcher(Backend(config)))
        if server == "werkzeug":
            self.server = make_server("127.0.0.1", 0, app, threaded=True)
            self.server.daemon_threads = True
        else:
            self.server = httpd.make_server("127.0.0.1", 0, app, refusal=app.refusal)
        self.url = f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module", params=["flask", "serve", "werkzeug"])
def fake(request):
    """Every host that owns its socket: create_app's Flask app (``running()``, the pytest
    plugin) and ``bgmock serve``'s WsgiApp, on bgmock's server, and on werkzeug's."""
    settings = {"hang_s": HANG_S, "dribble_s": DRIBBLE_S, "clock": "manual"}
    if request.param == "flask":
        with running(**settings) as live:
            yield live
    else:
        lean = _Lean("werkzeug" if request.param == "werkzeug" else "threaded", **settings)
        yield lean
        lean.stop()


def _post(fake, prefer: str | None = None, timeout: float | tuple[float, float] = 5.0) -> requests.Response:
    headers = {"Prefer": prefer} if prefer else {}
    # A fresh connection per call: a dropped connection must not poison the next test's.
    with requests.Session() as session:
        return session.post(
            fake.url + SUBMIT, json={"requestParams": [submit_item()]}, headers=headers, timeout=timeout
        )


@pytest.mark.parametrize("kind", ["reset", "empty"])
def test_dropped_connections_raise_connection_error(fake, kind):
    with pytest.raises(requests.exceptions.ConnectionError):
        _post(fake, f"transport={kind}")


def test_reset_is_a_tcp_reset(fake):
    """Not just a close: the client's socket sees ECONNRESET (what a crashed peer or LB sends)."""
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        _post(fake, "transport=reset")
    assert "reset" in repr(caught.value).lower() or "aborted" in repr(caught.value).lower()


def test_malformed_body_fails_to_decode(fake):
    answer = _post(fake, "transport=malformed")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        answer.json()


def test_truncated_body_raises_chunked_encoding_error(fake):
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _post(fake, "transport=truncated")


def test_dribble_delivers_slowly_but_whole(fake):
    started = time.perf_counter()
    answer = _post(fake, "transport=dribble")
    assert time.perf_counter() - started >= DRIBBLE_S * 0.8
    assert answer.json()["success"] is True  # every byte arrives, just late


def test_dribble_trips_a_total_deadline_shorter_than_the_body(fake):
    """A client that bounds the whole read (not each byte) gives up: read in a stream with a deadline."""
    with requests.Session() as session:
        answer = session.post(
            fake.url + SUBMIT, json={"requestParams": [submit_item()]},
            headers={"Prefer": "transport=dribble"}, stream=True, timeout=5,
        )
        deadline = time.perf_counter() + DRIBBLE_S / 4
        received = b""
        for chunk in answer.iter_content(chunk_size=1):
            received += chunk
            if time.perf_counter() > deadline:
                break
        answer.close()
    assert 0 < len(received) < int(answer.headers["Content-Length"])


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_html_pages(fake, status):
    answer = _post(fake, f"transport=http{status}")
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("text/html")
    assert str(status) in answer.text and "<html>" in answer.text
    with pytest.raises(requests.exceptions.JSONDecodeError):
        answer.json()


def test_timeout_raises_read_timeout(fake):
    """The client gave up, the fake never answered: a ReadTimeout, not the ConnectionError of the
    fake's drop after HANG_S (ten times the read timeout, so a late timer on a busy machine still wins)."""
    with pytest.raises(requests.exceptions.ReadTimeout):
        _post(fake, "transport=timeout", timeout=(5, HANG_S / 10))


def test_timeout_drops_the_connection_after_hang_s(fake):
    """A patient client is not held forever: after hang_s the fake drops the connection."""
    with pytest.raises(requests.exceptions.ConnectionError):
        _post(fake, "transport=timeout", timeout=HANG_S * 4)


def test_admin_rule_acts_out_a_transport_fault_then_stops(fake):
    rule = requests.post(fake.url + "/__admin/faults", json={"transport": "reset", "times": 1}, timeout=5).json()
    assert rule["transport"] == "reset"
    with pytest.raises(requests.exceptions.ConnectionError):
        _post(fake)
    assert _post(fake).json()["success"] is True  # times: 1 -> the next one goes through


def test_startup_config_rule_acts_out_a_transport_fault():
    with running(faults=[{"transport": "http503"}]) as live:
        answer = _post(live)
    assert answer.status_code == 503 and answer.headers["Content-Type"].startswith("text/html")


def test_transport_faults_are_journaled(fake):
    requests.delete(fake.url + "/__admin/faults", timeout=5)
    _post(fake, "transport=http502")
    entry = requests.get(fake.url + "/__admin/requests?limit=1", timeout=5).json()["requests"][0]
    assert entry["transport"] == "http502"
