"""Every submit rule of the reference, at its boundary, over HTTP (Flask's test client).

A client relies on two things here: that what the real API accepts, the fake accepts (else the
client's happy path fails offline), and that what the real API refuses, the fake refuses with a
700 naming the field (else the client ships a request that only fails in production). The
boundaries and readings are the README's Spec notes.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from helpers import MISSING, QUERY, SUBMIT, b64, client, make_image, problems, submit, submit_item, tasks

from mockserver import running

MIB4 = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def lenient() -> Any:
    return client()


@pytest.fixture(scope="module")
def strict() -> Any:
    return client(strict=True)


def accepted(answer: dict[str, Any]) -> bool:
    return answer["resCode"] == 200 and answer["success"] is True


def rejected_naming(answer: dict[str, Any], path: str) -> str:
    """Assert a 700 whose problems include one for ``path``; return that problem line."""
    assert answer["resCode"] == 700, answer
    assert answer["success"] is False
    assert answer["resMessage"].startswith("invalid input: ")
    found = [p for p in problems(answer) if p.startswith(path + ":")]
    assert found, f"no problem for {path} in {answer['resMessage']!r}"
    return found[0]


def with_image(data: bytes, **overrides: Any) -> dict[str, Any]:
    return submit_item(imgBase64=b64(data), **overrides)


# -- image sides: each side must be > 512 and < 3000 (exclusive, each of width and height) -------

SIDES = [
    (511, False), (512, False), (513, True),
    (2999, True), (3000, False),
]


@pytest.mark.parametrize(("side", "ok"), SIDES)
@pytest.mark.parametrize("axis", ["width", "height"])
def test_image_side_boundaries(lenient: Any, axis: str, side: int, ok: bool) -> None:
    size = (side, 600) if axis == "width" else (600, side)
    answer = submit(lenient, with_image(make_image("PNG", *size)))
    if ok:
        assert accepted(answer), answer
    else:
        line = rejected_naming(answer, "requestParams[0].imgBase64")
        assert f"{size[0]}x{size[1]}" in line


def test_configured_side_bounds_move_the_boundary() -> None:
    c = client(image_min_side=100, image_max_side=700)
    assert accepted(submit(c, with_image(make_image("PNG", 101, 699))))
    rejected_naming(submit(c, with_image(make_image("PNG", 100, 600))), "requestParams[0].imgBase64")
    rejected_naming(submit(c, with_image(make_image("PNG", 600, 700))), "requestParams[0].imgBase64")


# -- decoded size: 4 MiB accepted, one byte more refused ------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP"])
def test_decoded_size_boundary(lenient: Any, fmt: str) -> None:
    exact = make_image(fmt, 600, 600, pad_to=MIB4)
    over = make_image(fmt, 600, 600, pad_to=MIB4 + 1)
    assert (len(exact), len(over)) == (MIB4, MIB4 + 1)
    assert accepted(submit(lenient, with_image(exact)))
    line = rejected_naming(submit(lenient, with_image(over)), "requestParams[0].imgBase64")
    assert str(MIB4 + 1) in line and "4 MiB" in line


def test_max_image_bytes_is_configurable() -> None:
    """The cap applies to the decoded image; base64 text far beyond it is refused up front."""
    c = client(max_image_bytes=64 * 1024)
    image = make_image("PNG", 600, 600, pad_to=64 * 1024 + 1)
    assert "65537" in rejected_naming(submit(c, with_image(image)), "requestParams[0].imgBase64")
    assert accepted(submit(c, with_image(make_image("PNG", 600, 600, pad_to=64 * 1024))))
    answer = submit(c, submit_item(imgBase64="A" * 1_000_000))
    assert "larger than" in rejected_naming(answer, "requestParams[0].imgBase64")


# -- formats: detected from the bytes ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "WEBP"])
def test_each_allowed_format_is_accepted(lenient: Any, fmt: str) -> None:
    answer = submit(lenient, with_image(make_image(fmt, 640, 600)))
    assert accepted(answer), answer


@pytest.mark.parametrize("fmt", ["GIF", "TIFF"])
def test_other_formats_are_refused_by_name(lenient: Any, fmt: str) -> None:
    line = rejected_naming(submit(lenient, with_image(make_image(fmt, 640, 600))), "requestParams[0].imgBase64")
    assert fmt in line


def test_format_comes_from_bytes_not_from_a_data_url_prefix(lenient: Any) -> None:
    gif_claiming_png = "data:image/png;base64," + b64(make_image("GIF", 640, 600))
    answer = submit(lenient, submit_item(imgBase64=gif_claiming_png))
    assert "GIF" in rejected_naming(answer, "requestParams[0].imgBase64")
    png_with_prefix = "data:image/png;base64," + b64(make_image("PNG", 640, 600))
    assert accepted(submit(lenient, submit_item(imgBase64=png_with_prefix)))


@pytest.mark.parametrize("text", ["not base64!!", "图片base64格式", "====", "abc$def"])
def test_base64_that_is_not_base64(lenient: Any, text: str) -> None:
    line = rejected_naming(submit(lenient, submit_item(imgBase64=text)), "requestParams[0].imgBase64")
    assert "base64" in line


def test_base64_of_bytes_that_are_no_image(lenient: Any) -> None:
    answer = submit(lenient, with_image(b"%PDF-1.4 not an image at all " * 20))
    line = rejected_naming(answer, "requestParams[0].imgBase64")
    assert "not an image" in line


def test_truncated_image_is_refused(lenient: Any) -> None:
    data = make_image("PNG", 640, 600)
    rejected_naming(submit(lenient, with_image(data[: len(data) // 2])), "requestParams[0].imgBase64")


def test_urlsafe_and_wrapped_base64_are_tolerated(lenient: Any) -> None:
    data = make_image("JPEG", 640, 600)
    text = b64(data)
    urlsafe = text.replace("+", "-").replace("/", "_").rstrip("=")
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert accepted(submit(lenient, submit_item(imgBase64=urlsafe)))
    assert accepted(submit(lenient, submit_item(imgBase64=wrapped)))


# -- output size ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [(800, 800, True), (750, 1000, True), (1000, 750, False), (800, 1000, False), (750, 750, False), (0, 0, False)],
)
def test_output_sizes(lenient: Any, width: int, height: int, ok: bool) -> None:
    answer = submit(lenient, submit_item(width=width, height=height))
    if ok:
        assert accepted(answer), answer
    else:
        assert "800x800" in rejected_naming(answer, "requestParams[0].width/height")


@pytest.mark.parametrize("missing", ["width", "height"])
def test_output_size_fields_are_required(lenient: Any, missing: str) -> None:
    rejected_naming(submit(lenient, submit_item(**{missing: MISSING})), f"requestParams[0].{missing}")


# -- imageNum ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("num", "ok"), [(1, False), (2, True), (10, True), (11, False), (0, False), (-3, False)])
def test_image_num_range(lenient: Any, num: int, ok: bool) -> None:
    answer = submit(lenient, submit_item(imageNum=num))
    if ok:
        assert accepted(answer), answer
    else:
        assert "between 2 and 10" in rejected_naming(answer, "requestParams[0].imageNum")


def test_missing_image_num_means_four() -> None:
    c = client()
    answer = submit(c, submit_item(imageNum=MISSING))
    assert accepted(answer)
    (task,) = tasks(c)
    assert task["items"][0]["imageNum"] == 4
    result = c.get(QUERY, query_string={"taskId": answer["data"]["result"]["taskId"]}).get_json()
    assert len(result["data"]["taskResult"][0]["imageUrlList"]) == 4


def test_image_num_is_required_in_strict(strict: Any) -> None:
    assert "is required" in rejected_naming(submit(strict, submit_item(imageNum=MISSING)), "requestParams[0].imageNum")
    assert accepted(submit(strict, submit_item(imageNum=4)))


@pytest.mark.parametrize("value", ["2.5", "two", None, 2.5, True, []])
def test_image_num_of_the_wrong_type(lenient: Any, value: Any) -> None:
    rejected_naming(submit(lenient, submit_item(imageNum=value)), "requestParams[0].imageNum")


# -- the Java sample's string spellings: lenient by default, refused in strict ------------------


@pytest.mark.parametrize("value", [True, False, "true", "false", "TRUE", " false "])
def test_need_layout_spellings_lenient(lenient: Any, value: Any) -> None:
    answer = submit(lenient, submit_item(needLayout=value))
    assert accepted(answer), answer


@pytest.mark.parametrize("value", ["yes", "1", 1, 0, None, "truth"])
def test_need_layout_refuses_what_is_no_boolean(lenient: Any, value: Any) -> None:
    assert "boolean" in rejected_naming(submit(lenient, submit_item(needLayout=value)), "requestParams[0].needLayout")


def test_string_spellings_are_coerced_to_the_documented_types() -> None:
    c = client()
    answer = submit(c, submit_item(width="750", height="1000", imageNum="3", needLayout="true"))
    assert accepted(answer), answer
    item = tasks(c)[0]["items"][0]
    assert (item["width"], item["height"], item["imageNum"], item["needLayout"]) == (750, 1000, 3, True)


@pytest.mark.parametrize(
    ("field", "value"),
    [("needLayout", "true"), ("needLayout", "false"), ("width", "800"), ("height", "800"), ("imageNum", "2")],
)
def test_string_spellings_are_refused_in_strict(strict: Any, field: str, value: str) -> None:
    assert "must be" in rejected_naming(submit(strict, submit_item(**{field: value})), f"requestParams[0].{field}")


def test_strict_accepts_the_documented_types(strict: Any) -> None:
    answer = submit(strict, submit_item(needLayout=True, width=750, height=1000, imageNum=10, productTitle="mug"))
    assert accepted(answer), answer


# -- productTitle ---------------------------------------------------------------------------


CHINESE_OR_ENGLISH = ["Ceramic coffee mug, 350 ml", "陶瓷咖啡杯", "陶瓷咖啡杯 Coffee Mug（白色）", "“新款”女士手提包！"]
OTHER_SCRIPTS = ["Керамическая кружка", "كوب قهوة", "Tasse à café", "コーヒーカップ"]


@pytest.mark.parametrize("title", CHINESE_OR_ENGLISH)
def test_chinese_or_english_titles_accepted_even_in_strict(lenient: Any, strict: Any, title: str) -> None:
    assert accepted(submit(lenient, submit_item(productTitle=title)))
    assert accepted(submit(strict, submit_item(productTitle=title)))


@pytest.mark.parametrize("title", OTHER_SCRIPTS)
def test_other_scripts_refused_only_in_strict(lenient: Any, strict: Any, title: str) -> None:
    assert accepted(submit(lenient, submit_item(productTitle=title)))
    line = rejected_naming(submit(strict, submit_item(productTitle=title)), "requestParams[0].productTitle")
    assert "Chinese or English" in line


def test_product_title_must_be_a_string(lenient: Any) -> None:
    rejected_naming(submit(lenient, submit_item(productTitle=42)), "requestParams[0].productTitle")


# -- unknown fields -----------------------------------------------------------------------------


def test_unknown_fields_are_ignored_by_default(lenient: Any) -> None:
    answer = submit(lenient, submit_item(colour="red", extraOptions={"a": 1}), extra={"clientVersion": "1.2"})
    assert accepted(answer), answer


def test_unknown_fields_are_refused_by_name_in_strict(strict: Any) -> None:
    answer = submit(strict, submit_item(colour="red", extraOptions={"a": 1}), extra={"clientVersion": "1.2"})
    rejected_naming(answer, "requestParams[0].colour")
    rejected_naming(answer, "requestParams[0].extraOptions")
    rejected_naming(answer, "clientVersion")


def test_strict_allows_the_iop_system_parameters_beside_request_params(strict: Any) -> None:
    system = {"app_key": "k", "timestamp": "1719303485403", "sign_method": "sha256", "partner_id": "aidge"}
    assert accepted(submit(strict, submit_item(), encoding="form", extra=system))


# -- modelNum -------------------------------------------------------------------------------------


def test_model_num_is_required(lenient: Any) -> None:
    assert "is required" in rejected_naming(submit(lenient, submit_item(modelNum=MISSING)), "requestParams[0].modelNum")


def test_model_num_must_not_be_empty(lenient: Any) -> None:
    answer = submit(lenient, submit_item(modelNum=""))
    assert rejected_naming(answer, "requestParams[0].modelNum")
    assert len([p for p in problems(answer) if p.startswith("requestParams[0].modelNum")]) == 1, answer


def test_unknown_model_num_is_700_naming_it(lenient: Any) -> None:
    line = rejected_naming(submit(lenient, submit_item(modelNum="no-such-scene")), "requestParams[0].modelNum")
    assert "no-such-scene" in line


def test_unknown_model_num_accepted_with_allow_any_scene() -> None:
    assert accepted(submit(client(allow_any_scene=True), submit_item(modelNum="no-such-scene")))


# -- image sources ---------------------------------------------------------------------------------


def test_one_image_source_is_required(lenient: Any) -> None:
    answer = submit(lenient, submit_item(imgBase64=MISSING))
    assert "cannot both be empty" in rejected_naming(answer, "requestParams[0].imageFileUrl/imgBase64")


@pytest.mark.parametrize(("b64_value", "url"), [("", ""), ("", MISSING), (MISSING, "")])
def test_empty_strings_count_as_absent_sources(lenient: Any, b64_value: Any, url: Any) -> None:
    answer = submit(lenient, submit_item(imgBase64=b64_value, imageFileUrl=url))
    assert "cannot both be empty" in rejected_naming(answer, "requestParams[0].imageFileUrl/imgBase64")


def test_one_empty_source_beside_a_usable_one_is_fine() -> None:
    """Java clients often send both fields, the unused one empty: 'cannot both be empty'."""
    c = client()
    assert accepted(submit(c, submit_item(imgBase64="", imageFileUrl="https://example.com/p.jpg")))
    assert accepted(submit(c, submit_item(imageFileUrl="")))
    assert [t["sources"] for t in tasks(c)] == [["imgBase64"], ["imageFileUrl"]]


def test_url_only_is_accepted_and_recorded_as_the_source() -> None:
    c = client()
    assert accepted(submit(c, submit_item(imgBase64=MISSING, imageFileUrl="https://example.com/p.jpg")))
    assert tasks(c)[0]["sources"] == ["imageFileUrl"]


def test_base64_wins_when_both_are_given() -> None:
    c = client()
    assert accepted(submit(c, submit_item(imageFileUrl="https://example.com/p.jpg")))
    assert tasks(c)[0]["sources"] == ["imgBase64"]


def test_broken_base64_is_reported_although_the_url_is_fine(lenient: Any) -> None:
    answer = submit(lenient, submit_item(imgBase64="@@not-base64@@", imageFileUrl="https://example.com/p.jpg"))
    rejected_naming(answer, "requestParams[0].imgBase64")
    assert not [p for p in problems(answer) if p.startswith("requestParams[0].imageFileUrl")]


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/p.jpg", "https:///p.jpg", "//example.com/p.jpg", "example.com/p.jpg",
     "https://example.com/p.gif", "https://example.com/p.tiff", "https://example.com/p.svg?w=800",
     "file:///etc/passwd"],
)
def test_bad_url_forms(lenient: Any, url: str) -> None:
    rejected_naming(submit(lenient, submit_item(imgBase64=MISSING, imageFileUrl=url)), "requestParams[0].imageFileUrl")


@pytest.mark.parametrize(
    "url",
    ["https://example.com/p.JPG", "http://example.com/p.jpeg", "https://example.com/p.webp", "https://example.com/p.BMP",
     "https://cdn.example.com/kf/S2d0d88e656384da894b7cfe9c59b0c0du", "https://example.com/p.png?x-oss-process=resize,w_800",
     "https://example.com/img?format=gif", "https://example.com/p.jpg#top", "HTTPS://EXAMPLE.COM/P.PNG",
     "https://example.com/v1.2/image"],
)
def test_good_url_forms(lenient: Any, url: str) -> None:
    answer = submit(lenient, submit_item(imgBase64=MISSING, imageFileUrl=url))
    assert accepted(answer), answer


def test_a_result_url_of_the_fake_is_resolved_and_checked() -> None:
    """A finished task's 800x800 result is a valid product image; an unfinished one is not there."""
    c = client(task_duration=5)
    task_id = submit(c, submit_item())["data"]["result"]["taskId"]
    url = f"http://localhost/__bgmock/results/{task_id}/0/0.png"
    early = submit(c, submit_item(imgBase64=MISSING, imageFileUrl=url))
    assert "no such" in rejected_naming(early, "requestParams[0].imageFileUrl")
    c.post("/__admin/clock", json={"advance": 5})
    urls = c.get(QUERY, query_string={"taskId": task_id}).get_json()["data"]["taskResult"][0]["imageUrlList"]
    assert urls[0] == url
    assert accepted(submit(c, submit_item(imgBase64=MISSING, imageFileUrl=url)))
    newest = tasks(c)[0]
    assert newest["sources"] == ["imageFileUrl"]
    assert newest["items"][0]["_image"] == {"format": "PNG", "width": 800, "height": 800}
    beyond = url.replace("/0/0.png", "/0/7.png")  # imageNum is 2
    rejected_naming(submit(c, submit_item(imgBase64=MISSING, imageFileUrl=beyond)), "requestParams[0].imageFileUrl")


def test_a_cover_url_of_the_fake_is_checked_like_any_image(lenient: Any) -> None:
    """Covers are thumbnails (smaller than 513 px), so the side rule refuses them as input."""
    answer = submit(lenient, submit_item(imgBase64=MISSING, imageFileUrl="http://127.0.0.1:8080/__bgmock/covers/mod001.png"))
    assert "pixels" in rejected_naming(answer, "requestParams[0].imageFileUrl")


# -- the message: every failing field, with its path --------------------------------------------


def test_every_problem_of_a_request_is_listed_with_its_path(lenient: Any) -> None:
    answer = submit(
        lenient,
        submit_item(width=1000, height=750),
        submit_item(imgBase64="@@@", imageNum=11),
        submit_item(modelNum=MISSING, needLayout="yes"),
        submit_item(),
    )
    for path in (
        "requestParams[0].width/height",
        "requestParams[1].imgBase64",
        "requestParams[1].imageNum",
        "requestParams[2].modelNum",
        "requestParams[2].needLayout",
    ):
        rejected_naming(answer, path)
    assert not [p for p in problems(answer) if p.startswith("requestParams[3]")]
    assert len(problems(answer)) == 5, answer["resMessage"]


def test_problems_never_echo_an_image_back(lenient: Any) -> None:
    huge_garbage = "!" * 100_000
    answer = submit(lenient, submit_item(imgBase64=huge_garbage, productTitle=7))
    assert len(answer["resMessage"]) < 1000


@pytest.mark.parametrize("count", [0, 11])
def test_request_params_holds_one_to_ten_items(lenient: Any, count: int) -> None:
    answer = submit(lenient, *[submit_item(imgBase64=MISSING, imageFileUrl="https://e.com/p.jpg")] * count)
    rejected_naming(answer, "requestParams")


def test_ten_items_are_one_task_with_ten_sources() -> None:
    c = client()
    items = [submit_item(imgBase64=MISSING, imageFileUrl=f"https://e.com/{n}.jpg") for n in range(10)]
    assert accepted(submit(c, *items))
    assert tasks(c)[0]["sources"] == ["imageFileUrl"] * 10


@pytest.mark.parametrize("item", [1, "x", None, [], True])
def test_an_item_that_is_no_object(lenient: Any, item: Any) -> None:
    answer = submit(lenient, submit_item(), item)
    assert "object" in rejected_naming(answer, "requestParams[1]")


def test_a_result_url_from_a_live_fake_is_accepted_as_input() -> None:
    """Over a real socket the URL carries 127.0.0.1 and a port; it is still resolved in-process."""
    with running() as fake, requests.Session() as http:
        first = http.post(fake.url + SUBMIT, json={"requestParams": [submit_item()]}, timeout=10).json()
        task_id = first["data"]["result"]["taskId"]
        urls = http.get(fake.url + QUERY, params={"taskId": task_id}, timeout=10).json()["data"]["taskResult"][0]
        url = urls["imageUrlList"][1]
        assert url.startswith(fake.url)
        item = submit_item(imgBase64=MISSING, imageFileUrl=url)
        again = http.post(fake.url + SUBMIT, json={"requestParams": [item]}, timeout=10).json()
    assert accepted(again), again
    assert fake.tasks()[-1]["items"][0]["_image"]["width"] == 800  # the image was read, not skipped


# -- the rules alone, without a fake ---------------------------------------------------------------


def test_request_rules_judge_a_submit_with_only_what_they_are_given() -> None:
    """``RequestRules`` is fed the scene IDs and an image resolver; no backend is built, so a
    rule that reached back into one would fail here."""
    from mockserver.config import Config
    from mockserver.errors import InvalidInput
    from mockserver.spec import load_spec
    from mockserver.validation import RequestRules

    image = make_image("PNG", 600, 600)

    def resolve(url: str) -> bytes | None:
        if url.endswith("/gone.png"):
            raise LookupError("no such image on this fake")
        return image if url.startswith("http://127.0.0.1/") else None

    rules = RequestRules(load_spec(), Config(), scene_ids={"only-this"}, resolve_image=resolve)
    body = {"requestParams": [
        submit_item(modelNum="only-this"),
        submit_item(modelNum="mod001"),
        submit_item(imgBase64=MISSING, modelNum="only-this", imageFileUrl="http://127.0.0.1/gone.png"),
        submit_item(imgBase64=MISSING, modelNum="only-this", imageFileUrl="http://127.0.0.1/ok.png"),
    ]}
    with pytest.raises(InvalidInput) as caught:
        rules.submit(body)
    assert caught.value.problems == [
        "requestParams[1].modelNum: unknown scene ID 'mod001' (see the scene query API)",
        "requestParams[2].imageFileUrl: no such image on this fake",
    ]
    items = rules.submit({"requestParams": [body["requestParams"][3]]})
    assert items[0].source == "imageFileUrl" and items[0].product == image


def test_the_validation_package_needs_neither_the_backend_nor_the_settings_module() -> None:
    """No cycle hidden in a function: config reads validation's wording, so validation must not
    import config (or the backend) back, at import time or later."""
    import subprocess
    import sys

    code = (
        "import sys, mockserver.validation as v\n"
        "for name in v.__all__: getattr(v, name)\n"
        "import mockserver.validation.admin, mockserver.validation.prefer\n"
        "banned = ('mockserver.backend', 'mockserver.api', 'mockserver.faults', 'mockserver.config',\n"
        "          'mockserver.dispatch')\n"
        "print(sorted(m for m in sys.modules if m in banned))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
