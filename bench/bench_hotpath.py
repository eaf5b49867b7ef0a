"""The fake's own cost per submit, without a network: in-process mode and a 3 MiB image.

    python bench/bench_hotpath.py                # appends a section to bench/RESULTS.md
    python bench/bench_hotpath.py --no-write     # print only

Three figures, each repeated (``--repeats`` batches; median and min–max of the batches):

- one submit with full validation (URL input) through ``Dispatcher.handle`` (what both
  transports call), through ``Backend.submit`` alone, and through the in-process mode
  (``mocked()`` + ``requests.post``, what a test pays, including requests' own work);
- a submit carrying a 3 MiB image as base64, against the floor of the same work done bare:
  decoding that base64 and reading the image's header with Pillow, in a tight loop.
  The ratio is the target's (≤ 1.5×). Two rows say where the rest goes (parsing the JSON
  body, and the journal's CRC-32 of the decoded image), and one more sends the same image
  with ``requestParams`` as a JSON string (the vendor samples' form: the image is parsed twice).

Timings are process CPU time per call (``time.process_time``), so other work on the machine
does not inflate them, though it still evicts caches.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import random
import statistics
import sys
import zlib
from datetime import datetime, timezone
from pathlib import Path

from common import per_call_us, publish  # noqa: E402 - bench/common.py (this folder is on sys.path)
from PIL import Image

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.http import Incoming
from mockserver.storage.private_redis import PrivateRedis
from mockserver.validation import load_json

ROOT = Path(__file__).resolve().parent.parent
SUBMIT = "/ai/image/background/generation/scenario"
URL_ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": "800", "height": "800",
            "imageNum": "2"}


def three_mib_jpeg() -> bytes:
    """A photo-like JPEG of about 3 MiB (noise does not compress), 2000×2000 pixels."""
    rng = random.Random(7)
    side = 2000
    noise = Image.frombytes("RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3)))
    for quality in (92, 88, 84, 80, 75, 70):
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=quality)
        if out.tell() <= 3.1 * 2**20:
            return out.getvalue()
    return out.getvalue()


def span(values: list[float], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def on_redis_us(request: Incoming, args: argparse.Namespace) -> list[float]:
    """The shared store's share of a --workers submit, on a private redis-server (unix socket):
    the whole request on Redis (one unit of work: 1 round trip on a warm fake) against the same in memory."""
    with PrivateRedis() as url:
        shared = Dispatcher(Backend(Config(state=url, log_requests=False)))
        assert shared.handle(request).res_code == 200
        return per_call_us(lambda: shared.handle(request), args.calls, args.repeats)


def in_process_us(body: bytes, args: argparse.Namespace) -> tuple[list[float], str]:
    """``requests.Session.post`` under ``mocked()``: the figures, or why there are none."""
    try:
        import requests

        from mockserver.testing.inprocess import DEFAULT_URL, mocked

        with mocked(log_requests=False), requests.Session() as session:
            def call() -> None:
                session.post(DEFAULT_URL + SUBMIT, data=body, headers={"Content-Type": "application/json"})

            assert session.post(DEFAULT_URL + SUBMIT, data=body, headers={"Content-Type": "application/json"}).ok
            return per_call_us(call, max(100, args.calls // 4), args.repeats), ""
    except ImportError as exc:
        return [], f"in-process mode unavailable: {exc}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000, help="calls per batch (small submits)")
    parser.add_argument("--image-calls", type=int, default=20, help="calls per batch (3 MiB image)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    config = Config(log_requests=False, clock="manual", task_duration=0)
    dispatcher = Dispatcher(Backend(config))
    body = json.dumps({"requestParams": json.dumps([URL_ITEM])}).encode()
    request = Incoming.build("POST", SUBMIT, headers={"Content-Type": "application/json"}, body=body)
    assert dispatcher.handle(request).res_code == 200
    handle_us = per_call_us(lambda: dispatcher.handle(request), args.calls, args.repeats)

    backend = dispatcher.backend
    params = {"requestParams": json.dumps([URL_ITEM])}
    backend_us = per_call_us(lambda: backend.submit(params), args.calls, args.repeats)

    redis_us = on_redis_us(request, args)
    inprocess_us, inprocess_note = in_process_us(body, args)

    image = three_mib_jpeg()
    text = base64.b64encode(image).decode()
    image_item = {**URL_ITEM, "imgBase64": text}
    image_item.pop("imageFileUrl")
    image_body = json.dumps({"requestParams": [image_item]}).encode()
    image_request = Incoming.build("POST", SUBMIT, headers={"Content-Type": "application/json"}, body=image_body)
    string_request = Incoming.build(
        "POST", SUBMIT, headers={"Content-Type": "application/json"},
        body=json.dumps({"requestParams": json.dumps([image_item])}).encode(),
    )
    image_backend = Backend(config.replace(product_cache_bytes=0))  # keep no copies around between calls
    image_dispatcher = Dispatcher(image_backend)
    for sent in (image_request, string_request):
        answer = image_dispatcher.handle(sent)
        assert answer.res_code == 200, answer.body[:300]

    def floor() -> None:
        data = base64.b64decode(text, validate=True)
        with Image.open(io.BytesIO(data)) as img:
            img.size  # noqa: B018 - reading the header is the point

    floor_us = per_call_us(floor, args.image_calls, args.repeats)
    image_us = per_call_us(lambda: image_dispatcher.handle(image_request), args.image_calls, args.repeats)
    ratios = [a / b for a, b in zip(image_us, floor_us, strict=True)]
    json_us = per_call_us(lambda: load_json(image_body, "body"), args.image_calls, args.repeats)
    digest_us = per_call_us(lambda: f"{zlib.crc32(image):08x}", args.image_calls, args.repeats)
    string_us = per_call_us(lambda: image_dispatcher.handle(string_request), args.image_calls, args.repeats)
    string_ratios = [a / b for a, b in zip(string_us, floor_us, strict=True)]

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Hot path: one submit in-process, and a 3 MiB image — {stamp}",
        "",
        f"`python bench/bench_hotpath.py --repeats {args.repeats}`: CPU µs per call (`time.process_time`), "
        f"median (min–max) of {args.repeats} batches of {args.calls} calls ({args.image_calls} for the image).",
        "",
        f"- Machine: `{platform.platform()}`, {os.cpu_count()} CPUs; Python {platform.python_version()}",
        f"- Load average before: {' / '.join(f'{x:.2f}' for x in load_before)}; "
        f"after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
        "| what | µs per call |",
        "|---|---|",
        f"| `Dispatcher.handle`, submit, URL input, full validation + journal + task | {span(handle_us)} |",
        f"| `Backend.submit` alone (validation + task) | {span(backend_us)} |",
        f"| the same `Dispatcher.handle` on Redis (`--workers`, `--state`; private redis-server, unix socket) "
        f"| {span(redis_us)} |",
        f"| in-process mode: `requests.Session.post` under `mocked()` | "
        f"{span(inprocess_us) if inprocess_us else inprocess_note} |",
        f"| submit with a {len(image) / 2**20:.2f} MiB JPEG as base64 ({len(image_body) / 2**20:.2f} MiB body), "
        f"`Dispatcher.handle` | {span(image_us, '{:.0f}')} |",
        "| floor: `base64.b64decode` of that image + Pillow reading its header | " + span(floor_us, "{:.0f}") + " |",
        f"| ratio image submit / floor (same batch) | **{span(ratios, '{:.2f}')}×** (target ≤ 1.5×) |",
        f"| of which: parsing the JSON body (`load_json`) | {span(json_us, '{:.0f}')} |",
        f"| of which: CRC-32 of the decoded image (the journal's `images[].crc32`) | {span(digest_us, '{:.0f}')} |",
        f"| the same image, `requestParams` as a JSON string (the samples' form), `Dispatcher.handle` "
        f"| {span(string_us, '{:.0f}')}; {span(string_ratios, '{:.2f}')}× the floor |",
        "",
        f"- One in-process submit: **{statistics.median(inprocess_us or handle_us) / 1000:.3f} ms** (target < 1 ms).",
        "",
    ]
    publish("\n".join(lines), args.results, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
