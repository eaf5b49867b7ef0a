"""CPU to decode a progressive JPEG by its number of scans: why ``images.MAX_JPEG_SCANS`` is 64.

    python bench/bench_jpeg_scans.py

Issue 15 (outside attack, item 5): a 100 kB JPEG with ~2 000 tiny scans passed the structure
check and cost 11 s of CPU to decode. Each 12-byte AC scan of end-of-band runs still makes
libjpeg pass over every block, so the cost is linear in scans at a given size. This takes a
progressive JPEG from Pillow (10 scans), repeats its last tiny scan (an AC refinement of a
chroma component: it visits every coefficient of that component), and times the two decodes
the fake runs (``image_check: full``'s 1/8-scale load, the renderer's thumbnail) and the
structure walk that now counts the scans.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import machine, publish  # noqa: E402 - bench/common.py (this folder is on sys.path)

from mockserver.images import _JPEG_NEXT_MARKER, MAX_JPEG_SCANS, _jpeg_walk  # noqa: E402


def with_scans(side: int, scans: int) -> bytes:
    img = Image.radial_gradient("L").resize((side, side)).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", progressive=True, quality=80)
    data = buf.getvalue()
    pos, found = 2, []
    while data[pos + 1] != 0xD9:
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if data[pos + 1] == 0xDA:
            end = _JPEG_NEXT_MARKER.search(data, end).start()  # type: ignore[union-attr]
            found.append(data[pos:end])
        pos = end
    return data[:pos] + [scan for scan in found if len(scan) < 20][-1] * max(scans - len(found), 0) + data[pos:]


def cpu(action) -> float:  # type: ignore[no-untyped-def]
    began = time.process_time()
    action()
    return time.process_time() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for side in (1200, 2999):
        for scans in (10, MAX_JPEG_SCANS, 500, 2000):
            data = with_scans(side, scans)

            def draft_load(data: bytes = data, side: int = side) -> None:
                img = Image.open(io.BytesIO(data))
                img.draft("RGB", (side // 8, side // 8))
                img.load()

            def thumbnail(data: bytes = data) -> None:
                Image.open(io.BytesIO(data)).thumbnail((600, 600))  # the renderer's product box

            walk = cpu(lambda data=data: _jpeg_walk(data)) * 1000
            rows.append(
                f"| {side}×{side} | {scans} | {len(data) / 1000:.0f} | {cpu(draft_load):.2f} | {cpu(thumbnail):.2f} "
                f"| {walk:.1f} |"
            )
            print(rows[-1], flush=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = "\n".join([
        f"## Progressive JPEG decode cost by scans — {stamp}",
        "",
        "`python bench/bench_jpeg_scans.py`: CPU seconds of one decode (process time), a Pillow progressive "
        "JPEG with its last tiny scan (a 12-byte AC refinement) repeated; the walk stops counting past the cap.",
        "",
        *machine(["pillow"]),
        "",
        "| size | scans | kB | full check (1/8 load) s | renderer thumbnail (600) s | scan walk ms |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    publish(section, args.results, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
