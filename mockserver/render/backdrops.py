"""The scene backdrops: a room, a landscape, a bokeh mood, a promotion; one per scene type.

Each is drawn from the scene's three colours and a seeded ``random.Random`` (so the images of
one task differ, and the same seed gives the same pixels), with Pillow's C-level composites and
polygons rather than per-pixel Python: a backdrop is most of a render's time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from .colours import RGB, darken, lighten, mix, palette, scene_type
from .text import font

# How often a look comes up: the share of ``rng.random()`` draws below it.
_SIDE_LIT_ROOM = 0.3  # a room whose wall light runs across (a window to the side), not down
_SIDEWAYS_GLOOM = 0.5  # an atmosphere's dark ramp running across the image
_SIDEWAYS_PROMOTION = 0.5  # a promotion's two-colour ramp running across the image
_BANNER_AT_TOP = 0.5  # a promotion's banner near the top (its badge then near the bottom)


@lru_cache(maxsize=1)
def _linear_mask() -> Image.Image:
    """Pillow's 256x256 vertical ramp, built once; only ever read (resized copies are used)."""
    return Image.linear_gradient("L")


@lru_cache(maxsize=1)
def _radial_mask() -> Image.Image:
    """Pillow's 256x256 radial ramp (0 at the centre), built once and only read."""
    return Image.radial_gradient("L")


def _gradient(
    size: tuple[int, int], start: RGB, end: RGB, *, horizontal: bool = False
) -> Image.Image:
    """Two-colour ramp from one C-level composite: far cheaper than drawing line by line."""
    mask = _linear_mask()
    if horizontal:
        mask = mask.transpose(Image.Transpose.ROTATE_90)
    mask = mask.resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, end), Image.new("RGB", size, start), mask)


def _glow(
    base: Image.Image, centre: tuple[int, int], radius: int, colour: RGB, strength: float
) -> None:
    """Soft light spot: a radial ramp used as paste mask, fading to nothing at ``radius``."""
    r = max(2, int(radius))
    # radial_gradient reaches 181 at the middle of an edge (it is scaled to the half-diagonal).
    lut = [round(max(0.0, 1.0 - v / 181) * 255 * strength) for v in range(256)]
    mask = _radial_mask().resize((2 * r, 2 * r), Image.Resampling.BILINEAR).point(lut)
    base.paste(Image.new("RGB", mask.size, colour), (centre[0] - r, centre[1] - r), mask)


def _indoor(size: tuple[int, int], pal: list[RGB], rng: random.Random) -> Image.Image:
    """Wall, window light and a floor: reads as a room even at thumbnail size."""
    w, h = size
    wall_top, wall_bottom = lighten(pal[0], 0.25), mix(pal[0], pal[1], 0.35)
    img = _gradient(size, wall_top, wall_bottom, horizontal=rng.random() < _SIDE_LIT_ROOM)
    floor_y = int(h * rng.uniform(0.60, 0.72))
    # A window (or a framed picture) on the wall, at a per-image spot.
    ww, wh = int(w * rng.uniform(0.18, 0.28)), int(h * rng.uniform(0.22, 0.32))
    wx = int(rng.uniform(0.05, 0.95) * (w - ww))
    wy = int(rng.uniform(0.06, 0.5) * max(1, floor_y - wh))
    _glow(img, (wx + ww // 2, wy + wh // 2), int(max(ww, wh) * 1.3), lighten(pal[0], 0.8), 0.55)
    draw = ImageDraw.Draw(img)
    frame = darken(pal[1], 0.25)
    draw.rectangle(
        (wx, wy, wx + ww, wy + wh),
        fill=lighten(pal[0], 0.6),
        outline=frame,
        width=max(2, w // 160),
    )
    draw.line((wx + ww // 2, wy, wx + ww // 2, wy + wh), fill=frame, width=max(1, w // 260))
    draw.line((wx, wy + wh // 2, wx + ww, wy + wh // 2), fill=frame, width=max(1, w // 260))
    floor = _gradient((w, h - floor_y), mix(pal[1], pal[2], 0.3), darken(pal[1], 0.35))
    img.paste(floor, (0, floor_y))
    draw.line((0, floor_y, w, floor_y), fill=darken(pal[1], 0.45), width=max(2, h // 200))
    # Floor boards converging towards a vanishing point: cheap perspective.
    vx = int(w * rng.uniform(0.3, 0.7))
    for i in range(-4, 13):
        x = int(i * w / 8)
        draw.line((vx + (x - vx) // 4, floor_y, x, h), fill=darken(pal[1], 0.42), width=1)
    return img


def _outdoor(size: tuple[int, int], pal: list[RGB], rng: random.Random) -> Image.Image:
    """Sky, sun, hills and ground: the horizon height and sun position vary per image."""
    w, h = size
    horizon = int(h * rng.uniform(0.50, 0.66))
    img = _gradient(size, lighten(pal[0], 0.55), pal[0])
    sun = (int(w * rng.uniform(0.1, 0.9)), int(horizon * rng.uniform(0.15, 0.6)))
    _glow(img, sun, int(min(w, h) * rng.uniform(0.25, 0.4)), lighten(pal[0], 0.9), 0.8)
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
        colour = mix(pal[1], lighten(pal[0], 0.5), shade) if layer == 0 else pal[1]
        draw.polygon(points, fill=colour)
    ground = _gradient((w, h - horizon), mix(pal[2], pal[1], 0.4), darken(pal[2], 0.3))
    img.paste(ground, (0, horizon))
    return img


def _atmosphere(size: tuple[int, int], pal: list[RGB], rng: random.Random) -> Image.Image:
    """Dark gradient plus blurred light discs ("bokeh") and a few sparkles.

    The discs are drawn and blurred at quarter resolution, then scaled up: a full-size
    GaussianBlur alone would cost more than the rest of the render.
    """
    w, h = size
    img = _gradient(
        size, darken(pal[0], 0.45), darken(pal[1], 0.65), horizontal=rng.random() < _SIDEWAYS_GLOOM
    )
    _glow(
        img,
        (int(w * rng.uniform(0.2, 0.8)), int(h * rng.uniform(0.2, 0.6))),
        int(max(w, h) * 0.6),
        lighten(pal[0], 0.2),
        0.5,
    )
    sw, sh = max(1, w // 4), max(1, h // 4)
    overlay = Image.new("RGBA", (sw, sh), (*lighten(pal[0], 0.7), 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(rng.randint(14, 24)):
        r = rng.uniform(0.02, 0.08) * min(sw, sh) + 1
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        colour = lighten(rng.choice(pal), rng.uniform(0.3, 0.8))
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
            fill=lighten(pal[0], 0.9),
        )
    return img


def _sunburst(draw: ImageDraw.ImageDraw, size: tuple[int, int], rng: random.Random) -> None:
    """Every other ray of a sunburst, faint white, from a per-image centre."""
    w, h = size
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


def _banner(draw: ImageDraw.ImageDraw, size: tuple[int, int], colour: RGB, top: bool, rng: random.Random) -> None:
    """A slightly tilted full-width band near the top or the bottom, with two thin stripes."""
    w, h = size
    band = h * 0.11
    y0 = h * (0.06 if top else 0.80)
    tilt = h * rng.uniform(-0.05, 0.05)
    draw.polygon(
        [(0, y0 + tilt), (w, y0 - tilt), (w, y0 - tilt + band), (0, y0 + tilt + band)],
        fill=(*colour, 235),
    )
    stripe = (*lighten(colour, 0.4), 200)
    for at in (0.15, 0.85):
        draw.line(
            (0, y0 + tilt + band * at, w, y0 - tilt + band * at),
            fill=stripe,
            width=max(1, h // 250),
        )


def _badge(draw: ImageDraw.ImageDraw, size: tuple[int, int], colour: RGB, top: bool, rng: random.Random) -> None:
    """Discount badge: a star polygon with a percent sign, in a corner away from the banner."""
    w, h = size
    br = min(w, h) * 0.09
    bx = w * rng.choice((0.14, 0.86))
    by = h * (0.86 if top else 0.14)
    spikes = []
    for i in range(24):
        ang = math.pi * i / 12
        rad = br if i % 2 == 0 else br * 0.8
        spikes.append((bx + rad * math.cos(ang), by + rad * math.sin(ang)))
    draw.polygon(spikes, fill=(*darken(colour, 0.1), 255))
    draw.text((bx, by), "%", font=font(int(br)), fill=(255, 255, 255, 255), anchor="mm")


def _confetti(draw: ImageDraw.ImageDraw, size: tuple[int, int], pal: list[RGB], rng: random.Random) -> None:
    """Small tilted quadrilaterals in the palette's accent, a light tint, gold and white."""
    w, h = size
    for _ in range(rng.randint(20, 36)):
        x, y, s = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(3, 8) * w / 800
        colour = rng.choice((pal[2], lighten(pal[0], 0.6), (255, 215, 64), (255, 255, 255)))
        draw.polygon(
            [(x, y), (x + 2 * s, y + s), (x + s, y + 3 * s), (x - s, y + 2 * s)],
            fill=(*colour, 200),
        )


def _promotion(size: tuple[int, int], pal: list[RGB], rng: random.Random) -> Image.Image:
    """Sunburst, a diagonal banner, a discount badge and confetti: loud on purpose.

    The parts take their random draws in the order they are called: reordering them would change
    the pixels every seed gives (and the hashes that tests and recorded fixtures compare).
    """
    img = _gradient(size, lighten(pal[0], 0.1), pal[1], horizontal=rng.random() < _SIDEWAYS_PROMOTION)
    draw = ImageDraw.Draw(img, "RGBA")
    _sunburst(draw, size, rng)
    top = rng.random() < _BANNER_AT_TOP
    _banner(draw, size, pal[2], top, rng)
    _badge(draw, size, pal[2], top, rng)
    _confetti(draw, size, pal, rng)
    return img


_SCENES = {1: _indoor, 2: _outdoor, 3: _atmosphere, 4: _promotion}


def background(size: tuple[int, int], scene: Mapping[str, Any], rng: random.Random) -> Image.Image:
    """The scene's backdrop; an RGB image of exactly ``size``."""
    return _SCENES[scene_type(scene)](size, palette(scene), rng)


__all__ = ["background"]
