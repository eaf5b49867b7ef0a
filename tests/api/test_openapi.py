"""``bgmock openapi``: a valid OpenAPI 3.1 document of every endpoint, built from schemas/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import QUERY, SCENES, SUBMIT, client, submit, submit_item
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.cli import main
from mockserver.dispatch import route_table
from mockserver.openapi import COMPONENTS, build_document
from mockserver.spec import load_spec

SPEC = load_spec()
DOC = build_document()
DOC_URI = "urn:bgmock-openapi"


def doc_validator(pointer: str) -> Draft202012Validator:
    """A validator for the schema at ``pointer`` in the document (its refs resolve in the document)."""
    registry = Registry().with_resource(DOC_URI, Resource.from_contents(DOC, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": DOC_URI + "#" + pointer}, registry=registry)


def answer_schema(path: str, method: str, status: str = "200") -> str:
    """The JSON pointer of an operation's JSON answer schema."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema"


@pytest.mark.parametrize("strict", [False, True])
def test_the_document_is_valid_openapi_3_1(strict: bool) -> None:
    document = build_document(strict=strict)
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the OpenAPI 3.1 specification


def _shape(path: str) -> str:
    """Path templates of both notations with their parameters blanked: '/a/<int:x>' == '/a/{x}'."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_the_document_and_the_route_table_name_the_same_endpoints() -> None:
    routes = {(method, _shape(route.rule)) for route in route_table() for method in route.methods}
    documented = {(method.upper(), _shape(path)) for path, item in DOC["paths"].items() for method in item}
    assert documented == routes


def test_each_component_is_a_file_of_schemas_with_refs_pointing_into_the_document() -> None:
    for name, component in DOC["components"]["schemas"].items():
        original = SPEC.schema(name + ".json")
        assert "$id" not in component and component.get("title") == original.get("title")
        assert component.keys() == original.keys() - {"$id", "$schema"}
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(DOC))
    assert refs and all(ref.startswith(COMPONENTS) for ref in refs)


def test_request_and_response_bodies_are_references_not_copies() -> None:
    """The shapes live in schemas/ once: operations only point at them."""

    def inline_objects(node: Any) -> list[Any]:
        if isinstance(node, dict):
            found = [node] if "properties" in node and "$ref" not in node and "allOf" not in node else []
            return found + [x for v in node.values() for x in inline_objects(v)]
        if isinstance(node, list):
            return [x for v in node for x in inline_objects(v)]
        return []

    offenders = [p for p in DOC["paths"] if p.startswith(("/ai/", "/rest/")) and inline_objects(DOC["paths"][p])]
    # The only inline object: the form body's requestParams, which is the JSON-string spelling.
    for path in offenders:
        for node in inline_objects(DOC["paths"][path]):
            assert node["properties"] == {"requestParams": {"type": "string"}}, (path, node)


def test_examples_of_each_schema_validate_through_the_document() -> None:
    """The embedded components behave as the files do: every schema's examples still validate."""
    for name in DOC["components"]["schemas"]:
        validator = doc_validator(f"/components/schemas/{name}")
        for example in SPEC.schema(name + ".json").get("examples", []):
            assert not list(validator.iter_errors(example)), name


def test_signed_forms_carry_the_signing_parameters_as_documented() -> None:
    system = SPEC.schema("signing-params.json")
    for path in (SUBMIT, QUERY, SCENES):
        for method, operation in DOC["paths"]["/rest" + path].items():
            params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
            assert set(system["properties"]) <= params.keys(), (path, method)
            for name in system["properties"]:
                assert params[name]["required"] is (name in system["required"])
            assert operation["responses"] == DOC["paths"][path][method]["responses"]


def test_real_answers_of_the_fake_validate_against_the_documented_responses() -> None:
    c = client()
    ok = submit(c, submit_item())
    assert doc_validator(answer_schema(SUBMIT, "post")).is_valid(ok)
    bad = submit(c, submit_item(width=1))
    assert doc_validator(answer_schema(SUBMIT, "post")).is_valid(bad)
    task = c.get(QUERY, query_string={"taskId": ok["data"]["result"]["taskId"]}).get_json()
    assert doc_validator(answer_schema(QUERY, "get")).is_valid(task)
    scenes = c.post(SCENES, json={"count": 2}).get_json()
    assert doc_validator(answer_schema(SCENES, "post")).is_valid(scenes)
    faults = c.get("/__admin/faults").get_json()
    assert doc_validator(answer_schema("/__admin/faults", "get")).is_valid(faults)
    added = c.post("/__admin/faults", json={"resCode": 501, "times": 1})
    assert added.status_code == 201
    assert doc_validator(answer_schema("/__admin/faults", "post", "201")).is_valid(added.get_json())
    missing = c.get("/__bgmock/covers/no-such-scene.png")
    assert missing.status_code == 404
    assert doc_validator(answer_schema("/__bgmock/covers/{modelNum}.png", "get", "404")).is_valid(missing.get_json())


def test_an_answer_of_the_wrong_shape_does_not_validate() -> None:
    """The check above can fail: a success body without its task ID is refused."""
    assert not doc_validator(answer_schema(SUBMIT, "post")).is_valid({"success": True, "resCode": 200, "data": {}})


def test_bgmock_openapi_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi", "--server", "http://127.0.0.1:9999"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["servers"][0]["url"] == "http://127.0.0.1:9999"
    assert printed["paths"].keys() == DOC["paths"].keys()


def test_bgmock_openapi_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "openapi.json"
    assert main(["openapi", "--output", str(out)]) == 0
    assert capsys.readouterr().out == ""
    validate(json.loads(out.read_text(encoding="utf-8")))


@pytest.mark.parametrize("argv", [["--server", "ftp://x"], ["--output", "/no/such/dir/openapi.json"]])
def test_bgmock_openapi_refuses_bad_arguments_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["openapi", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bgmock: ") and "Traceback" not in err
