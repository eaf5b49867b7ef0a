"""The shipped scene catalog, scene filtering and ranking, and user-catalog errors.

Clients pin scene IDs and scene-query order in their own tests, so the catalog's coverage and
the determinism of ranking are contract, not detail; so is a readable error for a bad file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mockserver.scenes import CatalogError, Scene, SceneCatalog

FIXTURES = Path(__file__).parents[2] / "fixtures"
CATALOG_PATH = FIXTURES / "scenes.json"


@pytest.fixture(scope="module")
def catalog() -> SceneCatalog:
    return SceneCatalog.load(CATALOG_PATH)


def _scene(model_num: str = "x001", **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "modelNum": model_num,
        "name": "Plain room",
        "sceneName": "Room",
        "sceneType": 1,
        "categoryType": [1],
        "categoryNameList": ["General Purpose"],
        "keywords": ["room"],
        "palette": ["#ffffff", "#000000"],
    }
    entry.update(overrides)
    return entry


def _write(tmp_path: Path, content: str | dict[str, Any]) -> Path:
    path = tmp_path / "my-scenes.json"
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


# -- the shipped catalog ---------------------------------------------------------------------


def test_shipped_catalog_size_and_sample_id(catalog: SceneCatalog) -> None:
    assert len(catalog) >= 24
    assert "mod001" in catalog
    assert catalog.get("mod001") is not None
    assert catalog.get("no-such-scene") is None


def test_shipped_catalog_covers_every_scene_type_and_category(catalog: SceneCatalog) -> None:
    assert {scene.scene_type for scene in catalog} == {1, 2, 3, 4}
    assert {c for scene in catalog for c in scene.category_types} == set(range(1, 12))
    assert dict(catalog.scene_type_names) == {
        1: "Indoor", 2: "Outdoor", 3: "Atmosphere", 4: "Promotion"
    }
    assert set(catalog.category_names) == set(range(1, 12))
    assert catalog.category_names[1] == "General Purpose"
    assert catalog.category_names[11] == "Phones & Telecommunications"


def test_shipped_catalog_entries_are_consistent() -> None:
    raw = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    ids = [entry["modelNum"] for entry in raw["scenes"]]
    assert len(ids) == len(set(ids))
    for entry in raw["scenes"]:
        assert "coverUrl" not in entry, "the server builds coverUrl from its own base URL"
        names = [raw["categories"][str(c)] for c in entry["categoryType"]]
        assert entry["categoryNameList"] == names, entry["modelNum"]
        assert 2 <= len(entry["palette"]) <= 3
        assert all(re.fullmatch(r"#[0-9a-f]{6}", colour) for colour in entry["palette"])
        assert entry["keywords"] == [k.lower() for k in entry["keywords"]]
    assert any(re.search(r"[\u4e00-\u9fff]", k) for e in raw["scenes"] for k in e["keywords"])


def test_as_dict_round_trips_the_file_entry(catalog: SceneCatalog) -> None:
    raw = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    assert [scene.as_dict() for scene in catalog] == raw["scenes"]


# -- filtering -------------------------------------------------------------------------------


@pytest.mark.parametrize("category", range(1, 12))
def test_filter_by_category_returns_only_matching(catalog: SceneCatalog, category: int) -> None:
    found = catalog.query(category_type=category, count=100)
    assert found
    assert all(category in scene.category_types for scene in found)
    assert len(found) == sum(category in scene.category_types for scene in catalog)


@pytest.mark.parametrize("scene_type", range(1, 5))
def test_filter_by_scene_type_returns_only_matching(
    catalog: SceneCatalog, scene_type: int
) -> None:
    found = catalog.query(scene_type=scene_type, count=100)
    assert found
    assert all(scene.scene_type == scene_type for scene in found)


def test_filters_combine(catalog: SceneCatalog) -> None:
    found = catalog.query(category_type=11, scene_type=3, count=100)
    assert found
    assert all(11 in s.category_types and s.scene_type == 3 for s in found)


def test_filter_with_no_match_is_empty() -> None:
    small = SceneCatalog.from_dict({"scenes": [_scene()]})
    assert small.query(category_type=5) == []
    assert small.query(scene_type=4) == []


def test_without_title_results_keep_catalog_order(catalog: SceneCatalog) -> None:
    assert catalog.query(count=100) == list(catalog)
    assert catalog.query(product_title="   ", count=100) == list(catalog)


# -- ranking ---------------------------------------------------------------------------------


def test_title_ranks_matching_scene_first(catalog: SceneCatalog) -> None:
    first = catalog.query(product_title="ceramic coffee mug")[0]
    assert {"coffee", "mug"} & set(first.keywords) or "Kitchen" in first.scene_name


def test_ranking_respects_filters(catalog: SceneCatalog) -> None:
    found = catalog.query(product_title="ceramic coffee mug", scene_type=2, count=100)
    assert found and all(scene.scene_type == 2 for scene in found)


def test_plural_title_words_match_singular_keywords(catalog: SceneCatalog) -> None:
    first = catalog.query(product_title="Gold Necklaces and Earrings")[0]
    assert "necklace" in first.keywords


def test_ranking_is_deterministic(catalog: SceneCatalog) -> None:
    runs = [
        [s.model_num for s in catalog.query(product_title="running shoes", count=100)]
        for _ in range(3)
    ]
    assert runs[0] == runs[1] == runs[2]
    assert sorted(runs[0]) == sorted(s.model_num for s in catalog)


def test_ties_keep_catalog_order() -> None:
    tied = SceneCatalog.from_dict(
        {
            "scenes": [
                _scene("z", keywords=["lamp"]),
                _scene("b", keywords=["desk"]),
                _scene("m", keywords=["lamp"]),
                _scene("d", keywords=["lamp", "desk"]),
            ]
        }
    )
    order = [s.model_num for s in tied.query(product_title="desk lamp")]
    assert order == ["d", "z", "b", "m"]
    # Stopwords and unmatched words change nothing; catalog order stays the tiebreak.
    assert [s.model_num for s in tied.query(product_title="the of zebra")] == list("zbmd")


def test_count_caps_results(catalog: SceneCatalog) -> None:
    assert len(catalog.query()) == min(10, len(catalog))
    assert len(catalog.query(count=3)) == 3
    assert len(catalog.query(count=1, product_title="coffee")) == 1
    assert len(catalog.query(count=1000)) == len(catalog)
    assert catalog.query(count=0) == []


def test_top_results_are_a_prefix_of_longer_results(catalog: SceneCatalog) -> None:
    long = catalog.query(product_title="summer beach sandals", count=100)
    assert catalog.query(product_title="summer beach sandals", count=4) == long[:4]


def test_chinese_title_matches_chinese_keyword(catalog: SceneCatalog) -> None:
    first = catalog.query(product_title="陶瓷咖啡杯")[0]
    assert "咖啡" in first.keywords
    # A scene far from the top of the file, so catalog order alone cannot pass this.
    found = catalog.query(product_title="新款滑雪手套")
    assert "滑雪" in found[0].keywords
    assert found[0] != next(iter(catalog))


def test_mixed_script_title_splits_scripts(catalog: SceneCatalog) -> None:
    first = catalog.query(product_title="iPhone手机壳", category_type=11)[0]
    assert "手机" in first.keywords


def test_accents_fold_in_titles_and_names() -> None:
    small = SceneCatalog.from_dict(
        {"scenes": [_scene("a"), _scene("b", name="Café corner", keywords=[])]}
    )
    assert small.query(product_title="cafe latte")[0].model_num == "b"


# -- user catalogs ---------------------------------------------------------------------------


def test_minimal_user_catalog_gets_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "categories": {"1": "General Purpose"},
            "scenes": [{"modelNum": "m1", "name": "N", "sceneName": "S", "sceneType": 2,
                        "categoryType": [1]}],
        },
    )
    loaded = SceneCatalog.load(path)
    scene = loaded.get("m1")
    assert isinstance(scene, Scene)
    assert scene.category_names == ("General Purpose",)
    assert scene.keywords == ()
    assert len(scene.palette) >= 2
    assert loaded.scene_type_names[2] == "Outdoor"


def test_missing_file_raises_catalog_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(CatalogError, match="not found") as info:
        SceneCatalog.load(missing)
    assert str(missing) in str(info.value)


def test_directory_raises_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="directory"):
        SceneCatalog.load(tmp_path)


def test_not_json_raises_catalog_error(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"scenes": [')
    with pytest.raises(CatalogError, match="not valid JSON") as info:
        SceneCatalog.load(path)
    assert "my-scenes.json" in str(info.value)


def test_not_utf8_raises_catalog_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"scenes": [], "x": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(CatalogError, match="UTF-8"):
        SceneCatalog.load(path)


def test_a_utf16_catalog_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "ps5.json"
    path.write_bytes(json.dumps({"scenes": [_scene("ok")]}).encode("utf-16"))
    with pytest.raises(CatalogError) as info:
        SceneCatalog.load(path)
    assert str(info.value).startswith(f"{path}: scene catalog is not UTF-8 text: it is UTF-16")
    assert str(info.value).endswith("save it as UTF-8")


def test_a_catalog_saved_with_a_utf8_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "notepad.json"
    path.write_bytes(json.dumps({"scenes": [_scene("bom1")]}).encode("utf-8-sig"))
    assert "bom1" in SceneCatalog.load(path)


def test_duplicate_model_num_raises_catalog_error(tmp_path: Path) -> None:
    path = _write(tmp_path, {"scenes": [_scene("dup"), _scene("ok"), _scene("dup")]})
    with pytest.raises(CatalogError, match=r"scenes\[2\].*duplicate modelNum 'dup'") as info:
        SceneCatalog.load(path)
    assert "my-scenes.json" in str(info.value)
    assert "scenes[0]" in str(info.value)


def test_bad_scene_type_raises_catalog_error(tmp_path: Path) -> None:
    path = _write(tmp_path, {"scenes": [_scene("ok"), _scene("bad7", sceneType=7)]})
    with pytest.raises(CatalogError, match=r"scenes\[1\] \(modelNum 'bad7'\).*sceneType.*7"):
        SceneCatalog.load(path)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ([], "JSON object"),
        ({"version": 2, "scenes": []}, "version: is not supported"),
        ({}, "scenes: is required"),
        ({"scenes": ["mod001"]}, r"scenes\[0\]: must be an object, got string"),
        ({"scenes": [_scene(modelNum=None)]}, "modelNum: must be a string"),
        ({"scenes": [_scene(name="")]}, "name: must be a non-empty string"),
        ({"scenes": [_scene(sceneName=3)]}, "sceneName: must be a string"),
        ({"scenes": [_scene(sceneType=True)]}, "sceneType: must be an integer"),
        ({"scenes": [_scene(sceneType="Indoor")]}, "sceneType: must be an integer"),
        ({"scenes": [_scene(categoryType=[12])]}, r"categoryType\[0\]: .*12"),
        ({"scenes": [_scene(categoryType=[])]}, "categoryType: must list at least one"),
        ({"scenes": [_scene(categoryType=[1, 1], categoryNameList=["a", "a"])]}, "twice"),
        ({"scenes": [_scene(categoryNameList=["a", "b"])]}, "'categoryNameList'"),
        ({"scenes": [_scene(categoryType=[3], categoryNameList=None)]}, "no name for id"),
        ({"scenes": [_scene(keywords="coffee")]}, "keywords: must be an array"),
        ({"scenes": [_scene(palette=["red", "blue"])]}, r"palette\[0\]: must be a colour written #rrggbb"),
        ({"scenes": [_scene(palette=["#ffffff"])]}, "palette: must list 2-3 colours"),
        ({"sceneTypes": {"5": "Space"}, "scenes": []}, 'sceneTypes: key "5" is not accepted'),
        ({"categories": {"one": "General"}, "scenes": []}, 'categories: key "one"'),
        ({"categories": {"1": ""}, "scenes": []}, "categories.1: must be a non-empty string"),
    ],
)
def test_bad_catalog_entries_name_the_problem(data: Any, needle: str) -> None:
    with pytest.raises(CatalogError, match=needle) as info:
        SceneCatalog.from_dict(data, source="user.json")
    assert str(info.value).startswith("user.json")


def test_every_schema_problem_of_a_catalog_is_named_at_once() -> None:
    data = {"scenes": [_scene("a", sceneType=9), _scene("b", name=""), _scene("c")]}
    with pytest.raises(CatalogError) as info:
        SceneCatalog.from_dict(data, source="user.json")
    message = str(info.value)
    assert "scenes[0] (modelNum 'a'): sceneType: must be between 1 and 4, got 9" in message
    assert "scenes[1] (modelNum 'b'): name: must be a non-empty string" in message
    assert "scenes[2]" not in message


def test_a_broken_catalog_gets_a_bounded_message() -> None:
    data = {"scenes": [_scene(f"s{i}", sceneType=9) for i in range(500)]}
    with pytest.raises(CatalogError, match=r"\(and 490 more\)$") as info:
        SceneCatalog.from_dict(data, source="user.json")
    assert len(str(info.value)) < 2000


def test_null_optional_fields_and_python_spellings_read_as_absent_or_equal() -> None:
    loaded = SceneCatalog.from_dict(
        {"sceneTypes": {2: "Outside"}, "categories": {"1": "General Purpose"},
         "scenes": [_scene("n", sceneType=2.0, categoryType=[1.0], categoryNameList=None, keywords=None,
                           palette=None)]},
    )
    scene = loaded.get("n")
    assert scene is not None
    assert (scene.scene_type, scene.category_types, scene.category_names) == (2, (1,), ("General Purpose",))
    assert type(scene.scene_type) is int and scene.keywords == () and len(scene.palette) >= 2
    assert loaded.scene_type_names == {2: "Outside"}


def test_catalog_error_is_a_value_error() -> None:
    assert issubclass(CatalogError, ValueError)


# -- the reference's own examples ------------------------------------------------------------


def test_reference_java_sample_parses() -> None:
    examples = json.loads((FIXTURES / "reference_examples.json").read_text(encoding="utf-8"))
    sample = examples["submit_request_java_sample"]
    assert sample["apiName"] == "/ai/image/background/generation/scenario"
    items = json.loads(sample["requestParams"])
    assert isinstance(items, list) and len(items) == 1
    assert items[0]["imgBase64"] == "图片base64格式"
    assert items[0]["modelNum"] == "mod001"
    assert items[0]["width"] == "800"  # the sample sends every value as a string


def test_reference_response_sample() -> None:
    examples = json.loads((FIXTURES / "reference_examples.json").read_text(encoding="utf-8"))
    response = examples["submit_response_sample"]
    assert response["data"]["result"]["taskId"] == "713f0cb3-f22f-490b-b3b7-3684f73bf2d6"
    assert response["resCode"] == 200 and response["success"] is True
    assert response["code"] == "0"
