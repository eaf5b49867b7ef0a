"""The fences around the opt-in download of imageFileUrl (fetch.py): off by default, an allow
list, size and time caps, redirects kept on the same host, no credentials sent, and only
global addresses count as public (SECURITY.md)."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import MISSING, client, make_image, problems, submit, submit_item

from mockserver.config import Config, ConfigError
from mockserver.fetch import FetchPolicy, FetchRefused, ImageFetcher, is_public

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
