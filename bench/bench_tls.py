"""What HTTPS costs: a submit over TLS against the same over plain HTTP, on ``bgmock serve``.

Run from the repository root:

    python bench/bench_tls.py                       # 7 repeats, appends a section to bench/RESULTS.md
    python bench/bench_tls.py --repeats 3 --submits 200 --no-write

Two ``bgmock serve`` processes (``--quiet --task-duration 0``), one plain and one ``--tls`` with a
CA in a temporary directory, each answering the same submit (one ``requestParams`` item with an
``imageFileUrl``, JSON body). The client is ``http.client`` with one prebuilt TLS context (so the
figures are the protocol's cost, not a client library's per-connection set-up):

* **new connection per submit**: connect (and the TLS handshake), one submit, close;
* **kept connection**: one connection, then submits one after another on it.

Every repeat measures HTTP and HTTPS back to back, alternating which goes first, so both see
the same machine load; the ratio is taken per repeat. Target (issue 16): HTTPS submit on a
kept connection within 1.2x of HTTP. Timings are figures for people, never test assertions.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import machine, min_max, publish  # noqa: E402 - bench/common.py (this folder is on sys.path)

RESULTS = ROOT / "bench" / "RESULTS.md"
PATH = "/rest/ai/image/background/generation/scenario"
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}
BODY = json.dumps({"requestParams": json.dumps([ITEM])}).encode()
HEADERS = {"Content-Type": "application/json", "x-iop-trial": "true"}
LISTENING = re.compile(r"^bgmock listening on (https?)://127\.0\.0\.1:(\d+)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(*flags: str, data_home: str) -> Iterator[tuple[int, int]]:
    exe = Path(sys.executable).with_name("bgmock")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", "0", "--quiet", "--task-duration", "0", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "XDG_DATA_HOME": data_home},
    )
    try:
        match = LISTENING.match(proc.stdout.readline() if proc.stdout else "")
        if not match:
            raise SystemExit(f"bgmock serve did not start: {proc.stderr.read() if proc.stderr else ''}")
        yield int(match[2]), proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def submit(conn: http.client.HTTPConnection) -> None:
    conn.request("POST", PATH, body=BODY, headers=HEADERS)
    answer = conn.getresponse()
    data = answer.read()
    if answer.status != 200 or b'"success":true' not in data:
        raise SystemExit(f"unexpected answer {answer.status}: {data[:200]!r}")


def per_submit_us(make: Callable[[], http.client.HTTPConnection], submits: int, *, kept: bool) -> float:
    started = time.perf_counter()
    if kept:
        conn = make()
        for _ in range(submits):
            submit(conn)
        conn.close()
    else:
        for _ in range(submits):
            conn = make()
            submit(conn)
            conn.close()
    return (time.perf_counter() - started) / submits * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--submits", type=int, default=300, help="submits per measurement")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bgmock-bench-tls-") as home, \
            serve(data_home=home) as (http_port, http_pid), serve("--tls", data_home=home) as (https_port, https_pid):
        context = ssl.create_default_context(cafile=str(Path(home) / "bgmock" / "ca.pem"))
        makers = {
            "HTTP": lambda: http.client.HTTPConnection("127.0.0.1", http_port, timeout=10),
            "HTTPS": lambda: http.client.HTTPSConnection("127.0.0.1", https_port, timeout=10, context=context),
        }
        pids = {"HTTP": http_pid, "HTTPS": https_pid}
        for make in makers.values():  # warm both servers (imports, first validation, caches)
            per_submit_us(make, 20, kept=True)
        rows: dict[tuple[str, bool], list[float]] = {(n, k): [] for n in makers for k in (False, True)}
        cpu: dict[tuple[str, bool], list[float]] = {(n, k): [] for n in makers for k in (False, True)}
        ratios: dict[bool, list[float]] = {False: [], True: []}
        cpu_ratios: dict[bool, list[float]] = {False: [], True: []}
        for repeat in range(args.repeats):
            for kept in (False, True):
                order = list(makers) if repeat % 2 == 0 else list(reversed(makers))
                got, used = {}, {}
                for name in order:
                    before = cpu_seconds(pids[name])
                    got[name] = per_submit_us(makers[name], args.submits, kept=kept)
                    used[name] = (cpu_seconds(pids[name]) - before) / args.submits * 1e6
                for name in order:
                    rows[(name, kept)].append(got[name])
                    cpu[(name, kept)].append(used[name])
                ratios[kept].append(got["HTTPS"] / got["HTTP"])
                cpu_ratios[kept].append(used["HTTPS"] / max(used["HTTP"], 1e-9))

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## HTTPS vs HTTP, one submit — {stamp}",
        "",
        f"`python bench/bench_tls.py --repeats {args.repeats} --submits {args.submits}`: µs per submit, "
        f"min–max over {args.repeats} runs (median); `bgmock serve` and `bgmock serve --tls` (ECDSA P-256 "
        "certificate from bgmock's CA), client `http.client` with one prebuilt TLS context; each run measures "
        "both back to back (alternating which goes first) and the ratio is per run.",
        "",
        *machine(["cryptography", "trustme"], nproc_note=True),
        f"- OpenSSL: {ssl.OPENSSL_VERSION}",
        "",
        "| one submit | HTTP µs | HTTPS µs | HTTPS / HTTP |",
        "|---|---|---|---|",
    ]
    for kept, label in ((False, "new connection (TCP + TLS handshake) per submit"), (True, "kept connection")):
        lines.append(
            f"| {label}: wall time at the client | {min_max(rows[('HTTP', kept)], 0)} | "
            f"{min_max(rows[('HTTPS', kept)], 0)} | {min_max(ratios[kept], 2)} |"
        )
        lines.append(
            f"| {label}: the server process's CPU | {min_max(cpu[('HTTP', kept)], 0)} | "
            f"{min_max(cpu[('HTTPS', kept)], 0)} | {min_max(cpu_ratios[kept], 2)} |"
        )
    kept_ratio = statistics.median(ratios[True])
    verdict = "met" if kept_ratio <= 1.2 else "NOT met"
    lines += [
        "",
        f"Target, HTTPS submit on a kept connection within 1.2× of HTTP: median ratio {kept_ratio:.2f} ({verdict}; "
        f"runs from {min(ratios[True]):.2f} to {max(ratios[True]):.2f}); the server's own CPU per kept-connection "
        f"submit, median ratio {statistics.median(cpu_ratios[True]):.2f}. CPU time is counted in clock ticks "
        "(10 ms), so use enough submits per run for it to mean something.",
        "",
    ]
    publish("\n".join(lines), RESULTS, write=not args.no_write)


if __name__ == "__main__":
    main()
