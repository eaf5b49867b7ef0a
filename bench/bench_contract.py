"""How long a whole contract-kit run takes on the reference client at the default budget.

Run from the repository root:

    python bench/bench_contract.py               # 3 runs; writes its section of bench/RESULTS.md
    python bench/bench_contract.py --repeats 1 --no-write

Figures, each min–max over the repeats (median), measured in the same run:

* **whole run**: ``contracts.run(make_adapter)`` with default settings (100 examples, every
  obligation, the kit starting its own fake): what ``bgmock contract --adapter
  contracts.reference_client:make_adapter`` costs. The target is under 60 s on 2 cores.
* **baseline, probes only**: the same run with ``examples=0`` (explicit examples, the boundary
  example and the fixed probes, no Hypothesis search): the floor set by the client's own
  deliberate waits (backoff, its timeouts on the hang and stuck probes), which no budget changes.
* **smoke profile**: ``bgmock contract --profile smoke`` (the per-commit run: 10 examples, codes
  501 and 700, none of the probes that wait out the client's own timeouts); target under 10 s.
  ``--smoke-only`` times just that (quick; prints, writes nothing).
* per phase of the whole run: the Hypothesis search (C1-C8), the transport probes (C9), the
  polling probes (C10-C12), read from the kit's progress output;
* of the whole run, the time inside the client's calls (``Result.client_elapsed``: its
  requests, the fake's answers, its backoff, timeouts and polling) and the rest, the kit's own
  work (programming the fake, reading its journal, generating requests, judging).

With ``--command``, it times instead a whole default run through ``--adapter-cmd`` (the Python
example adapter, ``examples/adapters/python/bg_adapter.py``, a subprocess speaking the JSON-lines
protocol) against the *same client code* in-process (the example's own ``answer`` function called
directly, so only the pipe differs), interleaved and derandomized (both draw the same examples);
the target is within 1.5x.

With ``--baseline-tree DIR`` (another checkout, e.g. ``git archive <commit> | tar -x -C DIR``),
each repeat also times a whole run of *that* tree's kit and reference client, in a subprocess,
interleaved with this tree's runs: a before/after comparison on the same machine in the same
minutes.

A run that does not keep every obligation prints its report on stderr (a timing check that a
loaded machine broke, say), and the section says so.

Timings are figures for people, never assertions in tests.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import machine, min_max  # noqa: E402 - bench/common.py (this folder is on sys.path)

from contracts import run  # noqa: E402
from contracts.reference_client import make_adapter  # noqa: E402
from contracts.report import Progress  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Contract kit, whole run on the reference client"
PHASES = {
    "C1-C8 examples": "search C1-C8",
    "C9 transport probes": "C9 probes",
    "C10-C12 polling probes": "C10-C12 probes",
}


def one_run(**settings: object) -> tuple[float, dict[str, float], bool]:
    """Seconds for one whole run, seconds per phase (from the progress lines) and in the
    client's calls, all kept?"""
    out = io.StringIO()
    began = time.perf_counter()
    result = run(make_adapter, progress=Progress(out), **settings)
    took = time.perf_counter() - began
    if not result.ok:
        print(result.text(), file=sys.stderr, flush=True)
    phases: dict[str, float] = {}
    for line in out.getvalue().splitlines():
        match = re.match(r"\s+(.+?)(?: \(round \d+.*\))?: done \(([\d.]+) s\)", line)
        if match:
            for prefix, name in PHASES.items():
                if match.group(1).startswith(prefix):
                    phases[name] = phases.get(name, 0.0) + float(match.group(2))
    phases["client"] = result.client_elapsed
    phases["kit"] = took - result.client_elapsed
    return took, phases, result.ok


COMMAND_SECTION = "## Contract kit, through --adapter-cmd vs in-process"
EXAMPLE = ROOT / "examples" / "adapters" / "python" / "bg_adapter.py"


def _example() -> object:
    """The Python example adapter's module (its client and its protocol mapping)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bg_adapter_example", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_process_factory() -> object:
    """The example's client in this process: its protocol replies mapped as the kit maps them."""
    from argparse import Namespace

    from contracts import Rejected, TaskFailed, TransportError

    example: object = _example()
    options = Namespace(timeout=3.0, max_attempts=4, backoff=0.1, poll_interval=0.25, poll_timeout=4.0, bug=None)

    def unpack(reply: dict) -> object:
        if "rejected" in reply:
            raise Rejected(reply["rejected"]["code"], reply["rejected"].get("message", ""))
        if "transport" in reply:
            raise TransportError(reply["transport"])
        if "taskFailed" in reply:
            raise TaskFailed(reply["taskFailed"])
        if "crash" in reply:
            raise RuntimeError(reply["crash"])
        return reply.get("taskId", reply.get("urls"))

    class InProcess:
        def __init__(self, base_url: str, app_key: str, app_secret: str) -> None:
            opening = {"op": "open", "baseUrl": base_url, "appKey": app_key, "appSecret": app_secret}
            self.client, _ = example.answer(None, opening, options)  # type: ignore[attr-defined]

        def submit(self, params: dict) -> object:
            return unpack(example.answer(self.client, {"op": "submit", "params": params}, options)[1])  # type: ignore[attr-defined]

        def wait(self, task_id: str) -> object:
            return unpack(example.answer(self.client, {"op": "wait", "taskId": task_id}, options)[1])  # type: ignore[attr-defined]

    return InProcess


ECHO = (
    "import json, sys\n"
    "for line in sys.stdin:\n"
    "    m = json.loads(line)\n"
    "    r = {'ok': True, 'wait': False} if m['op'] == 'open' else {'ok': True}\n"
    "    r = {'taskId': 't'} if m['op'] == 'submit' else r\n"
    "    print(json.dumps(r), flush=True)\n"
)


def round_trip_us(calls: int = 1000, repeats: int = 5) -> list[float]:
    """Microseconds per submit through an adapter process that answers at once (a 5 KB item):
    the protocol's own cost per call (pipe, JSON both ways, the reply's schema check)."""
    from contracts.command_adapter import CommandAdapter

    adapter = CommandAdapter(f"{sys.executable} -c {shlex.quote(ECHO)}", "http://127.0.0.1:9", "k", "s")
    params = {"imgBase64": "A" * 5000, "modelNum": "mod001", "width": 800, "height": 800}
    try:
        for _ in range(200):
            adapter.submit(params)
        out = []
        for _ in range(repeats):
            began = time.perf_counter()
            for _ in range(calls):
                adapter.submit(params)
            out.append((time.perf_counter() - began) / calls * 1e6)
        return out
    finally:
        adapter.close()


def command_main(args: argparse.Namespace) -> int:
    """--command: the kit through --adapter-cmd vs the same client in-process."""
    from contracts.command_adapter import command_factory

    info = machine(("hypothesis", "requests", "flask", "werkzeug"))
    factories = {
        "in-process": in_process_factory(),
        "--adapter-cmd": command_factory(f"{sys.executable} {EXAMPLE}"),
    }
    took: dict[str, list[float]] = {name: [] for name in factories}
    client: dict[str, list[float]] = {name: [] for name in factories}
    kept = True
    for i in range(args.repeats):
        for name, factory in factories.items():
            began = time.perf_counter()
            result = run(factory, derandomize=True)  # type: ignore[arg-type]  # same examples both ways
            took[name].append(time.perf_counter() - began)
            client[name].append(result.client_elapsed)
            if not result.ok:
                kept = False
                print(result.text(), file=sys.stderr, flush=True)
            print(
                f"run {i + 1} {name}: {took[name][-1]:.1f} s ({result.client_elapsed:.1f} s in the client)", flush=True
            )
    ratios = [c / p for c, p in zip(took["--adapter-cmd"], took["in-process"], strict=True)]
    per_call = round_trip_us()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"{COMMAND_SECTION} — {stamp}",
        "",
        f"`python bench/bench_contract.py --command --repeats {args.repeats}`: seconds, min–max over "
        f"{args.repeats} interleaved runs (median).",
        "Default settings (100 Hypothesis examples, C1–C12), derandomized so both ways draw the same examples.",
        "The same client code both ways: the Python example",
        "adapter `examples/adapters/python/bg_adapter.py` through `--adapter-cmd` (a subprocess, JSON lines on",
        "its stdin/stdout), and its `answer()` called in-process. Target: the command run within 1.5x.",
        "",
        *info,
        f"- Load average at the end: {load}",
        "",
        "| measure | seconds |",
        "|---|---|",
        *[f"| whole run, {name} | {min_max(took[name])} |" for name in factories],
        *[f"| of which inside the client's calls, {name} | {min_max(client[name])} |" for name in factories],
        f"| ratio --adapter-cmd / in-process, per pair | {min_max(ratios)} |",
        f"| one protocol round trip (µs; an adapter answering at once, 5 KB item, 5 x 1000 calls) | "
        f"{min_max(per_call, 0)} |",
        "",
        f"Every obligation kept in every run: {'yes' if kept else 'NO'}.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(text, COMMAND_SECTION)
    return 0 if kept else 1


def tree_run(tree: Path) -> tuple[float, bool]:
    """Seconds for one whole default run of another tree's kit (in a subprocess), all kept?"""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from contracts import run; from contracts.reference_client import make_adapter;"
        "t = time.perf_counter(); r = run(make_adapter); print(time.perf_counter() - t, r.ok)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tree)], cwd=tree, capture_output=True, text=True, check=False
    )
    try:
        took, ok = done.stdout.split()[-2:]
        return float(took), ok == "True"
    except ValueError:
        raise SystemExit(f"the baseline tree's run failed: {done.stderr[-2000:]}") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only, do not write bench/RESULTS.md")
    parser.add_argument("--baseline-tree", type=Path, metavar="DIR", help="also time another checkout's kit")
    parser.add_argument(
        "--command", action="store_true", help="time --adapter-cmd against the same client in-process instead"
    )
    parser.add_argument("--smoke-only", action="store_true", help="time only the smoke profile; print, do not write")
    args = parser.parse_args()
    if args.command:
        return command_main(args)
    if args.smoke_only:
        return smoke_only(args.repeats)
    info = machine(("hypothesis", "requests", "flask", "werkzeug"))
    whole, floor, smoke, before, kept, kept_before = [], [], [], [], True, True
    phases: dict[str, list[float]] = {name: [] for name in (*PHASES.values(), "client", "kit")}
    for i in range(args.repeats):
        took, parts, ok = one_run()
        whole.append(took)
        kept = kept and ok
        for name, seconds in parts.items():
            phases[name].append(seconds)
        base, _, ok = one_run(examples=0)
        floor.append(base)
        kept = kept and ok
        quick, _, ok = one_run(profile="smoke")
        smoke.append(quick)
        kept = kept and ok
        if args.baseline_tree:
            then, ok = tree_run(args.baseline_tree)
            before.append(then)
            kept_before = kept_before and ok
        shown = {k: round(v, 1) for k, v in parts.items()}
        print(
            f"run {i + 1}: whole {took:.1f} s, probes only {base:.1f} s, smoke {quick:.1f} s, phases {shown}",
            flush=True,
        )
        if before:
            print(f"        baseline tree: whole {before[-1]:.1f} s", flush=True)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"{SECTION} — {stamp}",
        "",
        f"`python bench/bench_contract.py --repeats {args.repeats}`: seconds, "
        f"min–max over {args.repeats} runs (median).",
        "Default settings (100 Hypothesis examples, every obligation C1–C12, the kit starting its own fake),",
        "`contracts.reference_client:make_adapter`; baseline = the same run with `examples=0` (only the fixed",
        "probes and explicit examples: the client's own deliberate waits). Target: whole run under 60 s on 2 cores.",
        "",
        *info,
        f"- Load average at the end: {load}",
        "",
        "| measure | seconds |",
        "|---|---|",
        f"| whole run (default budget) | {min_max(whole)} |",
        f"| baseline: probes only (`examples=0`) | {min_max(floor)} |",
        f"| smoke profile (`--profile smoke`, per commit; target under 10 s) | {min_max(smoke)} |",
        *[f"| phase: {name} | {min_max(phases[name])} |" for name in PHASES.values() if phases[name]],
        f"| whole run: inside the client's calls | {min_max(phases['client'])} |",
        f"| whole run: the kit's own work (the rest) | {min_max(phases['kit'])} |",
        *(
            [f"| before/after: whole run of the kit in `{args.baseline_tree}`, interleaved | {min_max(before)} |"]
            if before
            else []
        ),
        "",
        f"Every obligation kept in every run: {'yes' if kept else 'NO'}"
        + (f" (baseline tree: {'yes' if kept_before else 'NO'})." if before else "."),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(text)
    return 0 if kept else 1


def smoke_only(repeats: int) -> int:
    """Time the smoke profile alone: ``repeats`` runs, each with its phases; all kept?"""
    took, kept = [], True
    for i in range(repeats):
        seconds, parts, ok = one_run(profile="smoke")
        took.append(seconds)
        kept = kept and ok
        shown = {k: round(v, 1) for k, v in parts.items()}
        print(f"smoke run {i + 1}: {seconds:.1f} s, phases {shown}", flush=True)
    print(f"smoke profile: {min_max(took)} s over {repeats} run(s); every obligation kept: {'yes' if kept else 'NO'}")
    return 0 if kept else 1


def write_section(text: str, section: str = SECTION) -> None:
    """Replace this benchmark's section of bench/RESULTS.md (or append one): the file keeps
    one current contract-kit figure, other benchmarks' sections untouched."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    start = old.find(section)
    if start < 0:
        RESULTS.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    end = old.find("\n## ", start + len(section))
    rest = old[end + 1 :] if end >= 0 else ""
    RESULTS.write_text(old[:start] + text + ("\n" + rest if rest else ""), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
