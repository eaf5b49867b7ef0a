"""The two pictures the fake serves, put together from their parts and encoded: a task's
result image (backdrop, product, title, captions) and a scene's cover (backdrop and name).

Same arguments give the same bytes: all randomness comes from a ``random.Random`` seeded with
the caller's seed and the image index, and the encoders write no times or paths.
"""

from __future__ import annotations

import io
import random
from collections.abc import Mapping
from typing import Any

from PIL import Image

from .backdrops import background
from .products import DecodedProducts, place_product, product_image
from .text import label, name_band, title_plate

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


def _product_spot(size: tuple[int, int], seed: str, index: int, need_layout: bool) -> tuple[float, tuple[int, int]]:
    """Where the product goes, as (scale, centre): fixed in the middle, or per index with a layout."""
    width, height = size
    if not need_layout:
        return 0.6, (width // 2, height // 2)
    layout = random.Random(f"{seed}:{index}:layout")
    scale = layout.uniform(0.40, 0.56)
    cx = int(width * layout.choice((0.30, 0.5, 0.70)) + width * layout.uniform(-0.05, 0.05))
    cy = int(height * layout.uniform(0.52, 0.66))
    return scale, (cx, cy)


def render_result(  # noqa: PLR0913 - keyword-only, each one property of the picture that the caller names; a class to hold them would only move the list
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
    for PNG); later indexes reuse it from ``decoded`` (the backend's ``DecodedProducts``).
    """
    _check_size(width, height)
    rng = random.Random(f"{seed}:{index}")
    size = (width, height)
    img = background(size, scene, rng)
    box = (max(1, int(width * 0.6)), max(1, int(height * 0.6)))
    item = product_image(product, seed, box, decoded)
    scale, centre = _product_spot(size, seed, index, need_layout)
    placed = place_product(img, item, centre, scale)
    if title is not None and str(title).strip():
        title_plate(img, title, placed, need_layout)
    small = max(10, min(width, height) // 45)
    margin = max(6, small)
    label(img, _scene_title(scene), (margin, height - margin), small, anchor="ls")
    label(img, f"bgmock #{index}", (width - margin, height - margin), small, anchor="rs")
    return _encode(img, fmt)


def render_cover(
    scene: Mapping[str, Any], *, size: tuple[int, int] = (320, 320), fmt: str = "PNG"
) -> bytes:
    """Thumbnail for a scene's ``coverUrl``: its backdrop and name, no product.

    Seeded by the modelNum alone, so a scene's cover is stable across runs and servers.
    """
    width, height = size
    _check_size(width, height)
    rng = random.Random(f"cover:{scene.get('modelNum', '')}")
    img = background((width, height), scene, rng)
    name = _scene_title(scene)
    big = max(10, min(width, height) // 11)
    name_band(img, name, big)
    sub = scene.get("name")
    if sub and str(sub) != name:
        label(img, str(sub), (width // 2, height - max(6, big // 2)), max(9, big // 2), anchor="ms")
    return _encode(img, fmt)


__all__ = ["render_cover", "render_result"]
