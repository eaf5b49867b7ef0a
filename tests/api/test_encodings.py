"""Both body encodings of the submit endpoint, and every undecodable body as a 700 envelope.

Clients send JSON (the official samples) or the IOP SDK's form encoding, with requestParams as
an array or as a JSON-encoded string. Whatever arrives, the answer is HTTP 200 with a JSON
envelope; a client's error handling must never meet an HTML page or a traceback from the fake.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from helpers import QUERY, SCENES, SUBMIT, client, problems, submit, submit_item, tasks
from redis_helpers import cleaned, fresh_prefix, redis_or_skip

from mockserver import running
from mockserver.spec import load_spec

FORM = "application/x-www-form-urlencoded"
ERROR = load_spec().validator("error-response.json")
SUCCESS = load_spec().validator("submit-response.json")


@pytest.fixture(scope="module")
def c() -> Any:
    return client()


def assert_700_envelope(response: Any, *, mentions: str = "") -> dict[str, Any]:
    """HTTP 200, JSON content type, a valid error envelope with resCode 700."""
    assert response.status_code == 200, response.data[:200]
    assert response.mimetype == "application/json"
    assert not response.data.lstrip().startswith(b"<")
    body = response.get_json()
    ERROR.validate(body)
    assert body["resCode"] == 700
    assert body["resMessage"].startswith("invalid input: ")
    assert mentions in body["resMessage"], body["resMessage"]
    return body


# -- the encodings that work ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "as_string"),
    [("json", False), ("json", True), ("form", True)],
    ids=["json-array", "json-string", "form-string"],
)
def test_every_encoding_of_a_valid_request_is_accepted(encoding: str, as_string: bool) -> None:
    c = client()
    item = submit_item(productTitle="陶瓷杯 mug", width="750", height="1000", needLayout="true")
    answer = submit(c, item, encoding=encoding, as_string=as_string)
    SUCCESS.validate(answer)
    recorded = tasks(c)[0]["items"][0]
    assert (recorded["width"], recorded["height"], recorded["needLayout"]) == (750, 1000, True)
    assert recorded["productTitle"] == "陶瓷杯 mug"


def test_form_with_requestparams_as_form_array_field_is_refused_clearly(c: Any) -> None:
    """A form cannot carry an array except as a JSON string; a bare value is not one."""
    response = c.post(SUBMIT, data=urlencode({"requestParams": "modelNum=mod001"}), content_type=FORM)
    assert_700_envelope(response, mentions="requestParams")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json"]
)
def test_json_content_type_variants(c: Any, content_type: str) -> None:
    body = json.dumps({"requestParams": [submit_item()]}).encode()
    response = c.post(SUBMIT, data=body, content_type=content_type)
    assert response.status_code == 200
    SUCCESS.validate(response.get_json())


def test_form_content_type_with_charset(c: Any) -> None:
    body = urlencode({"requestParams": json.dumps([submit_item()])})
    response = c.post(SUBMIT, data=body, content_type=FORM + "; charset=UTF-8")
    SUCCESS.validate(response.get_json())


def test_no_content_type_is_read_as_json_unless_strict() -> None:
    body = json.dumps({"requestParams": [submit_item()]}).encode()
    SUCCESS.validate(client().post(SUBMIT, data=body).get_json())
    assert_700_envelope(client(strict=True).post(SUBMIT, data=body), mentions="Content-Type")


def test_the_signed_rest_path_takes_the_same_bodies(c: Any) -> None:
    """Signatures are off by default, so the /rest form works unsigned with both encodings."""
    SUCCESS.validate(c.post("/rest" + SUBMIT, json={"requestParams": [submit_item()]}).get_json())
    body = urlencode({"requestParams": json.dumps([submit_item()]), "app_key": "k", "sign_method": "sha256"})
    SUCCESS.validate(c.post("/rest" + SUBMIT, data=body, content_type=FORM).get_json())


# -- bodies that cannot be read: a 700 envelope, never HTML --------------------------------------

UNREADABLE = [
    ("application/json", b"{not json", "not valid JSON"),
    ("application/json", b'{"requestParams": [', "not valid JSON"),
    ("application/json", b"\xff\xfe\x00{", "not valid JSON"),
    ("application/json", b"[" * 50_000, "JSON"),
    ("application/json", b"[1, 2]", "JSON object"),
    ("application/json", b'"requestParams"', "JSON object"),
    ("application/json", b"42", "JSON object"),
    ("application/json", b"null", "JSON object"),
    ("application/json", b"{}", "requestParams: is required"),
    ("application/json", b'{"requestParams": {}}', "requestParams"),
    ("application/json", b'{"requestParams": "not json"}', "requestParams"),
    ("application/json", b'{"requestParams": "{\\"modelNum\\": \\"mod001\\"}"}', "requestParams"),
    ("application/json", b'{"requestParams": 7}', "requestParams"),
    ("text/plain", b'{"requestParams": []}', "Content-Type"),
    ("text/html", b"<html></html>", "Content-Type"),
    ("multipart/form-data; boundary=x", b"--x--\r\n", "Content-Type"),
    ("application/xml", b"<requestParams/>", "Content-Type"),
    # A lone surrogate is JSON but not Unicode: the fake could neither record nor answer it.
    ("application/json", b'{"requestParams": [{"imageFileUrl": "https://e.com/p\\ud800.jpg"}]}', "lone surrogate"),
    ("application/json", b'{"requestParams": "[{\\"modelNum\\": \\"\\\\udfff\\"}]"}', "lone surrogate"),
    ("application/json", b'{"requestParams": [], "\\udc00": 1}', "lone surrogate"),
    ("application/json", b'{"requestParams": [{"x": "\xed\xa0\x80"}]}', "lone surrogate"),  # raw, UTF-8-encoded
    (FORM, b"\xff\xfe=\xfd", "UTF-8"),
    (FORM, b"requestParams=%5B%7B", "requestParams"),
    (FORM, b"foo=bar", "requestParams: is required"),
]


@pytest.mark.parametrize(("content_type", "body", "mentions"), UNREADABLE)
def test_unreadable_bodies_answer_a_700_envelope(c: Any, content_type: str, body: bytes, mentions: str) -> None:
    assert_700_envelope(c.post(SUBMIT, data=body, content_type=content_type), mentions=mentions)


def test_a_lone_surrogate_in_an_extra_field_is_refused_with_a_shared_state_too() -> None:
    """With shared state the task and the journal are encoded for the store: both once failed with a 500."""
    for prefix in cleaned(fresh_prefix()):
        _lone_surrogate_refused(client(state=redis_or_skip(), state_prefix=prefix))


def _lone_surrogate_refused(c: Any) -> None:
    lone = json.dumps({"requestParams": [submit_item(extra="\udfff")]})  # json.dumps writes it as \\udfff
    assert_700_envelope(c.post(SUBMIT, data=lone, content_type="application/json"), mentions="lone surrogate")
    paired = json.dumps({"requestParams": [submit_item(extra="\U0001f600")]})  # written as a surrogate pair: fine
    SUCCESS.validate(c.post(SUBMIT, data=paired, content_type="application/json").get_json())


def test_an_oversized_body_answers_a_700_envelope() -> None:
    c = client(max_body_bytes=2048)
    big = submit_item(imgBase64="QUFB" * 1024)  # about 4 kB of JSON
    body = assert_700_envelope(c.post(SUBMIT, json={"requestParams": [big]}), mentions="2048")
    assert "body" in problems(body)[0]
    small = c.post(SUBMIT, json={"requestParams": [submit_item(imgBase64="", imageFileUrl="https://e.com/p.jpg")]})
    SUCCESS.validate(small.get_json())


@pytest.mark.parametrize("path", [QUERY, SCENES])
@pytest.mark.parametrize(
    ("content_type", "body"), [("application/json", b"{oops"), ("text/plain", b"x"), ("application/json", b"[]")]
)
def test_other_endpoints_answer_unreadable_bodies_the_same_way(
    c: Any, path: str, content_type: str, body: bytes
) -> None:
    assert_700_envelope(c.post(path, data=body, content_type=content_type))


def test_wrong_method_and_unknown_path_are_json_gateway_errors(c: Any) -> None:
    gateway = load_spec().validator("gateway-error.json")
    wrong = c.get(SUBMIT)
    assert (wrong.status_code, wrong.mimetype) == (405, "application/json")
    gateway.validate(wrong.get_json())
    unknown = c.post(SUBMIT + "/nope", json={})
    assert (unknown.status_code, unknown.mimetype) == (404, "application/json")
    gateway.validate(unknown.get_json())


# -- the same over a real socket -----------------------------------------------------------------


@pytest.fixture(scope="module")
def live() -> Any:
    with running(max_body_bytes=64 * 1024, task_duration=0) as fake:
        yield fake


def test_live_json_and_form_bodies(live: Any) -> None:
    with requests.Session() as http:
        as_json = http.post(live.url + SUBMIT, json={"requestParams": [submit_item()]}, timeout=10)
        as_form = http.post(live.url + SUBMIT, data={"requestParams": json.dumps([submit_item()])}, timeout=10)
    for response in (as_json, as_form):
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        SUCCESS.validate(response.json())


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "application/json"}, b"{broken"),
        ({"Content-Type": "application/json"}, b"[]"),
        ({"Content-Type": "text/plain"}, b"hello"),
        ({"Content-Type": "application/json"}, b'{"requestParams": "' + b"A" * 100_000 + b'"}'),
    ],
    ids=["malformed", "not-an-object", "text-plain", "oversized"],
)
def test_live_unreadable_bodies_answer_json_700(live: Any, headers: dict[str, str], body: bytes) -> None:
    response = requests.post(live.url + SUBMIT, data=body, headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    answer = response.json()
    ERROR.validate(answer)
    assert answer["resCode"] == 700 and answer["resMessage"].startswith("invalid input: ")
