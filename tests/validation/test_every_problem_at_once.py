"""Every problem of a request in one answer, in the schema's order of fields (docs/validation.md).

A new-user trial found that missing required fields came one per round trip: ``{"imageFileUrl":
...}`` answered ``modelNum: is required`` alone, then ``width``, then ``height``, although the
docs promise every failing field at once "so a client can fix them in one go". jsonschema
reports one error per missing field, and each was worded with the first missing name, so the
de-duplicated list kept one. Each endpoint, reading and admin body is held to the promise here,
and to one stable order: by path, items by index, an object's fields as its schema declares them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import MISSING, QUERY, SCENES, SUBMIT, client, problems, submit, submit_item

from mockserver.config import Config, ConfigError
from mockserver.scenes import CatalogError, SceneCatalog
from mockserver.spec import load_spec
from mockserver.testing.inprocess import mocked
from mockserver.testing.pytest_plugin import report_text

URL = "https://example.com/p.jpg"
REST = "/rest"
#: The trial's body: an image and nothing else.
BARE = {"imageFileUrl": URL}
BARE_MISSING = [
    "requestParams[0].modelNum: is required",
    "requestParams[0].width: is required",
    "requestParams[0].height: is required",
]


def _message(answer: dict[str, Any]) -> str:
    assert answer["resCode"] == 700 and answer["success"] is False, answer
    return str(answer["resMessage"])


def _post(c: Any, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = c.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.data[:300]
    return response.get_json()  # type: ignore[no-any-return]


# -- submit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", REST])
@pytest.mark.parametrize("encoding", ["json", "form"])
def test_the_trials_body_names_every_missing_field_in_one_answer(prefix: str, encoding: str) -> None:
    c = client()
    if encoding == "json":
        answer = _post(c, prefix + SUBMIT, {"requestParams": [BARE]})
    else:
        form = {"requestParams": json.dumps([BARE])}
        answer = c.post(prefix + SUBMIT, data=form, content_type="application/x-www-form-urlencoded").get_json()
    assert _message(answer) == "invalid input: " + "; ".join(BARE_MISSING)


def test_adding_the_first_missing_field_leaves_the_other_two_named() -> None:
    answer = submit(client(), {**BARE, "modelNum": "mod001"})
    assert problems(answer) == BARE_MISSING[1:]


def test_missing_fields_and_bad_values_together_in_the_schemas_order() -> None:
    item = {"imageFileUrl": "ftp://example.com/p.jpg", "needLayout": "maybe", "height": 801, "imageNum": 11}
    assert problems(submit(client(), item)) == [
        "requestParams[0].imageFileUrl: must be an http or https URL with a host",
        "requestParams[0].modelNum: is required",
        "requestParams[0].needLayout: must be a boolean, got string",
        "requestParams[0].width: is required",
        "requestParams[0].width/height: only 800x800 (1:1) and 750x1000 (3:4) are supported",
        "requestParams[0].imageNum: must be between 2 and 10, got 11",
    ]


def test_the_checks_beyond_the_schema_join_the_same_list_in_the_same_order() -> None:
    """The image and the scene are checked by code, not the schema; their problems are not
    appended after the schema's but sorted in with them."""
    item = submit_item(imgBase64="not base64!", modelNum="mod999", width=MISSING, imageNum=1)
    assert problems(submit(client(), item)) == [
        "requestParams[0].imgBase64: not valid base64",
        "requestParams[0].modelNum: unknown scene ID 'mod999' (see the scene query API)",
        "requestParams[0].width: is required",
        "requestParams[0].imageNum: must be between 2 and 10, got 1",
    ]


def test_every_item_of_a_multi_item_request_is_named_items_in_index_order() -> None:
    """Eleven items: the count is named first, then each bad item, item 2 before item 10 (the
    old alphabetical order put ``requestParams[10]`` before ``requestParams[2]``)."""
    items = [submit_item() for _ in range(11)]
    items[2] = submit_item(width=MISSING, height=MISSING)
    items[10] = submit_item(modelNum=MISSING, imageNum=0)
    assert problems(submit(client(), *items)) == [
        "requestParams: must hold 1 to 10 items",
        "requestParams[2].width: is required",
        "requestParams[2].height: is required",
        "requestParams[10].modelNum: is required",
        "requestParams[10].imageNum: must be between 2 and 10, got 0",
    ]


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_strict_names_every_missing_field_and_every_unknown_one(encoding: str) -> None:
    c = client(strict=True)
    answer = submit(c, {**BARE, "width": "800", "colour": "red"}, encoding=encoding, extra={"shade": 1})
    assert problems(answer) == [
        "requestParams[0].modelNum: is required",
        "requestParams[0].width: must be an integer, got string",
        "requestParams[0].height: is required",
        "requestParams[0].width/height: only 800x800 (1:1) and 750x1000 (3:4) are supported",
        "requestParams[0].imageNum: is required",
        "requestParams[0].colour: is not a documented field",
        "shade: is not a documented field",
    ]


def test_a_bad_prefer_header_is_named_beside_the_bodys_problems() -> None:
    answer = submit(client(), BARE, headers={"Prefer": "code=5001"})
    assert problems(answer) == [
        *BARE_MISSING,
        "Prefer: code=5001 is not a documented resCode (500, 501, 700, 801, 1000, 1001, 1002)",
    ]


def test_the_item_order_is_the_schemas_order_of_properties() -> None:
    """Drop every required field and break every other one: the problems come in the order
    ``schemas/submit-request-item.json`` declares its properties (a reordered schema reorders
    the message, and the docs' example with it)."""
    declared = list(load_spec().schema("submit-request-item.json")["properties"])
    item = {"imageFileUrl": 1, "imgBase64": 2, "needLayout": 3, "productTitle": 4, "imageNum": "x"}
    fields = [p.split(": ", 1)[0].removeprefix("requestParams[0].") for p in problems(submit(client(), item))]
    fields = [name for name in fields if "/" not in name]
    assert fields == declared


# -- the result query and the scene query -------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", REST])
def test_the_query_names_its_missing_task_id_and_a_bad_prefer_together(prefix: str) -> None:
    answer = _post(client(), prefix + QUERY, {}, headers={"Prefer": "delay=soon"})
    assert _message(answer) == (
        "invalid input: taskId: is required; Prefer: delay=soon must be milliseconds (ASCII digits)"
    )


@pytest.mark.parametrize("prefix", ["", REST])
def test_the_scene_query_names_every_bad_parameter_in_the_schemas_order(prefix: str) -> None:
    body = {"count": 0, "sceneType": 9, "categoryType": "x", "imageUrl": "ftp://x", "productTitle": 5}
    answer = _post(client(), prefix + SCENES, body, headers={"Prefer": "transport=bogus"})
    found = _message(answer).removeprefix("invalid input: ").split("; ")
    assert found[:-1] == [
        "productTitle: must be a string, got integer",
        "imageUrl: must be an http or https URL with a host",
        "categoryType: must be an integer, got string",
        "sceneType: must be 1-4 or one of Indoor, Outdoor, Atmosphere, Promotion",
        "count: must be between 1 and 100, got 0",
    ]
    assert found[-1].startswith("Prefer: transport=bogus is not one of reset, "), found


# -- the admin API --------------------------------------------------------------------------------


def test_a_list_of_fault_rules_names_the_problems_of_every_rule() -> None:
    rules = [{"resCode": 501}, {"resCode": 5, "times": 0}, {"endpoint": "nowhere", "resCode": 500}]
    answer = client().post("/__admin/faults", json=rules)
    assert answer.status_code == 400
    assert _message(answer.get_json()).removeprefix("invalid input: ").split("; ") == [
        "[1] rule.resCode: must be one of 500, 501, 700, 801, 1000, 1001, 1002",
        "[1] rule.times: must be a whole number, 1 or more (null: forever)",
        '[2] rule.endpoint: must be one of "submit", "query", "scenes", "task", "any"',
    ]


def test_a_fault_rule_names_its_latency_beside_its_schema_problems() -> None:
    """The latency's order (low bound first) is read by code after the schema: it used to wait
    for every other field of the rule to be fixed."""
    answer = client().post("/__admin/faults", json={"resCode": 5, "latency": "2s..1s"})
    assert problems(answer.get_json()) == [
        "rule.resCode: must be one of 500, 501, 700, 801, 1000, 1001, 1002",
        "rule.latency: latency '2s..1s': the range's second bound must not be below the first, e.g. 1s..2s",
    ]


def test_the_settings_name_every_bad_spelling_at_once() -> None:
    """Latency and rate spellings are read after the schema, by code; each used to stop at the first."""
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({"latency": "2s..1s", "faults": [{"resCode": 501, "latency": "3s..1s"}]})
    assert "latency: latency '2s..1s'" in str(caught.value)
    assert "faults[0].latency: latency '3s..1s'" in str(caught.value)


def test_a_settings_file_names_its_schema_problems_and_its_spellings_together() -> None:
    """A wrong type and a bad latency in one file: both in the one message (the spellings were
    read only once the schema had nothing to say, so the file took two rounds to fix)."""
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({"seed": "x", "latency": "2s..1s", "image_max_side": 100, "colour": 1})
    message = str(caught.value)
    for says in ("seed: must be an integer", "latency: latency '2s..1s'", "image_max_side: must exceed image_min_side",
                 "colour: is not a documented field"):
        assert says in message, message
    # a setting the schema refused is not read again in its own language (its type may be anything)
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({"latency": 5, "image_min_side": "big"})
    assert "Traceback" not in str(caught.value) and "latency:" in str(caught.value)


def test_a_scene_catalog_entry_names_every_missing_field(tmp_path: Any) -> None:
    path = tmp_path / "scenes.json"
    path.write_text(json.dumps({"scenes": [{"modelNum": "m1"}]}), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        SceneCatalog.load(path)
    for field in ("name", "sceneName", "sceneType", "categoryType"):
        assert f"{field}: is required" in str(caught.value), caught.value


# -- what a test sees: the plugin's failure report ------------------------------------------------


def test_the_plugins_failure_report_lists_every_problem_of_the_call() -> None:
    import requests

    with mocked() as fake:
        requests.post(fake.url + SUBMIT, json={"requestParams": [BARE]}, timeout=5)
        report = report_text(fake)
    listed = [line.strip().removeprefix("- ") for line in report.splitlines() if line.strip().startswith("- ")]
    assert listed == BARE_MISSING, report


@pytest.mark.parametrize("path", [SUBMIT, QUERY, SCENES])
def test_an_unreadable_body_and_a_bad_prefer_are_named_together(path: str) -> None:
    answer = client().post(path, data=b"{not json", content_type="application/json", headers={"Prefer": "code=5001"})
    found = problems(answer.get_json())
    assert found[0].startswith("body: ") and found[-1].startswith("Prefer: code=5001"), found
