"""Colours for the drawings: a scene's palette and type, and the blends the drawing code uses.

A hand-edited catalog entry may lack a palette or a scene type, or hold odd values; the
scene still renders, with colours and a look derived from its modelNum, so the same entry
always looks the same.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Mapping
from typing import Any

RGB = tuple[int, int, int]

_WHITE: RGB = (255, 255, 255)
_BLACK: RGB = (0, 0, 0)
_HEX_DIGITS = 6  # "rrggbb"
_PALETTE_SIZE = 3  # the drawing code's base, second and accent colours


def parse_hex(value: Any) -> RGB | None:
    """'#rrggbb' (or 'rrggbb') to a tuple; anything else is ignored rather than fatal,
    because a hand-edited catalog should still render."""
    if not isinstance(value, str):
        return None
    text = value.strip().lstrip("#")
    if len(text) != _HEX_DIGITS:
        return None
    try:
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError:
        return None


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend; ``t=0`` is ``a``."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def lighten(c: RGB, t: float) -> RGB:
    """``t`` of the way to white."""
    return mix(c, _WHITE, t)


def darken(c: RGB, t: float) -> RGB:
    """``t`` of the way to black."""
    return mix(c, _BLACK, t)


def hsv(h: float, s: float, v: float) -> RGB:
    """A colour from hue (wrapping around), saturation and value, each 0..1."""
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def digest(text: str) -> bytes:
    """Stable across processes, unlike ``hash()`` (which is salted per run)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def palette(scene: Mapping[str, Any]) -> list[RGB]:
    """Three colours for a scene: the catalog's palette when usable, else from its modelNum.

    A two-colour palette gets a third (accent) colour derived from the first two, so the drawing
    code can always count on three.
    """
    raw = scene.get("palette")
    colours: list[RGB] = []
    if isinstance(raw, (list, tuple)):
        colours = [c for c in (parse_hex(v) for v in raw[:_PALETTE_SIZE]) if c is not None]
    if len(colours) >= _PALETTE_SIZE:
        return colours[:_PALETTE_SIZE]
    if len(colours) == _PALETTE_SIZE - 1:  # no accent: one is derived from the other two
        return [colours[0], colours[1], darken(mix(colours[0], colours[1], 0.5), 0.35)]
    d = digest(f"palette:{scene.get('modelNum', '')}")
    hue = d[0] / 255
    sat = 0.30 + d[1] / 255 * 0.35
    return [
        hsv(hue, sat * 0.6, 0.95),
        hsv(hue + 0.06, sat, 0.70),
        hsv(hue + 0.5, min(1.0, sat + 0.2), 0.55),
    ]


def scene_type(scene: Mapping[str, Any]) -> int:
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
    return digest(f"type:{scene.get('modelNum', '')}")[0] % 4 + 1


__all__ = ["RGB", "darken", "digest", "hsv", "lighten", "mix", "palette", "parse_hex", "scene_type"]
