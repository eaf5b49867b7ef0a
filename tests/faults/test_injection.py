"""Error injection: every documented code, four ways, and the semantics of programmed rules.

The four ways (issue 2): the ``Prefer: code=N`` header, a rule posted to ``/__admin/faults``,
start-up rules (config and ``--fault``), and the magic scene ``bgmock-error-N``. Each answer
must validate against ``schemas/error-response.json`` and carry the catalog's exact message.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from mockserver import cli
from mockserver.serving.app import create_app
from tests.helpers import MISSING, QUERY, SCENES, SUBMIT, client, injected_message, submit_item

ROOT = Path(__file__).resolve().parents[2]
CATALOG = {entry["resCode"]: entry for entry in json.loads((ROOT / "schemas/errors.json").read_text())["codes"]}
CODES = sorted(CATALOG)


def _validator(name: str) -> Draft202012Validator:
    schemas = [json.loads(p.read_text()) for p in (ROOT / "schemas").glob("*.json") if p.name != "errors.json"]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    return Draft202012Validator(json.loads((ROOT / "schemas" / name).read_text()), registry=registry)


ERROR_RESPONSE = _validator("error-response.json")

#: A cheap valid item: a URL is never fetched, so no image is decoded (hundreds of requests stay fast).
URL_ITEM = submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/p/mug")


def test_the_catalog_holds_the_documented_codes():
    assert CODES == [500, 501, 700, 801, 1000, 1001, 1002]


def post(c, item: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = c.post(SUBMIT, json={"requestParams": [item or URL_ITEM]}, headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/json", response.data[:200]
    return response.get_json()


def assert_error(body: dict[str, Any], code: int) -> None:
    ERROR_RESPONSE.validate(body)
    assert body["resCode"] == code and body["success"] is False, body
    assert body["resMessage"] == injected_message(code), body["resMessage"]


def assert_ok(body: dict[str, Any]) -> None:
    assert body["success"] is True and body["resCode"] == 200, body


def cli_config(*flags: str):
    """What ``bgmock serve FLAGS`` would run with (the CLI's own parser and build_config)."""
    parser = argparse.ArgumentParser()
    cli.COMMANDS["serve"][0](parser)
    return cli.build_config(parser.parse_args(list(flags)))


# -- every code, every way ------------------------------------------------------------------------

@pytest.mark.parametrize("code", CODES)
def test_prefer_header(code):
    c = client()
    assert_error(post(c, headers={"Prefer": f"code={code}"}), code)
    assert_ok(post(c))  # only that request


@pytest.mark.parametrize("code", CODES)
def test_programmed_rule_fires_once_then_success(code):
    c = client()
    added = c.post("/__admin/faults", json={"resCode": code, "times": 1})
    assert added.status_code == 201, added.get_json()
    assert_error(post(c), code)
    assert_ok(post(c))


@pytest.mark.parametrize("code", CODES)
def test_startup_config_rule(code):
    c = create_app({"faults": [{"resCode": code}], "log_requests": False}).test_client()
    assert_error(post(c), code)
    assert_error(post(c), code)  # no times: every request


@pytest.mark.parametrize("code", CODES)
def test_cli_fault_flag(code):
    config = cli_config("--fault", f"{code}:1.0")
    c = create_app(config.replace(log_requests=False)).test_client()
    assert_error(post(c), code)


@pytest.mark.parametrize("code", CODES)
def test_magic_scene(code):
    c = client()
    assert_error(post(c, submit_item(modelNum=f"bgmock-error-{code}")), code)
    assert c.get("/__admin/tasks").get_json()["tasks"] == []


@pytest.mark.parametrize("code", CODES)
def test_prefer_on_the_query_and_scene_endpoints(code):
    c = client()
    task_id = post(c)["data"]["result"]["taskId"]
    assert_error(c.get(f"{QUERY}?taskId={task_id}", headers={"Prefer": f"code={code}"}).get_json(), code)
    assert_error(c.post(SCENES, json={}, headers={"Prefer": f"code={code}"}).get_json(), code)


def test_magic_scene_is_still_validated_first():
    """A magic modelNum in an invalid request answers 700 for the invalid field (README order)."""
    body = post(client(), submit_item(modelNum="bgmock-error-1000", width=801))
    assert body["resCode"] == 700 and "width" in body["resMessage"]


def test_an_injected_fault_wins_over_validation_and_the_journal_keeps_the_problems():
    c = client()
    body = post(c, submit_item(width=801), headers={"Prefer": "code=501"})
    assert_error(body, 501)
    entry = c.get("/__admin/requests?limit=1").get_json()["requests"][0]
    assert entry["resCode"] == 501 and entry["injected"]["resCode"] == 501
    assert any("width" in p for p in entry["problems"])


@pytest.mark.parametrize("prefer", ["code=999", "code=5001", "code=abc", "transport=bogus", "delay=soon"])
def test_a_prefer_value_the_fake_cannot_act_on_is_refused(prefer: str):
    """A typo must not run the happy path unnoticed: 700 naming the Prefer value, no task."""
    c = client()
    body = post(c, headers={"Prefer": prefer})
    assert body["resCode"] == 700 and f"Prefer: {prefer}" in body["resMessage"], body
    assert c.get("/__admin/tasks").get_json()["tasks"] == []


@pytest.mark.parametrize("prefer", ["transport=reset, code=501", "code=501; transport=reset"])
def test_a_prefer_code_with_a_transport_fault_is_refused_not_half_ignored(prefer: str):
    """A rule takes exactly one of them; the header did the code and dropped the reset silently."""
    c = client()
    body = post(c, headers={"Prefer": prefer})
    assert body["resCode"] == 700 and "Prefer: code and transport together" in body["resMessage"], body
    assert c.get("/__admin/tasks").get_json()["tasks"] == []


@pytest.mark.parametrize("delay", ["600001", "99999999999", "9" * 5000])
def test_a_prefer_delay_longer_than_a_rule_may_ask_is_refused_by_its_size(delay: str):
    """Refused, not silently shortened; and the message says why (it said "ASCII digits")."""
    body = post(client(), headers={"Prefer": f"delay={delay}"})
    assert body["resCode"] == 700 and "longer than the 600000 ms a delay may be" in body["resMessage"], body


def test_a_preference_given_twice_counts_the_first_time():
    """RFC 7240, section 2: "only the first instance is to be considered"."""
    assert_error(post(client(), headers={"Prefer": "code=501, code=700"}), 501)


def test_prefer_keys_the_fake_does_not_own_are_ignored():
    assert_ok(post(client(), headers={"Prefer": "return=minimal, respond-async"}))


# -- rule semantics -------------------------------------------------------------------------------

def add(c, rule: Any) -> Any:
    response = c.post("/__admin/faults", json=rule)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def codes(c, n: int, **kwargs: Any) -> list[int]:
    return [post(c, **kwargs)["resCode"] for _ in range(n)]


def test_times_two_fails_twice_then_succeeds():
    c = client()
    add(c, {"resCode": 501, "times": 2})
    assert codes(c, 4) == [501, 501, 200, 200]


def test_every_third_request():
    c = client()
    add(c, {"resCode": 500, "everyN": 3})
    assert codes(c, 9) == [200, 200, 500] * 3


def test_every_nth_with_times_stops_after_times_firings():
    c = client()
    add(c, {"resCode": 500, "everyN": 2, "times": 2})
    assert codes(c, 7) == [200, 500, 200, 500, 200, 200, 200]


def _fired(seed: int, n: int, probability: float) -> list[bool]:
    c = client(seed=seed)
    add(c, {"resCode": 1001, "probability": probability})
    return [code == 1001 for code in codes(c, n)]


def test_probability_with_a_seed_is_reproducible():
    first = _fired(seed=42, n=60, probability=0.5)
    assert first == _fired(seed=42, n=60, probability=0.5)
    assert first != _fired(seed=43, n=60, probability=0.5)  # the seed, not a constant, decides


def test_probability_hits_roughly_its_rate():
    fired = _fired(seed=7, n=400, probability=0.25)
    assert 0.17 <= sum(fired) / len(fired) <= 0.33, sum(fired)


def test_probability_zero_never_fires_and_one_always_fires():
    assert not any(_fired(seed=1, n=30, probability=0.0))
    assert all(_fired(seed=1, n=30, probability=1.0))


@pytest.mark.parametrize("wanted", ["800", 800])
def test_match_on_a_request_field(wanted):
    c = client()
    add(c, {"resCode": 1000, "match": {"width": wanted}})
    assert_error(post(c, submit_item(imgBase64=MISSING, imageFileUrl="https://x.example/a.png", width=800)), 1000)
    assert_error(post(c, submit_item(imgBase64=MISSING, imageFileUrl="https://x.example/a.png", width="800")), 1000)
    assert_ok(post(c, submit_item(imgBase64=MISSING, imageFileUrl="https://x.example/a.png", width=750, height=1000)))


def test_match_on_model_num_and_counters_move_only_on_matches():
    c = client()
    rule = add(c, {"resCode": 1002, "match": {"modelNum": "mod002"}, "times": 1})
    assert_ok(post(c))
    listed = c.get("/__admin/faults").get_json()["faults"]
    assert [(r["id"], r["matched"], r["fired"]) for r in listed] == [(rule["id"], 0, 0)]
    assert_error(post(c, submit_item(imgBase64=MISSING, imageFileUrl="https://x.example/a", modelNum="mod002")), 1002)


def test_endpoint_query_targets_the_query_only():
    c = client()
    add(c, {"resCode": 801, "endpoint": "query"})
    task_id = post(c)["data"]["result"]["taskId"]  # submit untouched
    assert_error(c.get(f"{QUERY}?taskId={task_id}").get_json(), 801)
    assert_error(c.post(QUERY, json={"taskId": task_id}).get_json(), 801)
    assert c.post(SCENES, json={}).get_json()["resCode"] == 200


def test_endpoint_any_targets_every_api_endpoint():
    c = client()
    add(c, {"resCode": 500, "endpoint": "any", "times": 2})
    assert_error(post(c), 500)
    assert_error(c.post(SCENES, json={}).get_json(), 500)
    assert_ok(post(c))


def test_delay_ms_delays_the_answer():
    c = client()
    add(c, {"resCode": 501, "delayMs": 50, "times": 1})
    started = time.perf_counter()
    assert_error(post(c), 501)
    assert time.perf_counter() - started >= 0.05


def test_rule_message_override():
    c = client()
    add(c, {"resCode": 700, "resMessage": "requestParams[0].modelNum: retired scene", "times": 1})
    body = post(c)
    ERROR_RESPONSE.validate(body)
    assert body["resMessage"] == "invalid input: requestParams[0].modelNum: retired scene"


def test_rules_apply_in_the_order_they_were_added():
    c = client()
    add(c, {"resCode": 500, "times": 1})
    add(c, {"resCode": 501, "times": 1})
    assert codes(c, 3) == [500, 501, 200]


def test_list_with_counters():
    c = client()
    first = add(c, {"resCode": 501, "times": 3})
    second = add(c, {"resCode": 500, "everyN": 2})
    assert first["id"] != second["id"]
    post(c)
    faults = {r["id"]: r for r in c.get("/__admin/faults").get_json()["faults"]}
    assert faults[first["id"]]["resCode"] == 501
    assert (faults[first["id"]]["matched"], faults[first["id"]]["fired"], faults[first["id"]]["remaining"]) == (1, 1, 2)
    # the first rule fired, so the second never saw the request
    assert (faults[second["id"]]["matched"], faults[second["id"]]["fired"]) == (0, 0)


def test_delete_one_rule_and_all_rules():
    c = client()
    one = add(c, {"resCode": 501})
    two = add(c, {"resCode": 500})
    deleted = c.delete(f"/__admin/faults/{one['id']}")
    assert deleted.status_code == 200 and deleted.get_json()["removed"] == 1
    assert [r["id"] for r in c.get("/__admin/faults").get_json()["faults"]] == [two["id"]]
    assert_error(post(c), 500)
    missing = c.delete(f"/__admin/faults/{one['id']}")
    assert missing.status_code == 404, missing.get_json()
    assert missing.get_json()["code"] == "InvalidApiPath" and one["id"] in missing.get_json()["message"]
    add(c, {"resCode": 1000})
    assert c.delete("/__admin/faults").get_json()["removed"] == 2
    assert c.get("/__admin/faults").get_json()["faults"] == []
    assert_ok(post(c))


def test_a_list_of_rules_in_one_post():
    c = client()
    response = c.post("/__admin/faults", json=[{"resCode": 500, "times": 1}, {"resCode": 1001, "times": 1}])
    assert response.status_code == 201
    added = response.get_json()["faults"]
    assert [r["resCode"] for r in added] == [500, 1001]
    assert [r["id"] for r in c.get("/__admin/faults").get_json()["faults"]] == [r["id"] for r in added]
    assert codes(c, 3) == [500, 1001, 200]


def test_a_list_with_one_bad_rule_stores_none():
    c = client()
    body = c.post("/__admin/faults", json=[{"resCode": 500}, {"resCode": 999}]).get_json()
    assert body["resCode"] == 700 and "[1] rule.resCode" in body["resMessage"]
    assert c.get("/__admin/faults").get_json()["faults"] == []


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"resCode": 999}, "rule.resCode"),
        ({"resCode": 501, "times": 0}, "rule.times"),
        ({"resCode": 501, "probability": 2}, "rule.probability"),
        ({"resCode": 501, "everyN": 0}, "rule.everyN"),
        ({"resCode": 501, "delayMs": -1}, "rule.delayMs"),
        ({"resCode": 501, "endpoint": "upload"}, "rule.endpoint"),
        ({"resCode": 501, "colour": "red"}, "rule.colour"),
        ({"resCode": 501, "transport": "reset"}, "resCode/transport"),
        ({}, "resCode/transport"),
        ({"resCode": 501, "match": {"width": [800]}}, "rule.match.width"),
        ("501", "rule"),
    ],
    ids=["unknown-code", "times-0", "probability-2", "everyN-0", "delay-negative", "endpoint",
         "unknown-field", "both-code-and-transport", "neither", "match-array", "not-an-object"],
)
def test_an_invalid_rule_answers_700_naming_the_field(rule, field):
    c = client()
    body = c.post("/__admin/faults", json=rule).get_json()
    ERROR_RESPONSE.validate(body)
    assert body["resCode"] == 700 and body["resMessage"].startswith("invalid input: "), body
    assert field in body["resMessage"], body["resMessage"]
    assert "is not valid under any" not in body["resMessage"] and "is valid under each" not in body["resMessage"]
    assert c.get("/__admin/faults").get_json()["faults"] == []


def test_malformed_json_rule_answers_700():
    body = client().post("/__admin/faults", data=b"{not json", content_type="application/json").get_json()
    assert body["resCode"] == 700 and "JSON" in body["resMessage"]


def test_an_invalid_startup_rule_is_a_config_error():
    from mockserver.config import ConfigError

    with pytest.raises(ConfigError, match="faults"):
        create_app({"faults": [{"resCode": 999}]})


def test_rules_behave_the_same_by_what_they_do_not_by_their_id_or_counters():
    """``FaultRule.same_behaviour``: how a start tells its siblings' start-up rules from its own."""
    from mockserver.faults.rules import FaultRule
    from mockserver.spec import load_spec

    def rule(data: dict[str, Any], rule_id: str = "rule-1") -> FaultRule:
        return FaultRule.from_json(load_spec(), data, rule_id)

    used = rule({"resCode": 1000, "times": 2, "match": {"modelNum": "x"}}, "rule-7")
    used.matched, used.fired = 5, 2
    assert used.same_behaviour(rule({"resCode": 1000, "times": 2, "match": {"modelNum": "x"}}))
    # a delayMs of 0 overrides the latency, none leaves it: to_json writes both as 0
    assert not rule({"resCode": 1000}).same_behaviour(rule({"resCode": 1000, "delayMs": 0}))
    assert not rule({"resCode": 1000, "match": {"x": True}}).same_behaviour(rule({"resCode": 1000, "match": {"x": 1}}))
    assert not rule({"resCode": 1000}).same_behaviour(rule({"resCode": 1000, "times": 2}))
    assert not rule({"resCode": 1000}).same_behaviour(rule({"transport": "reset"}))
