"""What the pytest plugin costs: start-up of ``bgmock_server`` and one submit in each mode.

Run from the repository root (needs the ``bench`` extra: ``pip install -e ".[test,bench]"``):

    python bench/bench_plugin.py              # 7 repeats, appends a section to bench/RESULTS.md
    python bench/bench_plugin.py --repeats 3 --submits 200 --no-write

Figures, each min–max over the repeats (median), measured in the same run:

* **ready**: in a fresh Python process (``pytest`` and ``requests`` imported), the time until
  the server gives its first answer. ``bgmock_server`` (what the fixture does: the session's
  settings checked, a live fake started, ``GET /__admin/health`` answered) against
  pytest-httpserver (``HTTPServer().start()``, one expectation, first answer); each once
  counting the import of the library (what the first test of a session pays, as the plugin
  loads the fake lazily) and once with it already imported. Also the import of the plugin
  module itself, which every pytest run in an environment with bgmock pays.
* **per submit**: one submit (``requestParams`` with an ``imageFileUrl``, JSON body) sent with
  a ``requests.Session``, answered by
    - ``live``: the fake behind ``bgmock``/``bgmock_server`` on loopback (full validation),
    - ``in-process``: the fake behind ``bgmock_responses`` (full validation, no socket),
    - ``responses stub``: a bare ``responses`` mock returning a fixed success body (no validation),
    - ``pytest-httpserver``: its server returning the same fixed body on loopback (no validation),
    - ``dispatcher only``: ``Dispatcher.handle`` called directly, no HTTP library: the fake's own work.
* **per test**: what the plugin does before each test (``Handle.restart``: reset, marker settings).

Timings are figures for people, never assertions in tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import responses  # noqa: E402
from common import machine, min_max  # noqa: E402 - bench/common.py (this folder is on sys.path)

from mockserver.backend import Backend  # noqa: E402
from mockserver.dispatch import Dispatcher  # noqa: E402
from mockserver.http import Incoming  # noqa: E402
from mockserver.testing.handle import resolve, running  # noqa: E402
from mockserver.testing.inprocess import mocked  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
CHART = ROOT / "bench" / "plugin_submit.png"
SUBMIT = "/ai/image/background/generation/scenario"
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}
BODY = {"requestParams": [ITEM]}
SAMPLE = {
    "data": {"result": {"taskId": "4a2cc9b3-5e93-4b8b-a6a4-8d6f8c5c1e0f"}}, "requestId": "0" * 30, "success": True,
    "resCode": 200, "resMessage": "success", "code": "0", "request_id": "0" * 25, "_trace_id_": "0" * 30,
}

# Each probe prints milliseconds; IMPORTS_TIMED decides whether importing the library counts.
READY_BGMOCK = """
import time, requests, pytest
started = time.perf_counter()
if not IMPORTS_TIMED:
    import mockserver.testing.handle, mockserver.testing.live
    started = time.perf_counter()
from mockserver.testing.handle import resolve, running
config, key, secret = resolve({}, {})            # the session's settings checked
fake = running(config, key_pair=(key, secret))   # the bgmock_server fixture
assert requests.get(fake.url + "/__admin/health", timeout=5).json()["status"] == "ok"
print((time.perf_counter() - started) * 1000)
fake.close()
"""
READY_HTTPSERVER = """
import time, requests, pytest
started = time.perf_counter()
if not IMPORTS_TIMED:
    import pytest_httpserver
    started = time.perf_counter()
from pytest_httpserver import HTTPServer
server = HTTPServer()
server.start()
server.expect_request("/health").respond_with_json({"status": "ok"})
assert requests.get(server.url_for("/health"), timeout=5).json()["status"] == "ok"
print((time.perf_counter() - started) * 1000)
server.stop()
"""
IMPORT_PLUGIN = """
import time, pytest
started = time.perf_counter()
import mockserver.testing.pytest_plugin
print((time.perf_counter() - started) * 1000)
"""
READY = {
    "bgmock_server, first use (imports the fake)": ("IMPORTS_TIMED = True", READY_BGMOCK),
    "bgmock_server, libraries loaded": ("IMPORTS_TIMED = False", READY_BGMOCK),
    "pytest-httpserver, first use (imports it)": ("IMPORTS_TIMED = True", READY_HTTPSERVER),
    "pytest-httpserver, library loaded": ("IMPORTS_TIMED = False", READY_HTTPSERVER),
    "import mockserver.testing.pytest_plugin (every pytest run pays it)": ("", IMPORT_PLUGIN),
}


def in_subprocess(code: str) -> float:
    """Milliseconds printed by ``code`` run in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"a start-up probe failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def per_call(fn: Callable[[], object], n: int) -> float:
    """Microseconds per call of ``fn`` over ``n`` calls."""
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


class Modes:
    """The five ways to answer one submit, each set up once and kept warm."""

    def __init__(self) -> None:
        from pytest_httpserver import HTTPServer

        # Its werkzeug server logs a line per request (inside pytest, into captured output); the
        # fake's live server does not. Quiet it, or the terminal's speed would be measured.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        config, key, secret = resolve({}, {})
        self.live = running(config, key_pair=(key, secret))
        self.live_http = requests.Session()
        self.inproc_ctx = mocked(config, key_pair=(key, secret))
        self.httpserver = HTTPServer()
        self.httpserver.expect_request(SUBMIT, method="POST").respond_with_json(SAMPLE)
        self.httpserver.start()
        self.httpserver_http = requests.Session()
        self.dispatcher = Dispatcher(Backend(config))
        self.incoming = Incoming.build(
            "POST", SUBMIT, headers={"Content-Type": "application/json"}, body=json.dumps(BODY).encode()
        )

    def close(self) -> None:
        self.live.close()
        self.httpserver.clear_log()
        self.httpserver.stop()

    def check(self) -> None:
        """Each mode answers the submit as expected before anything is timed."""
        assert self.live_http.post(self.live.url + SUBMIT, json=BODY, timeout=5).json()["resCode"] == 200
        with self.inproc_ctx as fake:
            assert requests.post(fake.url + SUBMIT, json=BODY, timeout=5).json()["resCode"] == 200
            assert len(fake.requests()) == 1
        assert self.httpserver_http.post(self.httpserver.url_for(SUBMIT), json=BODY, timeout=5).json() == SAMPLE
        assert json.loads(self.dispatcher.handle(self.incoming).body)["resCode"] == 200

    def run(self, mode: str, n: int) -> float:
        if mode == "live":
            url = self.live.url + SUBMIT
            self.live.reset()
            return per_call(lambda: self.live_http.post(url, json=BODY, timeout=5), n)
        if mode == "in-process":
            with self.inproc_ctx as fake:
                http, url = requests.Session(), fake.url + SUBMIT
                return per_call(lambda: http.post(url, json=BODY, timeout=5), n)
        if mode == "responses stub":
            with responses.RequestsMock() as rsps:
                rsps.add(responses.POST, "http://stub.local" + SUBMIT, json=SAMPLE)
                http = requests.Session()
                return per_call(lambda: http.post("http://stub.local" + SUBMIT, json=BODY, timeout=5), n)
        if mode == "pytest-httpserver":
            url = self.httpserver.url_for(SUBMIT)
            self.httpserver.clear_log()
            return per_call(lambda: self.httpserver_http.post(url, json=BODY, timeout=5), n)
        if mode == "dispatcher only":
            self.dispatcher.backend.reset()
            return per_call(lambda: self.dispatcher.handle(self.incoming), n)
        if mode == "per test (restart)":
            return per_call(lambda: self.live.restart(), n)
        raise ValueError(mode)


SUBMIT_MODES = ("live", "in-process", "responses stub", "pytest-httpserver", "dispatcher only")
ALL_MODES = (*SUBMIT_MODES, "per test (restart)")


def chart(medians: dict[str, list[float]], path: Path) -> None:
    """A bar per mode (median µs per submit) with its min–max as a whisker, drawn with Pillow."""
    from PIL import Image, ImageDraw

    rows = list(medians.items())
    width, left, bar_h, gap, top = 900, 170, 26, 14, 50
    height = top + len(rows) * (bar_h + gap) + 40
    scale = (width - left - 110) / max(max(v) for _, v in rows)
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 12), "One submit: microseconds per call (bar = median, line = min-max over repeats)", fill="black")
    for i, (name, values) in enumerate(rows):
        y = top + i * (bar_h + gap)
        med, lo, hi = statistics.median(values), min(values), max(values)
        colour = (46, 110, 190) if name in ("live", "in-process") else (150, 150, 150)
        draw.text((10, y + 7), name, fill="black")
        draw.rectangle((left, y, left + med * scale, y + bar_h), fill=colour)
        mid = y + bar_h // 2
        draw.line((left + lo * scale, mid, left + hi * scale, mid), fill="black", width=2)
        for x in (lo, hi):
            draw.line((left + x * scale, mid - 6, left + x * scale, mid + 6), fill="black", width=2)
        draw.text((left + hi * scale + 8, y + 7), f"{med:.0f} us", fill="black")
    img.save(path, optimize=True)


def time_ready(repeats: int) -> dict[str, list[float]]:
    """Milliseconds from a fresh process to a fake ready to answer, per way of starting one."""
    ready: dict[str, list[float]] = {name: [] for name in READY}
    for _ in range(repeats):  # alternate, so drift in the machine's load hits all alike
        for name, (prelude, probe) in READY.items():
            ready[name].append(in_subprocess(prelude + "\n" + probe))
    for name, values in ready.items():
        print(f"ready  {name:60} {min_max(values, 1)} ms", flush=True)
    return ready


def time_submits(repeats: int, submits: int) -> dict[str, list[float]]:
    """Microseconds per submit, per mode; the modes take turns going first."""
    modes = Modes()
    try:
        modes.check()
        for mode in ALL_MODES:  # warm-up: caches, connection pools, lazily compiled validators
            modes.run(mode, 50)
        timings: dict[str, list[float]] = {mode: [] for mode in ALL_MODES}
        for r in range(repeats):
            order = ALL_MODES[r % len(ALL_MODES):] + ALL_MODES[: r % len(ALL_MODES)]
            for mode in order:
                timings[mode].append(modes.run(mode, submits))
    finally:
        modes.close()
    for mode, values in timings.items():
        print(f"submit {mode:32} {min_max(values, 0)} µs", flush=True)
    return timings


def under_a_millisecond(values: list[float]) -> str:
    """Issue 6's target for one in-process submit, said of these runs (µs)."""
    if max(values) < 1000:
        return "met in every run"
    if statistics.median(values) < 1000:
        return "met by the median, not by the slowest runs"
    return "NOT met in this run"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (default 7)")
    parser.add_argument("--submits", type=int, default=300, help="submits per run and mode (default 300)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch bench/RESULTS.md")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.submits < 1:
        parser.error("--repeats and --submits must be at least 1")

    ready = time_ready(args.repeats)
    timings = time_submits(args.repeats, args.submits)
    inproc = statistics.median(timings["in-process"])
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    verdict = under_a_millisecond(timings["in-process"])
    validating = ("live", "in-process", "dispatcher only")
    lines = [
        "",
        f"## pytest plugin: start-up and one submit per mode — {stamp}",
        "",
        f"`python bench/bench_plugin.py --repeats {args.repeats} --submits {args.submits}`: min–max over "
        f"{args.repeats} runs (median). Submit: one `requestParams` item with an `imageFileUrl`, JSON body, sent "
        "with a `requests.Session`; the stubs answer a fixed success body without validating anything.",
        "",
        *machine(
            ("flask", "werkzeug", "jsonschema", "requests", "responses", "pytest", "pytest_httpserver"),
            nproc_note=True,
        ),
        "",
        "| ready to answer (fresh process) | ms |",
        "|---|---|",
        *(f"| {name} | {min_max(values, 1)} |" for name, values in ready.items()),
        "",
        f"| one submit ({args.submits} per run) | µs per submit | validates |",
        "|---|---|---|",
        *(
            f"| {mode} | {min_max(timings[mode], 0)} | {'yes' if mode in validating else 'no'} |"
            for mode in SUBMIT_MODES
        ),
        f"| per test: `Handle.restart()` (reset, no marker) | {min_max(timings['per test (restart)'], 0)} | |",
        "",
        f"In-process mode, one submit with full validation: median {inproc / 1000:.3f} ms, runs from "
        f"{min(timings['in-process']) / 1000:.3f} to {max(timings['in-process']) / 1000:.3f} ms. Issue 6 target, "
        f"under 1 ms: {verdict}. Of that, the fake's own work (dispatcher only) is "
        f"{statistics.median(timings['dispatcher only']):.0f} µs (median) and `requests` + `responses` alone (the "
        f"bare stub) {statistics.median(timings['responses stub']):.0f} µs: most of the cost is the two libraries'.",
        "The live fake runs on bgmock's threaded server, which keeps the session's connection open between "
        "submits; pytest-httpserver's server (werkzeug, one thread) closes it after each answer.",
        "",
        f"![one submit per mode]({CHART.name})",
        "",
    ]
    section = "\n".join(lines)
    if args.no_write:
        print(section)
        return 0
    chart({mode: timings[mode] for mode in SUBMIT_MODES}, CHART)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n", encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(section)
    print(f"appended to {RESULTS.relative_to(ROOT)}; chart {CHART.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
