"""What the contract kit needs from the fake's faults: answer shapes and undocumented codes
(fault-rule ``shape`` and ``undocumentedCode``). The journal fields the kit reads (``t``,
``images``, ``signing``, ``gateway``) are tested with the journal, in tests/admin/test_admin.py."""

from __future__ import annotations

import pytest
from helpers import client, submit, submit_item

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
