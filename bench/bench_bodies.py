"""Memory of the default server under concurrent large uploads: peak, and what stays after.

    python bench/bench_bodies.py                              # this checkout
    python bench/bench_bodies.py --old /path/to/old/checkout  # and an older one, same run

Issue 15 (outside attack, item 6): 60 concurrent 20 MB uploads took the server's resident
memory to 576 MB and 513 MB stayed after the load. For each checkout and each scenario this
starts a fresh ``bgmock serve`` (the default threaded server), sends ``--clients`` uploads
at once over raw sockets, and reads the server's /proc status: the peak resident size
(VmHWM) and the resident size ``--settle`` seconds after the last answer (VmRSS).

Scenarios: ``over-cap`` (20 MB each, over ``max_body_bytes``: refused on the declared
length), ``under-cap`` (10 MB each, read whole: bounded together by ``body_memory_bytes``).
Run it on a quiet machine; it moves ~2 GB over loopback per checkout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, publish  # noqa: E402 - bench/common.py (this folder is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
SUBMIT = "/ai/image/background/generation/scenario"
MB = 1_000_000
SCENARIOS = {"over-cap": 20 * MB, "under-cap": 10 * MB}


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(checkout: Path, port: int) -> subprocess.Popen[bytes]:
    code = "import sys; from mockserver.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--quiet"],
        cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the server in {checkout} did not start: {proc.communicate()[0][-2000:]!r}")


def upload(port: int, size: int, statuses: list[str]) -> None:
    """One upload of ``size`` bytes (a JSON string of that length), the answer's status line kept."""
    head = f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    piece = b"A" * 65536
    body_start = b'{"requestParams": "'
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            sock.sendall(head.encode() + body_start)
            sent = len(body_start)
            with contextlib.suppress(OSError):  # a refusal may close before the body is sent
                while sent < size - 2:
                    part = piece[: size - 2 - sent]
                    sock.sendall(part)
                    sent += len(part)
                sock.sendall(b'"}')
            answer = sock.recv(65536)
            statuses.append(answer.split(b"\r\n", 1)[0].decode("latin-1") or "(closed)")
    except OSError as exc:
        statuses.append(type(exc).__name__)


def run(checkout: Path, size: int, clients: int, settle: float) -> dict[str, object]:
    port = free_port()
    proc = start(checkout, port)
    try:
        before = status_kb(proc.pid, "VmRSS")
        statuses: list[str] = []
        threads = [threading.Thread(target=upload, args=(port, size, statuses)) for _ in range(clients)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        time.sleep(settle)
        peak, after = status_kb(proc.pid, "VmHWM"), status_kb(proc.pid, "VmRSS")
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    return {"before": before / 1024, "peak": peak / 1024, "after": after / 1024, "seconds": elapsed, "answers": counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, help="an older checkout to measure in the same run")
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the load before 'after'")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    checkouts = [("old", args.old)] if args.old else []
    checkouts.append(("this", ROOT))
    rows = []
    for scenario in args.scenario or sorted(SCENARIOS):
        for label, checkout in checkouts:
            found = run(checkout, SCENARIOS[scenario], args.clients, args.settle)
            print(label, scenario, found, flush=True)
            answers = ", ".join(f"{n}× {s}" for s, n in found["answers"].items())  # type: ignore[attr-defined]
            rows.append(
                f"| {scenario} ({SCENARIOS[scenario] // MB} MB each) | {label} | {found['before']:.0f} | "
                f"{found['peak']:.0f} | {found['after']:.0f} | {found['seconds']:.1f} | {answers} |"
            )
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/bench_bodies.py" + (" --old OLD" if args.old else "") + f" --clients {args.clients}"
    section = "\n".join([
        f"## Concurrent large uploads: server memory — {stamp}",
        "",
        f"`{command}`: {args.clients} uploads at once to a fresh `bgmock serve` (default server, "
        "default caps: max_body_bytes 12 MiB, body_memory_bytes 4 bodies); MB of resident memory "
        f"(VmRSS before, VmHWM peak, VmRSS {args.settle:g} s after the last answer).",
        "",
        *machine(["pillow", "flask"]),
        "",
        "| scenario | checkout | before | peak | after | seconds | answers |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    publish(section, args.results, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
