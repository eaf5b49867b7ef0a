"""Memory after a million submits: the journal and the task store stay bounded.

    python bench/bench_memory.py                         # default `bgmock serve`, 1 000 000 submits
    python bench/bench_memory.py --server workers        # `bgmock serve --workers 2` (private Redis)
    python bench/bench_memory.py --server wiremock --requests 200000   # a peer's unbounded journal

Drives the server with ``wrk`` (``bench/submit.lua``) in runs of up to 30 s until ``--requests``
answers (``--max-seconds`` bounds the whole run whatever happens), samples the
resident memory of the server's processes every few seconds, and appends a section to
bench/RESULTS.md: RSS at start, peak and end, and the store's counts from /__admin/health.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_throughput import BENCH, SUBMIT, Running, peers  # noqa: E402 - the same servers
from common import publish  # noqa: E402 - bench/common.py (this folder is on sys.path)

NAMES = {"default": "bgmock-default", "workers": "bgmock-workers", "wiremock": "wiremock",
         "wiremock-nojournal": "wiremock-nojournal", "prism": "prism"}


def rss_mb(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20
    except psutil.NoSuchProcess:
        return float("nan")


class RssSampler:
    """The RSS of ``pid`` and its children every ``every_s`` seconds, in a thread, while in its block."""

    def __init__(self, pid: int, every_s: float) -> None:
        self.samples: list[tuple[float, float]] = []  # (seconds since the start, MB)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(pid, every_s), daemon=True)

    def _sample(self, pid: int, every_s: float) -> None:
        began = time.monotonic()
        while not self._done.wait(every_s):
            self.samples.append((time.monotonic() - began, rss_mb(pid)))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def drive(server: Running, args: argparse.Namespace) -> tuple[int, int, float]:
    """(answered, non-2xx, seconds): wrk runs for a set time, so the run is a series of short runs
    until enough answers (or ``--max-seconds``)."""
    began = time.monotonic()
    total, bad = 0, 0
    while total < args.requests and time.monotonic() - began < args.max_seconds:
        rate = total / max(time.monotonic() - began, 1e-9) if total else 2000.0
        chunk = max(2, min(30, round((args.requests - total) / max(rate, 1.0)) + 1,
                           round(args.max_seconds - (time.monotonic() - began)) + 1))
        out = subprocess.run(
            ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{chunk}s",
             "-s", str(BENCH / "submit.lua"), server.url + SUBMIT],
            capture_output=True, text=True, timeout=chunk + 60,
        ).stdout
        found = re.search(r"(\d+) requests in", out)
        if not found:
            print(out, file=sys.stderr)
            break
        total += int(found.group(1))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        bad += int(non2xx.group(1)) if non2xx else 0
        print(f"{total:,} answered, {time.monotonic() - began:.0f} s, RSS {rss_mb(server.proc.pid):.0f} MB",
              flush=True)
    return total, bad, time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=sorted(NAMES), default="default")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--max-seconds", type=int, default=1800)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sample-s", type=float, default=5)
    parser.add_argument("--npm-dir", type=Path, default=BENCH / "out" / "npm")
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bgmock-mem-") as tmp:
        peer = peers(args.npm_dir, Path(tmp))[NAMES[args.server]]
        if peer.missing:
            print(f"cannot run {peer.name}: {peer.missing}", file=sys.stderr)
            return 2
        server = Running(peer, Path(tmp))
        try:
            start_rss = rss_mb(server.proc.pid)
            with RssSampler(server.proc.pid, args.sample_s) as sampler:
                total, bad, elapsed = drive(server, args)
            samples = sampler.samples
            end_rss = rss_mb(server.proc.pid)
            health = {}
            if args.server in ("default", "workers"):
                health = requests.get(server.url + "/__admin/health", timeout=10).json()
        finally:
            server.stop()
    peak = max([end_rss, *(rss for _, rss in samples)])
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Memory after {total:,} submits: {peer.name} — {stamp}",
        "",
        f"`python bench/bench_memory.py --server {args.server} --requests {args.requests}`: wrk "
        f"`-t{args.threads} -c{args.connections}` until {args.requests:,} answers (bounded by {args.max_seconds} s); "
        f"RSS summed over the server's processes, sampled every {args.sample_s:g} s.",
        "",
        f"- Machine: `{platform.platform()}`, {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- {peer.about}",
        f"- Answered: {total:,} in {elapsed:.0f} s ({total / max(elapsed, 1e-9):,.0f} req/s)"
        + (f"; non-2xx: {bad:,}" if bad else ""),
        f"- RSS: start {start_rss:.0f} MB, peak **{peak:.0f} MB**, end {end_rss:.0f} MB (target < 300 MB for bgmock)",
    ]
    if health:
        lines.append(
            f"- Store after the run (`/__admin/health`): tasks {health.get('tasks')}"
            f" (evicted {health.get('evictedTasks')}), journal {health.get('journal')}, rules {health.get('rules')}"
            + (f"; Redis used_memory {health['redisUsedMemory'] / 2**20:.0f} MB (RSS above includes redis-server)"
               if "redisUsedMemory" in health else "")
        )
    shown = samples[:: max(1, len(samples) // 12)]
    lines.append("- RSS over time (s → MB): " + ", ".join(f"{t:.0f}→{r:.0f}" for t, r in shown))
    lines.append("")
    publish("\n".join(lines), args.results, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
