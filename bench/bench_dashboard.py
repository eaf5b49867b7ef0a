"""The dashboard's weight and its time to first render on a full journal (docs/dashboard.md).

Run from the repository root (needs Playwright for Python and the system Chromium; no browser
download):

    python bench/bench_dashboard.py              # 1000 entries, 7 loads, appends to bench/RESULTS.md
    python bench/bench_dashboard.py --entries 200 --repeats 3 --no-write

Figures:

* **shipped**: the bytes of the files the page is made of (``mockserver/ui/``), as served and
  gzip-compressed (the fake does not compress; the gzip column is for comparison only).
* **journal answer**: the bytes of ``GET /__admin/requests?limit=N`` on that journal, which
  the page reads every 1.5 s while live.
* **first render**: a fresh browser context opens ``/__bgmock/ui`` on a fake whose journal
  holds ``--entries`` requests (valid submits with a product image, refused ones, injected
  errors, result queries); the time from navigation start to the page's own mark
  ``bgmock:first-render`` (set after the journal's rows are in the DOM); of it, the page's own
  work (from the journal's answer received to the rows in the DOM: the rest is the fake
  answering and the browser loading, which a busy machine slows); and the load event.

Timings are figures for people, never assertions in tests. Targets (issue 19): under 300 KB
shipped, first render under 500 ms.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import gzip
import io
import os
from importlib import resources
from pathlib import Path

import requests
from common import machine, min_max, publish
from PIL import Image

from mockserver.testing.live import LiveServer
from mockserver.ui import FILES

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"


def _product() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 600), (180, 60, 60)).save(buffer, "JPEG")
    return base64.b64encode(buffer.getvalue()).decode()


def fill(fake: LiveServer, entries: int) -> None:
    """``entries`` journal entries of the kinds a working session produces."""
    item = {"imgBase64": _product(), "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2,
            "productTitle": "Red mug"}
    with requests.Session() as http:
        task_id = None
        for n in range(entries):
            kind = n % 5
            if kind == 0 or task_id is None:
                answer = http.post(fake.url + SUBMIT, json={"requestParams": [item]}, timeout=10).json()
                task_id = answer["data"]["result"]["taskId"]
            elif kind == 1:
                http.get(fake.url + QUERY, params={"taskId": task_id}, timeout=10)
            elif kind == 2:
                http.post(fake.url + SUBMIT, json={"requestParams": [{**item, "width": 100}]}, timeout=10)
            elif kind == 3:
                http.post(fake.url + SUBMIT, json={"requestParams": [item]}, headers={"Prefer": "code=501"}, timeout=10)
            else:
                http.post(fake.url + SUBMIT, data="{not json", headers={"Content-Type": "application/json"}, timeout=10)


def shipped() -> tuple[int, int]:
    data = b"".join(resources.files("mockserver.ui").joinpath(name).read_bytes() for name in FILES)
    return len(data), len(gzip.compress(data, 9))


def first_renders(url: str, repeats: int) -> tuple[list[float], list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    marks, loads, own = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                             args=["--no-sandbox"])
        try:
            for _ in range(repeats):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector("body[data-ready='true']", timeout=30000)
                marks.append(page.evaluate("performance.getEntriesByName('bgmock:first-render')[0].startTime"))
                loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
                own.append(marks[-1] - page.evaluate(
                    "performance.getEntriesByName('bgmock:journal-received')[0].startTime"))
                context.close()
        finally:
            browser.close()
    return marks, loads, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only, do not append to bench/RESULTS.md")
    args = parser.parse_args()
    size, packed = shipped()
    with LiveServer({"log_requests": False, "clock": "manual", "task_duration": 0,
                     "journal_size": args.entries}) as fake:
        fill(fake, args.entries)
        journal = requests.get(f"{fake.url}/__admin/requests?limit={args.entries}", timeout=30)
        held = len(journal.json()["requests"])
        marks, loads, own = first_renders(fake.url + "/__bgmock/ui", args.repeats)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Dashboard: weight and first render on {held} journal entries — {stamp}",
        "",
        f"`python bench/bench_dashboard.py --entries {args.entries} --repeats {args.repeats}`: headless system "
        "Chromium through Playwright, a fresh browser context per load, min–max over the loads (median). "
        "First render = navigation start to the page's `bgmock:first-render` mark (the journal's rows in the DOM).",
        "",
        *machine(["playwright", "requests"]),
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| shipped (index.html + app.js + style.css) | {size / 1024:.1f} KB ({packed / 1024:.1f} KB gzipped)"
        " | < 300 KB |",
        f"| `GET /__admin/requests?limit={args.entries}` | {len(journal.content) / 1024:.0f} KB"
        " | (read again only when a request arrived) |",
        f"| first render, ms | {min_max(marks)} | < 500 ms |",
        f"| of which the page drawing the rows (journal received → rows in the DOM), ms | {min_max(own)} | |",
        f"| load event, ms | {min_max(loads)} | |",
        "",
    ]
    publish("\n".join(lines), RESULTS, write=not args.no_write)


if __name__ == "__main__":
    main()
