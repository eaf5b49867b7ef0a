"""Signatures: the v2 scheme of the official samples and the IOP SDK's form scheme.

Signatures are on when ``app_keys`` is configured. A signed call reaches the API; every kind
of bad signature answers the gateway error envelope (``schemas/gateway-error.json``) with the
code a client can act on; and the secret never leaks into the journal, the log or the config.
Signatures here are computed independently of ``mockserver.signing`` (from the vendor's
description), so a wrong implementation in the fake cannot agree with itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator

from tests.helpers import QUERY, SCENES, SUBMIT, client, submit_item

ROOT = Path(__file__).resolve().parents[2]
KEY = "test-key"
SECRET = "s3cr3t-Zq8v-never-shown"
FORM = "application/x-www-form-urlencoded"

GATEWAY_ERROR = Draft202012Validator(json.loads((ROOT / "schemas" / "gateway-error.json").read_text()))


def _hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def now_ms(offset_s: float = 0) -> str:
    return str(int((time.time() + offset_s) * 1000))


def v2_query(key: str = KEY, secret: str = SECRET, timestamp: str | None = None) -> dict[str, str]:
    """The system parameters the official samples append to ``/rest{apiName}``."""
    ts = timestamp or now_ms()
    return {
        "partner_id": "aidge", "sign_method": "sha256", "sign_ver": "v2",
        "app_key": key, "timestamp": ts, "sign": _hmac(secret, secret + ts),
    }


def iop_sign(api_name: str, params: dict[str, str], secret: str = SECRET) -> str:
    """The IOP SDK: HMAC-SHA256(secret, apiName + k1v1k2v2... sorted by key), upper-case hex."""
    return _hmac(secret, api_name + "".join(f"{k}{params[k]}" for k in sorted(params)))


def iop_system(key: str = KEY, timestamp: str | None = None) -> dict[str, str]:
    return {"app_key": key, "sign_method": "sha256", "timestamp": timestamp or now_ms(), "partner_id": "aidge"}


def submit_form(*items: dict[str, Any]) -> dict[str, str]:
    return {"requestParams": json.dumps(list(items) or [submit_item()], ensure_ascii=False)}


@pytest.fixture
def signed():
    return client(app_keys={KEY: SECRET})


def _ok(response) -> dict[str, Any]:
    assert response.status_code == 200, response.data[:300]
    body = response.get_json()
    assert body["success"] is True and body["resCode"] == 200, body
    return body


def _gateway(response, code: str) -> dict[str, Any]:
    assert response.status_code == 200, response.data[:300]
    body = response.get_json()
    GATEWAY_ERROR.validate(body)
    assert body["code"] == code, body
    assert "success" not in body and "resCode" not in body
    return body


def _last_entry(c) -> dict[str, Any]:
    return c.get("/__admin/requests?limit=1").get_json()["requests"][0]


# -- the v2 scheme --------------------------------------------------------------------------------

def test_v2_signed_submit_with_json_body_reaches_the_api(signed):
    body = _ok(signed.post(f"/rest{SUBMIT}?{urlencode(v2_query())}", json={"requestParams": [submit_item()]}))
    assert body["data"]["result"]["taskId"]
    entry = _last_entry(signed)
    assert entry["appKey"] == KEY and entry["signature"] == "v2"


def test_v2_accepts_the_samples_string_encoded_request_params(signed):
    payload = {"requestParams": json.dumps([submit_item(width="800", height="800", imageNum="2")])}
    _ok(signed.post(f"/rest{SUBMIT}?{urlencode(v2_query())}", json=payload))


def test_v2_does_not_sign_the_body(signed):
    """The samples sign secret + timestamp only, so one signature serves any body."""
    query = urlencode(v2_query())
    _ok(signed.post(f"/rest{SUBMIT}?{query}", json={"requestParams": [submit_item()]}))
    _ok(signed.post(f"/rest{SUBMIT}?{query}", json={"requestParams": [submit_item(imageNum=3)]}))


def test_v2_signed_result_query_get_and_post(signed):
    created = _ok(signed.post(f"/rest{SUBMIT}?{urlencode(v2_query())}", json={"requestParams": [submit_item()]}))
    task_id = created["data"]["result"]["taskId"]
    got = _ok(signed.get(f"/rest{QUERY}?{urlencode({**v2_query(), 'taskId': task_id})}"))
    assert got["data"]["taskId"] == task_id
    posted = _ok(signed.post(f"/rest{QUERY}?{urlencode(v2_query())}", json={"taskId": task_id}))
    assert posted["data"]["taskId"] == task_id
    assert _last_entry(signed)["signature"] == "v2"


def test_v2_signed_scene_query(signed):
    body = _ok(signed.post(f"/rest{SCENES}?{urlencode(v2_query())}", json={"sceneType": "Indoor", "count": 3}))
    assert 1 <= len(body["data"]) <= 3


def test_signatures_are_required_on_the_plain_paths_too(signed):
    """Once keys are configured every API route needs a signature, /rest or not."""
    _gateway(signed.post(SUBMIT, json={"requestParams": [submit_item()]}), "MissingParameter")
    _ok(signed.post(f"{SUBMIT}?{urlencode(v2_query())}", json={"requestParams": [submit_item()]}))


# -- the IOP SDK's form scheme --------------------------------------------------------------------

def test_iop_form_scheme_everything_in_the_form_body(signed):
    params = {**iop_system(), **submit_form(submit_item(productTitle="陶瓷咖啡杯 ceramic mug"))}
    params["sign"] = iop_sign(SUBMIT, params)
    body = _ok(signed.post(f"/rest{SUBMIT}", data=urlencode(params), content_type=FORM))
    assert body["data"]["result"]["taskId"]
    entry = _last_entry(signed)
    assert entry["appKey"] == KEY and entry["signature"] == "iop"


def test_iop_form_scheme_system_params_in_query_and_request_params_in_form(signed):
    system, form = iop_system(), submit_form()
    system["sign"] = iop_sign(SUBMIT, {**system, **form})
    _ok(signed.post(f"/rest{SUBMIT}?{urlencode(system)}", data=urlencode(form), content_type=FORM))


def test_iop_form_scheme_signs_the_body(signed):
    """Unlike v2, the IOP sign covers requestParams: a changed body no longer matches."""
    system, form = iop_system(), submit_form()
    system["sign"] = iop_sign(SUBMIT, {**system, **form})
    tampered = submit_form(submit_item(imageNum=5))
    _gateway(
        signed.post(f"/rest{SUBMIT}?{urlencode(system)}", data=urlencode(tampered), content_type=FORM),
        "IncompleteSignature",
    )


def test_iop_signed_result_query_get_and_post(signed):
    params = {**iop_system(), **submit_form()}
    params["sign"] = iop_sign(SUBMIT, params)
    task_id = _ok(signed.post(f"/rest{SUBMIT}", data=urlencode(params), content_type=FORM))["data"]["result"]["taskId"]

    get_params = {**iop_system(), "taskId": task_id}
    get_params["sign"] = iop_sign(QUERY, get_params)
    assert _ok(signed.get(f"/rest{QUERY}?{urlencode(get_params)}"))["data"]["taskId"] == task_id

    post_params = {**iop_system(), "taskId": task_id}
    post_params["sign"] = iop_sign(QUERY, post_params)
    posted = _ok(signed.post(f"/rest{QUERY}", data=urlencode(post_params), content_type=FORM))
    assert posted["data"]["taskId"] == task_id


def test_iop_signed_scene_query(signed):
    params = {**iop_system(), "sceneType": "2", "count": "4"}
    params["sign"] = iop_sign(SCENES, params)
    body = _ok(signed.post(f"/rest{SCENES}", data=urlencode(params), content_type=FORM))
    assert 1 <= len(body["data"]) <= 4
    assert all(scene["sceneType"] == 2 for scene in body["data"])


def test_iop_sign_is_per_api_name(signed):
    """A signature made for the query API does not open the submit API."""
    params = {**iop_system(), **submit_form()}
    params["sign"] = iop_sign(QUERY, params)
    _gateway(signed.post(f"/rest{SUBMIT}", data=urlencode(params), content_type=FORM), "IncompleteSignature")


# -- failures -------------------------------------------------------------------------------------

def _credentials(case: str, timestamp: str | None) -> tuple[str, str, str | None]:
    """(app key, secret, timestamp) of a call, broken as ``case`` says (both schemes alike)."""
    key, secret = KEY, SECRET
    if case == "wrong secret":
        secret = "not-the-secret"
    elif case == "unknown app_key":
        key = "nobody"
    elif case == "timestamp too old":
        timestamp = now_ms(-3600)
    elif case == "timestamp in the future":
        timestamp = now_ms(+3600)
    return key, secret, timestamp


def _v2_case(case: str) -> dict[str, str]:
    """The v2 system parameters of a call, broken as ``case`` says."""
    key, secret, ts = _credentials(case, None)
    query = v2_query(key=key, secret=secret, timestamp=ts)
    if case == "tampered timestamp":
        query["timestamp"] = str(int(query["timestamp"]) + 1)
    elif case == "timestamp not a number":
        query["timestamp"] = "2024-06-25 12:00:00"
    elif case == "sign_method md5":
        query["sign_method"] = "md5"
    elif case.startswith("missing "):
        del query[case.removeprefix("missing ")]
    return query


def _iop_case(case: str) -> tuple[dict[str, str], dict[str, str]]:
    """(query, form) of an IOP call with everything in the form body, broken as ``case`` says."""
    key, secret, ts = _credentials(case, now_ms())
    if case == "timestamp not a number":
        ts = "2024-06-25 12:00:00"
    params = {**iop_system(key, ts), **submit_form()}
    if case == "sign_method md5":
        params["sign_method"] = "md5"
    params["sign"] = iop_sign(SUBMIT, params, secret)
    if case == "tampered timestamp":
        params["timestamp"] = str(int(params["timestamp"]) + 1)
    if case.startswith("missing "):
        del params[case.removeprefix("missing ")]
    return {}, params


FAILURES = [
    ("wrong secret", "IncompleteSignature"),
    ("tampered timestamp", "IncompleteSignature"),
    ("sign_method md5", "IncompleteSignature"),
    ("missing sign", "MissingParameter"),
    ("missing app_key", "MissingParameter"),
    ("missing timestamp", "MissingParameter"),
    ("unknown app_key", "InvalidAppKey"),
    ("timestamp too old", "InvalidTimestamp"),
    ("timestamp in the future", "InvalidTimestamp"),
    ("timestamp not a number", "InvalidTimestamp"),
]


@pytest.mark.parametrize("scheme", ["v2", "iop"])
@pytest.mark.parametrize(("case", "code"), FAILURES, ids=[case for case, _ in FAILURES])
def test_bad_signature_answers_the_gateway_envelope(signed, scheme, case, code):
    if scheme == "v2":
        response = signed.post(f"/rest{SUBMIT}?{urlencode(_v2_case(case))}", json={"requestParams": [submit_item()]})
    else:
        query, form = _iop_case(case)
        response = signed.post(f"/rest{SUBMIT}?{urlencode(query)}", data=urlencode(form), content_type=FORM)
    body = _gateway(response, code)
    if case.startswith("missing "):
        assert case.removeprefix("missing ") in body["message"], body["message"]
    assert signed.get("/__admin/tasks").get_json()["tasks"] == [], "a refused call must not create a task"


def test_a_refused_call_is_journaled_with_its_reason(signed):
    signed.post(f"/rest{SUBMIT}?{urlencode(v2_query(secret='wrong'))}", json={"requestParams": [submit_item()]})
    entry = _last_entry(signed)
    assert entry["path"] == f"/rest{SUBMIT}" and entry["status"] == 200
    assert entry["appKey"] is None and entry["taskId"] is None


def test_the_skew_window_is_a_setting():
    c = client(app_keys={KEY: SECRET}, timestamp_skew_s=60)
    url = f"/rest{SUBMIT}?"
    _ok(c.post(url + urlencode(v2_query(timestamp=now_ms(-30))), json={"requestParams": [submit_item()]}))
    _gateway(
        c.post(url + urlencode(v2_query(timestamp=now_ms(-120))), json={"requestParams": [submit_item()]}),
        "InvalidTimestamp",
    )
    # the default window (900 s) lets 120 s through
    _ok(client(app_keys={KEY: SECRET}).post(
        url + urlencode(v2_query(timestamp=now_ms(-120))), json={"requestParams": [submit_item()]}
    ))


def test_several_keys_each_with_its_own_secret():
    c = client(app_keys={KEY: SECRET, "other": "other-secret"})
    body = {"requestParams": [submit_item()]}
    _ok(c.post(f"/rest{SUBMIT}?{urlencode(v2_query('other', 'other-secret'))}", json=body))
    _gateway(
        c.post(f"/rest{SUBMIT}?{urlencode(v2_query('other', SECRET))}", json={"requestParams": [submit_item()]}),
        "IncompleteSignature",
    )


def test_signature_checks_come_before_validation_and_faults(signed):
    """The README's order: a bad signature wins over an invalid body and an injected fault."""
    response = signed.post(
        f"/rest{SUBMIT}?{urlencode(v2_query(secret='wrong'))}",
        json={"requestParams": [submit_item(width=1)]}, headers={"Prefer": "code=501"},
    )
    _gateway(response, "IncompleteSignature")


# -- signatures off -------------------------------------------------------------------------------

def test_unsigned_calls_work_when_signatures_are_off():
    c = client()
    body = _ok(c.post(SUBMIT, json={"requestParams": [submit_item()]}))
    _ok(c.post(f"/rest{SUBMIT}", json={"requestParams": [submit_item()]}))
    _ok(c.get(f"{QUERY}?taskId={body['data']['result']['taskId']}"))
    _ok(c.post(SCENES, json={}))
    assert c.get("/__admin/health").get_json()["signatures"] is False


def test_signed_calls_also_work_when_signatures_are_off():
    """A client that always signs can point at a fake without keys."""
    _ok(client().post(f"/rest{SUBMIT}?{urlencode(v2_query())}", json={"requestParams": [submit_item()]}))


# -- the secret never leaks -----------------------------------------------------------------------

def test_the_secret_never_appears_in_journal_log_or_config(caplog):
    c = client(app_keys={KEY: SECRET}, log_requests=True)
    with caplog.at_level(logging.DEBUG):
        _ok(c.post(f"/rest{SUBMIT}?{urlencode(v2_query())}", json={"requestParams": [submit_item()]}))
        params = {**iop_system(), **submit_form()}
        params["sign"] = iop_sign(SUBMIT, params)
        _ok(c.post(f"/rest{SUBMIT}", data=urlencode(params), content_type=FORM))
        for case, code in FAILURES:
            body = {"requestParams": [submit_item()]}
            _gateway(c.post(f"/rest{SUBMIT}?{urlencode(_v2_case(case))}", json=body), code)
            query, form = _iop_case(case)
            _gateway(c.post(f"/rest{SUBMIT}?{urlencode(query)}", data=urlencode(form), content_type=FORM), code)
        journal = c.get("/__admin/requests").get_data(as_text=True)
        config = c.get("/__admin/config").get_data(as_text=True)
        health = c.get("/__admin/health").get_data(as_text=True)
    assert len(json.loads(journal)["requests"]) == 2 + 2 * len(FAILURES)
    assert caplog.records, "log_requests is on: each request logs a line"
    for where, text in (("journal", journal), ("log", caplog.text), ("config", config), ("health", health)):
        assert SECRET not in text, f"the secret leaked into the {where}"
    assert json.loads(config)["app_keys"] == {KEY: "***"}
