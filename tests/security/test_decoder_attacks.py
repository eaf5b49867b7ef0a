"""Images built to attack the decoder: each answers a 700 naming the field, with bounded memory
and bounded work (a JPEG with thousands of scans is refused by counting them, not decoded).

Memory is the behaviour bound, not time: ``tracemalloc`` measures what Python allocates while
the request is answered, and on Linux the process's peak resident size (VmHWM, reset through
/proc/self/clear_refs) also catches what Pillow's C decoders allocate, which tracemalloc
cannot see. Both checks run under both image_check settings (structure walk and full decode).
"""

from __future__ import annotations

import io
import re
import struct
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import pytest
from helpers import b64, client, make_image, problems, submit, submit_item
from PIL import Image

from mockserver.images import MAX_JPEG_SCANS, ImageProblem, inspect_image, open_header
from mockserver.render.products import decode_product

MB = 1024 * 1024
#: Python allocations while one hostile image is answered.
PYTHON_BUDGET = 50 * MB
#: Growth of the process's peak resident memory (Pillow's buffers included).
RSS_BUDGET = 50 * MB

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _peak_rss() -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        _CLEAR_REFS.write_text("5")  # Linux: reset VmHWM to the current resident size
    except OSError:
        return False
    return True


@contextmanager
def memory_bound() -> Iterator[None]:
    """Fail when the body allocates more than the budgets (Python heap and, on Linux, RSS)."""
    measure_rss = _reset_peak_rss() and _peak_rss() is not None
    rss_before = _peak_rss() if measure_rss else None
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        yield
        python_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert python_peak < PYTHON_BUDGET, f"Python allocations peaked at {python_peak / MB:.1f} MiB"
    if rss_before is not None:
        grown = (_peak_rss() or 0) - rss_before
        assert grown < RSS_BUDGET, f"peak resident memory grew by {grown / MB:.1f} MiB"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=4)
def png_claiming(width: int, height: int, rows: int | None = None) -> bytes:
    """A well-formed RGB PNG of zeros: ``rows`` rows of pixel data (all of them by default).

    Zeros compress about 1000:1, so 5000x5000 (75 MB of pixels) is a ~70 kB file.
    """
    compressor = zlib.compressobj(9)
    row = b"\0" * (width * 3 + 1)  # filter byte + RGB
    data = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows))
    data += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def gif_claiming(width: int, height: int) -> bytes:
    """A GIF89a whose screen and only frame claim ``width`` x ``height``, with one tiny LZW block."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


def truncated_jpeg() -> bytes:
    data = make_image("JPEG", 600, 600)
    return data[: len(data) // 2]


def webp_with_bad_chunk() -> bytes:
    """A real 600x600 WEBP whose image chunk claims more bytes than the file holds."""
    data = bytearray(make_image("WEBP", 600, 600))
    assert data[12:16] in (b"VP8 ", b"VP8L", b"VP8X")
    data[16:20] = struct.pack("<I", 0x7FFFFFF0)
    return bytes(data)


def webp_with_garbage_chunk() -> bytes:
    """A WEBP whose first chunk's FourCC and payload are random bytes (the RIFF size stays right)."""
    data = bytearray(make_image("WEBP", 600, 600))
    data[12:16] = b"\x00\xff\x13\x37"
    data[20:40] = bytes(range(20))
    return bytes(data)


_NEXT_MARKER = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")


@lru_cache(maxsize=8)
def jpeg_with_scans(scans: int, side: int = 1200) -> bytes:
    """A real progressive JPEG (Pillow writes 10 scans) with its last tiny scan repeated until
    it has ``scans``: a 12-byte AC refinement scan still makes the decoder visit every
    coefficient of its component, so 2 000 of them cost seconds of CPU in ~25 kB more file."""
    img = Image.radial_gradient("L").resize((side, side)).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", progressive=True, quality=80)
    data = buf.getvalue()
    pos, found = 2, []
    while data[pos + 1] != 0xD9:  # a well-formed file from Pillow: segments, scans, then EOI
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = pos + 2 + length
        if data[pos + 1] == 0xDA:
            end = _NEXT_MARKER.search(data, end).start()  # type: ignore[union-attr]
            found.append(data[pos:end])
        pos = end
    assert len(found) == 10
    extra = [scan for scan in found if len(scan) < 20][-1] * (scans - len(found))
    return data[:pos] + extra + data[pos:]


ATTACKS = {
    "jpeg-2000-scans": (lambda: jpeg_with_scans(2000), "scans"),
    # name: (image bytes, a word the 700 problem must contain)
    "png-bomb-60000x60000": (lambda: png_claiming(60000, 60000, rows=1), "too large"),
    "png-5000x5000-zeros": (lambda: png_claiming(5000, 5000), "5000x5000"),
    "truncated-jpeg": (truncated_jpeg, "JPEG"),
    "webp-bad-chunk-size": (webp_with_bad_chunk, "WEBP"),
    "webp-garbage-chunk": (webp_with_garbage_chunk, "WEBP"),
    "gif-bomb-65535x65535": (lambda: gif_claiming(65535, 65535), "GIF"),
}


@pytest.mark.parametrize("image_check", ["structure", "full"])
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_hostile_image_answers_700_with_bounded_memory(name: str, image_check: str) -> None:
    make, word = ATTACKS[name]
    body = submit_item(imgBase64=b64(make()))
    c = client(image_check=image_check)
    with memory_bound():
        answer = submit(c, body)
    assert answer["resCode"] == 700, answer
    found = problems(answer)
    assert len(found) == 1 and found[0].startswith("requestParams[0].imgBase64: "), found
    assert word in found[0], found


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_hostile_image_behind_a_url_of_the_fake_is_never_decoded_into_a_task(name: str) -> None:
    """The same bytes under another disguise: a data: URL prefix does not get them past the checks."""
    make, _ = ATTACKS[name]
    c = client()
    answer = submit(c, submit_item(imgBase64="data:image/png;base64," + b64(make())))
    assert answer["resCode"] == 700
    assert c.get("/__admin/tasks").get_json()["tasks"] == []


def test_the_fake_still_serves_after_every_attack() -> None:
    c = client()
    for make, _ in ATTACKS.values():
        assert submit(c, submit_item(imgBase64=b64(make())))["resCode"] == 700
    assert submit(c, submit_item())["resCode"] == 200


def test_an_image_at_the_largest_allowed_size_is_decoded_within_the_same_bound() -> None:
    """The bound is not met by refusing everything: a 2999x2999 PNG is fully decoded and accepted."""
    c = client(image_check="full")
    with memory_bound():
        answer = submit(c, submit_item(imgBase64=b64(png_claiming(2999, 2999))))
    assert answer["resCode"] == 200, answer


@pytest.mark.parametrize("scans", [10, MAX_JPEG_SCANS])
@pytest.mark.parametrize("image_check", ["structure", "full"])
def test_progressive_jpegs_up_to_the_scan_cap_are_accepted(scans: int, image_check: str) -> None:
    answer = submit(client(image_check=image_check), submit_item(imgBase64=b64(jpeg_with_scans(scans))))
    assert answer["resCode"] == 200, answer


@pytest.mark.parametrize("verify", [True, "structure"])
def test_one_scan_past_the_cap_is_refused_by_every_inspection(verify: bool | str) -> None:
    """Both checks; ``verify=False`` reads the header only and decodes nothing."""
    with pytest.raises(ImageProblem, match=f"more than {MAX_JPEG_SCANS} scans"):
        inspect_image(jpeg_with_scans(MAX_JPEG_SCANS + 1), verify=verify)


def test_the_renderer_never_decodes_a_jpeg_past_the_scan_cap() -> None:
    """The renderer opens products through the same ``open_header``: past the cap it draws
    its stand-in product instead of spending the decode."""
    with pytest.raises(ImageProblem, match="scans"):
        open_header(jpeg_with_scans(2000), "JPEG")
    with pytest.raises(ImageProblem, match="scans"):
        decode_product(jpeg_with_scans(2000), (200, 200))
    assert decode_product(jpeg_with_scans(10), (200, 200)).size[0] <= 200
