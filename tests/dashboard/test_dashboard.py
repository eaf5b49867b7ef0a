"""The dashboard (``GET /__bgmock/ui``, docs/dashboard.md), in a real browser.

Headless system Chromium driven by Playwright (the ``browser`` fixture of test_browser.py: no
browser download; skipped locally without Chromium, a failure under ``CI=true``). Each test
drives the page as a person would and checks what the fake then holds through the admin API,
or drives the fake with plain HTTP (as curl would) and checks what the page then shows.
The screenshots in docs/img/ are taken here, so they show what ships (``BGMOCK_SCREENSHOTS=1``
writes them there; a plain run writes them to a scratch folder and leaves the tree clean).

Without a browser, the first tests still check what the fake serves: the files, their
Content-Security-Policy, that nothing is loaded from elsewhere, and the thumbnail endpoint.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from PIL import Image

from mockserver import Handle, running
from mockserver.config import Config
from mockserver.testing.live import LiveServer
from mockserver.ui import dashboard_url
from tests.dashboard.test_browser import browser  # noqa: F401 - the shared headless Chromium fixture

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
SETTINGS = {"log_requests": False, "clock": "manual", "task_duration": 3}
TOKEN = "dashboard-token-0123456789"
WAIT_MS = 15000


def _jpeg(width: int = 600, height: int = 600, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


PRODUCT = _jpeg()
ITEM = {
    "imgBase64": base64.b64encode(PRODUCT).decode(), "modelNum": "mod001", "width": 800, "height": 800,
    "imageNum": 2, "productTitle": "Red mug",
}


def _submit(fake: Handle, headers: dict[str, str] | None = None, **changes: Any) -> dict[str, Any]:
    body = {"requestParams": [{**ITEM, **changes}]}
    return requests.post(fake.url + SUBMIT, json=body, headers=headers, timeout=10).json()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: docs/img/ when asked (``BGMOCK_SCREENSHOTS=1 python -m pytest
    tests/dashboard/test_dashboard.py``, which refreshes the docs' pictures from what ships), else
    pytest's temporary folder of this run (pytest keeps the last three runs' and deletes older
    ones): every run takes them, but a plain run leaves neither the working tree nor /tmp growing.
    """
    if os.environ.get("BGMOCK_SCREENSHOTS"):
        return ROOT / "docs" / "img"
    return tmp_path_factory.mktemp("bgmock-shots")


@pytest.fixture
def fake() -> Iterator[Handle]:
    with running(SETTINGS) as live:
        yield live


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811 - the imported fixture
    """A page at 1280x800 that fails the test on any console error or uncaught exception."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.problems = problems
    try:
        yield page
    finally:
        context.close()
    assert problems == [], problems


def _open(page: Any, fake_url: str, view: str = "requests") -> None:
    page.goto(f"{fake_url}/__bgmock/ui#{view}")
    page.wait_for_selector("body[data-ready='true']", timeout=WAIT_MS)


def _row(page: Any, text: str) -> Any:
    return page.locator("#requests tbody tr", has_text=text)


# -- what the fake serves (no browser needed) ------------------------------------------------------------


def test_the_page_and_its_files_are_served_with_a_strict_policy(fake: Handle) -> None:
    page = requests.get(fake.url + "/__bgmock/ui", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    # Everything the page loads is the fake's own (no CDN): every src/href is ours or a data: URL.
    loads = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert loads and all(u.startswith("/__bgmock/ui/") or u.startswith("data:") for u in loads
                         if not u.startswith("http://www.softwareishard.com")), loads
    assert "<script>" not in page.text  # no inline script (the policy would refuse it anyway)
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        answer = requests.get(f"{fake.url}/__bgmock/ui/{name}", timeout=5)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(kind)
        assert "http://" not in answer.text and "https://" not in answer.text  # nothing fetched from elsewhere
    assert requests.get(fake.url + "/__bgmock/ui/../admin", timeout=5).status_code == 404
    assert requests.get(fake.url + "/__bgmock/ui/secret.txt", timeout=5).json()["code"] == "InvalidApiPath"


def test_the_product_endpoint_answers_the_uploaded_image_as_sent(fake: Handle) -> None:
    task_id = _submit(fake)["data"]["result"]["taskId"]
    answer = requests.get(f"{fake.url}/__admin/tasks/{task_id}/products/0", timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/jpeg"
    assert answer.content == PRODUCT and answer.headers["X-Content-Type-Options"] == "nosniff"
    by_url = _submit(fake, imgBase64="", imageFileUrl="https://cdn.example.com/p.jpg")["data"]["result"]["taskId"]
    for path in (f"{task_id}/products/1", f"{by_url}/products/0", "00000000-0000-4000-8000-000000000000/products/0"):
        missing = requests.get(f"{fake.url}/__admin/tasks/{path}", timeout=5)
        assert missing.status_code == 404 and missing.json()["code"] == "InvalidApiPath"


def test_the_product_endpoint_is_admin_data_behind_the_token() -> None:
    with running({**SETTINGS, "admin_token": TOKEN}) as fake:
        task_id = _submit(fake)["data"]["result"]["taskId"]
        path = f"{fake.url}/__admin/tasks/{task_id}/products/0"
        assert requests.get(path, timeout=5).status_code == 401
        assert requests.get(path, headers={"X-Bgmock-Admin-Token": TOKEN}, timeout=5).content == PRODUCT
        assert requests.get(fake.url + "/__bgmock/ui", timeout=5).status_code == 200  # the page asks for it


def test_the_start_up_line_names_the_dashboard() -> None:
    assert dashboard_url(Config.from_mapping({}), 8080) == "http://127.0.0.1:8080/__bgmock/ui"
    assert dashboard_url(Config.from_mapping({"host": "0.0.0.0", "admin_token": TOKEN}), 81) == (
        "http://127.0.0.1:81/__bgmock/ui"
    )
    assert dashboard_url(Config.from_mapping({"public_url": "https://fake.example/"}), 1) == (
        "https://fake.example/__bgmock/ui"
    )


# -- in the browser --------------------------------------------------------------------------------------


def test_the_page_loads_without_errors_and_loads_nothing_from_elsewhere(page: Any, fake: Handle) -> None:
    _submit(fake)
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    _open(page, fake.url)
    page.wait_for_timeout(500)
    assert seen and all(url.startswith(fake.url) or url.startswith(("data:", "blob:")) for url in seen), seen
    assert _row(page, SUBMIT).count() == 1


def test_a_submit_made_with_curl_appears_live(page: Any, fake: Handle) -> None:
    _open(page, fake.url)
    assert page.locator("#requests tbody tr").count() == 0
    task_id = _submit(fake)["data"]["result"]["taskId"]
    _row(page, task_id[:8]).wait_for(timeout=WAIT_MS)  # no reload: the page polls the journal
    assert "200" in _row(page, task_id[:8]).inner_text()


def test_opening_a_submit_shows_its_params_problems_and_product_thumbnail(page: Any, fake: Handle) -> None:
    task_id = _submit(fake, headers={"Prefer": "delay=5"})["data"]["result"]["taskId"]
    _submit(fake, width=100)  # a validation problem
    _open(page, fake.url)
    _row(page, task_id[:8]).click()
    pane = page.locator("#exchange")
    params = json.loads(pane.locator("pre.params").inner_text())
    assert params[0]["modelNum"] == "mod001" and params[0]["productTitle"] == "Red mug"
    assert "Prefer: delay=5" in pane.inner_text() and "signatures off" in pane.inner_text()
    thumbnail = pane.locator(".thumbs img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle(),
                           timeout=WAIT_MS)
    assert thumbnail.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [600, 600]
    page.locator("#requests tbody tr", has_text="700").click()
    assert "requestParams[0].width/height" in page.locator("#exchange ul.problems").inner_text()
    # An absent part is left out, never written as "null" or "[object ...]" (a trial saw both).
    stray = "pane => Array.from(pane.childNodes).filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent)"
    assert pane.evaluate(stray) == []
    requests.get(fake.url + QUERY, params={"taskId": task_id}, timeout=5)
    _row(page, "query").first.click()  # a query's own parameters are shown under Query
    assert pane.evaluate(stray) == [] and task_id in pane.locator("dl").last.inner_text()


def test_a_rule_added_from_the_form_fires_on_the_next_submit_and_its_counter_moves(
    page: Any, fake: Handle
) -> None:
    _open(page, fake.url, "faults")
    page.select_option("#fault-preset", "times")
    page.select_option("#fault-code", "1001")
    page.fill("#fault-times", "1")
    page.click("#fault-form button[type=submit]")
    rule = page.locator("#faults tbody tr[data-rule='rule-1']")
    rule.wait_for(timeout=WAIT_MS)
    (stored,) = requests.get(fake.url + "/__admin/faults", timeout=5).json()["faults"]
    assert (stored["endpoint"], stored["resCode"], stored["times"]) == ("submit", 1001, 1)
    page.select_option("#fault-preset", "every")  # a second rule, to watch a counter that stays
    page.fill("#fault-every", "5")
    page.click("#fault-form button[type=submit]")
    counter = page.locator("#faults tbody tr[data-rule='rule-2'] td.matched")
    counter.wait_for(timeout=WAIT_MS)
    assert counter.inner_text() == "0"
    assert _submit(fake)["resCode"] == 1001  # the next submit: the form's rule fired (and no other was asked)
    assert _submit(fake)["resCode"] == 200  # rule-2 matched it, its 5th is not due
    page.wait_for_function("() => document.querySelector(\"#faults tr[data-rule='rule-1']\") === null",
                           timeout=WAIT_MS)  # its one time used up, it left the list
    page.wait_for_function(
        "() => document.querySelector(\"#faults tr[data-rule='rule-2'] td.matched\").textContent === '1'",
        timeout=WAIT_MS,
    )
    page.click("#faults-clear")
    page.wait_for_selector("#faults-empty:not([hidden])", timeout=WAIT_MS)
    assert requests.get(fake.url + "/__admin/faults", timeout=5).json()["faults"] == []


def test_the_clock_button_finishes_a_task_and_its_images_appear(page: Any, fake: Handle) -> None:
    task_id = _submit(fake)["data"]["result"]["taskId"]
    _open(page, fake.url, "tasks")
    task = page.locator(f"article.task[data-task='{task_id}']")
    task.wait_for(timeout=WAIT_MS)
    assert "submitted" in task.locator("header").inner_text()
    assert task.locator(".results img").count() == 0
    page.click("button[data-advance='5']")
    images = page.locator(f"article.task[data-task='{task_id}'] .results img")
    images.first.wait_for(timeout=WAIT_MS)
    assert images.count() == 2 and "finished" in task.locator("header").inner_text()
    page.wait_for_function(
        "id => [...document.querySelectorAll(`article[data-task='${id}'] .results img`)]"
        ".every(img => img.complete && img.naturalWidth === 800)", arg=task_id, timeout=WAIT_MS,
    )
    page.locator(f"article.task[data-task='{task_id}'] details summary").first.click()  # the item: its product
    page.wait_for_function(
        "id => { const i = document.querySelector(`article[data-task='${id}'] details .thumbs img`);"
        " return i && i.complete && i.naturalWidth === 600; }", arg=task_id, timeout=WAIT_MS,
    )
    link = page.locator(f"article.task[data-task='{task_id}'] .results a").first.get_attribute("href")
    assert link == f"/__bgmock/results/{task_id}/0/0.png"  # opens full size
    assert requests.get(fake.url + link, timeout=10).status_code == 200


def test_the_fail_and_hang_buttons_decide_the_next_task(page: Any, fake: Handle) -> None:
    _open(page, fake.url, "tasks")
    page.click("button[data-outcome='failed']")
    page.wait_for_function("() => document.getElementById('count-faults').textContent === '(1)'", timeout=WAIT_MS)
    failed = _submit(fake)["data"]["result"]["taskId"]
    # the submit used the rule up: wait until the page shows none, or its stale "(1)" would pass the
    # next wait before the "stuck" rule exists, and the next submit could race the button's POST
    page.wait_for_function("() => document.getElementById('count-faults').textContent === ''", timeout=WAIT_MS)
    page.click("button[data-outcome='stuck']")
    page.wait_for_function("() => document.getElementById('count-faults').textContent === '(1)'", timeout=WAIT_MS)
    stuck = _submit(fake)["data"]["result"]["taskId"]
    page.click("button[data-advance='60']")
    for task_id, status in ((failed, "failed"), (stuck, "running")):
        page.wait_for_function(
            "([id, s]) => (document.querySelector(`article[data-task='${id}'] .badge`) || {}).textContent === s",
            arg=[task_id, status], timeout=WAIT_MS,
        )
        answer = requests.get(fake.url + QUERY, params={"taskId": task_id}, timeout=5).json()
        assert answer["data"]["taskStatus"] == status


# A HAR 1.2 file as the specification (http://www.softwareishard.com/blog/har-12-spec/) requires it:
# every required field of every object the export writes, with its type.
_NAME_VALUE = {"type": "array", "items": {"type": "object", "required": ["name", "value"],
                                          "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}}
HAR_SCHEMA = {
    "type": "object", "required": ["log"],
    "properties": {"log": {
        "type": "object", "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"]},
            "entries": {"type": "array", "items": {
                "type": "object", "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                "properties": {
                    "startedDateTime": {"type": "string", "format": "date-time"},
                    "time": {"type": "number", "minimum": 0},
                    "request": {
                        "type": "object",
                        "required": ["method", "url", "httpVersion", "cookies", "headers", "queryString",
                                     "headersSize", "bodySize"],
                        "properties": {
                            "method": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                            "headers": _NAME_VALUE, "queryString": _NAME_VALUE, "cookies": {"type": "array"},
                            "headersSize": {"type": "integer"}, "bodySize": {"type": "integer"},
                            "postData": {"type": "object", "required": ["mimeType", "text"]},
                        },
                    },
                    "response": {
                        "type": "object",
                        "required": ["status", "statusText", "httpVersion", "cookies", "headers", "content",
                                     "redirectURL", "headersSize", "bodySize"],
                        "properties": {
                            "status": {"type": "integer"}, "headers": _NAME_VALUE,
                            "content": {"type": "object", "required": ["size", "mimeType"],
                                        "properties": {"size": {"type": "integer"}, "mimeType": {"type": "string"}}},
                        },
                    },
                    "timings": {
                        "type": "object", "required": ["send", "wait", "receive"],
                        "properties": {k: {"type": "number", "minimum": -1} for k in
                                       ("blocked", "dns", "connect", "send", "wait", "receive", "ssl")},
                    },
                },
            }},
        },
    }},
}


def _download(page: Any, selector: str) -> Any:
    with page.expect_download(timeout=WAIT_MS) as info:
        page.click(selector)
    return json.loads(Path(info.value.path()).read_text(encoding="utf-8"))


def test_the_har_export_is_a_valid_har_1_2_file_of_the_journal(page: Any, fake: Handle) -> None:
    task_id = _submit(fake)["data"]["result"]["taskId"]
    requests.get(fake.url + QUERY, params={"taskId": task_id}, timeout=5)
    requests.post(fake.url + SUBMIT, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=5)
    requests.post(fake.url + "/__admin/faults", json={"transport": "reset", "times": 1}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        _submit(fake)
    _open(page, fake.url, "export")
    page.wait_for_function("() => document.getElementById('count-requests').textContent === '(4)'", timeout=WAIT_MS)
    har = _download(page, "button[data-export='har'][data-scope='all']")
    jsonschema.validate(har, HAR_SCHEMA, format_checker=jsonschema.FormatChecker())
    entries = har["log"]["entries"]
    assert [(e["request"]["method"], e["request"]["url"].removeprefix(fake.url).split("?")[0]) for e in entries] == [
        ("POST", SUBMIT), ("GET", QUERY), ("POST", SUBMIT), ("POST", SUBMIT),
    ]  # oldest first, as HAR readers expect
    assert entries[1]["request"]["queryString"] == [{"name": "taskId", "value": task_id}]
    assert json.loads(entries[0]["request"]["postData"]["text"])["requestParams"][0]["modelNum"] == "mod001"
    assert entries[3]["response"]["status"] == 0 and "reset" in entries[3]["response"]["comment"]
    # The filtered export: only what the Requests view's filters let through.
    page.click("nav button[data-view='requests']")
    page.select_option("#filter-endpoint", "query")
    page.click("nav button[data-view='export']")
    only = _download(page, "button[data-export='json'][data-scope='filtered']")
    assert [e["path"] for e in only["requests"]] == [QUERY]


def test_a_script_in_a_journal_entry_is_shown_as_text(page: Any, fake: Handle) -> None:
    attack = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"
    task_id = _submit(fake, productTitle=attack, headers={"X-Note": attack})["data"]["result"]["taskId"]
    requests.get(fake.url + "/<script>window.__pwned=3</script>", timeout=5)
    _open(page, fake.url)
    _row(page, task_id[:8]).click()
    assert attack in page.locator("#exchange pre.params").inner_text()
    assert attack in page.locator("#exchange").inner_text()  # the header, as text
    page.click("nav button[data-view='tasks']")
    page.locator(f"article.task[data-task='{task_id}'] summary").first.wait_for(timeout=WAIT_MS)
    assert attack in page.locator(f"article.task[data-task='{task_id}'] summary").first.inner_text()
    page.click("nav button[data-view='requests']")
    _row(page, "<script>window.__pwned=3</script>").click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("script").count() == 1 and page.locator("img[src='x']").count() == 0


def test_with_an_admin_token_the_page_asks_once_and_never_puts_it_in_a_url(browser: Any) -> None:  # noqa: F811
    with running({**SETTINGS, "admin_token": TOKEN}) as fake:
        context = browser.new_context()
        page = context.new_page()
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        try:
            task_id = _submit(fake)["data"]["result"]["taskId"]
            page.goto(fake.url + "/__bgmock/ui")
            page.wait_for_selector("#token-dialog[open]", timeout=WAIT_MS)
            page.fill("#token-input", "wrong")
            page.click("#token-form button")
            page.wait_for_function("() => document.getElementById('token-message').textContent.includes('refused')",
                                   timeout=WAIT_MS)
            page.fill("#token-input", TOKEN)
            page.click("#token-form button")
            _row(page, task_id[:8]).click()
            page.wait_for_function("() => { const i = document.querySelector('#exchange .thumbs img');"
                                   " return i && i.complete && i.naturalWidth === 600; }", timeout=WAIT_MS)
            page.click("nav button[data-view='faults']")
            page.click("#fault-form button[type=submit]")  # a state-changing call with the token
            page.locator("#faults tbody tr[data-rule='rule-1']").wait_for(timeout=WAIT_MS)
            assert page.evaluate("sessionStorage.getItem('bgmock-admin-token')") == TOKEN
            page.reload()
            page.wait_for_selector("body[data-ready='true']", timeout=WAIT_MS)
            assert page.locator("#token-dialog[open]").count() == 0  # asked once per tab
            assert not [url for url in urls if TOKEN in url or "wrong" in url]
        finally:
            context.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_behind_public_url_the_pages_own_calls_pass_the_origin_check(browser: Any) -> None:  # noqa: F811
    """Served under another name (the browser fixture resolves rebound.example to 127.0.0.1, as
    a reverse proxy's name would), the page's fetches carry that Origin: ``public_url`` makes
    it the fake's own, so its state-changing calls are accepted."""
    port = _free_port()
    public = f"http://rebound.example:{port}"
    with LiveServer({**SETTINGS, "public_url": public}, port=port) as fake:  # a port known before it starts
        context = browser.new_context()
        page = context.new_page()
        posts: list[Any] = []
        page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
        try:
            _open(page, public, "faults")
            page.click("#fault-form button[type=submit]")
            page.locator("#faults tbody tr[data-rule='rule-1']").wait_for(timeout=WAIT_MS)
            page.click("nav button[data-view='tasks']")
            page.click("button[data-advance='5']")
            page.wait_for_function("() => document.getElementById('clock-now').textContent.includes('5.0 s')",
                                   timeout=WAIT_MS)
            origins = [r.all_headers().get("origin") for r in posts]  # as sent on the wire
        finally:
            context.close()
        assert origins == [public, public]  # the browser named the page's origin; the fake accepted it
        assert len(requests.get(fake.url + "/__admin/faults", timeout=5).json()["faults"]) == 1
        assert requests.get(fake.url + "/__admin/clock", timeout=5).json()["now"] == 5.0


@pytest.mark.parametrize("screen", [("desktop", 1280, 800), ("phone", 390, 844)], ids=["desktop", "phone"])
def test_every_view_fits_the_screen_and_is_photographed_for_the_docs(
    browser: Any, fake: Handle, shots: Path, screen: tuple[str, int, int]  # noqa: F811
) -> None:
    """No view scrolls sideways at 1280x800 or 390x844; the shots go to ``shots`` (docs/img/ when asked)."""
    name, width, height = screen
    requests.post(fake.url + "/__admin/faults", json={"resCode": 501, "everyN": 4}, timeout=5)
    requests.post(fake.url + "/__admin/faults", json={"endpoint": "query", "transport": "http503", "times": 2},
                  timeout=5)
    finished = _submit(fake)["data"]["result"]["taskId"]
    _submit(fake, width=100, productTitle="too small")
    _submit(fake, headers={"Prefer": "code=1000"})
    for _ in range(2):
        requests.get(fake.url + QUERY, params={"taskId": finished}, timeout=5)
    requests.post(fake.url + "/__admin/clock", json={"advance": 4}, timeout=5)
    _submit(fake, modelNum="mod002", productTitle="Blue vase")
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    try:
        shots.mkdir(parents=True, exist_ok=True)
        for view in ("requests", "tasks", "faults", "export"):
            _open(page, fake.url, view)
            if view == "requests":
                _row(page, finished[:8]).click()
                page.wait_for_function("() => { const i = document.querySelector('#exchange .thumbs img');"
                                       " return i && i.complete && i.naturalWidth > 0; }", timeout=WAIT_MS)
                page.evaluate("window.scrollTo(0, 0)")
            if view == "tasks":
                page.wait_for_function("() => [...document.querySelectorAll('.results img')]"
                                       ".every(i => i.complete && i.naturalWidth > 0)", timeout=WAIT_MS)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{view} scrolls sideways by {overflow}px at {width}x{height}"
            page.screenshot(path=str(shots / f"dashboard-{view}-{name}.png"))
    finally:
        context.close()
