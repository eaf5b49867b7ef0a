"""The reference's own Java sample, sent as the IOP SDK sends it, against the fake.

The sample carries a placeholder where the image belongs (图片base64格式, "image base64
format") next to a perfectly good URL. Base64 wins when both are given, so the fake must refuse
the sample naming imgBase64, and accept it once a real image's base64 takes the placeholder's
place. A client copied from the docs therefore fails offline exactly as it would in production.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from helpers import SUBMIT, b64, client, make_image, problems, tasks

from mockserver import running
from mockserver.spec import load_spec

SPEC = load_spec()
EXAMPLES = json.loads(SPEC.fixture("reference_examples.json").read_text(encoding="utf-8"))
SAMPLE = EXAMPLES["submit_request_java_sample"]
PLACEHOLDER = "图片base64格式"
FORM = "application/x-www-form-urlencoded"
KEY, SECRET = "sample-key", "sample-secret"


def java_sample_request_params() -> str:
    """requestParams exactly as the reference's Java code spells it (Java escapes == JSON's)."""
    text = SPEC.fixture("reference/submit-api-reference.md").read_text(encoding="utf-8")
    literal = re.search(r'addApiParameter\("requestParams", "((?:[^"\\]|\\.)*)"\)', text)
    assert literal, "the Java sample is missing from the reference"
    return json.loads(f'"{literal.group(1)}"')


def iop_form(request_params: str, *, secret: str | None = None, api_name: str = SAMPLE["apiName"]) -> str:
    """The IOP SDK's form body: API parameters plus system parameters, signed when ``secret``.

    The signature is computed here, independently of mockserver.signing:
    HEX(HMAC-SHA256(secret, apiName + k1v1k2v2... sorted by key)).
    """
    params = {
        "requestParams": request_params,
        "app_key": KEY,
        "sign_method": "sha256",
        "timestamp": str(int(time.time() * 1000)),
        "partner_id": "iop-sdk-java",
    }
    if secret is not None:
        message = api_name + "".join(k + params[k] for k in sorted(params))
        params["sign"] = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()
    return urlencode(params)


def with_real_image(request_params: str) -> str:
    items = json.loads(request_params)
    items[0]["imgBase64"] = b64(make_image("JPEG", 800, 800))
    return json.dumps(items, ensure_ascii=False)


def test_the_fixture_is_the_references_own_sample() -> None:
    assert SAMPLE["requestParams"] == java_sample_request_params()
    item = json.loads(SAMPLE["requestParams"])[0]
    assert item["imgBase64"] == PLACEHOLDER
    assert item["imageFileUrl"].startswith("https://")


def test_the_java_sample_is_refused_naming_img_base64() -> None:
    c = client()
    response = c.post("/rest" + SUBMIT, data=iop_form(SAMPLE["requestParams"]), content_type=FORM)
    assert response.status_code == 200 and response.mimetype == "application/json"
    answer = response.get_json()
    SPEC.validator("error-response.json").validate(answer)
    assert answer["resCode"] == 700
    assert answer["resMessage"].startswith("invalid input: ")
    assert [p.split(":")[0] for p in problems(answer)] == ["requestParams[0].imgBase64"]
    assert "base64" in problems(answer)[0]
    assert tasks(c) == []


@pytest.mark.parametrize("path", [SUBMIT, "/rest" + SUBMIT])
def test_the_java_sample_with_a_real_image_is_accepted(path: str) -> None:
    c = client()
    response = c.post(path, data=iop_form(with_real_image(SAMPLE["requestParams"])), content_type=FORM)
    answer = response.get_json()
    SPEC.validator("submit-response.json").validate(answer)
    (task,) = tasks(c)
    assert task["taskId"] == answer["data"]["result"]["taskId"]
    assert task["sources"] == ["imgBase64"]
    item = task["items"][0]
    assert (item["modelNum"], item["width"], item["height"], item["imageNum"]) == ("mod001", 800, 800, 2)
    assert item["needLayout"] is True and item["productTitle"] == "hello"


def test_the_java_sample_is_refused_in_strict_for_its_string_values() -> None:
    """strict reads the reference's types literally: the sample's "800" and "true" are strings."""
    answer = client(strict=True).post(
        SUBMIT, data=iop_form(with_real_image(SAMPLE["requestParams"])), content_type=FORM
    ).get_json()
    named = {p.split(":")[0] for p in problems(answer)}
    assert {"requestParams[0].width", "requestParams[0].height", "requestParams[0].imageNum",
            "requestParams[0].needLayout"} <= named


def test_the_success_answer_has_exactly_the_reference_samples_shape() -> None:
    sample = EXAMPLES["submit_response_sample"]
    c = client()
    answer = c.post(SUBMIT, data=iop_form(with_real_image(SAMPLE["requestParams"])), content_type=FORM).get_json()
    assert sorted(answer) == sorted(sample)
    assert sorted(answer["data"]) == sorted(sample["data"]) and sorted(answer["data"]["result"]) == ["taskId"]
    assert {k: type(v) for k, v in answer.items()} == {k: type(v) for k, v in sample.items()}
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(uuid, answer["data"]["result"]["taskId"])
    SPEC.validator("submit-response.json").validate(sample)


def test_the_java_sample_signed_by_the_iop_scheme_over_a_socket() -> None:
    """With a key configured, the SDK's signed form call passes the gateway and meets the same rules."""
    with running(app_keys={KEY: SECRET}, task_duration=0) as fake:
        url = fake.url + "/rest" + SAMPLE["apiName"]
        headers = {"Content-Type": FORM + ";charset=UTF-8"}
        placeholder = requests.post(
            url, data=iop_form(SAMPLE["requestParams"], secret=SECRET), headers=headers, timeout=10
        )
        real = requests.post(url, data=iop_form(with_real_image(SAMPLE["requestParams"]), secret=SECRET),
                             headers=headers, timeout=10)
        unsigned = requests.post(url, data=iop_form(SAMPLE["requestParams"]), headers=headers, timeout=10)
    first: dict[str, Any] = placeholder.json()
    assert first["resCode"] == 700 and problems(first)[0].startswith("requestParams[0].imgBase64:")
    SPEC.validator("submit-response.json").validate(real.json())
    gateway = unsigned.json()
    SPEC.validator("gateway-error.json").validate(gateway)
    assert gateway["code"] == "MissingParameter"
