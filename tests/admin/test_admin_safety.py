"""A fake left running cannot be driven by a web page or reached through a rebound host name.

Each forged request a browser can send (a text/plain or form POST, a foreign or ``null``
Origin, ``Sec-Fetch-Site: cross-site``, a foreign ``Host``, a CORS preflight) is tried against
every serving mode: ``create_app``'s Flask app and the lean WSGI host (test clients), the
plugin's live fake (``running()``), ``bgmock serve`` (the default threaded server),
``bgmock serve --server werkzeug`` and ``bgmock serve --workers 2`` (granian). Each
legitimate caller (real curl with the README's command, the plugin's handle, the contract kit,
a same-origin page) keeps working. The real browser attack is in tests/dashboard/test_browser.py.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from helpers import SUBMIT, stop_process, submit_item
from werkzeug.test import Client

from contracts.fake import Fake
from mockserver import cli, running
from mockserver.backend import Backend
from mockserver.config import Config, ConfigError
from mockserver.dispatch import Dispatcher
from mockserver.http import Incoming
from mockserver.origin import Guard, Refused, own_hosts, split_host_header
from mockserver.serving.app import create_app
from mockserver.serving.wsgi import WsgiApp

SETTINGS = {"log_requests": False, "clock": "manual", "task_duration": 0, "seed": 5}
RULE = {"resCode": 501, "times": 2}
EVIL_RULE = b'{"resCode":500,"times":3}'
MODES = ["flask", "lean", "live", "serve", "werkzeug", "workers"]
SOCKET_MODES = ["live", "serve", "werkzeug", "workers"]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class InMemory:
    """A WSGI app behind werkzeug's test client (Host comes from ``base_url``)."""

    def __init__(self, app: Any) -> None:
        self.client = Client(app)
        self.url = "http://localhost"

    def send(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Answer:
        headers = dict(headers or {})
        host = headers.pop("Host", None)
        answer = self.client.open(
            path, method=method, headers=headers, data=body, base_url=f"http://{host or 'localhost'}"
        )
        return Answer(answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, _json(answer.data))


class OnSocket:
    """A fake listening on 127.0.0.1; requests go out with exactly the headers given."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def send(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Answer:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body or None, headers={"Connection": "close", **(headers or {})})
            answer = conn.getresponse()
            data = answer.read()
            return Answer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, _json(data))
        finally:
            conn.close()


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


@contextmanager
def _serve(*flags: str) -> Iterator[OnSocket]:
    """``bgmock serve --port 0 FLAGS`` as a child process, ready when its health answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver.cli", "serve", "--port", "0", "--quiet", "--clock", "manual", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("bgmock listening on http://127.0.0.1:"), (line, proc.stderr and proc.stderr.read())
        target = OnSocket(line.split()[3])
        deadline = time.monotonic() + 30
        while True:
            try:
                if target.send("GET", "/__admin/health").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "the fake did not come up"
            time.sleep(0.05)
        yield target
    finally:
        stop_process(proc)


class Fakes:
    """Fakes started on first use, one per serving mode, stopped at the end of the module."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.started: dict[str, Any] = {}

    def __getitem__(self, mode: str) -> Any:
        if mode not in self.started:
            self.started[mode] = self._start(mode)
        return self.started[mode]

    def _start(self, mode: str) -> Any:
        if mode == "flask":
            return InMemory(create_app(SETTINGS))
        if mode == "lean":
            return InMemory(WsgiApp(Dispatcher(Backend(Config.from_mapping(SETTINGS)))))
        if mode == "live":
            return OnSocket(self.stack.enter_context(running(SETTINGS)).url)
        if mode == "serve":
            return self.stack.enter_context(_serve())
        if mode == "werkzeug":
            return self.stack.enter_context(_serve("--server", "werkzeug"))
        pytest.importorskip("granian")
        return self.stack.enter_context(_serve("--workers", "2"))


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    with ExitStack() as stack:
        yield Fakes(stack)


def _reset(target: Any) -> Any:
    """The mode's fake, reset, with one rule in force (what a forged request would wipe)."""
    assert target.send("POST", "/__admin/reset", body=b"{}").status == 200
    added = target.send("POST", "/__admin/faults", {"Content-Type": "application/json"}, json.dumps(RULE).encode())
    assert added.status == 201
    return target


@pytest.fixture(params=MODES)
def fake(request: pytest.FixtureRequest, fakes: Fakes) -> Any:
    return _reset(fakes[request.param])


@pytest.fixture(params=SOCKET_MODES)
def socket_fake(request: pytest.FixtureRequest, fakes: Fakes) -> Any:
    return _reset(fakes[request.param])


def rules(target: Any) -> list[dict[str, Any]]:
    answer = target.send("GET", "/__admin/faults")
    assert answer.status == 200
    return answer.body["faults"]


def journal(target: Any) -> list[dict[str, Any]]:
    answer = target.send("GET", "/__admin/requests?limit=50")
    assert answer.status == 200
    return answer.body["requests"]


def assert_refused(answer: Answer, code: str, header: str) -> None:
    assert answer.status == 403, answer
    assert answer.body["code"] == code and answer.body["type"] == "ISV"
    assert header in answer.body["message"]
    assert not any(name.startswith("access-control-") for name in answer.headers)


def assert_untouched(target: Any) -> None:
    """The rule added by the fixture is still the only one, unused."""
    (rule,) = rules(target)
    assert rule["resCode"] == 501 and rule["matched"] == 0


# -- forged requests --------------------------------------------------------------------------

def test_a_text_plain_post_from_another_origin_adds_no_rule(fake: Any) -> None:
    headers = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    answer = fake.send("POST", "/__admin/faults", headers, EVIL_RULE)
    assert_refused(answer, "ForbiddenOrigin", "Origin 'http://evil.example'")
    assert "public_url" in answer.body["message"]  # the setting that names the fake's own origin
    assert_untouched(fake)


def test_a_form_post_from_another_local_origin_does_not_reset(fake: Any) -> None:
    """Same host, another port: another origin (a local dev server's page)."""
    other = "http://127.0.0.1:9"
    answer = fake.send(
        "POST", "/__admin/reset", {"Content-Type": "application/x-www-form-urlencoded", "Origin": other}, b"a=1"
    )
    assert_refused(answer, "ForbiddenOrigin", other)
    assert_untouched(fake)


@pytest.mark.parametrize("method, path, body", [
    ("DELETE", "/__admin/faults", b""),
    ("DELETE", "/__admin/faults/rule-1", b""),
    ("POST", "/__admin/clock", b'{"advance": 5}'),
])
def test_origin_null_is_refused_on_every_state_changing_call(fake: Any, method: str, path: str, body: bytes) -> None:
    clock = fake.send("GET", "/__admin/clock").body
    answer = fake.send(method, path, {"Origin": "null", "Content-Type": "text/plain"}, body)
    assert_refused(answer, "ForbiddenOrigin", "Origin 'null'")
    assert_untouched(fake)
    assert fake.send("GET", "/__admin/clock").body["now"] == clock["now"]


def test_an_origin_on_port_0_is_not_the_default_port_s() -> None:
    """``:0`` was read as "no port", so a page at http://127.0.0.1:0 counted as the fake's own on port 80."""
    guard = Guard(Config())
    own = Incoming.build("POST", "/__admin/reset", headers={"Origin": "http://127.0.0.1"}, base_url="http://127.0.0.1")
    guard.check_origin(own, "admin")
    zero = Incoming.build("POST", "/__admin/reset", headers={"Origin": "http://127.0.0.1:0"}, base_url="http://127.0.0.1")
    with pytest.raises(Refused):
        guard.check_origin(zero, "admin")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "PROPFIND"])
def test_every_method_but_the_safe_ones_is_checked(method: str) -> None:
    """No admin route takes PUT or PATCH today (they answer 405); a future one is covered."""
    guard = Guard(Config())
    forged = Incoming.build(method, "/__admin/x", headers={"Origin": "null"})
    with pytest.raises(Refused):
        guard.check_origin(forged, "admin")
    guard.check_origin(Incoming.build("GET", "/__admin/x", headers={"Origin": "null"}), "admin")
    guard.check_origin(forged, "api")  # the API has no Origin rule (no state a page could wreck)


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site"])
def test_sec_fetch_site_of_another_site_is_refused(fake: Any, site: str) -> None:
    answer = fake.send("POST", "/__admin/reset", {"Sec-Fetch-Site": site}, b"{}")
    assert_refused(answer, "ForbiddenOrigin", "Sec-Fetch-Site")
    assert_untouched(fake)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "EVIL.example.:80", "localhost.evil.example"])
def test_a_foreign_host_is_refused_on_every_route(fake: Any, host: str) -> None:
    """DNS rebinding: the page's requests carry the attacker's name, reads included."""
    for method, path, body in [
        ("GET", "/__admin/requests", b""),
        ("GET", "/__admin/config", b""),
        ("POST", SUBMIT, json.dumps({"requestParams": [submit_item()]}).encode()),
        ("GET", "/nowhere", b""),
        ("POST", "/__admin/reset", b"{}"),
    ]:
        answer = fake.send(method, path, {"Host": host, "Content-Type": "application/json"}, body)
        assert_refused(answer, "ForbiddenHost", "Host")
        assert "--allow-host" in answer.body["message"] and "allow_hosts" in answer.body["message"]
    assert_untouched(fake)


def test_a_preflight_for_an_admin_route_is_never_granted(fake: Any) -> None:
    for path in ("/__admin/reset", "/__admin/faults", "/__admin/requests"):
        answer = fake.send("OPTIONS", path, {
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-bgmock-admin-token",
        })
        assert answer.status >= 400
        assert not any(name.startswith("access-control-") for name in answer.headers), answer.headers
    assert_untouched(fake)


def test_refusals_are_journaled_with_their_reason(fake: Any) -> None:
    fake.send("POST", "/__admin/faults", {"Origin": "http://evil.example", "Content-Type": "text/plain"}, EVIL_RULE)
    fake.send("GET", "/__admin/requests", {"Host": "rebound.example:1234"})
    entries = {entry["gateway"]: entry for entry in journal(fake) if entry["status"] == 403}
    origin, host = entries["ForbiddenOrigin"], entries["ForbiddenHost"]
    assert origin["method"] == "POST" and origin["path"] == "/__admin/faults"
    assert origin["headers"]["origin"] == "http://evil.example"
    assert "Origin" in origin["problems"][0]
    assert host["path"] == "/__admin/requests" and host["headers"]["host"] == "rebound.example:1234"
    assert "--allow-host rebound.example" in host["problems"][0]


# -- legitimate callers -----------------------------------------------------------------------

def test_a_call_without_origin_changes_state(fake: Any) -> None:
    """What curl, scripts, the plugin and the kit send: no Origin, no Sec-Fetch-Site."""
    assert fake.send("POST", "/__admin/faults", {"Content-Type": "text/plain"}, EVIL_RULE).status == 201
    assert len(rules(fake)) == 2
    assert fake.send("DELETE", "/__admin/faults").status == 200
    assert rules(fake) == []


def test_a_same_origin_page_may_change_state(fake: Any) -> None:
    """The fake's own pages (a dashboard) send their own origin and Sec-Fetch-Site: same-origin."""
    headers = {"Origin": fake.url, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}
    assert fake.send("POST", "/__admin/faults", headers, EVIL_RULE).status == 201
    assert fake.send("POST", "/__admin/reset", {"Sec-Fetch-Site": "none"}, b"{}").status == 200  # typed in the bar
    assert rules(fake) == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:1", "[::1]", "[::1]:8080", "localhost."])
def test_the_fake_s_own_names_are_served_with_or_without_port(fake: Any, host: str) -> None:
    assert fake.send("GET", "/__admin/health", {"Host": host}).status == 200


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_real_curl_runs_the_readme_commands(socket_fake: OnSocket) -> None:
    """``curl -s localhost:8080/__admin/faults -d '{...}'``, as README.md writes it."""
    port = socket_fake.port
    added = _curl(f"localhost:{port}/__admin/faults", "-d", '{"resCode": 500, "times": 2}')
    assert added["resCode"] == 500 and len(rules(socket_fake)) == 2
    assert len(_curl(f"localhost:{port}/__admin/requests?limit=5")["requests"]) <= 5
    _curl(f"127.0.0.1:{port}/__admin/reset", "-X", "POST")
    assert rules(socket_fake) == []


def _curl(url: str, *args: str) -> Any:
    done = subprocess.run(["curl", "-s", "-f", "--max-time", "10", url, *args], capture_output=True, timeout=30)
    assert done.returncode == 0, done
    return json.loads(done.stdout)


def test_the_contract_kit_s_admin_calls_work(socket_fake: OnSocket) -> None:
    kit = Fake(socket_fake.url)
    kit.reset()
    kit.program([{"resCode": 1000, "times": 1}])
    assert [rule["resCode"] for rule in rules(socket_fake)] == [1000]
    requests.post(socket_fake.url + SUBMIT, json={"requestParams": [submit_item()]}, timeout=10)
    assert [entry["resCode"] for entry in kit.journal()] == [1000]


def test_the_plugin_s_handle_and_its_client_work() -> None:
    with running(task_duration=0) as handle:
        handle.inject(501, times=1)
        answer = requests.post(handle.url + SUBMIT, json={"requestParams": [submit_item()]}, timeout=10)
        assert answer.json()["resCode"] == 501
        handle.reset()
        assert handle.faults() == [] and handle.requests() == []
        assert requests.post(handle.url + "/__admin/reset", timeout=10).status_code == 200


def test_http10_without_host_is_served() -> None:
    """HTTP/1.0 has no Host header; no browser leaves it out, so it is not a rebinding page."""
    with running(SETTINGS) as live:
        import socket

        where = urlsplit(live.url)
        with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
            sock.sendall(b"GET /__admin/health HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200"), data[:80]


def test_the_in_process_mode_has_no_guard() -> None:
    """No socket, so no browser: its host names (bgmock.local, the vendor's) are answered as is."""
    pytest.importorskip("responses")
    from mockserver.testing.inprocess import mocked

    with mocked() as fake:
        answer = requests.post(fake.url + "/__admin/reset", headers={"Origin": "http://evil.example"}, timeout=5)
        assert answer.status_code == 200
        assert requests.get("https://api.aidc-ai.com/__admin/health", timeout=5).status_code == 200


# -- settings -------------------------------------------------------------------------------

def test_allow_hosts_adds_names() -> None:
    target = InMemory(create_app({**SETTINGS, "allow_hosts": ["bgmock.test", "[fd00::1]"]}))
    for host in ("bgmock.test", "bgmock.test:8080", "BGMOCK.TEST", "[fd00::1]:80"):
        assert target.send("GET", "/__admin/health", {"Host": host}).status == 200
    assert target.send("GET", "/__admin/health", {"Host": "other.test"}).status == 403


def test_public_url_s_host_and_origin_are_the_fake_s_own() -> None:
    target = InMemory(create_app({**SETTINGS, "public_url": "https://mock.example.com"}))
    headers = {"Host": "mock.example.com", "Origin": "https://mock.example.com", "Content-Type": "application/json"}
    assert target.send("POST", "/__admin/faults", headers, EVIL_RULE).status == 201
    # behind a proxy that sends the fake its own address, the page's origin is still public_url's
    headers = {"Host": "127.0.0.1:8080", "Origin": "https://mock.example.com", "Content-Type": "application/json"}
    assert target.send("POST", "/__admin/reset", headers, b"{}").status == 200


def test_the_allow_host_flag_and_its_validation(tmp_path: Any) -> None:
    config_file = tmp_path / "c.json"
    config_file.write_text(json.dumps({"allow_hosts": ["from-file.test"]}))
    parser = cli.argparse.ArgumentParser()
    cli._serve_args(parser)
    config = cli.build_config(parser.parse_args(["--config", str(config_file), "--allow-host", "dev.test"]))
    assert config.allow_hosts == ("from-file.test", "dev.test")
    assert own_hosts(config).allows("dev.test") and own_hosts(config).allows("from-file.test")
    for bad in (["http://x.test/"], ["x.test:8080"], ["*.example.com"], [""]):
        with pytest.raises(ConfigError, match="allow_hosts"):
            Config.from_mapping({"allow_hosts": bad})


def test_beyond_loopback_the_machine_s_names_and_addresses_are_served() -> None:
    import socket

    wide = own_hosts(Config.from_mapping({"host": "0.0.0.0", "admin_token": "t" * 12}))
    assert wide.allows(socket.gethostname().lower()) and wide.allows("192.168.1.7") and wide.allows("fe80::1")
    assert not wide.allows("evil.example")
    narrow = own_hosts(Config())
    assert not narrow.allows("192.168.1.7") and not narrow.allows(socket.gethostname().lower() + ".evil")
    assert own_hosts(Config.from_mapping({"host": "127.0.0.2"})).allows("127.0.0.2")


@pytest.mark.parametrize("value, expected", [
    ("localhost:8080", ("localhost", 8080)), ("[::1]:80", ("::1", 80)), ("[::1]", ("::1", None)),
    ("Example.COM.", ("example.com", None)), ("::1", ("::1", None)), ("a:b:c", ("a:b:c", None)),
    ("host:99999", ("host:99999", None)), ("[::1]x", ("[::1]x", None)),
])
def test_host_headers_are_read_like_browsers_write_them(value: str, expected: tuple[str, int | None]) -> None:
    assert split_host_header(value) == expected


def test_the_guard_is_on_in_every_served_dispatcher() -> None:
    """Every host of the fake builds its dispatcher with the guard; only the in-process mode opts out."""
    assert create_app(SETTINGS).extensions["bgmock"].dispatcher.guard is not None
    assert Dispatcher(Backend(Config.from_mapping(SETTINGS))).guard is not None


def test_an_internal_error_on_the_admin_api_is_an_http_500(monkeypatch, caplog):
    """The admin API is a plain REST API: a failure it cannot blame on the request fails ``curl -f``
    and ``raise_for_status()``, an internal error with HTTP 500 as a lost store with 503 (it was
    HTTP 200 with the 500 envelope); the vendor's API keeps HTTP 200, as the gateway answers."""

    dispatcher = Dispatcher(Backend(Config(log_requests=False)))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(dispatcher.backend, "journal", broken)
    caplog.set_level("INFO", logger="bgmock")
    reply = dispatcher.handle(Incoming.build("GET", "/__admin/requests"))
    assert reply.status == 500 and reply.res_code == 500, reply
    assert "internal error on GET /__admin/requests" in caplog.text
