"""Scale-out: aggregate submits/s of 1, 2 and 3 `bgmock serve` processes on one Redis, and Redis's CPU.

    python bench/bench_scaleout.py                     # 3 rounds of 1, 2, 3 fakes, 8 s each
    python bench/bench_scaleout.py --repeats 5 --duration 10 --fakes 1,2,3,4

Each round starts one redis-server of its own (TCP on loopback, nothing on disk) and N one-process
fakes on it (``--state redis://…``, one key prefix: one fake), drives each with its own ``wrk``
at the same time for a bounded time, and sums the answers. Redis's CPU is read from
/proc/PID/stat before and after (user + system seconds over the run). The table gives medians
with min–max over rounds, the Redis CPU per 1 000 submits, and what one Redis core would serve
at that cost: the ceiling of scale-out on a machine with more cores. The fakes, wrk and Redis
share this machine's cores, so the aggregate here is bounded by the machine, not by Redis.
Appends a section to bench/RESULTS.md and draws bench/scaleout.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import requests
from bench_throughput import BENCH, ROOT, _free_port, chart, wrk  # noqa: E402 - this folder is on sys.path
from common import machine, publish  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


class Redis:
    def __init__(self) -> None:
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="bgmock-scale-")
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if done.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def start_fake(redis_url: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), "--quiet", "--state", redis_url,
         "--state-prefix", "scale:"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/__admin/health", timeout=1)
            return proc, url
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("a fake did not start")


def one_round(n: int, seconds: float, connections: int) -> dict[str, float]:
    redis = Redis()
    fakes = [start_fake(redis.url) for _ in range(n)]
    try:
        with ThreadPoolExecutor(n) as pool:  # warm-up
            list(pool.map(lambda f: wrk(f[1], 1, connections, 1), fakes))
        before = cpu_seconds(redis.proc.pid)
        started = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(lambda f: wrk(f[1], seconds, connections, 1), fakes))
        elapsed = time.monotonic() - started
        redis_cpu = cpu_seconds(redis.proc.pid) - before
        total = sum(r["rps"] for r in results)
        submits = total * seconds
        return {
            "rps": total, "redis_share": redis_cpu / elapsed, "redis_us_per_submit": redis_cpu / submits * 1e6,
            "non2xx": sum(r["non2xx"] for r in results),
        }
    finally:
        for proc, _ in fakes:
            proc.terminate()
        for proc, _ in fakes:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--connections", type=int, default=8, help="wrk connections per fake")
    parser.add_argument("--fakes", default="1,2,3")
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--chart", type=Path, default=BENCH / "scaleout.png")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if not (shutil.which("wrk") and shutil.which("redis-server")):
        print("needs wrk and redis-server (apt-get install -y wrk redis-server)", file=sys.stderr)
        return 2
    counts = [int(n) for n in args.fakes.split(",")]
    head = machine(["redis", "hiredis"])
    rounds: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    for r in range(args.repeats):
        for n in counts[r % len(counts):] + counts[: r % len(counts)]:  # rotated order
            found = one_round(n, args.duration, args.connections)
            rounds[n].append(found)
            print(f"round {r + 1}: {n} fake(s) {found['rps']:.0f} req/s, Redis {found['redis_share'] * 100:.0f} % "
                  f"of a core, {found['redis_us_per_submit']:.1f} µs Redis CPU per submit", flush=True)

    def span(n: int, key: str, scale: float = 1.0, fmt: str = "{:.0f}") -> str:
        values = [x[key] * scale for x in rounds[n]]
        return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    server = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
    cost = statistics.median(x["redis_us_per_submit"] for n in counts for x in rounds[n])
    lines = [
        f"## Shared state on Redis: scale-out over fakes — {stamp}", "",
        f"`python bench/bench_scaleout.py --repeats {args.repeats} --duration {args.duration:g}`: N one-process "
        f"`bgmock serve --state redis://…` on one redis-server (TCP loopback), each driven by its own "
        f"`wrk -t1 -c{args.connections}` at once; rounds in rotated order. Redis CPU from /proc over the run.", "",
        *head, f"- redis-server: {server}",
        "", "| fakes | submits/s, all fakes: median (min–max) | Redis CPU, % of one core | Redis CPU µs per submit |",
        "|---|---|---|---|",
        *(f"| {n} | {span(n, 'rps')} | {span(n, 'redis_share', 100)} | {span(n, 'redis_us_per_submit', 1, '{:.1f}')} |"
          for n in counts),
        "", "![scale-out](scaleout.png)", "",
        f"- Redis spends about **{cost:.0f} µs of CPU per submit** (one script call per submit, "
        "its task and journal entry; concurrent submits of one fake share a round trip), "
        f"so one Redis core serves about **{1e6 / cost:,.0f} submits/s**: on a machine with more cores, "
        "fakes scale out roughly linearly (each one-process fake uses about one core) until that ceiling.",
        "- On this 2-core machine, the fakes, wrk and Redis share the cores: more fakes than cores add no throughput "
        "here; the aggregate is bounded by the machine, not by Redis.",
        f"- Non-2xx answers over all rounds: {int(sum(x['non2xx'] for n in counts for x in rounds[n]))} "
        "(that nothing is lost or duplicated across fakes is the test suite's to prove: "
        "tests/storage/test_redis_state.py).",
        "",
    ]
    publish("\n".join(lines), args.results, write=not args.no_write)
    if not args.no_write:
        chart(args.chart, [(f"{n} fake(s) on one Redis", [x["rps"] for x in rounds[n]]) for n in counts],
              "bgmock serve --state redis://... : aggregate submits/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
