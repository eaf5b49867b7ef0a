"""How long a client waits for a result image: cold (first fetch renders it) and warm (cached).

Run from the repository root:

    python bench/bench_images.py              # 7 repeats, appends a section to bench/RESULTS.md
    python bench/bench_images.py --repeats 15 --no-write

For each output size the fake supports (800x800, 750x1000) and each result format (PNG, JPEG)
it measures, with ``time.perf_counter`` and min-max over the repeats:

* ``cold #0``: the first image of a fresh task (draws the scene, decodes and cuts out the
  submitted 1000x1000 JPEG product, encodes), in-process through ``Backend.result_image``;
* ``cold #1``: the second image of that task (the decoded product is reused);
* ``warm``: the same image again (an LRU hit);
* ``HTTP cold`` / ``HTTP warm``: the same two through a live server and ``requests`` on
  loopback, i.e. what a client really waits;
* ``baseline``: Pillow encoding a flat canvas of the same size and format, measured in the same
  run: the floor any renderer pays, so the figures can be compared across machines.

Timings are figures for people, never assertions in tests.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from common import machine, min_max  # noqa: E402 - bench/common.py (this folder is on sys.path)
from PIL import Image, ImageDraw  # noqa: E402

from mockserver import running  # noqa: E402
from mockserver.backend import Backend  # noqa: E402
from mockserver.config import Config  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SIZES = ((800, 800), (750, 1000))
FORMATS = (("PNG", "png"), ("JPEG", "jpg"))
SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"


def product_jpeg(variant: int = 0) -> str:
    """A 1000x1000 studio shot (gradient object on white) as base64, like a real upload.

    Each ``variant`` differs by a few pixels, so the fake's decoded-product cache (keyed by the
    bytes' digest) cannot serve one repeat from the previous one: every ``cold #0`` decodes.
    """
    img = Image.new("RGB", (1000, 1000), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 4, 4), fill=(250, 250, 250 - variant % 50))
    for i in range(300):
        draw.ellipse((250 + i // 3, 200 + i // 3, 750 - i // 3, 800 - i // 3), fill=(180 - i // 3, 60 + i // 4, 40))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return base64.b64encode(out.getvalue()).decode("ascii")


def item(width: int, height: int, b64: str) -> dict[str, object]:
    return {"imgBase64": b64, "modelNum": "mod001", "width": width, "height": height, "imageNum": 2,
            "productTitle": "ceramic coffee mug"}


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def baseline(width: int, height: int, fmt: str) -> float:
    canvas = Image.new("RGB", (width, height), (200, 180, 160))

    def encode() -> None:
        out = io.BytesIO()
        canvas.save(out, fmt, **({"compress_level": 1} if fmt == "PNG" else {"quality": 85}))

    return timed(encode)


@dataclass(frozen=True)
class Case:
    """One row of the table: a result image's size and format."""

    width: int
    height: int
    fmt: str  # Pillow's name (result_format)
    ext: str  # the result URL's extension


def measure_in_process(case: Case, products: list[str], repeats: int) -> dict[str, list[float]]:
    width, height, fmt, ext = case.width, case.height, case.fmt, case.ext
    backend = Backend(Config(clock="manual", task_duration=0, result_format=fmt, log_requests=False))
    warm_up = backend.submit({"requestParams": [item(width, height, products[-1])]})
    backend.result_image(warm_up, 0, 0, ext)  # fonts, codecs: one-time costs stay out of the figures
    rows: dict[str, list[float]] = {"cold #0": [], "cold #1": [], "warm": [], "baseline": []}
    for n in range(repeats):
        task_id = backend.submit({"requestParams": [item(width, height, products[n])]})
        rows["cold #0"].append(timed(lambda: backend.result_image(task_id, 0, 0, ext)))  # noqa: B023
        rows["cold #1"].append(timed(lambda: backend.result_image(task_id, 0, 1, ext)))  # noqa: B023
        rows["warm"].append(timed(lambda: backend.result_image(task_id, 0, 0, ext)))  # noqa: B023
        rows["baseline"].append(baseline(width, height, fmt))
    return rows


def measure_http(case: Case, products: list[str], repeats: int) -> dict[str, list[float]]:
    width, height, fmt = case.width, case.height, case.fmt
    rows: dict[str, list[float]] = {"HTTP cold": [], "HTTP warm": []}
    with running(clock="manual", task_duration=0, result_format=fmt) as fake, requests.Session() as http:
        for n in range(repeats):
            body = {"requestParams": json.dumps([item(width, height, products[n])])}
            task_id = http.post(fake.url + SUBMIT, json=body, timeout=30).json()["data"]["result"]["taskId"]
            url = http.get(fake.url + QUERY, params={"taskId": task_id}, timeout=30).json()["data"][
                "taskResult"][0]["imageUrlList"][0]
            rows["HTTP cold"].append(timed(lambda: http.get(url, timeout=30).raise_for_status()))  # noqa: B023
            rows["HTTP warm"].append(timed(lambda: http.get(url, timeout=30).raise_for_status()))  # noqa: B023
    return rows


def header() -> str:
    return "\n".join([
        "# Benchmark results",
        "",
        "Figures written by the scripts in `bench/` (each appends its own dated section). Timings are",
        "for people comparing runs on one machine; no test asserts on them.",
        "",
        *machine(("Pillow", "flask", "werkzeug", "jsonschema", "requests"), nproc_note=True, load=False),
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (default 7)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    products = [product_jpeg(n) for n in range(args.repeats + 1)]  # the last one warms up
    lines = [
        "",
        f"## Result image rendering — {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"`python bench/bench_images.py --repeats {args.repeats}`: milliseconds per image, min–max over "
        f"{args.repeats} runs (median). Product: a 1000×1000 JPEG sent as base64, scene `mod001`, with a title.",
        "`cold #0` = first image of a fresh task (includes decoding the product), `cold #1` = next image",
        "of that task, `warm` = cache hit; HTTP columns go through a live server on loopback;",
        "`baseline` = Pillow encoding a flat canvas of the same size and format (same run).",
        "",
        *machine(("Pillow", "flask", "werkzeug", "jsonschema", "requests"), nproc_note=True, load=False),
        "- Load average at start (1/5/15 min): {:.2f} / {:.2f} / {:.2f} — other work on the machine widens the"
        " ranges; compare medians against the baseline column of the same run.".format(*os.getloadavg()),
        "",
        "| size | format | cold #0 | cold #1 | warm | HTTP cold | HTTP warm | baseline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for width, height in SIZES:
        for fmt, ext in FORMATS:
            case = Case(width, height, fmt, ext)
            rows = measure_in_process(case, products, args.repeats)
            rows.update(measure_http(case, products, args.repeats))
            cells = [min_max(rows[k], 2) for k in ("cold #0", "cold #1", "warm", "HTTP cold", "HTTP warm", "baseline")]
            lines.append(f"| {width}×{height} | {fmt} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    section = "\n".join(lines) + "\n"
    if not args.no_write:
        if not RESULTS.exists():
            RESULTS.write_text(header(), encoding="utf-8")
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(section)
        print(f"appended to {RESULTS.relative_to(ROOT)}")
    else:
        print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
