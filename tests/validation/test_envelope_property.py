"""Property: whatever body arrives, the fake answers a documented envelope, never a traceback.

A client's error handling is written against the envelopes in schemas/, so every answer of the
API endpoints must validate against one of them: the endpoint's success response, the business
error response, or (routing only) the gateway error. No input may reach the safety net that
turns a bug in the fake into resCode 500.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import pytest
from helpers import QUERY, SCENES, SUBMIT, b64, client, make_image
from hypothesis import given
from hypothesis import strategies as st

from mockserver.spec import load_spec

SPEC = load_spec()
SUCCESS = {
    "submit": SPEC.validator("submit-response.json"),
    "query": SPEC.validator("query-response.json"),
    "scenes": SPEC.validator("scene-query-response.json"),
}
ERROR = SPEC.validator("error-response.json")
GATEWAY = SPEC.validator("gateway-error.json")
FORM = "application/x-www-form-urlencoded"

CONTENT_TYPES = st.sampled_from(
    [None, "application/json", "application/json; charset=utf-8", FORM, "text/plain", "multipart/form-data",
     "application/octet-stream", "", "application/problem+json", "application/x-www-form-urlencoded; charset=latin-1"]
)
ENDPOINTS = st.sampled_from(
    [("submit", SUBMIT), ("submit", "/rest" + SUBMIT), ("query", QUERY), ("query", "/rest" + QUERY),
     ("scenes", SCENES), ("scenes", "/rest" + SCENES)]
)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


@lru_cache(maxsize=1)
def _images() -> tuple[str, ...]:
    return (b64(make_image("PNG", 600, 600)), b64(make_image("JPEG", 513, 2999)), b64(make_image("GIF", 600, 600)))


FIELD_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from([
        800, 750, 1000, "800", "1000", 2, 4, 10, 11, "2", "true", "false", True, False, "", "mod001",
        "bgmock-task-fail", "https://e.com/p.jpg", "ftp://e.com/p.gif", "http://localhost/__bgmock/covers/mod001.png",
        "http://localhost/__bgmock/results/00000000-0000-0000-0000-000000000000/0/0.png", "图片base64格式",
    ]),
    st.integers(0, 2).map(lambda i: _images()[i]),
)
ITEM_KEYS = st.sampled_from(
    ["imageFileUrl", "imgBase64", "modelNum", "needLayout", "productTitle", "width", "height", "imageNum", "taskId",
     "sceneType", "categoryType", "count", "imageUrl", "extra"]
)
ITEMS = st.dictionaries(ITEM_KEYS, FIELD_VALUES, max_size=9)
SHAPED = st.one_of(
    st.builds(lambda items: {"requestParams": items}, st.lists(ITEMS | JSON_VALUES, max_size=3)),
    st.builds(lambda items: {"requestParams": json.dumps(items)}, st.lists(ITEMS, max_size=3)),
    ITEMS,
)


@pytest.fixture(scope="module")
def fakes() -> dict[bool, Any]:
    return {False: client(), True: client(strict=True)}


def check(endpoint: str, response: Any) -> None:
    """The invariant: a documented envelope, as JSON, with a sane status; never a 500."""
    assert response.status_code in (200, 404, 405), response.data[:300]
    assert response.mimetype == "application/json", response.data[:300]
    body = response.get_json()
    if response.status_code != 200 or "type" in body:
        GATEWAY.validate(body)
        return
    if body.get("success") is True:
        SUCCESS[endpoint].validate(body)
    else:
        ERROR.validate(body)
        assert body["resCode"] != 500, body["resMessage"]
        if body["resCode"] == 700:
            assert body["resMessage"].startswith("invalid input: ")


def encode(value: Any, content_type: str | None) -> bytes:
    if content_type and content_type.startswith(FORM) and isinstance(value, dict):
        flat = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
        return urlencode(flat).encode()
    return json.dumps(value, ensure_ascii=False).encode()


@given(value=JSON_VALUES | SHAPED, content_type=CONTENT_TYPES, target=ENDPOINTS, strict=st.booleans())
def test_any_json_value_gets_an_envelope(
    fakes: dict[bool, Any], value: Any, content_type: str | None, target: tuple[str, str], strict: bool
) -> None:
    endpoint, path = target
    response = fakes[strict].post(path, data=encode(value, content_type), content_type=content_type)
    check(endpoint, response)


@given(body=st.binary(max_size=300), content_type=CONTENT_TYPES, target=ENDPOINTS, strict=st.booleans())
def test_any_byte_string_gets_an_envelope(
    fakes: dict[bool, Any], body: bytes, content_type: str | None, target: tuple[str, str], strict: bool
) -> None:
    endpoint, path = target
    check(endpoint, fakes[strict].post(path, data=body, content_type=content_type))


@given(query=st.dictionaries(st.sampled_from(["taskId", "x", "sign", "app_key"]) | st.text(max_size=8),
                             st.text(max_size=60), max_size=3),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]), target=ENDPOINTS)
def test_any_query_string_and_method_gets_an_envelope(
    fakes: dict[bool, Any], query: dict[str, str], method: str, target: tuple[str, str]
) -> None:
    endpoint, path = target
    check(endpoint, fakes[False].open(path, method=method, query_string=query))


def test_the_property_reaches_success_and_every_kind_of_answer(fakes: dict[bool, Any]) -> None:
    """Guard against a vacuous property: the strategies above can produce each kind of answer."""
    c = fakes[False]
    shaped = {"requestParams": [{"imgBase64": _images()[0], "modelNum": "mod001", "width": "800", "height": 800}]}
    ok = c.post(SUBMIT, data=encode(shaped, FORM), content_type=FORM)
    check("submit", ok)
    assert ok.get_json()["success"] is True
    check("submit", c.post(SUBMIT, data=b"\x00", content_type="text/plain"))
    wrong = c.open(SUBMIT, method="DELETE")
    check("submit", wrong)
    assert wrong.status_code == 405
