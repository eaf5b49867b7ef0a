"""What SECURITY.md promises: where the fake listens, the admin token, no files served, input
caps, constant-time signature checks, secrets kept out of logs and answers, and the fences
around the opt-in download of imageFileUrl (fetch.py)."""

from __future__ import annotations

import contextlib
import hmac
import http.client
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import MISSING, QUERY, SUBMIT, client, make_image, problems, submit, submit_item

from mockserver import cli
from mockserver.config import Config, ConfigError
from mockserver.fetch import FetchPolicy, FetchRefused, ImageFetcher, is_public
from mockserver.signing import signed_query
from mockserver.testing.live import LiveServer, running

ADMIN_TOKEN = "admin-token-never-shown-1"
APP_KEY, APP_SECRET = "sec-key", "app-secret-never-shown-2"
ADMIN = "X-Bgmock-Admin-Token"


# -- where it listens -------------------------------------------------------------------------


class _NoServer:
    """Stands in for the HTTP server: ``bgmock serve`` announces itself and stops at once."""

    def __init__(self, host: str, port: int, app: Any, **_: Any) -> None:
        import socket

        self.socket = socket.socket()
        self.bound = host

    def serve_forever(self) -> None:
        raise KeyboardInterrupt

    def server_close(self) -> None:
        self.socket.close()


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    bound: list[str] = []

    def fake(host: str, port: int, app: Any, **kwargs: Any) -> _NoServer:
        bound.append(host)
        return _NoServer(host, port, app)

    monkeypatch.setattr("mockserver.serving.httpd.make_server", fake)
    return bound


def test_serve_binds_loopback_by_default(no_server: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert Config().host == "127.0.0.1"
    assert cli.main(["serve", "--quiet"]) == 0
    assert no_server == ["127.0.0.1"]
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_serve_beyond_loopback_without_an_admin_token_refuses_to_start(
    host: str, no_server: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--host", host]) == 2
    assert no_server == []
    assert "--admin-token" in capsys.readouterr().err


def test_serve_beyond_loopback_with_a_token_warns_and_never_prints_the_token(
    no_server: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--host", "0.0.0.0", "--admin-token", ADMIN_TOKEN, "--app-key", f"{APP_KEY}:{APP_SECRET}"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert no_server == ["0.0.0.0"]
    assert "warning" in err and "reachable from other machines" in err
    assert ADMIN_TOKEN not in out + err and APP_SECRET not in out + err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.1.2.3"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert cli.is_loopback(host)


# -- the admin token --------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [None, "", "wrong-token-xxxx", ADMIN_TOKEN + "x", ADMIN_TOKEN[:-1]])
def test_admin_api_refuses_a_missing_or_wrong_token(sent: str | None) -> None:
    c = client(admin_token=ADMIN_TOKEN)
    headers = {} if sent is None else {ADMIN: sent}
    for method, path in [("GET", "/__admin/requests"), ("POST", "/__admin/faults"), ("POST", "/__admin/reset"),
                         ("GET", "/__admin/config"), ("DELETE", "/__admin/faults")]:
        response = c.open(path, method=method, headers=headers, json={"resCode": 501})
        assert response.status_code == 401, (method, path)
        assert response.get_json()["code"] == "Unauthorized"
    assert c.get("/__admin/faults", headers={ADMIN: ADMIN_TOKEN}).get_json() == {"faults": []}


def test_admin_api_accepts_the_token_and_the_vendor_api_does_not_need_it() -> None:
    c = client(admin_token=ADMIN_TOKEN)
    assert c.get("/__admin/health", headers={ADMIN: ADMIN_TOKEN}).status_code == 200
    assert submit(c, submit_item())["resCode"] == 200


def test_tokens_and_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every secret comparison goes through hmac.compare_digest (no early exit on the first byte)."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    c = client(admin_token=ADMIN_TOKEN, app_keys={APP_KEY: APP_SECRET})
    assert c.get("/__admin/health", headers={ADMIN: "guess-guess-guess"}).status_code == 401
    assert (b"guess-guess-guess", ADMIN_TOKEN.encode()) in compared
    signed = signed_query(APP_KEY, APP_SECRET)
    answer = c.get("/rest" + QUERY, query_string={**signed, "sign": "0" * 64, "taskId": "x"}).get_json()
    assert answer["code"] == "IncompleteSignature"
    assert any(given == b"0" * 64 for given, _ in compared)
    assert c.get("/rest" + QUERY, query_string={**signed, "taskId": "x"}).get_json()["resCode"] == 700


# -- nothing is served from disk --------------------------------------------------------------

TRAVERSALS = [
    "/__bgmock/covers/../../../../etc/passwd", "/__bgmock/covers/..%2f..%2f..%2f..%2fetc%2fpasswd.png",
    "/__bgmock/covers/%2e%2e%2f%2e%2e%2fpyproject.toml.png", "/__bgmock/covers/..%252f..%252fetc%252fpasswd.png",
    "/__bgmock/covers/..\\..\\etc\\passwd.png", "/__bgmock/covers/%c0%ae%c0%ae%2fetc%2fpasswd.png",
    "/__bgmock/results/..%2f..%2f..%2fetc%2fpasswd/0/0.png", "/__bgmock/../pyproject.toml", "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd", "/static/../../pyproject.toml", "/schemas/config.json",
    "/fixtures/scenes.json", "/mockserver/serving/app.py", "/.git/config", "/__bgmock/covers/link.png",
    "/__bgmock/covers/mod001.png%00.txt", "/README.md", "/pyproject.toml",
]
FILE_MARKERS = [b"root:", b"[build-system]", b"$schema", b"import ", b"[core]", b"# bgmock", b"secret"]


@pytest.fixture(scope="module")
def served_from_a_trap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live fake whose working directory holds files and symlinks a careless server would serve."""
    trap = tmp_path_factory.mktemp("trap")
    (trap / "static").mkdir()
    (trap / "static" / "secret.txt").write_text("secret")
    (trap / "__bgmock" / "covers").mkdir(parents=True)
    (trap / "__bgmock" / "covers" / "link.png").symlink_to("/etc/passwd")
    (trap / "pyproject.toml").symlink_to(Path(__file__).resolve().parents[1] / "pyproject.toml")
    import os

    before = os.getcwd()
    os.chdir(trap)
    try:
        with running(task_duration=0) as fake:
            yield fake
    finally:
        os.chdir(before)


def _raw_get(fake: LiveServer, path: str) -> tuple[int, str, bytes]:
    """GET exactly this path over a socket (no client-side normalisation of ``..``)."""
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_reaches_a_file(served_from_a_trap: LiveServer, path: str) -> None:
    status, content_type, body = _raw_get(served_from_a_trap, path)
    assert status == 404 and content_type.startswith("application/json"), (path, status, body[:100])
    assert json.loads(body)["code"] == "InvalidApiPath"
    assert not any(marker in body for marker in FILE_MARKERS), body[:200]


def test_the_only_routes_are_the_dispatchers_catch_alls() -> None:
    """No static folder, no send_file, no Flask route of bgmock's own (a user may add theirs:
    tests/test_app.py): every request goes to the dispatcher (through its WSGI host), whose
    image routes render from memory (tasks and the scene catalog), not from paths."""
    from mockserver.serving.wsgi import WsgiApp

    app = client().application
    assert list(app.url_map.iter_rules()) == []
    assert isinstance(app.extensions["bgmock"], WsgiApp)
    status, _, body = _raw_get_flask(app, "/__bgmock/covers/mod001.png")
    assert status == 200 and body.startswith(b"\x89PNG")


def _raw_get_flask(app: Any, path: str) -> tuple[int, str, bytes]:
    response = app.test_client().get(path)
    return response.status_code, response.content_type, response.data


def test_a_catalog_scene_named_like_a_path_is_still_drawn_from_memory(tmp_path: Path) -> None:
    catalog = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "scenes.json").read_text(encoding="utf-8"))
    scenes = catalog["scenes"] if isinstance(catalog, dict) else catalog
    first = dict(scenes[0])
    first["modelNum"] = "../../etc/passwd"
    if isinstance(catalog, dict):
        catalog["scenes"] = [first, *scenes[1:]]
    else:
        catalog = [first, *scenes[1:]]
    path = tmp_path / "scenes.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    c = client(catalog=str(path))
    response = c.get("/__bgmock/covers/..%2F..%2Fetc%2Fpasswd.png")
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    assert b"root:" not in response.data


# -- input caps -------------------------------------------------------------------------------


def test_deep_nesting_answers_a_clear_700() -> None:
    c = client()
    for body in (b"[" * 10_000 + b"]" * 10_000, b'{"requestParams": ' + b"[" * 100 + b"]" * 100 + b"}"):
        answer = c.post(SUBMIT, data=body, content_type="application/json").get_json()
        assert answer["resCode"] == 700 and "nested deeper than 32 levels" in answer["resMessage"], answer
    answer = c.post(SUBMIT, json={"requestParams": "[" * 5000 + "]" * 5000}).get_json()
    assert answer["resCode"] == 700
    answer = c.post("/__admin/faults", data=b"[" * 10_000 + b"]" * 10_000, content_type="application/json")
    assert answer.get_json()["resCode"] == 700


def test_nesting_within_the_cap_is_read_normally() -> None:
    c = client()
    answer = submit(c, submit_item(), extra={"note": json.loads("[" * 28 + "]" * 28)})
    assert answer["resCode"] == 200


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"productTitle": "x" * 513}, "requestParams[0].productTitle: must be at most 512 characters"),
        ({"modelNum": "m" * 129}, "requestParams[0].modelNum: must be at most 128 characters"),
        ({"imageFileUrl": "https://example.com/" + "p" * 3000, "imgBase64": MISSING}, "requestParams[0].imageFileUrl"),
        ({"imgBase64": "A" * 6_000_001}, "requestParams[0].imgBase64"),
    ],
)
def test_strings_over_their_cap_answer_700_naming_the_field(item: dict[str, Any], expected: str) -> None:
    answer = submit(client(), submit_item(**item))
    assert answer["resCode"] == 700
    assert any(p.startswith(expected) for p in problems(answer)), problems(answer)


def test_too_many_items_answer_700_without_judging_each() -> None:
    item = submit_item(width="bad", imgBase64=MISSING, imageFileUrl="https://example.com/p.jpg")
    answer = submit(client(), *[item] * 5000)
    found = problems(answer)
    assert "requestParams: must hold 1 to 10 items" in found
    assert not any(p.startswith("requestParams[11]") for p in found)
    assert len(answer["resMessage"]) < 5000


def test_a_body_over_the_cap_answers_700() -> None:
    answer = client(max_body_bytes=4096).post(SUBMIT, data=b"{" + b" " * 5000 + b"}", content_type="application/json")
    assert answer.get_json()["resMessage"] == "invalid input: body: larger than the 4096 bytes the fake accepts"


def test_the_journal_keeps_a_bounded_copy_of_a_huge_body() -> None:
    c = client()
    submit(c, submit_item(), extra={f"k{i}": "v" * 300 for i in range(5000)})
    entry = c.get("/__admin/requests?limit=1").get_json()["requests"][0]
    assert len(json.dumps(entry)) < 20_000
    assert entry["body"]["..."] == "<4969 more fields>"


# -- secrets stay secret ----------------------------------------------------------------------


def test_secrets_never_reach_logs_answers_or_the_journal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    c = client(admin_token=ADMIN_TOKEN, app_keys={APP_KEY: APP_SECRET}, log_requests=True)
    auth = {ADMIN: ADMIN_TOKEN, "Authorization": "Bearer " + ADMIN_TOKEN}
    seen: list[str] = []
    seen.append(c.get("/rest" + QUERY, query_string={**signed_query(APP_KEY, APP_SECRET), "taskId": "x"}).text)
    seen.append(c.get("/rest" + QUERY, query_string={**signed_query(APP_KEY, "wrong"), "taskId": "x"}).text)
    seen.append(c.get(QUERY, query_string={"taskId": "x", "access_token": ADMIN_TOKEN}).text)
    seen.append(c.post(SUBMIT, json={"requestParams": [submit_item()]}, headers=auth).text)
    seen.append(c.get("/__admin/requests", headers=auth).text)
    seen.append(c.get("/__admin/config", headers=auth).text)
    seen.append(c.get("/__admin/health", headers=auth).text)
    seen.append(c.get("/__admin/health", headers={ADMIN: "nope-nope-nope"}).text)
    everything = "\n".join(seen) + caplog.text
    assert "POST /ai/image/background/generation/scenario" in caplog.text  # the log was on
    assert ADMIN_TOKEN not in everything
    assert APP_SECRET not in everything
    assert json.loads(seen[5])["admin_token"] == "***" and json.loads(seen[5])["app_keys"] == {APP_KEY: "***"}


@pytest.mark.parametrize(
    "settings",
    [{"admin_token": "short12"}, {"app_keys": {"k": ""}}, {"app_keys": {"k": 12345678}}, {"admin_token": 123456789}],
)
def test_a_rejected_secret_is_not_quoted_in_the_error(settings: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping(settings)
    secret = settings.get("admin_token", next(iter(settings.get("app_keys", {"": ""}).values())))
    if str(secret):
        assert str(secret) not in str(caught.value)


# -- fetching imageFileUrl (fetch.py) ---------------------------------------------------------

PNG = make_image("PNG", 600, 600)


class _ImageServer(http.server.BaseHTTPRequestHandler):
    """/image.png, /big (2 MiB, no Content-Length), /hang (never answers), redirects, /text."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).hits.append(self.path)
        port = self.server.server_address[1]
        if self.path == "/image.png":
            self._send(200, PNG, "image/png")
        elif self.path == "/text":
            self._send(200, b"not an image", "text/plain")
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            with contextlib.suppress(OSError):  # the fetcher hangs up at its cap, as it should
                self.wfile.write(b"\0" * (2 * 1024 * 1024))
        elif self.path == "/big-declared":
            self._send(200, b"\0" * (2 * 1024 * 1024), "image/png")
        elif self.path == "/hang":
            self.server.release.wait(10)  # type: ignore[attr-defined]
        elif self.path == "/same-host":
            self._redirect("/image.png")
        elif self.path == "/other-host":
            self._redirect(f"http://localhost:{port}/image.png")
        elif self.path == "/loop":
            self._redirect("/loop")
        else:
            self._send(404, b"", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the fetcher may hang up after the headers (a declared size)
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ImageServer)
    server.daemon_threads = True
    server.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


def _submit_url(url: str, **settings: Any) -> dict[str, Any]:
    return submit(client(**settings), submit_item(imgBase64=MISSING, imageFileUrl=url))


FETCH = {"fetch_images": True, "fetch_allow_hosts": ["127.0.0.1"], "fetch_timeout_s": 2}


def test_urls_are_never_fetched_by_default(image_server: str) -> None:
    _ImageServer.hits.clear()
    assert _submit_url(image_server + "/text")["resCode"] == 200  # not looked at, so not refused
    assert _ImageServer.hits == []


def test_a_host_outside_the_allow_list_is_not_contacted(image_server: str) -> None:
    _ImageServer.hits.clear()
    answer = _submit_url(image_server + "/image.png", fetch_images=True, fetch_allow_hosts=["images.example.com"])
    assert problems(answer) == ["requestParams[0].imageFileUrl: host 127.0.0.1 is not in fetch_allow_hosts"]
    assert _ImageServer.hits == []


def test_an_allow_listed_host_is_fetched_and_its_image_checked(image_server: str) -> None:
    assert _submit_url(image_server + "/image.png", **FETCH)["resCode"] == 200
    assert "not an image" in problems(_submit_url(image_server + "/text", **FETCH))[0]
    assert "HTTP 404" in problems(_submit_url(image_server + "/missing.png", **FETCH))[0]


@pytest.mark.parametrize("path", ["/big", "/big-declared"])
def test_a_download_over_the_size_cap_is_refused(image_server: str, path: str) -> None:
    answer = _submit_url(image_server + path, **FETCH, fetch_max_bytes=1024 * 1024)
    assert "larger than fetch_max_bytes (1048576 bytes)" in problems(answer)[0]


def test_a_download_over_the_time_cap_is_refused(image_server: str) -> None:
    answer = _submit_url(image_server + "/hang", **{**FETCH, "fetch_timeout_s": 0.2})
    assert "download took longer than 0.2 s" in problems(answer)[0]


def test_redirects_stay_on_the_same_host(image_server: str) -> None:
    assert _submit_url(image_server + "/same-host", **FETCH)["resCode"] == 200
    _ImageServer.hits.clear()
    answer = _submit_url(image_server + "/other-host", **{**FETCH, "fetch_allow_hosts": ["127.0.0.1", "localhost"]})
    assert "redirect to another host (localhost) refused" in problems(answer)[0]
    assert _ImageServer.hits == ["/other-host"]
    assert "more than 3 redirects" in problems(_submit_url(image_server + "/loop", **FETCH))[0]


def test_credentials_in_the_url_are_not_sent(image_server: str) -> None:
    url = image_server.replace("http://", "http://user:pass@") + "/image.png"
    assert "credentials" in problems(_submit_url(url, **FETCH))[0]


def test_a_wildcard_never_reaches_a_private_address(image_server: str) -> None:
    """DNS may point an allowed name at the machine itself (or a cloud metadata address)."""
    port = int(image_server.rsplit(":", 1)[1])
    for address in ("127.0.0.1", "169.254.169.254", "10.1.2.3", "::ffff:127.0.0.1"):
        fetcher = ImageFetcher(FetchPolicy(("*.example.com",), 10_000_000, 2), resolver=lambda host, p, a=address: [a])
        with pytest.raises(FetchRefused, match="non-public address"):
            fetcher.fetch(f"http://images.example.com:{port}/image.png")
    exact = ImageFetcher(FetchPolicy(("images.example.com",), 10_000_000, 2), resolver=lambda host, p: ["127.0.0.1"])
    _ImageServer.hits.clear()
    assert exact.fetch(f"http://images.example.com:{port}/image.png") == PNG  # listed exactly: allowed
    assert _ImageServer.hits == ["/image.png"]


@pytest.mark.parametrize(
    ("address", "public"),
    [("93.184.216.34", True), ("2606:2800:220:1::1", True), ("127.0.0.1", False), ("10.0.0.1", False),
     ("172.16.5.4", False), ("192.168.1.1", False), ("169.254.169.254", False), ("0.0.0.0", False), ("::1", False),
     ("fe80::1", False), ("fc00::1", False), ("::ffff:10.0.0.1", False), ("224.0.0.1", False), ("100.64.0.1", False)],
)
def test_only_global_addresses_count_as_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_fetch_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="fetch_allow_hosts"):
        Config.from_mapping({"fetch_allow_hosts": ["https://example.com/"]})
    with pytest.raises(ConfigError, match="fetch_timeout_s"):
        Config.from_mapping({"fetch_timeout_s": 0})
    assert Config().fetch_images is False
