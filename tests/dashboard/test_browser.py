"""A real browser attack on a fake left running: it must change nothing, and be journaled.

Headless Chromium (Debian's ``chromium`` package, driven by Playwright for Python; no browser
download) opens a page served by a tiny ``http.server`` on another local port, i.e. another
origin. The page does what any web page a developer opens could do: a ``no-cors`` ``fetch``
POST to ``/__admin/reset`` and a form POST (``enctype=text/plain``, a JSON-looking body) to
``/__admin/faults``. The browser sends both without asking (they are "simple" requests), so
only the fake's Origin check stands between the page and the fake's state. A third check
loads the admin API under a rebound host name (Chromium's ``--host-resolver-rules`` maps
``rebound.example`` to 127.0.0.1, as DNS rebinding would).

Skipped, with the reason, when Chromium or Playwright is missing locally; under CI
(``CI=true``) a missing browser fails instead, so the attack is always tried there.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from mockserver import Handle, running

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
SETTINGS = {"log_requests": False, "clock": "manual", "task_duration": 0}

ATTACK = """<!doctype html>
<html><body>
<iframe name="sink" id="sink"></iframe>
<form id="form" method="POST" action="{fake}/__admin/faults" enctype="text/plain" target="sink">
  <input name='{{"resCode":500,"times":3,"pad":"' value='"}}'>
</form>
<script>
async function attack() {{
  try {{
    await fetch("{fake}/__admin/reset", {{method: "POST", mode: "no-cors",
      headers: {{"Content-Type": "text/plain"}}, body: "{{}}"}});
  }} catch (e) {{ /* an opaque answer or a network error: the page never sees the result */ }}
  const sink = document.getElementById("sink");
  sink.addEventListener("load", () => {{ document.title = "done"; }}, {{once: true}});
  document.getElementById("form").submit();
}}
attack();
</script>
</body></html>
"""


def _chromium() -> str | None:
    for path in CHROMIUM_PATHS:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless system Chromium; skip (locally) or fail (CI=true) when it cannot run."""
    executable = _chromium()
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[test]')"
    if executable is None and problem is None:
        problem = "no Chromium at /usr/bin/chromium (apt-get install chromium)"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the browser test cannot run: {problem}")
        pytest.skip(problem)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            # --no-sandbox: CI containers run as root; the page is ours. The resolver rule plays
            # the DNS server of a rebinding attacker (the name now points at this machine).
            args=["--no-sandbox", "--host-resolver-rules=MAP rebound.example 127.0.0.1"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def fake() -> Iterator[Handle]:
    with running(SETTINGS) as live:
        answer = requests.post(live.url + "/__admin/faults", json={"resCode": 501, "times": 2}, timeout=5)
        assert answer.status_code == 201
        yield live


@pytest.fixture
def attacker(fake: Handle) -> Iterator[str]:
    """Another local origin (same host, another port) serving the attack page."""
    page = ATTACK.format(fake=fake.url).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _rules(fake: Handle) -> list[dict[str, Any]]:
    return requests.get(fake.url + "/__admin/faults", timeout=5).json()["faults"]


def _refusals(fake: Handle) -> list[dict[str, Any]]:
    entries = requests.get(fake.url + "/__admin/requests", timeout=5).json()["requests"]
    return [entry for entry in entries if entry["status"] == 403]


def test_a_page_of_another_origin_cannot_reset_or_program_the_fake(
    browser: Any, fake: Handle, attacker: str
) -> None:
    page = browser.new_page()
    try:
        page.goto(attacker)
        page.wait_for_function("document.title === 'done'", timeout=15000)
    finally:
        page.close()
    (rule,) = _rules(fake)  # not reset, and the page's rule was not added
    assert rule["resCode"] == 501 and rule["remaining"] == 2
    refused = {entry["path"]: entry for entry in _refusals(fake)}
    # Both requests reached the fake (so the browser did send them) and were refused.
    assert set(refused) == {"/__admin/reset", "/__admin/faults"}, refused
    for entry in refused.values():
        assert entry["method"] == "POST" and entry["gateway"] == "ForbiddenOrigin"
        assert entry["headers"].get("origin") == attacker.rstrip("/")


def test_a_rebound_host_name_reads_nothing(browser: Any, fake: Handle) -> None:
    """The page's origin is ``rebound.example:PORT``, now pointing at the fake: what it loads
    is the refusal, not the journal or the settings."""
    port = urlsplit(fake.url).port
    page = browser.new_page()
    try:
        answer = page.goto(f"http://rebound.example:{port}/__admin/config")
        assert answer is not None and answer.status == 403
        assert '"code":"ForbiddenHost"' in page.content()
        assert "admin_token" not in page.content()
    finally:
        page.close()
    refused = _refusals(fake)  # (the browser may also have asked for /favicon.ico)
    assert refused and {entry["gateway"] for entry in refused} == {"ForbiddenHost"}
    (entry,) = [entry for entry in refused if entry["path"] == "/__admin/config"]
    assert entry["headers"]["host"] == f"rebound.example:{port}"
    assert len(_rules(fake)) == 1
