"""Where a submit's time goes when the state is on Redis: the figures behind issue 17's target.

    python bench/bench_redis_cost.py                 # appends a section to bench/RESULTS.md
    python bench/bench_redis_cost.py --no-write      # print only

Two parts, each repeated (``--repeats``; min–max and median):

- **in-process**, one ``Dispatcher.handle`` of a submit (URL input, full checks), user and
  system CPU per call (``getrusage``): in memory; on a private Redis from 1 and from 8 threads
  (the threads of one granian worker); and on Redis with the script call answered in-process
  (what the Redis path costs in Python before any round trip: encoding the task and the journal
  entry). Also the round trips per submit, counted at the socket (redis-py's
  ``send_packed_command``), and one bare ``PING`` through the batcher (the round trip's own cost).
- **live**, under ``wrk -t2 -c32`` on the submit endpoint, five servers in every round (rotated):
  ``bgmock serve --workers 2``; the same granian workers with *no* shared state, each its own
  memory (``bench/peers/unshared_app.py``: not one fake, the ceiling if sharing cost nothing);
  those unshared workers plus one ``PING`` per request through the fake's batcher to a
  redis-server of their own (``bench/peers/roundtrip_app.py``: the floor of any design that keeps
  one round trip per request, whatever it stores); those workers plus, instead of the ``PING``,
  the script call a real submit makes (its task and journal entry, the JSON encoded once at
  start: the floor of storing what the fake stores with encoding at no cost); and bare Flask on
  gunicorn's 2 sync workers (issue 17's baseline). For each: req/s and CPU per answered request of its workers, of the
  private redis-server (``/proc/<pid>/stat``) and of wrk itself (``RUSAGE_CHILDREN``).
- **the budget**: at a ratio R to bare Flask the machine has cores / (R × its req/s) of CPU per
  request; the unshared fake's work, Redis's work per submit and wrk's are spent whatever the
  fake does about sharing; what is left is the room for what sharing costs the fake's workers.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``), ``redis-server`` and granian.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from bench_throughput import SUBMIT, Peer, Running, wrk  # noqa: E402 - this folder is on sys.path
from common import machine, min_max, publish

from mockserver.api import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.http import Incoming
from mockserver.storage import redis_unit
from mockserver.storage.batch import Batcher
from mockserver.storage.private_redis import PrivateRedis

ROOT = Path(__file__).resolve().parent.parent
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": "800", "height": "800",
        "imageNum": "2"}
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def rusage_us(fn: Callable[[], object], calls: int, threads: int = 1) -> tuple[float, float]:
    """(user, system) CPU µs per call of ``fn``, made ``calls`` times over ``threads`` threads."""
    for _ in range(max(1, calls // 10)):
        fn()
    before = resource.getrusage(resource.RUSAGE_SELF)

    def work() -> None:
        for _ in range(calls // threads):
            fn()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) / calls * 1e6, (after.ru_stime - before.ru_stime) / calls * 1e6


def in_process(calls: int, repeats: int) -> dict[str, list[tuple[float, float]]]:
    body = json.dumps({"requestParams": json.dumps([ITEM])}).encode()
    request = Incoming.build("POST", SUBMIT, headers={"Content-Type": "application/json"}, body=body)
    memory = Dispatcher(Backend(Config(log_requests=False)))
    rows: dict[str, list[tuple[float, float]]] = {}
    with PrivateRedis() as url:
        shared = Dispatcher(Backend(Config(state=url, log_requests=False)))
        assert shared.handle(request).res_code == 200
        batcher = Batcher(shared.backend.store.tasks.s.client)
        for _ in range(repeats):
            rows.setdefault("memory, 1 thread", []).append(rusage_us(lambda: memory.handle(request), calls))
            rows.setdefault("memory, 8 threads", []).append(rusage_us(lambda: memory.handle(request), calls, 8))
            rows.setdefault("Redis, 1 thread", []).append(rusage_us(lambda: shared.handle(request), calls))
            rows.setdefault("Redis, 8 threads", []).append(rusage_us(lambda: shared.handle(request), calls, 8))
            rows.setdefault("one PING through the batcher", []).append(rusage_us(lambda: batcher.run([("PING",)]),
                                                                                    calls))
        real_call = redis_unit.Session.call
        redis_unit.Session.call = lambda self, steps, expected: [1] * len(steps)  # type: ignore[method-assign]
        try:
            for _ in range(repeats):
                rows.setdefault("Redis, 1 thread, the script call answered in-process", []).append(
                    rusage_us(lambda: shared.handle(request), calls))
        finally:
            redis_unit.Session.call = real_call  # type: ignore[method-assign]
        rows["round trips per submit (warm, 1 thread)"] = [(round_trips(shared, request), 0.0)]
    return rows


def round_trips(dispatcher: Dispatcher, request: Incoming, submits: int = 200) -> float:
    """Writes to Redis's socket per submit, counted where redis-py sends."""
    from redis.connection import AbstractConnection

    sent = [0]
    real = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: object, check_health: bool = True) -> None:
        sent[0] += 1
        real(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        for _ in range(submits):
            dispatcher.handle(request)
    finally:
        AbstractConnection.send_packed_command = real  # type: ignore[method-assign]
    return sent[0] / submits


# The servers of the live part, each measured under the same wrk in every round (rotated order).
SHARED, UNSHARED = "bgmock --workers 2 (shared, private Redis)", "the same workers, each its own memory (not one fake)"
PING = "the same unshared workers + one PING per request (the floor of one round trip)"
WRITES = "the same unshared workers + a submit's script call, its JSON encoded once (the floor of storing)"
BARE = "bare Flask, gunicorn 2 sync workers"


def live_peers() -> list[Peer]:
    py, peers_dir = sys.executable, str(ROOT / "bench" / "peers")
    granian = [py, "-m", "granian", "--interface", "wsgi", "--workers", "2", "--blocking-threads", "8",
               "--log-level", "critical", "--factory"]
    gunicorn = [py, "-m", "gunicorn", "-w", "2", "--log-level", "warning", "--chdir", peers_dir]
    return [
        Peer(SHARED, "", lambda p, _: [py, "-m", "mockserver.cli", "serve", "--workers", "2", "--port", str(p),
                                       "--quiet"]),
        Peer(UNSHARED, "", lambda p, _: [*granian, "--port", str(p), "unshared_app:app"],
             env={"PYTHONPATH": peers_dir}),
        Peer(PING, "", lambda p, _: [py, str(ROOT / "bench" / "peers" / "roundtrip_app.py"), str(p), "ping"]),
        Peer(WRITES, "", lambda p, _: [py, str(ROOT / "bench" / "peers" / "roundtrip_app.py"), str(p), "writes"]),
        Peer(BARE, "", lambda p, _: [*gunicorn, "-b", f"127.0.0.1:{p}", "flask_bare:app"]),
    ]


def live(duration: float, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Per server and round: req/s, and CPU µs (user + system) per answered request of its
    processes by role (workers, redis-server) and of wrk itself."""
    table = live_peers()
    rows: dict[str, dict[str, list[float]]] = {peer.name: {} for peer in table}
    for round_ in range(repeats):
        for peer in table[round_ % len(table):] + table[:round_ % len(table)]:
            server = Running(peer, ROOT)
            try:
                wrk(server.url, 2, 32, 2)  # warm-up
                pids = _processes(server.proc.pid)
                before, children = {pid: _ticks(pid) for pid in pids}, resource.getrusage(resource.RUSAGE_CHILDREN)
                result = wrk(server.url, duration, 32, 2)
                after, done = {pid: _ticks(pid) for pid in pids}, resource.getrusage(resource.RUSAGE_CHILDREN)
            finally:
                server.stop()
            answered, row = result["rps"] * duration, rows[peer.name]
            row.setdefault("req/s", []).append(result["rps"])
            for role in ("worker", "redis"):
                ticks = sum(sum(after[p]) - sum(before[p]) for p in pids if pids[p] == role)
                row.setdefault(role, []).append(ticks * TICK_US / answered)
            wrk_s = done.ru_utime + done.ru_stime - children.ru_utime - children.ru_stime
            row.setdefault("wrk", []).append(wrk_s * 1e6 / answered)
            print(f"  live round {round_ + 1}/{repeats}, {peer.name}: {result['rps']:.0f} req/s", flush=True)
    return rows


def budget(rows: dict[str, dict[str, list[float]]], cores: int) -> list[str]:
    """What a ratio to bare Flask leaves, per request, for the client side of sharing state.

    At ``ratio`` × bare Flask's req/s the machine has ``cores`` / (that rate) of CPU per request.
    The unshared fake's own work, Redis's work per submit and wrk's work per request are spent
    whatever the fake does about sharing; what is left is the room for what sharing costs the
    fake's processes (encoding what it stores, the round trip, waiting threads), measured here
    as the shared fake's CPU per request minus the unshared one's."""
    med = {name: {key: statistics.median(values) for key, values in row.items()} for name, row in rows.items()}
    shared, unshared, bare = med[SHARED], med[UNSHARED], med[BARE]
    fixed = unshared["worker"] + shared["redis"] + shared["wrk"]
    lines = [
        "| per request (medians) | µs |", "|---|---|",
        f"| the fake's own work, unshared (its workers' CPU) | {unshared['worker']:.0f} |",
        f"| redis-server, per submit | {shared['redis']:.0f} |",
        f"| wrk, per request | {shared['wrk']:.0f} |",
        f"| **spent whatever sharing costs** | **{fixed:.0f}** |",
        f"| what sharing costs the fake's workers now (shared − unshared) | "
        f"{shared['worker'] - unshared['worker']:.0f} |",
        "", "| ratio to bare Flask | req/s | CPU per request on "
        f"{cores} cores, µs | room left for sharing, µs |", "|---|---|---|---|",
    ]
    for ratio in (shared["req/s"] / bare["req/s"], 1.3, 1.5):
        rate = ratio * bare["req/s"]
        lines.append(f"| {ratio:.2f}× | {rate:.0f} | {cores * 1e6 / rate:.0f} | {cores * 1e6 / rate - fixed:.0f} |")
    return lines


def _processes(root: int) -> dict[int, str]:
    """A server's processes below ``root`` by role: the redis-server, and the rest (granian's
    workers; a launcher's granian, whose own CPU is next to nothing, counts with them)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="], capture_output=True, text=True)
    rows = [line.split(None, 2) for line in out.stdout.splitlines()]
    below, roles, grew = {root}, {}, True
    while grew:
        grew = False
        for pid, ppid, comm in rows:
            if int(ppid) in below and int(pid) not in below:
                below.add(int(pid))
                roles[int(pid)] = "redis" if "redis" in comm else "worker"
                grew = True
    return roles


def _ratio(row: dict[str, list[float]], bare: dict[str, list[float]]) -> float:
    return statistics.median(row["req/s"]) / statistics.median(bare["req/s"])


def _ticks(pid: int) -> tuple[int, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _cells(pairs: list[tuple[float, float]]) -> str:
    users, systems = [p[0] for p in pairs], [p[1] for p in pairs]
    totals = [u + s for u, s in pairs]
    return f"{min_max(users)} | {min_max(systems)} | {min_max(totals)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    print("in-process ...", flush=True)
    inside = in_process(args.calls, args.repeats)
    print("live ...", flush=True)
    outside = live(args.duration, args.repeats)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    trips = inside.pop("round trips per submit (warm, 1 thread)")[0][0]
    lines = [
        f"## Shared state on Redis: where a submit's time goes — {stamp}", "",
        f"`python bench/bench_redis_cost.py --repeats {args.repeats} --calls {args.calls} --duration "
        f"{args.duration:g}`: CPU per submit, user and system, min–max (median) over {args.repeats} runs.", "",
        *machine(["redis", "hiredis", "granian"]), "",
        "| in-process: one `Dispatcher.handle` of a submit | user µs | system µs | total µs |", "|---|---|---|---|",
        *(f"| {name} | {_cells(pairs)} |" for name, pairs in inside.items()), "",
        f"Round trips to Redis per submit on a warm fake (counted at the socket): **{trips:.2f}**.", "",
        f"| live, `wrk -t2 -c32 -d{args.duration:g}s` on the submit endpoint, rotated | req/s | × bare Flask "
        "(medians) | workers µs/req | redis-server µs/req | wrk µs/req |", "|---|---|---|---|---|---|",
        *(f"| {name} | {min_max(row['req/s'], 0)} | {_ratio(row, outside[BARE]):.2f}× | {min_max(row['worker'], 0)} | "
          f"{min_max(row['redis'], 0) if any(row['redis']) else '–'} | {min_max(row['wrk'], 0)} |"
          for name, row in outside.items()), "",
        "The budget (issue 17's target is a ratio to bare Flask measured on the same cores):", "",
        *budget(outside, os.cpu_count() or 1), "",
    ]
    publish("\n".join(lines), args.results, write=not args.no_write)
    print(f"median req/s, shared {statistics.median(outside[SHARED]['req/s']):.0f}")


if __name__ == "__main__":
    main()
