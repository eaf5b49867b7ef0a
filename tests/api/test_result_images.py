"""Result images as served by the fake: what they show, when they exist, and that they repeat.

``test_images.py`` tests the renderer's functions; this file tests the path from a submission
to the served bytes: the submitted product really reaches the picture, the item's settings
(size, format, ``needLayout``, ``productTitle``) are honoured, and nothing is served before
the task finished.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageChops

from tests.helpers import MISSING, QUERY, b64, client, submit, submit_item

MAGENTA = (255, 0, 255)
URL_ITEM = submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/p/mug.jpg")


def product_png(colour: tuple[int, int, int] = MAGENTA) -> str:
    """A studio shot: a coloured square on white (the fake cuts the white away)."""
    image = Image.new("RGB", (600, 600), (255, 255, 255))
    image.paste(colour, (150, 150, 450, 450))
    out = io.BytesIO()
    image.save(out, "PNG")
    return b64(out.getvalue())


def finished_urls(c: Any, *items: dict[str, Any]) -> tuple[str, list[list[str]]]:
    answer = submit(c, *items)
    assert answer["success"] is True, answer
    task_id = answer["data"]["result"]["taskId"]
    data = c.get(QUERY, query_string={"taskId": task_id}).get_json()["data"]
    assert data["taskStatus"] == "finished", data
    return task_id, [[urlsplit(u).path for u in r["imageUrlList"]] for r in data["taskResult"]]


def fetch(c: Any, path: str) -> bytes:
    response = c.get(path)
    assert response.status_code == 200, response.data[:200]
    return response.data


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def share(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 8) -> float:
    """Fraction of pixels within ``tolerance`` of ``colour`` on every channel."""
    rgb = image.convert("RGB")
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, colour))
    near = ImageChops.lighter(ImageChops.lighter(*diff.split()[:2]), diff.split()[2])
    histogram = near.histogram()
    return sum(histogram[: tolerance + 1]) / (rgb.width * rgb.height)


def product_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    rgb = image.convert("RGB")
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, MAGENTA))
    near = ImageChops.lighter(ImageChops.lighter(*diff.split()[:2]), diff.split()[2])
    return near.point(lambda v: 255 if v <= 8 else 0).getbbox()


# -- sizes and formats --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result_format", "pil", "mime"), [("PNG", "PNG", "image/png"), ("JPEG", "JPEG", "image/jpeg")]
)
def test_each_item_is_served_at_its_size_in_the_configured_format(result_format: str, pil: str, mime: str) -> None:
    c = client(seed=1, result_format=result_format)
    _, urls = finished_urls(c, {**URL_ITEM, "imageNum": 2}, {**URL_ITEM, "width": 750, "height": 1000, "imageNum": 2})
    for paths, size in zip(urls, [(800, 800), (750, 1000)], strict=True):
        assert len(paths) == 2
        for path in paths:
            response = c.get(path)
            assert response.status_code == 200 and response.mimetype == mime
            image = picture(response.data)
            assert (image.format, image.size) == (pil, size)


def test_both_extensions_are_served_whatever_the_setting() -> None:
    c = client(seed=1)
    _, urls = finished_urls(c, URL_ITEM)
    png = picture(fetch(c, urls[0][0]))
    jpg = picture(fetch(c, urls[0][0][: -len("png")] + "jpg"))
    assert (png.format, jpg.format) == ("PNG", "JPEG") and png.size == jpg.size


# -- determinism --------------------------------------------------------------------------


def test_same_seed_same_submission_same_bytes_across_fakes() -> None:
    """A recorded fixture or a golden-image test of a client stays valid across runs."""
    item = {**URL_ITEM, "imageNum": 3, "productTitle": "ceramic coffee mug"}
    first, second = client(seed=42), client(seed=42)
    id_a, urls_a = finished_urls(first, item)
    id_b, urls_b = finished_urls(second, item)
    assert id_a == id_b
    assert [fetch(first, p) for p in urls_a[0]] == [fetch(second, p) for p in urls_b[0]]


def test_refetching_gives_the_same_bytes_and_indexes_differ() -> None:
    c = client(seed=5)
    _, urls = finished_urls(c, {**URL_ITEM, "imageNum": 4})
    images = [fetch(c, p) for p in urls[0]]
    assert [fetch(c, p) for p in urls[0]] == images
    assert len(set(images)) == 4
    pixels = [picture(data).convert("RGB") for data in images]
    for i in range(4):  # different pictures, not only different bytes
        for j in range(i + 1, 4):
            assert ImageChops.difference(pixels[i], pixels[j]).getbbox() is not None


def test_items_of_one_task_and_different_tasks_differ() -> None:
    c = client(seed=5)
    _, urls = finished_urls(c, URL_ITEM, URL_ITEM)
    _, again = finished_urls(c, URL_ITEM)
    assert len({fetch(c, urls[0][0]), fetch(c, urls[1][0]), fetch(c, again[0][0])}) == 3


# -- what is drawn ------------------------------------------------------------------------


def test_submitted_base64_product_is_drawn_in_every_image() -> None:
    c = client(seed=2)
    _, urls = finished_urls(c, submit_item(imgBase64=product_png(), imageNum=3))
    for path in urls[0]:
        image = picture(fetch(c, path))
        assert share(image, MAGENTA) > 0.15  # the 300 px square, scaled up to ~480 px
        assert image.convert("RGB").getpixel((400, 400)) == MAGENTA  # centred without needLayout


def test_url_only_submission_gets_a_placeholder_product() -> None:
    c = client(seed=2)
    _, urls = finished_urls(c, {**URL_ITEM, "imageNum": 3})
    for path in urls[0]:
        image = picture(fetch(c, path))
        assert share(image, MAGENTA) < 0.001
        centre = image.convert("RGB").getpixel((400, 400))
        corner = image.convert("RGB").getpixel((5, 5))
        assert centre != corner  # something stands in the middle of the scene


def test_base64_wins_over_the_url_for_the_drawing() -> None:
    c = client(seed=2)
    _, urls = finished_urls(c, submit_item(imgBase64=product_png(), imageFileUrl="https://cdn.example.com/other.jpg"))
    assert share(picture(fetch(c, urls[0][0])), MAGENTA) > 0.15


def test_an_image_of_the_fake_itself_can_be_the_product() -> None:
    """``imageFileUrl`` pointing at the fake's own result is resolved in-process and drawn."""
    c = client(seed=2)
    _, urls = finished_urls(c, submit_item(imgBase64=product_png()))
    own = "http://localhost" + urls[0][0]
    _, reused = finished_urls(c, {**URL_ITEM, "imageFileUrl": own})
    assert share(picture(fetch(c, reused[0][0])), MAGENTA) > 0.02


def test_need_layout_moves_the_product_per_index_and_plain_keeps_it_centred() -> None:
    c = client(seed=9)
    _, plain = finished_urls(c, submit_item(imgBase64=product_png(), imageNum=4))
    _, laid_out = finished_urls(c, submit_item(imgBase64=product_png(), imageNum=4, needLayout=True))
    plain_boxes = {product_box(picture(fetch(c, p))) for p in plain[0]}
    laid_boxes = {product_box(picture(fetch(c, p))) for p in laid_out[0]}
    assert len(plain_boxes) == 1 and None not in plain_boxes
    assert len(laid_boxes) > 1 and None not in laid_boxes
    assert laid_boxes.isdisjoint(plain_boxes)


def test_product_title_is_drawn_when_given() -> None:
    with_title, without = client(seed=4), client(seed=4)
    _, a = finished_urls(with_title, {**URL_ITEM, "productTitle": "Ceramic Coffee Mug 350ml"})
    _, b = finished_urls(without, URL_ITEM)
    diff = ImageChops.difference(picture(fetch(with_title, a[0][0])).convert("RGB"),
                                 picture(fetch(without, b[0][0])).convert("RGB"))
    box = diff.getbbox()
    assert box is not None
    assert box[1] < 400  # plain layout: the title sits above the centred product


# -- only when finished -------------------------------------------------------------------


def test_images_appear_only_when_the_task_finished() -> None:
    c = client(task_duration=4, seed=3)
    task_id = submit(c, URL_ITEM)["data"]["result"]["taskId"]
    path = f"/__bgmock/results/{task_id}/0/0.png"
    for step in (0, 1, 2.9):  # submitted, running, running
        c.post("/__admin/clock", json={"advance": step})
        response = c.get(path)
        assert response.status_code == 404 and response.mimetype == "application/json"
        assert response.get_json()["code"] == "InvalidApiPath"
    c.post("/__admin/clock", json={"advance": 0.1})
    assert picture(fetch(c, path)).size == (800, 800)


@pytest.mark.parametrize("model_num", ["bgmock-task-fail", "bgmock-task-stuck"])
def test_failed_and_stuck_tasks_never_serve_images(model_num: str) -> None:
    c = client(task_duration=1)
    task_id = submit(c, {**URL_ITEM, "modelNum": model_num})["data"]["result"]["taskId"]
    c.post("/__admin/clock", json={"advance": 100})
    assert c.get(f"/__bgmock/results/{task_id}/0/0.png").status_code == 404


@pytest.mark.parametrize(
    "suffix",
    ["0/2.png", "1/0.png", "0/99.png", "0/0.gif", "0/0.PNG", "0/-1.png", "0/0.png/extra"],
)
def test_out_of_range_or_odd_result_paths_are_404_envelopes(suffix: str) -> None:
    c = client()
    task_id, _ = finished_urls(c, URL_ITEM)  # one item, two images
    response = c.get(f"/__bgmock/results/{task_id}/{suffix}")
    assert response.status_code == 404 and response.get_json()["code"] == "InvalidApiPath"


@pytest.mark.parametrize("task_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "..%2F..%2Fetc"])
def test_unknown_tasks_serve_no_images(task_id: str) -> None:
    response = client().get(f"/__bgmock/results/{task_id}/0/0.png")
    assert response.status_code == 404 and response.get_json()["code"] == "InvalidApiPath"


def test_rendering_happens_once_per_image() -> None:
    """Lazy and cached: the first fetch renders, later fetches are cache hits."""
    c = client()
    _, urls = finished_urls(c, URL_ITEM)
    before = c.get("/__admin/health").get_json()["imageCacheStats"]
    assert before["items"] == 0  # nothing drawn by finishing or by querying
    for _ in range(3):
        fetch(c, urls[0][0])
    after = c.get("/__admin/health").get_json()["imageCacheStats"]
    assert (after["items"], after["misses"] - before["misses"], after["hits"] - before["hits"]) == (1, 1, 2)
