"""How long a whole contract-kit run takes on the reference client at the default budget.

Run from the repository root:

    python bench/bench_contract.py               # 3 runs, appends a section to bench/RESULTS.md
    python bench/bench_contract.py --repeats 1 --no-write

Figures, each min–max over the repeats (median), measured in the same run:

* **whole run**: ``contracts.run(make_adapter)`` with default settings (100 examples, every
  obligation, the kit starting its own fake): what ``bgmock contract --adapter
  contracts.reference_client:make_adapter`` costs. The target is under 60 s on 2 cores.
* **baseline, probes only**: the same run with ``examples=0`` (explicit examples, the boundary
  example and the fixed probes, no Hypothesis search): the floor set by the client's own
  deliberate waits (backoff, its timeouts on the hang and stuck probes), which no budget changes.
* per phase of the whole run: the Hypothesis search (C1-C8), the transport probes (C9), the
  polling probes (C10-C12), read from the kit's progress output.

Timings are figures for people, never assertions in tests.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts import run  # noqa: E402
from contracts.reference_client import make_adapter  # noqa: E402
from contracts.report import Progress  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
PHASES = {
    "C1-C8 examples": "search C1-C8",
    "C9 transport probes": "C9 probes",
    "C10-C12 polling probes": "C10-C12 probes",
}


def one_run(**settings: object) -> tuple[float, dict[str, float], bool]:
    """Seconds for one whole run, seconds per phase (from the progress lines), all kept?"""
    out = io.StringIO()
    began = time.perf_counter()
    result = run(make_adapter, progress=Progress(out), **settings)
    took = time.perf_counter() - began
    phases: dict[str, float] = {}
    for line in out.getvalue().splitlines():
        match = re.match(r"\s+(.+?)(?: \(round \d+.*\))?: done \(([\d.]+) s\)", line)
        if match:
            for prefix, name in PHASES.items():
                if match.group(1).startswith(prefix):
                    phases[name] = phases.get(name, 0.0) + float(match.group(2))
    return took, phases, result.ok


def span(values: list[float]) -> str:
    return f"{min(values):.1f}–{max(values):.1f} (median {statistics.median(values):.1f})"


def machine() -> list[str]:
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        uname = platform.platform()
    versions = ", ".join(
        f"{p} {importlib.metadata.version(p)}" for p in ("hypothesis", "requests", "flask", "werkzeug")
    )
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [
        f"- Machine: `{uname}`; {os.cpu_count()} CPU(s)",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); {versions}",
        f"- Load average at start (1/5/15 min): {load}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only, do not append to bench/RESULTS.md")
    args = parser.parse_args()
    info = machine()
    whole, floor, kept = [], [], True
    phases: dict[str, list[float]] = {name: [] for name in PHASES.values()}
    for i in range(args.repeats):
        took, parts, ok = one_run()
        whole.append(took)
        kept = kept and ok
        for name, seconds in parts.items():
            phases[name].append(seconds)
        base, _, ok = one_run(examples=0)
        floor.append(base)
        kept = kept and ok
        print(f"run {i + 1}: whole {took:.1f} s, probes only {base:.1f} s, phases {parts}", flush=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Contract kit, whole run on the reference client — {stamp}",
        "",
        f"`python bench/bench_contract.py --repeats {args.repeats}`: seconds, "
        f"min–max over {args.repeats} runs (median).",
        "Default settings (100 Hypothesis examples, every obligation C1–C12, the kit starting its own fake),",
        "`contracts.reference_client:make_adapter`; baseline = the same run with `examples=0` (only the fixed",
        "probes and explicit examples: the client's own deliberate waits). Target: whole run under 60 s on 2 cores.",
        "",
        *info,
        "",
        "| measure | seconds |",
        "|---|---|",
        f"| whole run (default budget) | {span(whole)} |",
        f"| baseline: probes only (`examples=0`) | {span(floor)} |",
        *[f"| phase: {name} | {span(values)} |" for name, values in phases.items() if values],
        "",
        f"Every obligation kept in every run: {'yes' if kept else 'NO'}.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main())
