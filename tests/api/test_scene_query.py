"""The scene query endpoint as a client sees it, the catalog setting, and submit's modelNum check.

``test_scenes.py`` tests the catalog module itself; this file tests the API around it: how
parameters arrive (ints, names, strings from form bodies), what is refused, the answer's
shape, cover URLs that really serve images, and a user's own catalog file.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from mockserver import cli
from mockserver.config import ConfigError
from mockserver.serving.app import create_app
from mockserver.spec import load_spec
from tests.helpers import MISSING, QUERY, SCENES, client, injected_message, problems, submit, submit_item

SPEC = load_spec()
SCENES_OK = SPEC.validator("scene-query-response.json")
SHIPPED = json.loads(SPEC.fixture("scenes.json").read_text(encoding="utf-8"))
TYPE_NAMES = {1: "Indoor", 2: "Outdoor", 3: "Atmosphere", 4: "Promotion"}
URL_ITEM = submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/p/mug.jpg")


@pytest.fixture(scope="module")
def c() -> Any:
    return client()


def scenes(c: Any, body: Any = None, *, form: dict[str, str] | None = None) -> dict[str, Any]:
    response = c.post(SCENES, data=form) if form is not None else c.post(SCENES, json=body or {})
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def ids(answer: dict[str, Any]) -> list[str]:
    assert answer["success"] is True, answer
    assert not list(SCENES_OK.iter_errors(answer)), answer
    return [s["modelNum"] for s in answer["data"]]


# -- filtering and counting ---------------------------------------------------------------


def test_empty_body_lists_ten_scenes_in_catalog_order(c: Any) -> None:
    assert ids(scenes(c)) == [s["modelNum"] for s in SHIPPED["scenes"][:10]]
    assert ids(scenes(c, form={})) == ids(scenes(c))


@pytest.mark.parametrize("scene_type", [1, 2, 3, 4])
def test_scene_type_as_number_name_and_form_string_agree(c: Any, scene_type: int) -> None:
    expected = [s["modelNum"] for s in SHIPPED["scenes"] if s["sceneType"] == scene_type]
    by_number = scenes(c, {"sceneType": scene_type, "count": 100})
    assert ids(by_number) == expected and expected
    assert all(s["sceneType"] == scene_type and s["sceneTypeName"] == TYPE_NAMES[scene_type] for s in by_number["data"])
    assert ids(scenes(c, {"sceneType": TYPE_NAMES[scene_type], "count": 100})) == expected
    assert ids(scenes(c, {"sceneType": str(scene_type), "count": "100"})) == expected
    assert ids(scenes(c, form={"sceneType": str(scene_type), "count": "100"})) == expected
    assert ids(scenes(c, form={"sceneType": TYPE_NAMES[scene_type], "count": "100"})) == expected


@pytest.mark.parametrize("category", range(1, 12))
def test_category_filter(c: Any, category: int) -> None:
    answer = scenes(c, {"categoryType": category, "count": 100})
    expected = [s["modelNum"] for s in SHIPPED["scenes"] if category in s["categoryType"]]
    assert ids(answer) == expected and expected
    name = SHIPPED["categories"][str(category)]
    assert all(category in s["categoryType"] and name in s["categoryNameList"] for s in answer["data"])


def test_filters_combine(c: Any) -> None:
    answer = scenes(c, {"categoryType": 7, "sceneType": "Outdoor", "count": 100})
    expected = [s["modelNum"] for s in SHIPPED["scenes"] if 7 in s["categoryType"] and s["sceneType"] == 2]
    assert ids(answer) == expected and expected


@pytest.mark.parametrize("count", [1, 5, 36, 100])
def test_count_caps_the_answer(c: Any, count: int) -> None:
    assert len(ids(scenes(c, {"count": count}))) == min(count, len(SHIPPED["scenes"]))


def test_title_ranks_the_best_match_first_and_keeps_filters(c: Any) -> None:
    assert ids(scenes(c, {"productTitle": "ceramic coffee mug"}))[0] == "mod001"
    assert ids(scenes(c, {"productTitle": "陶瓷咖啡杯"}))[0] == "mod001"
    ranked = ids(scenes(c, {"productTitle": "ceramic coffee mug", "sceneType": "Outdoor", "count": 100}))
    assert "mod001" not in ranked  # an Indoor scene stays filtered out, however well it matches
    assert sorted(ranked) == sorted(ids(scenes(c, {"sceneType": 2, "count": 100})))


def test_ranking_is_deterministic_across_fakes() -> None:
    body = {"productTitle": "leather handbag for the beach", "count": 8}
    assert ids(scenes(client(), body)) == ids(scenes(client(), body)) == ids(scenes(client(seed=3), body))


def test_title_without_any_hit_keeps_catalog_order(c: Any) -> None:
    assert ids(scenes(c, {"productTitle": "zzqx"})) == ids(scenes(c))


def test_image_url_is_accepted_and_does_not_filter(c: Any) -> None:
    assert ids(scenes(c, {"imageUrl": "https://cdn.example.com/p.jpg"})) == ids(scenes(c))


# -- refused parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"categoryType": 0}, "categoryType"), ({"categoryType": 12}, "categoryType"),
        ({"categoryType": "General Purpose"}, "categoryType"), ({"categoryType": 1.5}, "categoryType"),
        ({"sceneType": 0}, "sceneType"), ({"sceneType": 5}, "sceneType"),
        ({"sceneType": "indoor"}, "sceneType"), ({"sceneType": "Kitchen"}, "sceneType"),
        ({"sceneType": True}, "sceneType"),
        ({"count": 0}, "count"), ({"count": 101}, "count"), ({"count": -3}, "count"), ({"count": "ten"}, "count"),
        ({"productTitle": "x" * 513}, "productTitle"), ({"productTitle": 7}, "productTitle"),
        ({"imageUrl": "ftp://example.com/p.jpg"}, "imageUrl"),
    ],
)
def test_out_of_range_values_answer_700_naming_the_field(c: Any, body: dict[str, Any], field: str) -> None:
    answer = scenes(c, body)
    assert answer["resCode"] == 700 and answer["success"] is False
    assert [p.split(":")[0] for p in problems(answer)] == [field]


def test_every_bad_field_is_named_at_once(c: Any) -> None:
    answer = scenes(c, {"categoryType": 99, "sceneType": 9, "count": 0})
    assert sorted(p.split(":")[0] for p in problems(answer)) == ["categoryType", "count", "sceneType"]


def test_form_body_out_of_range_is_refused_too(c: Any) -> None:
    assert scenes(c, form={"sceneType": "5"})["resCode"] == 700
    assert scenes(c, form={"count": "0"})["resCode"] == 700


def test_scene_query_is_post_only(c: Any) -> None:
    response = c.get(SCENES)
    assert response.status_code == 405 and response.get_json()["code"] == "MethodNotAllowed"


# -- the answer ---------------------------------------------------------------------------


def test_schema_example_is_what_the_fake_answers_for_mod001(c: Any) -> None:
    example = SPEC.schema("scene-query-response.json")["examples"][0]["data"][0]
    answer = scenes(c, {"count": 1})["data"][0]
    assert {k: v for k, v in answer.items() if k != "coverUrl"} == {
        k: v for k, v in example.items() if k != "coverUrl"
    }
    assert urlsplit(answer["coverUrl"]).path == urlsplit(example["coverUrl"]).path


def test_every_cover_url_serves_a_png_that_differs_per_scene(c: Any) -> None:
    answer = scenes(c, {"count": 100})
    digests = set()
    for scene in answer["data"]:
        response = c.get(urlsplit(scene["coverUrl"]).path)
        assert response.status_code == 200 and response.mimetype == "image/png"
        image = Image.open(io.BytesIO(response.data))
        image.load()
        assert image.format == "PNG" and image.width > 0
        digests.add(response.data)
    assert len(digests) == len(answer["data"]) == len(SHIPPED["scenes"])


def test_cover_of_an_unknown_scene_is_a_404_envelope(c: Any) -> None:
    response = c.get("/__bgmock/covers/mod999.png")
    assert response.status_code == 404 and response.get_json()["code"] == "InvalidApiPath"


def test_cover_urls_follow_public_url() -> None:
    answer = scenes(client(public_url="https://fake.example.test"), {"count": 1})
    assert answer["data"][0]["coverUrl"] == "https://fake.example.test/__bgmock/covers/mod001.png"


@pytest.mark.parametrize("code", sorted(SPEC.errors))
def test_documented_codes_can_be_injected_on_scene_query(code: int) -> None:
    fake = client()
    assert scenes(fake, {})["success"] is True
    fake.post("/__admin/faults", json={"endpoint": "scenes", "resCode": code, "times": 1})
    answer = scenes(fake, {})
    assert (answer["resCode"], answer["resMessage"]) == (code, injected_message(code))
    assert scenes(fake, {})["success"] is True


# -- submit's modelNum check ---------------------------------------------------------------


def test_unknown_model_num_at_submit_answers_700_naming_the_field() -> None:
    answer = submit(client(), URL_ITEM, {**URL_ITEM, "modelNum": "mod999"})
    assert answer["resCode"] == 700
    assert [p.split(":")[0] for p in problems(answer)] == ["requestParams[1].modelNum"]
    assert "mod999" in answer["resMessage"]


def test_every_catalog_scene_and_magic_id_is_accepted_at_submit() -> None:
    fake = client()
    for model_num in [s["modelNum"] for s in SHIPPED["scenes"]] + ["bgmock-task-fail", "bgmock-task-stuck"]:
        assert submit(fake, {**URL_ITEM, "modelNum": model_num})["success"] is True, model_num


def test_allow_any_scene_accepts_unknown_ids_and_still_renders() -> None:
    fake = client(allow_any_scene=True)
    answer = submit(fake, {**URL_ITEM, "modelNum": "my-own-scene"})
    assert answer["success"] is True
    data = fake.get(QUERY, query_string={"taskId": answer["data"]["result"]["taskId"]}).get_json()["data"]
    assert data["taskResult"][0]["sceneTemplate"] == "my-own-scene"
    image = fake.get(urlsplit(data["taskResult"][0]["imageUrlList"][0]).path)
    assert image.status_code == 200 and Image.open(io.BytesIO(image.data)).size == (800, 800)


# -- a user's own catalog -----------------------------------------------------------------

ODD_IDS = ["shop/summer sale", "β-scène", "plain.png"]


def _catalog(tmp_path: Path) -> Path:
    path = tmp_path / "my-scenes.json"
    path.write_text(json.dumps({
        "scenes": [
            {"modelNum": model_num, "name": f"Scene {i}", "sceneName": f"Scene {i}", "sceneType": 1 + i % 4,
             "categoryType": [1], "categoryNameList": ["General Purpose"], "keywords": ["sale"] if i == 2 else []}
            for i, model_num in enumerate(ODD_IDS)
        ]
    }), encoding="utf-8")
    return path


def test_custom_catalog_replaces_the_shipped_one(tmp_path: Path) -> None:
    fake = client(catalog=str(_catalog(tmp_path)))
    answer = scenes(fake, {"productTitle": "big sale"})
    assert ids(answer) == ["plain.png", "shop/summer sale", "β-scène"]
    for scene in answer["data"]:  # odd characters are quoted in the URL and the cover is served
        response = fake.get(urlsplit(scene["coverUrl"]).path)
        assert response.status_code == 200 and response.mimetype == "image/png", scene["coverUrl"]
    assert submit(fake, {**URL_ITEM, "modelNum": "β-scène"})["success"] is True
    refused = submit(fake, URL_ITEM)  # mod001 is only in the shipped catalog
    assert problems(refused)[0].startswith("requestParams[0].modelNum: ")


def test_custom_catalog_from_the_command_line(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    cli._serve_args(parser)
    config = cli.build_config(parser.parse_args(["--catalog", str(_catalog(tmp_path))]))
    app = create_app(config.replace(log_requests=False))
    assert ids(scenes(app.test_client(), {})) == ODD_IDS


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        ('{"scenes": [{"modelNum": "a", "name": "A", "sceneName": "A", "sceneType": 9, "categoryType": [1]}]}',
         "sceneType"),
        ('{"scenes": "none"}', "scenes: must be an array, got string"),
    ],
)
def test_bad_catalog_stops_the_fake_with_a_config_error(tmp_path: Path, content: str | None, needle: str,
                                                        capsys: Any) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        create_app({"catalog": str(path)})
    assert str(exc.value).startswith("catalog: ") and str(path) in str(exc.value) and needle in str(exc.value)
    assert cli.main(["serve", "--port", "0", "--catalog", str(path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
