"""What every bench script does the same way: CPU µs per call, the machine line, min–max (median) cells.

Run the scripts as ``python bench/<script>.py``; this folder is then on ``sys.path``.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path


def min_max(values: list[float], digits: int = 1) -> str:
    """``lo–hi (median m)``, the cell format of bench/RESULTS.md."""
    return f"{min(values):.{digits}f}–{max(values):.{digits}f} (median {statistics.median(values):.{digits}f})"


def per_call_us(fn: Callable[[], object], calls: int, repeats: int) -> list[float]:
    """CPU microseconds per call (``time.process_time``, so other work on the machine does not
    inflate it), one figure per batch of ``calls``, after one unmeasured warm-up batch a tenth
    that size."""
    for _ in range(max(1, calls // 10)):
        fn()
    out = []
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(calls):
            fn()
        out.append((time.process_time() - started) / calls * 1e6)
    return out


def machine(packages: Iterable[str], *, nproc_note: bool = False, load: bool = True) -> list[str]:
    """Markdown lines naming the machine, Python, the given packages' versions and the load."""
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        uname = platform.platform()
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in packages)
    lines = [
        f"- Machine: `{uname}`; {os.cpu_count()} CPU(s){' (`nproc`)' if nproc_note else ''}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); {versions}",
    ]
    if load:
        average = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
        lines.append(f"- Load average at start (1/5/15 min): {average}")
    return lines


def publish(section: str, results: Path, *, write: bool = True) -> None:
    """Print a dated section and, unless ``write`` is off (``--no-write``), append it to results."""
    print(section)
    if write:
        with results.open("a", encoding="utf-8") as out:
            out.write("\n" + section)
