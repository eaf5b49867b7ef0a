"""Safe inspection of uploaded images: format from magic bytes, size from the header.

A leaf module (Pillow and the standard library only). Inspection treats every upload as
hostile: the format comes from magic bytes (a file name or a data-URL prefix can lie),
dimensions come from the header before any pixel is decoded (a 100 kB PNG may claim
100000x100000 pixels), and every Pillow failure, whatever its exception type, becomes an
``ImageProblem`` with a short reason the API can put in ``resMessage``. Drawing lives in
``render/``.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Collection
from dataclasses import dataclass

from PIL import Image

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "ImageInfo",
    "MAX_JPEG_SCANS",
    "ImageProblem",
    "check_decode_work",
    "inspect_image",
    "sniff_format",
]

ALLOWED_FORMATS: frozenset[str] = frozenset({"JPEG", "PNG", "BMP", "WEBP"})

#: Four times the documented 3000x3000 maximum: room for a configured looser bound, while a
#: fully decoded RGBA image still stays below ~150 MB.
DEFAULT_MAX_PIXELS = 3000 * 3000 * 4

#: Scans a JPEG may have. Decoding costs a pass over the image per scan (a 12-byte scan can
#: touch every block), so 2 000 tiny scans in 100 kB cost seconds of CPU; encoders write 1
#: (baseline), 6 (grey), 10 (colour, libjpeg's and Pillow's progressive script), 18 (CMYK).
#: At 64 the worst decode of a 2999x2999 upload stays near a tenth of a second here.
MAX_JPEG_SCANS = 64

# Display order for messages, so reasons read the same as the API documentation.
_FORMAT_ORDER = ("JPEG", "PNG", "BMP", "WEBP", "GIF", "TIFF")

# Longest prefix any signature needs (RIFF....WEBP is 12 bytes).
_SNIFF_BYTES = 16
#: The first bytes of each format ``sniff_format`` knows but WEBP (a RIFF container, told at offset 8).
_MAGIC: tuple[tuple[tuple[bytes, ...], str], ...] = (
    ((b"\xff\xd8\xff",), "JPEG"),
    ((b"\x89PNG\r\n\x1a\n",), "PNG"),
    ((b"GIF87a", b"GIF89a"), "GIF"),
    ((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), "TIFF"),
    ((b"BM",), "BMP"),
)

_RGB = tuple[int, int, int]


class ImageProblem(ValueError):
    """Why some bytes are not an image the fake will accept.

    ``reason`` is short and user-facing (it ends up in ``resMessage``), so it never carries a
    Pillow traceback text; the original exception stays available as ``__cause__`` for logs.
    """

    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    """What the validation layer needs to apply its (configurable) size rules.

    ``width``/``height`` are the stored dimensions from the header, before any EXIF rotation:
    the documented bounds are the same for both sides, so a rotation cannot change the verdict.
    """

    format: str
    width: int
    height: int
    size: int


# --------------------------------------------------------------------------------------------
# Inspection
# --------------------------------------------------------------------------------------------


def sniff_format(data: bytes) -> str | None:
    """Name the container format from its magic bytes, or ``None`` when none matches.

    Only the first 16 bytes are looked at, so callers can run this before deciding whether to
    hand the data to a decoder at all. Pillow's own detection is deliberately not used: it
    would try every registered plugin (EPS, for one, shells out to Ghostscript).
    """
    head = bytes(data[:_SNIFF_BYTES])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":  # the one format not told by its first bytes alone
        return "WEBP"
    return next((name for prefixes, name in _MAGIC if head.startswith(prefixes)), None)


def _ordered(formats: Collection[str]) -> list[str]:
    """Known formats in documentation order, unknown ones after, so messages are stable."""
    known = [f for f in _FORMAT_ORDER if f in formats]
    return known + sorted(set(formats) - set(_FORMAT_ORDER))


def _or_list(formats: Collection[str]) -> str:
    """'JPEG, PNG, BMP or WEBP': the wording a human expects in 'expected' messages."""
    names = _ordered(formats)
    if len(names) <= 1:
        return "".join(names) or "an image"
    return ", ".join(names[:-1]) + " or " + names[-1]


# Serialises our own use of ``warnings.catch_warnings``: before Python 3.14 it swaps the
# process-wide filter list, and two threads interleaving enter/exit could leave our "ignore"
# filter installed for good. Only the header parse runs under the lock (microseconds).
_OPEN_LOCK = threading.Lock()


def open_header(data: bytes, fmt: str, *, decode: bool = True) -> Image.Image:
    """Open lazily with only the sniffed plugin; Pillow reads the header and no pixels.

    Pillow's own bomb check (``MAX_IMAGE_PIXELS``) runs inside ``Image.open``: its warning is
    silenced locally because ``inspect_image`` applies its own, configurable limit right after,
    and its error (over twice the global limit) becomes an ``ImageProblem`` like everything else.
    """
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise ImageProblem(f"{fmt} image too large to decode safely") from exc
    except Exception as exc:  # Pillow plugins raise a zoo of types on hostile input.
        raise ImageProblem(f"truncated or corrupt {fmt} data") from exc
    if decode:  # the caller will decode pixels: refuse what would cost more than they say
        try:
            check_decode_work(data, fmt)
        except ImageProblem:
            img.close()
            raise
    return img


def check_decode_work(data: bytes, fmt: str) -> None:
    """Refuse what would cost more to decode than its pixels (``check_pixels``) say.

    Every opener that decodes runs it (``open_header``: validation's full check and the
    renderer), and the structure walk makes the same count (``check_structure``), so no
    upload reaches a decoder without it. Of the accepted formats only JPEG has such a feature, its scans: a
    progressive decode makes a pass over the image per scan. The rest is bounded by width x
    height already (PNG's Adam7 interlace is 7 fixed passes, zTXt/iCCP inflation is capped
    by Pillow, APNG and animated WEBP have only their first frame decoded, BMP RLE and
    WEBP are linear in pixels); docs/hardening.md keeps the list.
    """
    if fmt == "JPEG":
        _check_scans(_jpeg_walk(data)[0])


def _check_scans(scans: int) -> None:
    if scans > MAX_JPEG_SCANS:
        raise ImageProblem(
            f"JPEG has more than {MAX_JPEG_SCANS} scans (each is a decoding pass over the "
            "whole image, and progressive JPEGs have about 10)"  # no "; ": that separates problems
        )


def check_pixels(fmt: str, width: int, height: int, max_pixels: int) -> None:
    """Refuse absurd headers before anything is allocated for the pixels."""
    if width <= 0 or height <= 0:
        raise ImageProblem(f"invalid {fmt} dimensions {width}x{height}")
    if width * height > max_pixels:
        raise ImageProblem(
            f"{fmt} image too large to decode safely ({width}x{height} pixels, "
            f"limit {max_pixels} pixels)"
        )


def inspect_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    verify: bool | str = True,
    allowed: Collection[str] | None = ALLOWED_FORMATS,
) -> ImageInfo:
    """Report format, dimensions and byte size, or raise ``ImageProblem`` saying why not.

    The size rules (4 MiB, 512 < side < 3000) are not applied here because they are
    configurable in the validation layer; this function only refuses what nobody could use.

    ``verify=True`` decodes the pixels (within ``max_pixels``) so truncated or corrupt data is
    caught at submit time rather than when the result is rendered; it relies on
    ``ImageFile.LOAD_TRUNCATED_IMAGES`` staying False (the default, never touched here). JPEG
    is decoded at 1/8 scale via ``draft``: libjpeg still reads every entropy-coded byte, so
    truncation is detected, with 1/64 of the memory and a fraction of the time.
    ``verify=False`` reads the header only, for benchmarks and hot paths that verified before.
    ``verify="structure"`` walks the container instead of decoding (JPEG segments up to the
    scan and its end marker, PNG chunks with their CRCs, RIFF chunk sizes, the BMP pixel
    array's extent): truncation and broken chunks are caught at a few milliseconds for a
    3 MiB upload, where a full decode of a large PNG costs a fifth of a second.

    ``allowed=None`` accepts any sniffable format (GIF and TIFF too), for callers such as the
    renderer that only want safe opening.
    """
    fmt = sniff_format(data)
    accepted = _FORMAT_ORDER if allowed is None else allowed
    if fmt is None:
        raise ImageProblem(f"not an image ({_or_list(accepted)} expected)")
    if fmt not in accepted:
        raise ImageProblem(f"{fmt} is not an allowed format ({', '.join(_ordered(accepted))})")
    img = open_header(data, fmt, decode=verify is True)  # the structure walk counts scans itself
    try:
        width, height = img.size
        check_pixels(fmt, width, height, max_pixels)
        if verify == "structure":
            check_structure(data, fmt)
        elif verify:
            try:
                if fmt == "JPEG":
                    img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                img.load()
            except Exception as exc:  # OSError, SyntaxError, struct.error, EOFError, ...
                raise ImageProblem(f"truncated or corrupt {fmt} data") from exc
    finally:
        img.close()
    return ImageInfo(format=fmt, width=width, height=height, size=len(data))


def check_structure(data: bytes, fmt: str) -> None:
    """Raise ``ImageProblem`` when the container is cut short or a chunk is broken, or (JPEG)
    has more scans than ``MAX_JPEG_SCANS``: one walk does both."""
    walk = {"JPEG": _jpeg_ok, "PNG": _png_ok, "WEBP": _webp_ok, "BMP": _bmp_ok}.get(fmt)
    try:
        ok = walk(data) if walk else True
    except ImageProblem:  # a ValueError with its own reason (too many scans)
        raise
    except (struct.error, IndexError, ValueError):
        ok = False
    if not ok:
        raise ImageProblem(f"truncated or corrupt {fmt} data")


#: In entropy-coded data 0xFF is followed by 0x00 (stuffing), a restart marker or a fill 0xFF;
#: anything else is the next marker. The search runs in C: ~1 ms for a 3 MB JPEG.
_JPEG_NEXT_MARKER = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")
_JPEG_MARK = 0xFF  # every marker starts with it; a second one is a fill byte
_JPEG_EOI = 0xD9  # end of image
_JPEG_SOS = 0xDA  # start of scan
#: Markers without a length field: start of image, TEM and the restart markers RST0-RST7.
_JPEG_STANDALONE = frozenset({0xD8, 0x01, *range(0xD0, 0xD8)})
_JPEG_LENGTH_BYTES = 2  # a segment's length counts its own two bytes


def _jpeg_walk(data: bytes) -> tuple[int, bool]:
    """(scans seen, whether the walk reached the end marker intact): every segment, and the
    entropy-coded data after each scan skipped to the next marker. Stops counting past
    ``MAX_JPEG_SCANS``, so the walk is linear in the file whatever it holds."""
    pos, scans = 2, 0
    while pos + 2 <= len(data):
        if data[pos] != _JPEG_MARK:
            return scans, False
        marker = data[pos + 1]
        if marker == _JPEG_MARK:  # fill byte
            pos += 1
            continue
        if marker == _JPEG_EOI:
            return scans, scans > 0
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if pos + 4 > len(data):
            return scans, False
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < _JPEG_LENGTH_BYTES or pos + 2 + length > len(data):
            return scans, False
        pos += 2 + length
        if marker == _JPEG_SOS:  # entropy-coded data runs to the next marker
            scans += 1
            found = _JPEG_NEXT_MARKER.search(data, pos) if scans <= MAX_JPEG_SCANS else None
            if found is None:
                return scans, False
            pos = found.start()
    return scans, False


def _jpeg_ok(data: bytes) -> bool:
    scans, intact = _jpeg_walk(data)
    _check_scans(scans)  # its own reason, not "corrupt"
    return intact


def _png_ok(data: bytes) -> bool:
    pos, seen_idat = 8, False
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            return False
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            return False
        seen_idat = seen_idat or kind == b"IDAT"
        if kind == b"IEND":
            return seen_idat
        pos = end
    return False


def _webp_ok(data: bytes) -> bool:
    (size,) = struct.unpack_from("<I", data, 4)
    if size + 8 > len(data) or size < len(b"WEBP"):  # the RIFF size covers at least the form type
        return False
    pos, kinds = 12, set()
    while pos + 8 <= size + 8:
        kind, length = struct.unpack_from("<4sI", data, pos)
        pos += 8 + length + (length & 1)
        if pos > size + 8 + 1:
            return False
        kinds.add(kind)
    return bool(kinds & {b"VP8 ", b"VP8L"})


_BITMAPINFOHEADER_BYTES = 40  # the smallest Windows header: the one with the compression field


def _bmp_ok(data: bytes) -> bool:
    offset, header = struct.unpack_from("<I", data, 10)[0], struct.unpack_from("<I", data, 14)[0]
    if header < _BITMAPINFOHEADER_BYTES:  # OS/2 core headers: trust Pillow's header parse
        return offset <= len(data)
    width, height, _, bits, compression = struct.unpack_from("<iiHHI", data, 18)
    if compression not in (0, 3):  # RLE and embedded JPEG/PNG: extent unknown without decoding
        return offset < len(data)
    row = (abs(width) * bits + 31) // 32 * 4
    return offset + row * abs(height) <= len(data)
