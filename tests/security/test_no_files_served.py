"""Nothing is served from disk: no path (traversals, encoded or double-encoded) reaches a file,
the only routes are the dispatcher's catch-alls, and images are drawn from memory (SECURITY.md)."""

from __future__ import annotations

import http.client
import http.server
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import client

from mockserver import Handle, running

TRAVERSALS = [
    "/__bgmock/covers/../../../../etc/passwd", "/__bgmock/covers/..%2f..%2f..%2f..%2fetc%2fpasswd.png",
    "/__bgmock/covers/%2e%2e%2f%2e%2e%2fpyproject.toml.png", "/__bgmock/covers/..%252f..%252fetc%252fpasswd.png",
    "/__bgmock/covers/..\\..\\etc\\passwd.png", "/__bgmock/covers/%c0%ae%c0%ae%2fetc%2fpasswd.png",
    "/__bgmock/results/..%2f..%2f..%2fetc%2fpasswd/0/0.png", "/__bgmock/../pyproject.toml", "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd", "/static/../../pyproject.toml", "/schemas/config.json",
    "/fixtures/scenes.json", "/mockserver/app.py", "/.git/config", "/__bgmock/covers/link.png",
    "/__bgmock/covers/mod001.png%00.txt", "/README.md", "/pyproject.toml",
]
FILE_MARKERS = [b"root:", b"[build-system]", b"$schema", b"import ", b"[core]", b"# bgmock", b"secret"]


@pytest.fixture(scope="module")
def served_from_a_trap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Handle]:
    """A live fake whose working directory holds files and symlinks a careless server would serve."""
    trap = tmp_path_factory.mktemp("trap")
    (trap / "static").mkdir()
    (trap / "static" / "secret.txt").write_text("secret")
    (trap / "__bgmock" / "covers").mkdir(parents=True)
    (trap / "__bgmock" / "covers" / "link.png").symlink_to("/etc/passwd")
    (trap / "pyproject.toml").symlink_to(Path(__file__).resolve().parents[2] / "pyproject.toml")
    import os

    before = os.getcwd()
    os.chdir(trap)
    try:
        with running() as fake:
            yield fake
    finally:
        os.chdir(before)


def _raw_get(fake: Handle, path: str) -> tuple[int, str, bytes]:
    """GET exactly this path over a socket (no client-side normalisation of ``..``)."""
    where = urlsplit(fake.url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_reaches_a_file(served_from_a_trap: Handle, path: str) -> None:
    status, content_type, body = _raw_get(served_from_a_trap, path)
    assert status == 404 and content_type.startswith("application/json"), (path, status, body[:100])
    assert json.loads(body)["code"] == "InvalidApiPath"
    assert not any(marker in body for marker in FILE_MARKERS), body[:200]


def test_the_only_routes_are_the_dispatchers_catch_alls() -> None:
    """No static folder, no send_file, no Flask route of bgmock's own (a user may add theirs:
    tests/serving/test_app.py): every request goes to the dispatcher (through its WSGI host), whose
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
    catalog = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "scenes.json").read_text(encoding="utf-8"))
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
