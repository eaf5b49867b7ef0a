"""Proxy mode: ``HTTPS_PROXY`` pointed at the fake makes the vendor's real domain land on it,
unchanged; any other host is refused with a 403 and journaled, never forwarded."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys

import pytest
import requests
from tls_support import CLIENTS, env_with, raw_when_up, serve

from mockserver import running
from mockserver.origin import intercepted_hosts
from mockserver.serving.proxy import split_authority

KEY, SECRET = "K", "S"
SCENES = "/rest/ai/image/background/generation/scene/query"
SUBMIT = "/rest/ai/image/background/generation/scenario"


def _journal(port: int) -> list[dict]:
    return requests.get(f"http://127.0.0.1:{port}/__admin/requests", timeout=10).json()["requests"]


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_python_vendor_sample_runs_unchanged_through_https_proxy(tmp_path):
    with serve("--proxy", "--app-key", f"{KEY}:{SECRET}", "--task-duration", "0.3", "--tls-dir", str(tmp_path),
               data_home=tmp_path) as (scheme, port, _):
        assert scheme == "http"
        env = env_with(tmp_path, HTTPS_PROXY=f"http://127.0.0.1:{port}", REQUESTS_CA_BUNDLE=str(tmp_path / "ca.pem"))
        done = subprocess.run([sys.executable, str(CLIENTS / "vendor_sample.py"), "api.aidc-ai.com", KEY, SECRET],
                              env=env, capture_output=True, text=True, timeout=120)
        journal = _journal(port)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[:3] == ["finished", "2", "images"]
    assert {entry["headers"].get("host") for entry in journal} == {"api.aidc-ai.com"}
    assert all(entry["status"] == 200 for entry in journal)


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_curl_through_the_proxy_gets_the_fakes_answer_for_the_vendor_host(tmp_path):
    with serve("--proxy", "--tls-dir", str(tmp_path), data_home=tmp_path) as (_, port, _):
        done = subprocess.run(
            ["curl", "-sS", "--proxy", f"http://127.0.0.1:{port}", "--cacert", str(tmp_path / "ca.pem"),
             "-H", "Content-Type: application/json", "-d", '{"count": 1}',
             f"https://cn-api.aidc-ai.com{SCENES}"],
            capture_output=True, text=True, timeout=60, env=env_with(tmp_path),
        )
    assert done.returncode == 0, done.stderr
    assert '"coverUrl":"https://cn-api.aidc-ai.com/__bgmock/covers/' in done.stdout


def test_connect_to_another_host_is_refused_with_403_and_journaled(tmp_path):
    with serve("--proxy", "--tls-dir", str(tmp_path), data_home=tmp_path) as (_, port, _):
        answer = _raw(port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        journal = _journal(port)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 ")
    assert b'"code":"ProxyRefused"' in body and b"example.com" in body and b"does not forward" in body
    [entry] = journal
    assert (entry["method"], entry["path"], entry["status"], entry["gateway"]) == (
        "CONNECT", "example.com:443", 403, "ProxyRefused")
    assert "example.com" in entry["problems"][0]


def test_requests_through_the_proxy_to_another_host_fail_and_nothing_is_forwarded(tmp_path):
    with serve("--proxy", "--tls-dir", str(tmp_path), data_home=tmp_path) as (_, port, _):
        proxies = {"https": f"http://127.0.0.1:{port}", "http": f"http://127.0.0.1:{port}"}
        with pytest.raises(requests.exceptions.ProxyError, match="403"):
            requests.get("https://example.com/", proxies=proxies, timeout=10)
        plain = requests.get("http://example.com/x", proxies=proxies, timeout=10)
        assert plain.status_code == 403 and plain.json()["code"] == "ProxyRefused"
        assert [e["method"] for e in _journal(port)] == ["GET", "CONNECT"]


def test_proxy_and_tls_share_one_port(tmp_path):
    with serve("--proxy", "--tls", "--tls-dir", str(tmp_path), data_home=tmp_path) as (scheme, port, _):
        assert scheme == "https"
        ca = str(tmp_path / "ca.pem")
        direct = requests.post(f"https://127.0.0.1:{port}{SCENES}", json={"count": 1}, verify=ca, timeout=10)
        proxied = requests.post(f"https://api.aidc-ai.com{SCENES}", json={"count": 1}, verify=ca, timeout=10,
                                proxies={"https": f"http://127.0.0.1:{port}"})
    assert direct.json()["data"][0]["coverUrl"].startswith(f"https://127.0.0.1:{port}/")
    assert proxied.json()["data"][0]["coverUrl"].startswith("https://api.aidc-ai.com/")


def test_plain_http_absolute_form_for_an_intercepted_host_is_answered(tmp_path):
    with serve("--proxy", "--intercept", "aidge.internal.test", "--tls-dir", str(tmp_path),
               data_home=tmp_path) as (_, port, _):
        proxies = {"http": f"http://127.0.0.1:{port}"}
        for host in ("api.aidc-ai.com", "aidge.internal.test"):
            answer = requests.post(f"http://{host}{SCENES}", json={"count": 1}, proxies=proxies, timeout=10)
            assert answer.status_code == 200
            assert answer.json()["data"][0]["coverUrl"].startswith(f"http://{host}/__bgmock/covers/")


def test_intercept_adds_a_host_with_its_own_certificate(tmp_path):
    with running(proxy=True, intercept_hosts=["aidge.internal.test"], tls_dir=str(tmp_path)) as fake:
        proxies = {"https": fake.url}
        answer = requests.post(f"https://aidge.internal.test{SCENES}", json={"count": 1}, proxies=proxies,
                               verify=fake.ca, timeout=10)
        assert answer.json()["success"] is True
        with pytest.raises(requests.exceptions.ProxyError):
            requests.post(f"https://other.internal.test{SCENES}", json={}, proxies=proxies, verify=fake.ca, timeout=10)


def test_without_the_proxy_setting_connect_is_not_served(tmp_path):
    with running(tls_dir=str(tmp_path)) as fake:
        port = int(fake.url.rsplit(":", 1)[1])
        answer = _raw(port, b"CONNECT api.aidc-ai.com:443 HTTP/1.1\r\nHost: api.aidc-ai.com:443\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ") and b"not a proxy" in answer


@pytest.mark.parametrize("server", ["threaded", "werkzeug", "granian"])
def test_without_proxy_connect_is_told_the_fake_is_not_a_proxy_in_every_server_mode(tmp_path, server):
    """docs/tls-and-proxy.md: without --proxy, CONNECT is a 400 "this fake is not a proxy" (the
    default server said "malformed request target"; werkzeug and granian answered 403 ForbiddenHost)."""
    if server == "granian":
        pytest.importorskip("granian")
    with serve("--server", server, data_home=tmp_path) as (_, port, _):
        answer = raw_when_up(port, b"CONNECT api.aidc-ai.com:443 HTTP/1.1\r\nHost: api.aidc-ai.com:443\r\n\r\n")
        # a CONNECT in origin form is no proxy request: the route's method check answers it
        origin_form = raw_when_up(port, b"CONNECT /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        b"Connection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer
    envelope = json.loads(body)
    assert envelope["code"] == "BadHttpRequest" and envelope["message"].startswith("CONNECT: this fake is not a proxy")
    assert origin_form.startswith(b"HTTP/1.1 405 "), origin_form


@pytest.mark.parametrize("line", [b"CONNECT api.aidc-ai.com HTTP/1.1", b"CONNECT :443 HTTP/1.1",
                                  b"CONNECT api.aidc-ai.com:99999 HTTP/1.1", b"CONNECT a b c HTTP/1.1"])
def test_a_malformed_connect_is_a_400(tmp_path, line):
    with running(proxy=True, tls_dir=str(tmp_path)) as fake:
        answer = _raw(int(fake.url.rsplit(":", 1)[1]), line + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_intercepted_hosts_is_a_config_derived_set():
    from mockserver.config import Config

    assert intercepted_hosts(Config()) == frozenset()
    assert intercepted_hosts(Config.from_mapping({"proxy": True, "intercept_hosts": ["X.Test."]})) == {
        "api.aidc-ai.com", "cn-api.aidc-ai.com", "x.test"}


def test_split_authority():
    assert split_authority("API.aidc-ai.com:443") == ("api.aidc-ai.com", 443)
    assert split_authority("[::1]:8443") == ("::1", 8443)
    assert split_authority("example.com") == ("example.com", None)
    assert split_authority("example.com:0") == ("example.com", None)


def test_the_refusal_and_internal_error_log_lines_escape_and_mask_what_was_sent(caplog):
    """What a client sent, in a log line written outside the dispatcher (the proxy's refusal, a
    server's own internal error), is shown as the access line shows it: a sent CR/LF cannot forge
    a second line, and a configured secret is masked."""
    from types import SimpleNamespace

    from mockserver.api import Backend
    from mockserver.config import Config
    from mockserver.dispatch import Dispatcher
    from mockserver.serving.proxy import Proxy
    from mockserver.serving.wsgi import WsgiApp

    token = "Adm1n-T0ken-Secret"
    config = Config(proxy=True, admin_token=token, log_requests=False)
    dispatcher = Dispatcher(Backend(config))
    proxy = Proxy(lambda: config, dispatcher.refuse, dispatcher.shown)
    handler = SimpleNamespace(scheme="http", client_address=("127.0.0.1", 5555))
    caplog.set_level("INFO", logger="bgmock")
    target = f"http://evil.example/a?t={token}\r\n12:00:00 GET / -> 200 forged"
    refused = proxy.refusal(handler, "GET", target, "evil.example", [])
    assert refused.status == 403

    class Broken(WsgiApp):
        def incoming(self, environ):  # a broken request stream
            raise RuntimeError("boom")

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/x{token}\nforged", "wsgi.input": None, "CONTENT_LENGTH": "0"}
    Broken(dispatcher)(environ, lambda *args: None)
    messages = [record.getMessage() for record in caplog.records]
    lines = [text for text in messages if "refused" in text or "internal error" in text]
    assert len(lines) == 2, lines
    for line in lines:
        assert "\n" not in line and "\r" not in line and token not in line, line
    assert "\\r\\n12:00:00 GET / -> 200 forged" in lines[0]


def test_the_refusal_log_line_cuts_a_long_method_and_target_short(caplog):
    """The proxy's refusal line shows at most 32 characters of the method and 300 of the target
    (as it cut the target before ``Dispatcher.shown``), each marked ``...``: a client sending
    megabytes of either cannot make the log hold them."""
    from types import SimpleNamespace

    from mockserver.api import Backend
    from mockserver.config import Config
    from mockserver.dispatch import Dispatcher
    from mockserver.serving.proxy import Proxy

    config = Config(proxy=True, log_requests=False)
    dispatcher = Dispatcher(Backend(config))
    proxy = Proxy(lambda: config, dispatcher.refuse, dispatcher.shown)
    handler = SimpleNamespace(scheme="http", client_address=("127.0.0.1", 5555))
    caplog.set_level("INFO", logger="bgmock")
    method, target = "M" * 5000, "http://evil.example/" + "p" * 100_000
    assert proxy.refusal(handler, method, target, "evil.example", []).status == 403
    (line,) = [record.getMessage() for record in caplog.records if "refused" in record.getMessage()]
    assert f" {'M' * 32}... http://evil.example/{'p' * 280}... from " in line, line[:500]
