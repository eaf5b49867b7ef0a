"""Two commits of this repo measured in the same run, alternating: is the newer within noise of the older?

    python bench/bench_refs.py BEFORE [AFTER]       # AFTER: HEAD; appends a section to bench/RESULTS.md
    python bench/bench_refs.py 2d54703 main --rounds 7 --duration 10
    python bench/bench_refs.py 2d54703 main --rounds 1 --duration 2 --no-write   # a quick try

A change that moves code around (issue 18, "the house") should cost nothing at run time, and
two runs of a benchmark hours apart on this shared 2-core machine differ by more than that
would. So both refs are measured in one run, in rounds, each round measuring both (which
goes first alternates), and each round gives its own ratio after / before:

- CPU µs per ``Dispatcher.handle`` of one submit (URL input, full checks, memory store), in a
  process of that ref's own venv (the median of ``--batches`` batches of ``--calls`` calls,
  ``time.process_time``, as ``bench_hotpath.py``);
- req/s of ``bgmock serve`` (default: bgmock's threaded server, memory state) under
  ``wrk -t2 -c32 -d{duration}s`` on the submit endpoint, the server started afresh each round
  and warmed up first (as ``bench_throughput.py``, whose server handling and wrk parsing it uses).

Each ref is checked out once, detached, in ``bench/out/refs/<sha>`` (ignored by git) with its own
venv there (``pip install -e .``, pinned to the versions of the venv running this script, so the
two refs differ by their code only); later runs reuse both. Only committed code is measured.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from common import machine, min_max, per_call_us, publish  # noqa: E402 - bench/common.py (this folder is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
REFS = ROOT / "bench" / "out" / "refs"
SUBMIT = "/ai/image/background/generation/scenario"
#: The item of bench/submit.lua (wrk's body), so both figures measure the same request.
URL_ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": "800", "height": "800",
            "imageNum": "2"}
READY = ".bench-refs-ready"  # in a venv: its install finished
SUCCESS = 200  # the API's resCode of an accepted submit


# -- inside one ref's venv -----------------------------------------------------------------------
def measure_handle(calls: int, batches: int) -> dict[str, Any]:
    """CPU µs per ``Dispatcher.handle`` of one submit, one figure per batch; run by the ref's
    own Python (``--measure-handle``), so ``mockserver`` is that ref's code."""
    try:
        from mockserver.api import Backend  # after issue 18
    except ImportError:
        from mockserver.backend import Backend  # before it
    from mockserver.config import Config
    from mockserver.dispatch import Dispatcher
    from mockserver.http import Incoming

    dispatcher = Dispatcher(Backend(Config(log_requests=False, clock="manual", task_duration=0)))
    body = json.dumps({"requestParams": json.dumps([URL_ITEM])}).encode()
    request = Incoming.build("POST", SUBMIT, headers={"Content-Type": "application/json"}, body=body)
    answer = dispatcher.handle(request)
    if answer.res_code != SUCCESS:
        raise SystemExit(f"the submit was not accepted: resCode {answer.res_code}")
    return {"us": per_call_us(lambda: dispatcher.handle(request), calls, batches), "versions": _versions()}


def _versions() -> str:
    def one(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} (not installed)"

    return f"Python {platform.python_version()}; " + ", ".join(one(n) for n in ("flask", "werkzeug", "jsonschema"))


# -- one ref: its worktree and venv --------------------------------------------------------------
class Ref:
    """A commit checked out in ``bench/out/refs/<sha>`` with its own venv."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sha = _git("rev-parse", "--verify", f"{name}^{{commit}}")
        self.short = self.sha[:7]
        self.subject = _git("log", "-1", "--format=%s", self.sha)
        self.dir = REFS / self.sha
        self.python = self.dir / ".venv" / "bin" / "python"
        self.bgmock = self.dir / ".venv" / "bin" / "bgmock"
        self.versions = ""

    def prepare(self, constraints: Path) -> None:
        """Check out and install once; reuse what an earlier run made."""
        if not (self.dir / ".git").exists():
            print(f"{self.short}: worktree {self.dir.relative_to(ROOT)}", flush=True)
            _git("worktree", "add", "--detach", str(self.dir), self.sha)
        elif (head := _git("-C", str(self.dir), "rev-parse", "HEAD")) != self.sha:
            raise SystemExit(f"{self.dir} holds {head[:7]}, not {self.short}: remove it (git worktree remove)")
        if (self.dir / ".venv" / READY).exists():
            return
        print(f"{self.short}: venv, pip install -e . (pinned to this venv's versions)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(self.dir / ".venv")], check=True)
        install = [str(self.python), "-m", "pip", "install", "-q", "-e", str(self.dir)]
        if _quiet([*install, "-c", str(constraints)]):
            print(f"{self.short}: its dependencies do not fit this venv's versions; installing them unpinned",
                  flush=True)
            if failed := _quiet(install):
                raise SystemExit(f"{self.short}: pip install -e . failed:\n{failed}")
        (self.dir / ".venv" / READY).write_text(self.sha + "\n")

    def handle_us(self, calls: int, batches: int) -> float:
        """The median over batches of CPU µs per ``Dispatcher.handle``, in a fresh process of the ref."""
        done = subprocess.run(
            [str(self.python), __file__, "--measure-handle", "--calls", str(calls), "--batches", str(batches)],
            cwd=self.dir, env=_clean_env(), capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.short}: the in-process measure failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        self.versions = result["versions"]
        return statistics.median(result["us"])


def _quiet(command: list[str]) -> str:
    """Run pip without its chatter; what it said when it failed, else ''."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return "" if done.returncode == 0 else (done.stdout + done.stderr)[-3000:]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def _clean_env() -> dict[str, str]:
    """This environment without what would make a ref's Python import another tree's code."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def _constraints(folder: Path) -> Path:
    """This venv's installed versions (bgmock itself left out), as a pip constraints file."""
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True,
                            text=True, check=True).stdout.splitlines()
    pins = [line for line in frozen if "==" in line and " @ " not in line and not line.lower().startswith("bgmock")]
    path = folder / "constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    return path


# -- the run -------------------------------------------------------------------------------------
def serve_rps(ref: Ref, args: argparse.Namespace, scratch: Path) -> tuple[float, str]:
    """req/s of the ref's ``bgmock serve`` under wrk, after a warm-up; and what looked wrong."""
    from bench_throughput import Peer, Running, wrk  # the driver's side only: not imported inside a ref's venv

    peer = Peer(ref.short, "", lambda port, _: [str(ref.bgmock), "serve", "--port", str(port), "--quiet"],
                env={"PYTHONPATH": ""})
    server = Running(peer, scratch)
    try:
        verdict = server.check()
        wrk(server.url, args.warmup, args.connections, args.threads)
        measured = wrk(server.url, args.duration, args.connections, args.threads)
    finally:
        server.stop()
    bad = measured["non2xx"] + measured["socket_errors"]
    notes = ["" if verdict == "ok" else verdict, f"{bad:.0f} non-2xx/socket errors" if bad else ""]
    return measured["rps"], "; ".join(filter(None, notes))


@dataclass
class Figures:
    """Per ref (by sha), one value per round."""

    cpu: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    load_before: tuple[float, ...] = ()
    load_after: tuple[float, ...] = ()
    seconds: float = 0.0


def measure(before: Ref, after: Ref, args: argparse.Namespace) -> Figures:
    """The rounds: both refs in each, in the order before-after, then after-before, and so on."""
    figures = Figures(load_before=os.getloadavg())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bgmock-bench-refs-") as tmp:
        for round_no in range(1, args.rounds + 1):
            order = (before, after) if round_no % 2 else (after, before)
            said = f"round {round_no}/{args.rounds}"
            for ref in order:
                figures.cpu[ref.sha].append(ref.handle_us(args.calls, args.batches))
                print(f"{said} {ref.short} handle {figures.cpu[ref.sha][-1]:7.1f} µs CPU", flush=True)
            for ref in order:
                value, note = serve_rps(ref, args, Path(tmp))
                figures.rps[ref.sha].append(value)
                if note:
                    figures.notes[ref.sha].add(note)
                print(f"{said} {ref.short} serve  {value:7.0f} req/s  {note}".rstrip(), flush=True)
    figures.load_after = os.getloadavg()
    figures.seconds = time.perf_counter() - started
    return figures


def spread(values: list[float]) -> str:
    """(max − min) / median, in %: how far one ref's own rounds scatter."""
    return f"{(max(values) - min(values)) / statistics.median(values) * 100:.1f} %"


def section(before: Ref, after: Ref, figures: Figures, args: argparse.Namespace) -> str:
    """The RESULTS.md section: the setup, each ref, one row per figure."""

    def row(label: str, values: dict[str, list[float]], digits: int) -> str:
        ratio = [a / b for a, b in zip(values[after.sha], values[before.sha], strict=True)]
        return (f"| {label} | {min_max(values[before.sha], digits)} | {min_max(values[after.sha], digits)} | "
                f"{min_max(ratio, 3)} | {spread(values[before.sha])}; {spread(values[after.sha])} |")

    def loads(values: tuple[float, ...]) -> str:
        return " / ".join(f"{x:.2f}" for x in values)

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = (f"python bench/bench_refs.py {before.name} {after.name} --rounds {args.rounds} "
               f"--duration {args.duration:g}")
    lines = [
        f"## Before and after: {before.short} vs {after.short} in one run — {stamp}",
        "",
        f"`{command}`: rounds: {args.rounds}, each measuring both refs (which goes first alternates), each ref "
        f"from its own worktree and venv (`bench/out/refs/<sha>`, the same package versions). CPU = µs of process "
        f"CPU per `Dispatcher.handle` of one submit (URL input, full checks, memory store), in-process, the "
        f"median of {args.batches} batches of {args.calls} calls per round; req/s = `bgmock serve --quiet` "
        f"(default server, memory state) under `wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s` on "
        f"the submit endpoint (bench/submit.lua) after {args.warmup:g} s of warm-up, started afresh each round. "
        f"Cells: min–max over rounds (median); the ratio is after / before within each round.",
        "",
        *machine([], load=False)[:1],
        f"- before: `{before.sha}` ({before.name}: {before.subject[:100]}); {before.versions}",
        f"- after: `{after.sha}` ({after.name}: {after.subject[:100]}); {after.versions}",
        f"- Load average (1/5/15 min) before: {loads(figures.load_before)}; after: {loads(figures.load_after)}; "
        f"{figures.seconds:.0f} s of measuring",
        "",
        f"| figure | before {before.short} | after {after.short} | after / before | each ref's own spread "
        "over rounds (before; after) |",
        "|---|---|---|---|---|",
        row("CPU µs per `Dispatcher.handle` (lower is better)", figures.cpu, 1),
        row("`bgmock serve` req/s (higher is better)", figures.rps, 0),
        "",
        *[f"- {ref.short}: {'; '.join(sorted(figures.notes[ref.sha]))}" for ref in (before, after)
          if figures.notes[ref.sha]],
        "- A ratio is within noise when its min–max holds 1.00 and its distance from 1.00 is no larger than the "
        "refs' own spread; one round (`--rounds 1`) says nothing about noise.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", nargs="?", help="the older commit, branch or tag")
    parser.add_argument("after", nargs="?", default="HEAD", help="the newer one (default: HEAD)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000, help="Dispatcher.handle calls per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches per ref and round (the round's: their median)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of measured wrk load per ref and round")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured wrk load first")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not touch RESULTS.md")
    parser.add_argument("--measure-handle", action="store_true", help=argparse.SUPPRESS)  # inside a ref's venv
    args = parser.parse_args(argv)
    if args.measure_handle:
        print(json.dumps(measure_handle(args.calls, args.batches)))
        return 0
    if args.before is None:
        parser.error("name the commit to compare with (BEFORE)")
    if not shutil.which("wrk"):
        print("wrk not found: apt-get update && apt-get install -y wrk", file=sys.stderr)
        return 2
    before, after = Ref(args.before), Ref(args.after)
    REFS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bgmock-bench-refs-") as tmp:
        constraints = _constraints(Path(tmp))
        for ref in (before, after):
            ref.prepare(constraints)
    figures = measure(before, after, args)
    publish(section(before, after, figures, args), args.results, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
