"""Hypothesis strategies for valid ``requestParams`` items, read from the request schema.

Types, bounds, which fields are required, the width/height pairs and the "one image source
at least" rule all come from ``schemas/submit-request-item.json`` (and the title alphabet from
its strict variant), so when the schema changes the generated requests follow. What a schema
cannot say is supplied here: real images (generated with Pillow, at the fake's side bounds and
byte cap read from its ``/__admin/config``), URLs, and scene IDs from the fake's own catalog.
"""

from __future__ import annotations

import base64
import io
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st
from PIL import Image, ImageDraw

#: The reference states the accepted formats in prose ("JPEG、JPG、PNG、BMP、WEBP"), not in a schema.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP")
#: Encoding a large WEBP costs a few hundred ms; larger sides are drawn in the cheaper formats.
WEBP_MAX_SIDE = 1200


@dataclass(frozen=True)
class ImageSpec:
    """An image the caller hands to the client: made on demand, the same bytes every time."""

    fmt: str
    width: int
    height: int
    shade: int = 0

    @property
    def data(self) -> bytes:
        return _encode(self.fmt, self.width, self.height, self.shade)

    @property
    def b64(self) -> str:
        return _b64(self.fmt, self.width, self.height, self.shade)

    @property
    def crc32(self) -> str:
        """The digest the fake's journal notes for an image (``images[].crc32``)."""
        return f"{zlib.crc32(self.data):08x}"

    def __repr__(self) -> str:
        return f"<{self.fmt} {self.width}x{self.height}, {len(self.data)} bytes as base64>"


@lru_cache(maxsize=64)
def _encode(fmt: str, width: int, height: int, shade: int) -> bytes:
    """Grey-level (JPEG, WEBP) or palette (PNG, BMP) pictures: cheap to encode at 2999 px."""
    mode = "L" if fmt in ("JPEG", "WEBP") else "P"
    img = Image.new(mode, (width, height), 40 + 50 * shade)
    if mode == "P":
        img.putpalette([(i * 37 + shade * 61) % 256 for i in range(768)])
    draw = ImageDraw.Draw(img)
    draw.rectangle((width // 4, height // 5, width * 3 // 4, height * 4 // 5), fill=200 - 30 * shade)
    draw.ellipse((width // 3, height // 3, width // 2, height // 2), fill=10 + shade)
    out = io.BytesIO()
    options: dict[str, Any] = {
        "PNG": {"compress_level": 1},
        "JPEG": {"quality": 85},
        "WEBP": {"quality": 60, "method": 0},
    }
    img.save(out, fmt, **options.get(fmt, {}))
    return out.getvalue()


@lru_cache(maxsize=64)
def _b64(fmt: str, width: int, height: int, shade: int) -> str:
    return base64.b64encode(_encode(fmt, width, height, shade)).decode("ascii")


@dataclass(frozen=True)
class Request:
    """One generated ``requestParams`` item. Images stay ``ImageSpec`` until ``params()``."""

    fields: tuple[tuple[str, Any], ...]

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.fields).get(key, default)

    def params(self) -> dict[str, Any]:
        """What the caller gives the client: images as standard base64 text."""
        return {k: (v.b64 if isinstance(v, ImageSpec) else v) for k, v in self.fields}

    def describe(self) -> dict[str, Any]:
        """For reports: the same item with the image summarised."""
        return {k: (repr(v) if isinstance(v, ImageSpec) else v) for k, v in self.fields}

    def __repr__(self) -> str:
        return repr(self.describe())


@dataclass(frozen=True)
class Limits:
    """What the fake accepts beyond the schema (from its ``/__admin/config``)."""

    min_side: int = 512
    max_side: int = 3000
    max_image_bytes: int = 4 * 1024 * 1024
    model_nums: tuple[str, ...] = ("mod001",)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], model_nums: Sequence[str]) -> Limits:
        return cls(
            min_side=int(config.get("image_min_side", 512)),
            max_side=int(config.get("image_max_side", 3000)),
            max_image_bytes=int(config.get("max_image_bytes", 4 * 1024 * 1024)),
            model_nums=tuple(model_nums) or ("mod001",),
        )


@dataclass(frozen=True)
class ItemSchema:
    """The parts of the item schema the generator uses, found by their structure."""

    properties: Mapping[str, Any]
    required: frozenset[str]
    sources: tuple[str, ...]  # the anyOf of {"required": [x]}: at least one of them
    sizes: tuple[Mapping[str, Any], ...]  # the anyOf of const pairs: allowed (width, height)
    title_alphabet: str | None = None  # a regex character class, from the strict schema
    optional: tuple[str, ...] = field(default=())

    @classmethod
    def read(cls, schema: Mapping[str, Any], strict: Mapping[str, Any] | None = None) -> ItemSchema:
        sources: tuple[str, ...] = ()
        sizes: tuple[Mapping[str, Any], ...] = ()
        for rule in schema.get("allOf", []):
            options = rule.get("anyOf", [])
            if not options:
                continue
            consts = [
                {k: v["const"] for k, v in o.get("properties", {}).items() if isinstance(v, dict) and "const" in v}
                for o in options
            ]
            if all(consts):  # alternatives of fixed values: the allowed (width, height) pairs
                sizes = tuple(consts)
            elif all(len(o.get("required", [])) == 1 for o in options):  # "at least one of these fields"
                sources = tuple(o["required"][0] for o in options)
        props = schema.get("properties", {})
        required = frozenset(schema.get("required", []))
        paired = {key for size in sizes for key in size}
        optional = tuple(k for k in props if k not in required and k not in sources and k not in paired)
        alphabet = None
        pattern = ((strict or {}).get("properties", {}).get("productTitle", {}) or {}).get("pattern")
        match = re.fullmatch(r"\^(\[.*\])\*\$", pattern or "", re.DOTALL)
        if match:
            alphabet = match.group(1)
        return cls(props, required, sources, sizes, alphabet, optional)


def images(limits: Limits) -> st.SearchStrategy[ImageSpec]:
    """Valid images: every format, sides inside the fake's exclusive bounds, small ones mostly."""
    low, high = limits.min_side + 1, limits.max_side - 1

    @st.composite
    def build(draw: st.DrawFn) -> ImageSpec:
        fmt = draw(st.sampled_from(IMAGE_FORMATS))
        top = min(high, max(low, WEBP_MAX_SIDE)) if fmt == "WEBP" else high
        width = draw(_side(low, top))
        if fmt == "BMP":  # 8-bit BMP: one byte a pixel, rows padded to 4 bytes, must stay under the byte cap
            cap = (limits.max_image_bytes - 4096) // bmp_row_bytes(width)
            if cap < low:
                fmt = "PNG"
            else:
                top = min(top, cap)
        height = draw(_side(low, top))
        return ImageSpec(fmt, width, height, draw(st.integers(0, 3)))

    return build()


def bmp_row_bytes(width: int) -> int:
    """Bytes of one row of an 8-bit BMP: a byte a pixel, padded to a multiple of 4 (a 2437-pixel
    row is 2440 bytes: counting 2437 let a 2437x1719 image pass the cap by 1 134 bytes)."""
    return (width + 3) // 4 * 4


def _side(low: int, top: int) -> st.SearchStrategy[int]:
    """Small sides mostly (cheap), any side often, the large end sometimes."""
    return st.one_of(
        st.integers(low, min(low + 150, top)), st.integers(low, top), st.integers(max(low, top - 900), top)
    )


def urls() -> st.SearchStrategy[str]:
    """http(s) image URLs that the fake checks but never fetches."""
    segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
    return st.builds(
        lambda scheme, host, parts, ext: f"{scheme}://{host}/{'/'.join(parts)}{ext}",
        st.sampled_from(["https", "http"]),
        st.sampled_from(["img.example.com", "cdn.example.net", "ae01.alicdn.example"]),
        st.lists(segment, min_size=1, max_size=4),
        st.sampled_from([".jpg", ".png", ".jpeg", ".webp", ".bmp", ""]),
    )


def _text(schema: Mapping[str, Any], alphabet: str | None) -> st.SearchStrategy[str]:
    chars = st.from_regex(alphabet, fullmatch=True) if alphabet else st.characters(codec="utf-8")
    low = int(schema.get("minLength", 0))
    high = int(schema.get("maxLength", 64))
    return st.one_of(
        st.text(chars, min_size=low, max_size=min(high, max(low, 24))), st.text(chars, min_size=low, max_size=high)
    )


def _value(name: str, schema: Mapping[str, Any], item: ItemSchema, limits: Limits) -> st.SearchStrategy[Any]:
    """A strategy for one property, from its declared type and bounds."""
    if name in _BY_NAME:
        return _BY_NAME[name](limits)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(int(schema.get("minimum", 0)), int(schema.get("maximum", 10**6)))
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return _text(schema, item.title_alphabet if name == "productTitle" else None)
    raise ValueError(f"the item schema's property {name!r} has a type the generator does not know: {kind!r}")


#: Properties whose values mean more than their type says: an image, an image's URL, a scene.
_BY_NAME: dict[str, Callable[[Limits], st.SearchStrategy[Any]]] = {
    "imgBase64": images,
    "imageFileUrl": lambda _limits: urls(),
    "modelNum": lambda limits: st.sampled_from(limits.model_nums),
}


def requests(item: ItemSchema, limits: Limits) -> st.SearchStrategy[Request]:
    """Valid ``requestParams`` items: required fields always, optional ones sometimes."""

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        fields: dict[str, Any] = {}
        if item.sizes:
            fields.update(draw(st.sampled_from(item.sizes)))
        chosen = draw(st.sampled_from(_combinations(item.sources))) if item.sources else ()
        for name in item.properties:
            if name in fields:
                continue
            wanted = name in item.required or name in chosen
            if not wanted and name in item.optional:
                wanted = draw(st.booleans())
            if wanted:
                fields[name] = draw(_value(name, item.properties[name], item, limits))
        order = [k for k in item.properties if k in fields]
        return Request(tuple((k, fields[k]) for k in order))

    return build()


def _combinations(names: Sequence[str]) -> list[tuple[str, ...]]:
    """Non-empty subsets, smallest first (so examples shrink towards one image source)."""
    from itertools import combinations

    return [combo for size in range(1, len(names) + 1) for combo in combinations(names, size)]


def simplest(item: ItemSchema, limits: Limits, **overrides: Any) -> Request:
    """The plainest valid item (first size pair, the first image source, required fields only)."""
    fields: dict[str, Any] = dict(item.sizes[0]) if item.sizes else {}
    low = limits.min_side + 1
    for name in item.properties:
        if name in fields or not (name in item.required or (item.sources and name == item.sources[0])):
            continue
        schema = item.properties[name]
        if name == "imgBase64":
            fields[name] = ImageSpec("PNG", low, low)
        elif name == "imageFileUrl":
            fields[name] = "https://img.example.com/product.jpg"
        elif name == "modelNum":
            fields[name] = limits.model_nums[0]
        elif schema.get("type") == "integer":
            fields[name] = int(schema.get("minimum", 0))
        elif schema.get("type") == "boolean":
            fields[name] = False
        else:
            fields[name] = "x" * int(schema.get("minLength", 1))
    fields.update(overrides)
    return Request(tuple((k, fields[k]) for k in item.properties if k in fields))


#: A title mixing the two languages the reference allows, for the boundary example.
_MIXED_TITLE = "Ceramic coffee mug 陶瓷咖啡杯，"


def fullest(item: ItemSchema, limits: Limits) -> Request:
    """The other end from ``simplest``: last size pair, every image source, every optional
    field at its largest (integers at their maximum, the longest title, the largest image)."""
    fields: dict[str, Any] = dict(item.sizes[-1]) if item.sizes else {}
    top = limits.max_side - 1
    for name, schema in item.properties.items():
        if name in fields:
            continue
        if name == "imgBase64":
            fields[name] = ImageSpec("JPEG", top, top)
        elif name == "imageFileUrl":
            fields[name] = "https://img.example.com/products/2024/large-product-photo.png"
        elif name == "modelNum":
            fields[name] = limits.model_nums[-1]
        elif schema.get("type") == "integer":
            fields[name] = int(schema.get("maximum", schema.get("minimum", 0)))
        elif schema.get("type") == "boolean":
            fields[name] = True
        elif schema.get("type") == "string":
            size = int(schema.get("maxLength", 64))
            fields[name] = (_MIXED_TITLE * (size // len(_MIXED_TITLE) + 1))[:size]
    return Request(tuple((k, fields[k]) for k in item.properties if k in fields))
