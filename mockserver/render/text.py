"""Text on the images: the font, which characters it can draw, wrapping, and the plates.

Pillow's bundled font is used (no font files to ship), and it covers little more than ASCII,
so every string is reduced to what the font has glyphs for before it is drawn: a character it
lacks would come out as a box (tofu). Text sits on a translucent plate so it reads on any
backdrop.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font(size: int) -> Font:
    """Pillow's bundled font: no font files to ship, and loading it costs ~50 µs.

    Not cached: a FreeType face shared between server threads is not guaranteed safe.
    """
    return ImageFont.load_default(size=max(6, size))


def drawable_text(face: Font, text: str) -> str:
    """The part of ``text`` the bundled font has glyphs for, on one line: never tofu.

    Pillow's bundled font covers little more than ASCII (no CJK, not even "é"); a character it
    lacks would be drawn as a box (its .notdef glyph), so a Chinese ``productTitle`` came out as
    a row of boxes. Compatibility forms are folded first ("é" -> "e", "！" -> "!"), then every
    character without a glyph is left out: a title wholly in Chinese draws no text at all, a
    mixed one only its Latin part. ``face`` is unused: glyph coverage does not depend on size.
    """
    del face
    folded = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in folded if ch.isspace() or has_glyph(ch))
    return " ".join(kept.split())  # newlines/tabs would break the one-line layout


_PROBE_LOCK = threading.Lock()  # one face for the glyph checks; FreeType faces are not thread-safe
_probe: list[tuple[Font, tuple[tuple[int, int], bytes] | None]] = []
#: A code point no font maps (plane 16, private use): what it renders to is the .notdef box.
_UNMAPPED = "\U0010fffd"


def _ink(face: Font, char: str) -> tuple[tuple[int, int], bytes] | None:
    """The glyph bitmap ``char`` renders to, or None when the font cannot take it at all."""
    try:
        mask = face.getmask(char)
    except (UnicodeError, ValueError, OSError):  # the bitmap fallback (Pillow without FreeType)
        return None
    return mask.size, bytes(mask)


@lru_cache(maxsize=8192)
def has_glyph(char: str) -> bool:
    """Whether the bundled font draws ``char`` as itself: some ink, and not the .notdef box."""
    with _PROBE_LOCK:
        if not _probe:
            face = font(24)
            _probe.append((face, _ink(face, _UNMAPPED)))
        face, notdef = _probe[0]
        ink = _ink(face, char)
    return ink is not None and any(ink[1]) and ink != notdef


def wrap(face: Font, text: str, max_width: int, max_lines: int) -> list[str]:
    """Greedy wrap on spaces, or per character for scripts without spaces (Chinese titles).

    Overlong input ends in '...' (plain dots: the bundled font's charset is small).
    """
    spaced = " " in text
    words = text.split(" ") if spaced else list(text)
    joiner = " " if spaced else ""
    lines: list[str] = []
    current = ""
    i = 0
    while i < len(words) and len(lines) < max_lines:
        candidate = f"{current}{joiner}{words[i]}" if current else words[i]
        if not current or face.getlength(candidate) <= max_width:
            current = candidate
            i += 1
        else:
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    for n, line in enumerate(lines):
        cut = n == len(lines) - 1 and i < len(words)
        if cut or face.getlength(line) > max_width:
            while line and face.getlength(line + "...") > max_width:
                line = line[:-1]
            lines[n] = line.rstrip() + "..."
    return lines


def label(base: Image.Image, text: str, xy: tuple[int, int], size: int, *, anchor: str = "la") -> None:
    """Small caption on a translucent plate, readable whatever the background colour."""
    face = font(size)
    text = drawable_text(face, text)
    if not text:
        return
    draw = ImageDraw.Draw(base, "RGBA")
    box = draw.textbbox(xy, text, font=face, anchor=anchor)
    pad = max(2, size // 3)
    draw.rounded_rectangle(
        (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), radius=pad, fill=(0, 0, 0, 110)
    )
    draw.text(xy, text, font=face, fill=(255, 255, 255, 235), anchor=anchor)


def title_plate(
    img: Image.Image, title: str, product_box: tuple[int, int, int, int], need_layout: bool
) -> None:
    """Title on a translucent plate above the product, or below it when there is more room."""
    w, h = img.size
    size = max(12, min(w, h) // (14 if need_layout else 18))
    face = font(size)
    text = drawable_text(face, str(title)[:200])
    lines = wrap(face, text, int(w * 0.86), 2)
    if not lines:
        return
    line_h = int(size * 1.25)
    block_h = line_h * len(lines)
    room_above, room_below = product_box[1], h - product_box[3]
    y = (
        max(size // 2, (room_above - block_h) // 2)
        if room_above >= room_below
        else (product_box[3] + max(size // 2, (room_below - block_h) // 2))
    )
    y = max(0, min(y, h - block_h - size))
    draw = ImageDraw.Draw(img, "RGBA")
    widths = [draw.textlength(line, font=face) for line in lines]
    pad = size // 3
    left = int((w - max(widths)) / 2) - pad
    draw.rounded_rectangle(
        (left, y - pad, w - left, y + block_h + pad), radius=pad, fill=(0, 0, 0, 90)
    )
    for i, line in enumerate(lines):
        draw.text((w // 2, y + i * line_h), line, font=face, fill=(255, 255, 255, 245), anchor="ma")


def name_band(img: Image.Image, name: str, size: int) -> None:
    """A cover's scene name, centred on a full-width band; no band when nothing is drawable."""
    width, height = img.size
    face = font(size)
    lines = wrap(face, drawable_text(face, name), int(width * 0.84), 2)
    line_h = int(size * 1.25)
    top = (height - line_h * len(lines)) // 2
    draw = ImageDraw.Draw(img, "RGBA")
    pad = size // 2
    if lines:  # no empty band for a name with nothing drawable
        draw.rectangle((0, top - pad, width, top + line_h * len(lines) + pad), fill=(0, 0, 0, 100))
    for i, line in enumerate(lines):
        draw.text(
            (width // 2, top + i * line_h), line, font=face, fill=(255, 255, 255, 245), anchor="ma"
        )


__all__ = ["Font", "drawable_text", "font", "has_glyph", "label", "name_band", "title_plate", "wrap"]
