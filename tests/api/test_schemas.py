"""schemas/ is the single source of truth: it must agree with the reference and with itself.

Clients and the contract kit read the error catalog to decide what to retry and which message to
expect, so the catalog is checked code by code against the reference's own table. Every schema
must be a valid draft 2020-12 document whose examples validate, and the settings' defaults in
Python must be the ones the config schema documents.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mockserver.config import Config
from mockserver.spec import SCHEMA_BASE, load_spec

SPEC = load_spec()
SCHEMA_DIR = SPEC.schema_dir
CATALOG = json.loads((SCHEMA_DIR / "errors.json").read_text(encoding="utf-8"))
SCHEMA_FILES = sorted(p for p in SCHEMA_DIR.glob("*.json") if p.name != "errors.json")
RETRYABLE = {500: True, 501: True, 700: False, 801: True, 1000: False, 1001: True, 1002: False}


def reference_error_table() -> dict[int, tuple[str, str]]:
    """code -> (message, description), parsed from the markdown table under '### Errors'."""
    text = SPEC.fixture("reference/submit-api-reference.md").read_text(encoding="utf-8")
    section = text.split("### Errors", 1)[1]
    rows: dict[int, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            rows[int(cells[0])] = (cells[1], cells[2])
    return rows


def test_the_reference_table_parses_to_the_seven_documented_codes() -> None:
    assert sorted(reference_error_table()) == [500, 501, 700, 801, 1000, 1001, 1002]


@pytest.mark.parametrize("code", sorted(reference_error_table()))
def test_catalog_agrees_with_the_reference_code_by_code(code: int) -> None:
    message, description = reference_error_table()[code]
    entry = SPEC.errors[code]
    assert entry.message == message
    assert entry.description == description


def test_catalog_has_no_code_the_reference_lacks() -> None:
    assert sorted(SPEC.errors) == sorted(reference_error_table())
    assert [entry["resCode"] for entry in CATALOG["codes"]] == sorted(reference_error_table())


def test_retryable_rule() -> None:
    assert {code: entry.retryable for code, entry in SPEC.errors.items()} == RETRYABLE
    assert SPEC.retryable_codes == {500, 501, 801, 1001}


def test_catalog_matches_its_own_schema() -> None:
    SPEC.validator("errors.schema.json").validate(CATALOG)


@pytest.mark.parametrize("code", sorted(RETRYABLE))
def test_each_code_has_all_three_triggers(code: int) -> None:
    trigger = SPEC.errors[code].trigger
    assert trigger["prefer"] == f"Prefer: code={code}"
    assert trigger["rule"]["resCode"] == code
    assert trigger["modelNum"] == f"bgmock-error-{code}"


def test_code_lists_in_schemas_agree_with_the_catalog() -> None:
    codes = sorted(SPEC.errors)
    business = SPEC.schema("common.json")["$defs"]["businessError"]["properties"]["resCode"]["enum"]
    rule = SPEC.schema("fault-rule.json")["properties"]["resCode"]["enum"]
    assert sorted(business) == codes
    assert sorted(rule) == codes


# -- every schema file -------------------------------------------------------------------------


def test_every_schema_file_is_loaded_by_the_spec() -> None:
    assert sorted(SPEC.schemas) == [p.name for p in SCHEMA_FILES]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12_with_metadata(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_BASE + path.name
    for key in ("title", "description"):
        assert isinstance(schema.get(key), str) and schema[key].strip(), f"{path.name} lacks {key}"
    if path.name != "common.json":  # common.json holds only $defs shared by the others
        assert isinstance(schema.get("examples"), list) and schema["examples"], f"{path.name} lacks examples"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_example_validates_against_its_schema(path: Path) -> None:
    validator = SPEC.validator(path.name)
    for example in SPEC.schema(path.name).get("examples", []):
        errors = [e.message for e in validator.iter_errors(example)]
        assert not errors, f"{path.name}: {errors}"


def test_refs_all_resolve() -> None:
    """A dangling $ref would only fail on the request that reaches it; find them all now."""
    refs: list[tuple[str, str]] = []

    def walk(node: Any, name: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append((name, node["$ref"]))
            for value in node.values():
                walk(value, name)
        elif isinstance(node, list):
            for value in node:
                walk(value, name)

    for name, schema in SPEC.schemas.items():
        walk(schema, name)
    assert refs
    for name, ref in refs:
        resolver = SPEC.registry.resolver(base_uri=SCHEMA_BASE + name)
        resolver.lookup(ref)  # raises when the target does not exist


def test_the_reference_samples_validate() -> None:
    examples = json.loads(SPEC.fixture("reference_examples.json").read_text(encoding="utf-8"))
    SPEC.validator("submit-response.json").validate(examples["submit_response_sample"])
    java_sample = examples["submit_request_java_sample"]
    SPEC.validator("submit-request.json").validate({"requestParams": java_sample["requestParams"]})


def test_error_response_examples_use_catalog_messages() -> None:
    for example in SPEC.schema("error-response.json")["examples"]:
        assert example["resMessage"].startswith(SPEC.errors[example["resCode"]].message)


# -- settings -----------------------------------------------------------------------------------


def _python_default(field: dataclasses.Field[Any]) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def test_config_defaults_equal_the_config_schema() -> None:
    properties = SPEC.schema("config.json")["properties"]
    fields = {f.name: f for f in dataclasses.fields(Config)}
    assert sorted(fields) == sorted(properties)
    for name, field in fields.items():
        assert "default" in properties[name], f"config.json: {name} has no default"
        python = _python_default(field)
        python = list(python) if isinstance(python, tuple) else python
        assert python == properties[name]["default"], name


def test_config_defaults_validate_against_the_config_schema() -> None:
    SPEC.validator("config.json").validate(Config().as_dict())



# -- the scene catalog ---------------------------------------------------------------------------


def test_the_shipped_scene_catalog_validates_against_the_catalog_schema() -> None:
    shipped = json.loads(SPEC.fixture("scenes.json").read_text(encoding="utf-8"))
    SPEC.validator("catalog.json").validate(shipped)
    assert SPEC.fast_check("catalog.json")(shipped)


@pytest.mark.parametrize(
    "bad",
    [
        {"scenes": [{"modelNum": "m", "name": "N", "sceneName": "S", "sceneType": 5, "categoryType": [1]}]},
        {"scenes": [{"modelNum": "m", "name": "N", "sceneName": "S", "sceneType": 1, "categoryType": [1, 1]}]},
        {"scenes": [{"modelNum": " ", "name": "N", "sceneName": "S", "sceneType": 1, "categoryType": [1]}]},
        {"sceneTypes": {"0": "Zero"}, "scenes": []},
        {"version": 2, "scenes": []},
    ],
)
def test_the_catalog_schema_and_its_fast_check_refuse_alike(bad: dict[str, Any]) -> None:
    """Both verdicts matter: the fast check answers valid files, jsonschema explains the others."""
    assert not SPEC.validator("catalog.json").is_valid(bad)
    assert not SPEC.fast_check("catalog.json")(bad)
