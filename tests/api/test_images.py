"""Tests for ``mockserver.images``: hostile-input inspection and deterministic rendering.

Every image is generated here with Pillow (no binary fixtures), and each render is small enough
that the whole file stays well under a few seconds.
"""

from __future__ import annotations

import contextlib
import io
import random
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFile, ImageStat

from mockserver.images import (
    ALLOWED_FORMATS,
    ImageInfo,
    ImageProblem,
    inspect_image,
    sniff_format,
)
from mockserver.render import DecodedProducts, placeholder_product, render_cover, render_result

SIZE = (600, 520)


def encode(fmt: str, size: tuple[int, int] = SIZE, mode: str = "RGB", **kw: Any) -> bytes:
    """A picture with some structure (so codecs produce real entropy-coded data)."""
    img = Image.radial_gradient("L").resize(size).convert("RGB")
    box = (size[0] // 8, size[1] // 8, size[0] // 2, size[1] // 3)
    ImageDraw.Draw(img).rectangle(box, fill="red")
    out = io.BytesIO()
    img.convert(mode).save(out, fmt, **kw)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny real PNG whose IHDR is patched to claim another size (CRC fixed up)."""
    data = encode("PNG", (16, 16))
    start = data.index(b"IHDR")
    body = bytearray(data[start : start + 17])  # type + 13-byte IHDR payload
    body[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(body)))
    return data[:start] + bytes(body) + crc + data[start + 21 :]


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def mean_diff(a: bytes, b: bytes) -> float:
    """Average per-channel difference: > a few units means a human sees two different images."""
    diff = ImageChops.difference(decode(a).convert("RGB"), decode(b).convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3


SCENE: dict[str, Any] = {
    "modelNum": "mod001",
    "name": "Living room",
    "sceneName": "Cozy living room",
    "sceneType": 1,
    "palette": ["#e8dcc8", "#8a6f55", "#3a5f7d"],
}


# --------------------------------------------------------------------------------------------
# Inspection
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(ALLOWED_FORMATS))
@pytest.mark.parametrize("verify", [True, False])
def test_allowed_formats_detected_from_bytes(fmt: str, verify: bool) -> None:
    data = encode(fmt)
    assert sniff_format(data) == fmt
    info = inspect_image(data, verify=verify)
    assert info == ImageInfo(format=fmt, width=SIZE[0], height=SIZE[1], size=len(data))


def test_png_with_alpha_and_palette_modes() -> None:
    assert inspect_image(encode("PNG", mode="RGBA")).format == "PNG"
    assert inspect_image(encode("PNG", mode="P")).width == SIZE[0]


@pytest.mark.parametrize("fmt", ["GIF", "TIFF"])
def test_gif_and_tiff_rejected_by_name(fmt: str) -> None:
    data = encode(fmt)
    assert sniff_format(data) == fmt
    with pytest.raises(ImageProblem) as err:
        inspect_image(data)
    assert err.value.reason == f"{fmt} is not an allowed format (JPEG, PNG, BMP, WEBP)"
    assert str(err.value) == err.value.reason


def test_allowed_none_accepts_other_sniffed_formats() -> None:
    info = inspect_image(encode("GIF"), allowed=None)
    assert (info.format, info.width, info.height) == ("GIF", *SIZE)


def test_custom_allowed_list_is_named_in_the_reason() -> None:
    with pytest.raises(ImageProblem, match=r"JPEG is not an allowed format \(PNG\)"):
        inspect_image(encode("JPEG"), allowed={"PNG"})


@pytest.mark.parametrize(
    "data",
    [b"", b"GIF8", b"hello, world" * 20, random.Random(7).randbytes(4096), b"\x00" * 64],
    ids=["empty", "short", "text", "random", "zeros"],
)
def test_non_images_rejected(data: bytes) -> None:
    with pytest.raises(ImageProblem) as err:
        inspect_image(data)
    assert err.value.reason == "not an image (JPEG, PNG, BMP or WEBP expected)"


def test_sniff_looks_only_at_the_first_bytes() -> None:
    assert sniff_format(b"\xff\xd8\xff") == "JPEG"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff_format(b"MM\x00*") == "TIFF"
    assert sniff_format(b"") is None


@pytest.mark.parametrize("side", [60000, 100000])
@pytest.mark.parametrize("verify", [True, False])
def test_decompression_bomb_rejected_without_decoding(side: int, verify: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = png_claiming(side, side)
    assert len(bomb) < 1024
    decoded: list[tuple[int, int]] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image.size))
    with pytest.raises(ImageProblem, match="too large"):
        inspect_image(bomb, verify=verify)
    assert decoded == []  # refused on its header, not a pixel decoded (seen, not timed: a busy machine is slow)


def test_own_pixel_limit_applies_below_pillows() -> None:
    # 7000x7000 = 49 Mpx: under Pillow's own bomb error, over our default 36 Mpx.
    with pytest.raises(ImageProblem, match=r"7000x7000"):
        inspect_image(png_claiming(7000, 7000))
    with pytest.raises(ImageProblem, match="too large"):
        inspect_image(encode("JPEG"), max_pixels=1000)


def test_zero_sized_header_rejected() -> None:
    with pytest.raises(ImageProblem):
        inspect_image(png_claiming(0, 10))


@pytest.mark.parametrize("progressive", [False, True])
def test_truncated_jpeg_rejected_only_when_verifying(progressive: bool) -> None:
    data = encode("JPEG", quality=90, progressive=progressive)
    cut = data[: len(data) // 2]
    with pytest.raises(ImageProblem) as err:
        inspect_image(cut)
    assert err.value.reason == "truncated or corrupt JPEG data"
    assert err.value.__cause__ is not None  # the Pillow error is kept for logs
    assert inspect_image(cut, verify=False).width == SIZE[0]  # header alone is intact


def test_truncated_png_and_bmp_rejected() -> None:
    for fmt in ("PNG", "BMP"):
        data = encode(fmt)
        with pytest.raises(ImageProblem, match=f"truncated or corrupt {fmt} data"):
            inspect_image(data[: len(data) * 2 // 3])


def test_webp_with_corrupted_chunk_rejected() -> None:
    data = encode("WEBP", quality=80)
    assert data[12:16] == b"VP8 "
    garbled = data[:40] + bytes(b ^ 0x5A for b in data[40 : len(data) // 2]) + data[len(data) // 2 :]
    with pytest.raises(ImageProblem, match="truncated or corrupt WEBP data"):
        inspect_image(garbled)
    oversized = data[:16] + (10**6).to_bytes(4, "little") + data[20:]  # chunk runs past the end
    with pytest.raises(ImageProblem, match="truncated or corrupt WEBP data"):
        inspect_image(oversized)


def test_mutated_inputs_never_escape_as_other_exceptions() -> None:
    rng = random.Random(1234)
    for fmt in sorted(ALLOWED_FORMATS):
        data = encode(fmt, (64, 48))
        for _ in range(25):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                mutated[rng.randrange(2, len(mutated))] = rng.randrange(256)
            try:
                info = inspect_image(bytes(mutated))
            except ImageProblem as exc:
                assert exc.reason
            else:
                assert info.format == fmt


def test_no_global_pillow_or_warning_state_changes() -> None:
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, list(warnings.filters))
    for data in (png_claiming(60000, 60000), encode("JPEG")[:500], encode("WEBP")):
        with contextlib.suppress(ImageProblem):
            inspect_image(data)
    after = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, list(warnings.filters))
    assert after == before
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_concurrent_inspection_is_consistent_and_leaves_filters_alone() -> None:
    """The server inspects uploads from several threads; the local warning filter must not leak."""
    filters = list(warnings.filters)
    good, bomb = encode("PNG", (64, 48)), png_claiming(60000, 60000)

    def work(_: int) -> list[str]:
        seen = []
        for _ in range(15):
            seen.append(inspect_image(good).format)
            try:
                inspect_image(bomb)
            except ImageProblem as exc:
                seen.append(exc.reason)
        return seen

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [r for batch in pool.map(work, range(8)) for r in batch]
    assert results.count("PNG") == 8 * 15
    assert all(r == "PNG" or "too large" in r for r in results)
    assert list(warnings.filters) == filters


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def product_jpeg() -> bytes:
    """A product shot: a blue bottle-ish shape on a white studio background."""
    img = Image.new("RGB", (700, 900), "white")
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((220, 200, 480, 820), radius=60, fill=(30, 80, 190))
    draw.rectangle((300, 90, 400, 200), fill=(20, 20, 20))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize("size", [(800, 800), (750, 1000)])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_result_has_exact_size_and_format(
    size: tuple[int, int], fmt: str, product_jpeg: bytes
) -> None:
    data = render_result(
        width=size[0], height=size[1], scene=SCENE, index=0, seed="t", product=product_jpeg,
        fmt=fmt,
    )
    img = decode(data)
    assert (img.format, img.size, img.mode) == (fmt, size, "RGB")
    assert sniff_format(data) == fmt


def test_result_is_deterministic(product_jpeg: bytes) -> None:
    kwargs: dict[str, Any] = dict(
        width=800, height=800, scene=SCENE, index=3, seed="task-1", product=product_jpeg,
        need_layout=True, title="Blue bottle",
    )
    cold = render_result(**kwargs)
    decoded = DecodedProducts()
    warm = [render_result(**kwargs, decoded=decoded) for _ in range(2)]  # second one hits the cache
    assert len(decoded._items) == 1
    assert cold == warm[0] == warm[1]  # the cache must not change a single byte


@pytest.mark.parametrize("scene_type", [1, 2, 3, 4])
def test_each_index_looks_different(scene_type: int) -> None:
    scene = {**SCENE, "sceneType": scene_type}
    renders = [
        render_result(width=400, height=400, scene=scene, index=i, seed="s") for i in range(3)
    ]
    assert len(set(renders)) == 3
    assert mean_diff(renders[0], renders[1]) > 2
    assert mean_diff(renders[1], renders[2]) > 2


def test_seed_changes_output() -> None:
    a = render_result(width=400, height=400, scene=SCENE, index=0, seed="a")
    b = render_result(width=400, height=400, scene=SCENE, index=0, seed="b")
    assert a != b


def test_need_layout_moves_the_product(product_jpeg: bytes) -> None:
    common: dict[str, Any] = dict(
        width=800, height=800, scene=SCENE, index=1, seed="s", product=product_jpeg
    )
    centred = render_result(**common)
    laid_out = render_result(**common, need_layout=True)
    assert centred != laid_out
    assert mean_diff(centred, laid_out) > 1


def test_product_is_drawn_and_undecodable_product_falls_back(product_jpeg: bytes) -> None:
    common: dict[str, Any] = dict(width=400, height=400, scene=SCENE, index=0, seed="s")
    with_product = render_result(**common, product=product_jpeg)
    without = render_result(**common, product=None)
    assert with_product != without
    # Garbage (or a truncated upload) renders the placeholder, exactly as if none was given.
    assert render_result(**common, product=b"not an image") == without
    assert render_result(**common, product=product_jpeg[:3000]) == without
    assert render_result(**common, product=png_claiming(60000, 60000)) == without


def test_transparent_and_other_format_products() -> None:
    rgba = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).ellipse((100, 100, 500, 500), fill=(200, 30, 30, 255))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    for product in (out.getvalue(), encode("WEBP"), encode("BMP")):
        data = render_result(width=300, height=400, scene=SCENE, index=0, seed="p", product=product)
        assert decode(data).size == (300, 400)


@pytest.mark.parametrize(
    "title",
    ["时尚女士手提包 真皮 大容量", "A very long English title " * 12, "emoji ✨ and\nnewline\ttab"],
)
def test_titles_including_chinese_do_not_crash(title: str) -> None:
    for layout in (False, True):
        plain = render_result(width=750, height=1000, scene=SCENE, index=0, seed="s", need_layout=layout)
        data = render_result(
            width=750, height=1000, scene=SCENE, index=0, seed="s", title=title,
            need_layout=layout,
        )
        assert decode(data).size == (750, 1000)
        # A title in Chinese draws nothing (the bundled font has no CJK glyphs; no tofu boxes:
        # tests/api/test_render_text.py); any other draws text.
        assert (data == plain) == title.startswith("时尚")


@pytest.mark.parametrize(
    "scene",
    [
        {"modelNum": "x1", "name": "n", "sceneName": "no palette, no type"},
        {"modelNum": "x2", "name": "n", "sceneName": "s", "sceneType": "2", "palette": ["#fff"]},
        {"modelNum": "x3", "name": "n", "sceneName": "s", "sceneType": 9, "palette": "oops"},
        {"modelNum": "x4", "name": "n", "sceneName": "", "sceneType": 3,
         "palette": ["#112233", "#445566"]},
    ],
)
def test_incomplete_catalog_entries_still_render(scene: dict[str, Any]) -> None:
    assert decode(render_result(width=200, height=240, scene=scene, index=1, seed="s")).size == (
        200,
        240,
    )


def test_palette_drives_colours() -> None:
    warm = {**SCENE, "sceneType": 3, "palette": ["#ff4000", "#c02000", "#ffc000"]}
    cool = {**SCENE, "sceneType": 3, "palette": ["#0040ff", "#0020c0", "#00c0ff"]}
    r_warm, _, b_warm = ImageStat.Stat(decode(render_cover(warm))).mean
    r_cool, _, b_cool = ImageStat.Stat(decode(render_cover(cool))).mean
    assert r_warm > b_warm and b_cool > r_cool


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="fmt"):
        render_result(width=100, height=100, scene=SCENE, index=0, seed="s", fmt="GIF")
    with pytest.raises(ValueError, match="width"):
        render_result(width=0, height=100, scene=SCENE, index=0, seed="s")
    with pytest.raises(ValueError, match="height"):
        render_cover(SCENE, size=(100, 100_000))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_cover_is_a_decodable_image_of_the_given_size(fmt: str) -> None:
    assert decode(render_cover(SCENE)).size == (320, 320)
    data = render_cover(SCENE, size=(240, 180), fmt=fmt)
    img = decode(data)
    assert (img.format, img.size) == (fmt, (240, 180))
    assert render_cover(SCENE, size=(240, 180), fmt=fmt) == data


def test_placeholder_product_is_transparent_and_seeded() -> None:
    a = placeholder_product("seed-a")
    assert a.mode == "RGBA"
    assert a.getextrema()[3] == (0, 255)  # transparent surroundings, opaque body
    assert a.tobytes() == placeholder_product("seed-a").tobytes()
    assert len({placeholder_product(f"s{i}").tobytes() for i in range(6)}) > 1
