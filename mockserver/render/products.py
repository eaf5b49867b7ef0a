"""The product in a result: the submitted photo decoded and cut out, or a drawn stand-in.

A result must show "the product" even when the submit gave only a URL (the fake fetches
nothing by itself) or a photo that will not decode: validation happened at submit time and a
render must not fail later, so those get a placeholder drawn from the seed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from ..images import DEFAULT_MAX_PIXELS, ImageProblem, check_pixels, open_header, sniff_format
from .colours import darken, digest, hsv, lighten

# The cutout (fake "main object extraction"); distances are per channel, 0..255.
_HAS_TRANSPARENCY = 250  # an alpha below this somewhere: the photo comes cut out already
_PLAIN_CORNERS = 24  # the four corners differ by at most this: a plain background to key out
_BACKGROUND_NEAR = 20  # a pixel this close to the corners' colour is background (transparent)
_EDGE_RAMP = 8  # alpha gained per step of distance beyond that: a soft edge, not a jagged one
#: A scale this close to 1 pastes the cut-out as it is (a resample would only blur it).
_SAME_SIZE = 0.001


def placeholder_product(seed: str) -> Image.Image:
    """A drawn product (bottle, box or jar) for submissions that only gave an image URL.

    The fake never fetches URLs by itself, yet results should still show "a product" so a
    human looking at them sees the layout; the seed picks shape and colours reproducibly.
    Returns a 360x480 RGBA image with a transparent background.
    """
    d = digest(f"product:{seed}")
    kind = d[0] % 3
    body = hsv(d[1] / 255, 0.45 + d[2] / 255 * 0.4, 0.55 + d[3] / 255 * 0.35)
    accent = hsv(d[1] / 255 + 0.5, 0.25, 0.97)
    dark, light = darken(body, 0.35), lighten(body, 0.45)
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
    if img.getextrema()[3][0] < _HAS_TRANSPARENCY:  # cut out already: trust it
        return img
    rgb = img.convert("RGB")
    w, h = rgb.size
    corners = [rgb.getpixel(p) for p in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
    spread = max(max(c[i] for c in corners) - min(c[i] for c in corners) for i in range(3))
    if spread > _PLAIN_CORNERS:
        return img
    bg = tuple(sum(c[i] for c in corners) // 4 for i in range(3))
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, bg)).split()
    distance = ImageChops.lighter(ImageChops.lighter(diff[0], diff[1]), diff[2])
    alpha = distance.point(
        [0 if v < _BACKGROUND_NEAR else min(255, (v - _BACKGROUND_NEAR) * _EDGE_RAMP) for v in range(256)]
    )
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


def decode_product(data: bytes, box: tuple[int, int]) -> Image.Image:
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


def product_image(
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
            product = decode_product(data, box)
        except Exception:  # any decoding trouble: a result with a stand-in beats an error
            product = None
        if product is not None:
            if decoded is not None:
                decoded.put(key, product)
            return product
    placeholder = placeholder_product(seed)
    placeholder.thumbnail(box, Image.Resampling.BICUBIC)
    return placeholder


def place_product(
    base: Image.Image, product: Image.Image, centre: tuple[int, int], scale: float
) -> tuple[int, int, int, int]:
    """Paste with a soft floor shadow; returns the product's box on the canvas.

    Small cut-outs are enlarged up to 2x so a product shot from afar still reads as the subject.
    """
    w, h = base.size
    fit = min(w * scale / product.width, h * scale / product.height, 2.0)
    if abs(fit - 1.0) > _SAME_SIZE:
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


__all__ = ["DecodedProducts", "decode_product", "place_product", "placeholder_product", "product_image"]
