"""What the contract kit needs from the fake: answer shapes, undocumented codes, and a
journal that records timing, image digests and signing (fault-rule ``shape`` and
``undocumentedCode``; journal fields ``t``, ``images``, ``signing``, ``gateway``)."""

from __future__ import annotations

import json
import zlib
from urllib.parse import urlencode

import pytest
from helpers import SUBMIT, b64, client, make_image, submit, submit_item

from mockserver.signing import signed_query
from mockserver.spec import load_spec

SPEC = load_spec()


def _rule(c, rule):  # type: ignore[no-untyped-def]
    response = c.post("/__admin/faults", json=rule)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_string_rescode_shape_spells_rescode_as_a_string() -> None:
    c = client()
    _rule(c, {"shape": "string-rescode", "times": 1})
    first = submit(c, submit_item())
    second = submit(c, submit_item())
    assert first["resCode"] == "200" and first["data"]["result"]["taskId"]
    assert second["resCode"] == 200  # times: 1


def test_extra_fields_shape_adds_undocumented_fields_and_still_validates() -> None:
    c = client()
    _rule(c, {"shape": "extra-fields"})
    answer = submit(c, submit_item())
    documented = set(SPEC.schema("submit-response.json")["properties"]) | {
        "requestId",
        "resMessage",
        "request_id",
        "_trace_id_",
    }
    assert set(answer) - documented, "no field beyond the documented ones"
    assert set(answer["data"]) - {"result"} and set(answer["data"]["result"]) - {"taskId"}
    assert not list(SPEC.validator("submit-response.json").iter_errors(answer))


def test_reordered_shape_reverses_key_order_at_every_level() -> None:
    c = client()
    plain = submit(c, submit_item())
    _rule(c, {"shape": "reordered"})
    shaped = submit(c, submit_item())
    assert list(shaped) == list(reversed(list(plain)))
    assert shaped["resCode"] == 200 and shaped["data"]["result"]["taskId"]


def test_shape_applies_to_an_error_answer_too() -> None:
    c = client()
    _rule(c, {"resCode": 1000, "shape": "string-rescode"})
    answer = submit(c, submit_item())
    assert answer["resCode"] == "1000" and answer["success"] is False


def test_undocumented_code_is_an_error_with_an_unknown_error_message() -> None:
    c = client()
    _rule(c, {"undocumentedCode": 9999})
    answer = submit(c, submit_item())
    assert (answer["success"], answer["resCode"], answer["resMessage"]) == (False, 9999, "unknown error")
    entry = c.get("/__admin/requests?limit=1").get_json()["requests"][0]
    assert entry["resCode"] == 9999


@pytest.mark.parametrize(
    "rule",
    [
        {"undocumentedCode": 501},  # documented: use resCode
        {"undocumentedCode": 200},
        {"transport": "reset", "shape": "reordered"},  # a transport fault has no answer to shape
        {"resCode": 501, "undocumentedCode": 9999},
        {"shape": "sideways"},
        {"endpoint": "task", "outcome": "failed", "shape": "reordered"},
    ],
)
def test_contradictory_rules_are_refused_with_a_700(rule: dict) -> None:
    response = client().post("/__admin/faults", json=rule)
    answer = response.get_json()
    assert answer["resCode"] == 700 and "rule" in answer["resMessage"], answer


def test_journal_records_arrival_time_and_the_image_digest() -> None:
    c = client()
    image = make_image("PNG", 600, 601)
    submit(c, submit_item(imgBase64=b64(image)))
    submit(c, submit_item(imgBase64="data:image/png;base64," + b64(image)))
    newer, older = c.get("/__admin/requests?limit=2").get_json()["requests"]
    assert newer["t"] > older["t"]
    for entry in (newer, older):
        (note,) = entry["images"]
        assert note["crc32"] == f"{zlib.crc32(image):08x}"
        assert (note["source"], note["format"], note["width"], note["height"]) == ("imgBase64", "PNG", 600, 601)


def test_journal_records_signing_parameters_and_the_gateway_verdict() -> None:
    c = client(app_keys={"k": "s3cret"})
    body = json.dumps({"requestParams": [submit_item()]})
    good = signed_query("k", "s3cret")
    bad = dict(good, sign="0" * 64)
    for query in (good, bad):
        c.post(f"/rest{SUBMIT}?{urlencode(query)}", data=body, content_type="application/json")
    newer, older = c.get("/__admin/requests?limit=2").get_json()["requests"]
    assert older["signing"]["sign"] == good["sign"] and older["gateway"] is None and older["signature"] == "v2"
    assert newer["signing"]["sign"] == "0" * 64 and newer["gateway"] == "IncompleteSignature"


def test_query_schema_problems_are_journaled() -> None:
    c = client()
    c.post("/ai/image/background/generation/query", json={"taskId": ""})
    entry = c.get("/__admin/requests?limit=1").get_json()["requests"][0]
    assert entry["resCode"] == 700 and any(p.startswith("taskId") for p in entry["problems"])
