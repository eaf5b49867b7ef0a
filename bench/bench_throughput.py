"""Throughput of the fake and its peers under wrk, on loopback, alternated and repeated.

    python bench/bench_throughput.py                  # every peer it can start, 3 rounds
    python bench/bench_throughput.py --repeats 5 --duration 10 --peers flask-bare,bgmock-workers

Each round starts every server afresh (in a rotated order, so no server always runs first or
last on a noisy machine), waits until it answers, warms it up, drives the submit endpoint
with ``wrk`` (URL input, the body the vendor's samples send) for a bounded time, and stops
it.  The table gives medians with min–max over rounds, and each server's ratio to the
baseline (bare Flask on gunicorn's 2 sync workers) measured in the same round.  It appends a
dated section to bench/RESULTS.md and draws bench/throughput.png (Pillow).

Needs: ``wrk`` (Debian: ``apt-get install -y wrk``), gunicorn (``pip install gunicorn``),
pytest-httpserver, granian (``pip install -e '.[workers]'``).  Node peers (Prism 5 and
WireMock 3, whose npm package ships the jar; Java 17+ runs it) come from
``npm install --prefix bench/out/npm @stoplight/prism-cli@5 wiremock@3``, or ``--install``.
A peer whose tools are missing is skipped with the reason, never faked.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import requests
from common import publish  # noqa: E402 - bench/common.py (this folder is on sys.path)

from mockserver.storage.private_redis import PrivateRedis

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SUBMIT = "/ai/image/background/generation/scenario"
LUA = BENCH / "submit.lua"
BODY = json.loads(re.search(r"wrk.body = '(.*)'", LUA.read_text()).group(1).replace("\\\\", "\\"))
BASELINE = "flask-bare"


@dataclass
class Peer:
    name: str
    about: str
    command: Callable[[int, Path], list[str] | None]  # None: cannot start here (reason in `missing`)
    env: dict[str, str] = field(default_factory=dict)
    missing: str = ""
    settle_s: float = 0.0  # JVM and node want a little more warm-up


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _npm_bin(npm_dir: Path, name: str) -> Path | None:
    found = npm_dir / "node_modules" / ".bin" / name
    return found if found.exists() else None


def _wiremock_jar(npm_dir: Path) -> Path | None:
    jars = sorted((npm_dir / "node_modules" / "wiremock").glob("**/wiremock-standalone-*.jar"))
    return jars[-1] if jars else None


def peers(npm_dir: Path, scratch: Path, redis_url: str = "") -> dict[str, Peer]:
    """Every peer; ``redis_url``: the Redis the gunicorn peer shares state through (none: skipped)."""
    py = sys.executable
    gunicorn = [py, "-m", "gunicorn", "-w", "2", "--log-level", "warning", "--chdir", str(BENCH / "peers")]
    prism = _npm_bin(npm_dir, "prism")
    jar = _wiremock_jar(npm_dir)
    java = shutil.which("java")
    sys.path.insert(0, str(BENCH / "peers"))
    from flask_bare import SAMPLE  # the one fixed sample answer every stub peer sends

    sample = json.loads(SAMPLE)
    mappings = scratch / "wiremock" / "mappings"
    mappings.mkdir(parents=True, exist_ok=True)
    (mappings / "submit.json").write_text(json.dumps({
        "request": {"method": "POST", "url": SUBMIT},
        "response": {"status": 200, "jsonBody": sample, "headers": {"Content-Type": "application/json"}},
    }))
    doc = scratch / "openapi.json"
    made = subprocess.run([py, "-m", "mockserver.cli", "openapi", "--output", str(doc)], capture_output=True)
    if made.returncode != 0:  # `bgmock openapi` missing: a minimal document for the one endpoint
        doc.write_text(json.dumps({
            "openapi": "3.1.0", "info": {"title": "bgmock bench", "version": "1"},
            "paths": {SUBMIT: {"post": {
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"example": sample}}}},
            }}},
        }))

    def wiremock(journal: bool) -> Callable[[int, Path], list[str] | None]:
        def command(port: int, _: Path) -> list[str] | None:
            if not (jar and java):
                return None
            extra = [] if journal else ["--no-request-journal"]
            return [java, "-jar", str(jar), "--port", str(port), "--bind-address", "127.0.0.1",
                    "--root-dir", str(scratch / "wiremock"), "--disable-banner", *extra]
        return command

    table = [
        Peer(BASELINE, "bare Flask, fixed sample JSON, gunicorn 2 sync workers (the baseline)",
             lambda p, _: [*gunicorn, "-b", f"127.0.0.1:{p}", "flask_bare:app"]),
        Peer("flask-validated", "the same + body parsing + a cached jsonschema validator",
             lambda p, _: [*gunicorn, "-b", f"127.0.0.1:{p}", "flask_validated:app"]),
        Peer("pytest-httpserver", "pytest-httpserver (werkzeug), one permanent expectation",
             lambda p, _: [py, str(BENCH / "peers" / "httpserver_peer.py"), str(p)],
             env={"PYTHONPATH": str(BENCH / "peers")}),
        Peer("prism", "Prism 5 mock (`prism mock`) of `bgmock openapi`'s document",
             lambda p, _: [str(prism), "mock", "-h", "127.0.0.1", "-p", str(p), str(doc)] if prism else None,
             missing="" if prism else f"no prism in {npm_dir} (npm install --prefix {npm_dir} @stoplight/prism-cli@5)",
             settle_s=1.0),
        Peer("wiremock", "WireMock 3 standalone jar, default (request journal on)", wiremock(True),
             missing="" if jar and java else "no wiremock jar or no java", settle_s=2.0),
        Peer("wiremock-nojournal", "WireMock 3, --no-request-journal", wiremock(False),
             missing="" if jar and java else "no wiremock jar or no java", settle_s=2.0),
        Peer("bgmock-default", "`bgmock serve`: one process, its threaded keep-alive server, memory store, full checks",
             lambda p, _: [py, "-m", "mockserver.cli", "serve", "--port", str(p), "--quiet"]),
        Peer("bgmock-werkzeug", "`bgmock serve --server werkzeug`: the same on werkzeug (the default before)",
             lambda p, _: [py, "-m", "mockserver.cli", "serve", "--server", "werkzeug", "--port", str(p), "--quiet"]),
        Peer("bgmock-granian1", "`bgmock serve --server granian`: one granian worker, memory store, full checks",
             lambda p, _: [py, "-m", "mockserver.cli", "serve", "--server", "granian", "--port", str(p), "--quiet"]),
        Peer("bgmock-workers", "`bgmock serve --workers 2`: granian, shared state (private Redis), full checks",
             lambda p, _: [py, "-m", "mockserver.cli", "serve", "--workers", "2", "--port", str(p), "--quiet"]),
        Peer("bgmock-gunicorn", "the same app and shared store on gunicorn's 2 sync workers (server choice)",
             lambda p, _: [*gunicorn, "-b", f"127.0.0.1:{p}", "bgmock_gunicorn:app()"],
             env={"BGMOCK_BENCH_STATE": redis_url}, missing="" if redis_url else "no Redis given"),
    ]
    for peer in table:
        if not peer.missing and peer.command(0, scratch) is None:
            peer.missing = "cannot be started here"
        if not peer.missing and peer.name.startswith(("flask", "bgmock-gunicorn")) and not _has("gunicorn"):
            peer.missing = "gunicorn is not installed (pip install gunicorn)"
        if not peer.missing and peer.name == "pytest-httpserver" and not _has("pytest_httpserver"):
            peer.missing = "pytest-httpserver is not installed"
        if not peer.missing and peer.name in ("bgmock-workers", "bgmock-granian1") and not _has("granian"):
            peer.missing = "granian is not installed (pip install -e '.[workers]')"
    return {peer.name: peer for peer in table}


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# -- running one server --------------------------------------------------------------------------
class Running:
    def __init__(self, peer: Peer, scratch: Path) -> None:
        self.peer = peer
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **peer.env}
        # A file, not a pipe: a server that logs every request to stderr would fill an unread
        # pipe and stall (pytest-httpserver did: 0 req/s).
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            peer.command(self.port, scratch), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True,
        )
        self.ready_ms = self._wait_ready()

    def _wait_ready(self, limit_s: float = 60) -> float:
        deadline = time.perf_counter() + limit_s
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                why = self.log.read().decode(errors="replace")[-800:]
                raise RuntimeError(f"{self.peer.name} exited: {why}")
            try:
                requests.post(self.url + SUBMIT, json=BODY, timeout=2)
                return (time.perf_counter() - self.started) * 1000
            except requests.RequestException:
                time.sleep(0.005)
        raise RuntimeError(f"{self.peer.name} did not answer within {limit_s} s")

    def check(self) -> str:
        """What one submit answers (a peer that answers errors fast must not look fast)."""
        answer = requests.post(self.url + SUBMIT, json=BODY, timeout=5)
        try:
            body = answer.json()
        except ValueError:
            return f"HTTP {answer.status_code}, not JSON"
        if isinstance(body, dict) and (body.get("success") is True or "data" in body):
            return "ok"
        return f"HTTP {answer.status_code}: {json.dumps(body)[:120]}"

    def rss_mb(self) -> float:
        try:
            import psutil
        except ImportError:
            return float("nan")
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(self.proc.pid)
            return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, connections: int, threads: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(LUA),
         url + SUBMIT],
        capture_output=True, text=True, timeout=seconds + 60,
    ).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        found = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        result[f"p{pct}"] = float(found.group(1)) * _UNITS[found.group(2)] if found else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = float(bad.group(1)) if bad else 0.0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = float(sum(int(g) for g in errors.groups())) if errors else 0.0
    return result


# -- reporting -----------------------------------------------------------------------------------
def _span(values: list[float], fmt: str = "{:.0f}") -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "–"
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def versions(npm_dir: Path) -> list[str]:
    def run(*cmd: str) -> str:
        with contextlib.suppress(Exception):
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        return "not found"

    from importlib.metadata import PackageNotFoundError, version

    def pkg(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} (not installed)"

    jar = _wiremock_jar(npm_dir)
    prism_pkg = npm_dir / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    prism = json.loads(prism_pkg.read_text())["version"] if prism_pkg.exists() else "not installed"
    return [
        f"Machine: `{platform.platform()}`, {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        f"Python {platform.python_version()}; " + ", ".join(pkg(n) for n in (
            "flask", "werkzeug", "gunicorn", "granian", "jsonschema", "jsonschema-rs", "pytest-httpserver")),
        f"{run('wrk', '--version')}; node {run('node', '--version')}; Prism {prism}; "
        f"WireMock {jar.name if jar else 'not installed'}; {run('java', '-version')}",
    ]


def chart(path: Path, rows: list[tuple[str, list[float]]], title: str) -> None:
    """Horizontal bars of median req/s with min–max whiskers (Pillow; matplotlib not needed)."""
    from PIL import Image, ImageDraw, ImageFont

    width, bar_h, left, top = 1000, 34, 230, 60
    height = top + bar_h * len(rows) + 50
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=15)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    top_value = max((max(v) for _, v in rows if v), default=1) * 1.08
    scale = (width - left - 120) / top_value
    draw.text((10, 15), title, fill="black", font=font)
    for index, (name, values) in enumerate(rows):
        y = top + index * bar_h
        draw.text((10, y + 8), name, fill="black", font=font)
        if not values:
            draw.text((left, y + 8), "skipped", fill="gray", font=font)
            continue
        median = statistics.median(values)
        colour = (33, 102, 172)
        if name.startswith("bgmock"):
            colour = (46, 125, 50)
        elif name == BASELINE:
            colour = (120, 120, 120)
        draw.rectangle((left, y + 6, left + median * scale, y + bar_h - 6), fill=colour)
        low, high = left + min(values) * scale, left + max(values) * scale
        mid = y + bar_h // 2
        draw.line((low, mid, high, mid), fill="black", width=2)
        draw.line((low, mid - 6, low, mid + 6), fill="black", width=2)
        draw.line((high, mid - 6, high, mid + 6), fill="black", width=2)
        draw.text((max(high, left + median * scale) + 8, y + 8), f"{median:,.0f}", fill="black", font=font)
    draw.text((left, height - 30), "requests/s, median of rounds; whiskers: min-max", fill="gray", font=font)
    img.save(path)


class Bench:
    """The servers of one run, each started afresh for every measurement, and what was measured."""

    def __init__(self, table: dict[str, Peer], scratch: Path, runnable: list[str], args: argparse.Namespace) -> None:
        self.table, self.scratch, self.args = table, scratch, args
        self.results: dict[str, list[dict[str, float]]] = {n: [] for n in runnable}
        self.ready: dict[str, list[float]] = {n: [] for n in runnable}
        self.ratios: dict[str, list[float]] = {n: [] for n in runnable}
        self.notes: dict[str, str] = {}

    def round(self, round_no: int, order: list[str]) -> None:
        """Every server once, in this order; each one's req/s also as a ratio to the baseline's."""
        this_round: dict[str, float] = {}
        for name in order:
            rps = self._measure(name, round_no)
            if rps is not None:
                this_round[name] = rps
        if BASELINE in this_round:
            for name, rps in this_round.items():
                self.ratios[name].append(rps / this_round[BASELINE])

    def _measure(self, name: str, round_no: int) -> float | None:
        """Start ``name``, warm it up, measure it, stop it: its req/s, or None when it failed."""
        args, server = self.args, None
        try:
            server = Running(self.table[name], self.scratch)
            self.ready[name].append(server.ready_ms)
            verdict = server.check()
            if verdict != "ok":
                self.notes[name] = verdict
            time.sleep(self.table[name].settle_s)
            wrk(server.url, args.warmup, args.connections, args.threads)
            measured = wrk(server.url, args.duration, args.connections, args.threads)
            measured["rss_mb"] = server.rss_mb()
            self.results[name].append(measured)
            print(f"round {round_no + 1} {name:20s} {measured['rps']:9.0f} req/s  p99 {measured['p99']:.1f} ms"
                  f"  ready {server.ready_ms:.0f} ms  rss {measured['rss_mb']:.0f} MB", flush=True)
            return measured["rps"]
        except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, the rest go on
            self.notes[name] = f"failed: {exc}"[:300]
            print(f"round {round_no + 1} {name}: {self.notes[name]}", flush=True)
            return None
        finally:
            if server is not None:
                server.stop()

    def startups(self, names: list[str]) -> None:
        """Extra start-only runs of these servers, for their ready times."""
        for name in names:
            for _ in range(self.args.startup_repeats):
                with contextlib.suppress(Exception):
                    server = Running(self.table[name], self.scratch)
                    self.ready[name].append(server.ready_ms)
                    server.stop()

    def median_rps(self, name: str) -> float:
        runs = self.results.get(name)
        return statistics.median([r["rps"] for r in runs]) if runs else float("nan")

    def row(self, name: str) -> str:
        """The table's row of a server that ran."""
        runs = self.results[name]
        bad = sum(r["non2xx"] + r["socket_errors"] for r in runs)
        note = "; ".join(filter(None, [self.notes.get(name, ""), f"{bad:.0f} non-2xx/socket errors" if bad else ""]))
        return (
            f"| {name} | {self.table[name].about} | {_span([r['rps'] for r in runs])} | "
            f"{_span(self.ratios[name], '{:.2f}')} | "
            f"{_span([r['p50'] for r in runs], '{:.2f}')} | {_span([r['p99'] for r in runs], '{:.1f}')} | "
            f"{_span(self.ready[name])} | {_span([r['rss_mb'] for r in runs])} | {note} |"
        )

    def targets(self) -> list[str]:
        """The issue's targets, each with this run's figure."""
        results, med = self.results, self.median_rps
        targets = []
        if "bgmock-workers" in results and BASELINE in results:
            ratio = _span(self.ratios["bgmock-workers"], "{:.2f}")
            targets.append(f"`bgmock serve --workers 2` vs bare Flask/gunicorn: **{ratio}×** (target ≥ 1.5×)")
        for peer in ("prism", "pytest-httpserver", "wiremock", "wiremock-nojournal"):
            if "bgmock-workers" in results and results.get(peer):
                targets.append(f"`--workers 2` vs {peer}: {med('bgmock-workers') / med(peer):.2f}× (medians)")
        if "bgmock-granian1" in results and results.get("prism"):
            versus = med("bgmock-granian1") / med("prism")
            targets.append(f"`bgmock serve --server granian` (one worker) vs Prism: **{versus:.2f}×**")
        if "bgmock-default" in results and results.get("prism"):
            versus = med("bgmock-default") / med("prism")
            targets.append(f"default `bgmock serve` vs Prism: **{versus:.2f}×** (target ≥ 2×)")
        if "bgmock-default" in results and results.get("bgmock-werkzeug"):
            versus = med("bgmock-default") / med("bgmock-werkzeug")
            targets.append(f"default `bgmock serve` vs the same fake on werkzeug's server: {versus:.2f}× (medians)")
        if self.ready.get("bgmock-default"):
            targets.append(
                f"default `bgmock serve` ready in **{_span(self.ready['bgmock-default'])} ms** (target ≤ 300 ms)")
        return targets


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8, help="seconds of measured load per server and round")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--peers", help="comma-separated subset (default: all)")
    parser.add_argument("--npm-dir", type=Path, default=BENCH / "out" / "npm")
    parser.add_argument("--install", action="store_true", help="npm install the node peers into --npm-dir first")
    parser.add_argument("--startup-repeats", type=int, default=5, help="extra start-only runs for ready times")
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--chart", type=Path, default=BENCH / "throughput.png")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not touch RESULTS.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if not shutil.which("wrk"):
        print("wrk not found: apt-get update && apt-get install -y wrk", file=sys.stderr)
        return 2
    if args.install:
        args.npm_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(args.npm_dir),
                        "@stoplight/prism-cli@5", "wiremock@3"], check=False)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bgmock-bench-") as tmp, PrivateRedis() as redis_url:
        scratch = Path(tmp)
        table = peers(args.npm_dir, scratch, redis_url)
        chosen = [n for n in (args.peers.split(",") if args.peers else table) if n in table]
        runnable = [n for n in chosen if not table[n].missing]
        skipped = {n: table[n].missing for n in chosen if table[n].missing}
        for name, why in skipped.items():
            print(f"skip {name}: {why}", flush=True)
        bench = Bench(table, scratch, runnable, args)
        for round_no in range(args.repeats):
            bench.round(round_no, runnable[round_no % len(runnable):] + runnable[: round_no % len(runnable)])
        bench.startups([n for n in ("bgmock-default", "bgmock-granian1", "prism", "wiremock") if n in runnable])
    load_after = os.getloadavg()

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Throughput under wrk — {stamp}",
        "",
        f"`python bench/bench_throughput.py --repeats {args.repeats} --duration {args.duration:g}`: "
        f"`wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s` on loopback against the submit endpoint "
        f"(URL input, `requestParams` as a JSON string, as the vendor's sample), after {args.warmup:g} s of warm-up; "
        f"every server started afresh each round, rounds in rotated order. Ratio = req/s over the baseline's in the "
        f"same round. Ready = from spawning the process to its first answer (median, min–max over "
        f"{args.repeats}+ starts). RSS = sum over the server's processes after the round.",
        "",
        *[f"- {v}" for v in versions(args.npm_dir)],
        f"- Load average (1/5/15 min) before: {' / '.join(f'{x:.2f}' for x in load_before)}; after: "
        f"{' / '.join(f'{x:.2f}' for x in load_after)}. The 2-core machine is shared with other work (and with "
        f"wrk itself): read the min–max ranges, and compare within a round (the ratio column).",
        "",
        "| server | what | req/s median (min–max) | × baseline | p50 ms | p99 ms | ready ms | RSS MB | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in chosen:
        if name in skipped:
            lines.append(f"| {name} | {table[name].about} | skipped | | | | | | {skipped[name]} |")
        else:
            lines.append(bench.row(name))
    if args.chart and not args.no_write:
        chart(args.chart, [(n, [r["rps"] for r in bench.results.get(n, [])]) for n in chosen],
              f"Submit throughput, wrk -c{args.connections}, {stamp}")
        lines += ["", f"![throughput]({args.chart.name})"]
    lines += ["", *[f"- {t}" for t in bench.targets()], ""]
    publish("\n".join(lines), args.results, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
