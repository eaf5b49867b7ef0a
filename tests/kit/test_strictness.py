"""The kit judges by the strict reading: a client that leans on one of the fake's deliberate
leniencies is reported under the obligation that names it, though the fake answered 200; a
client written like the vendor's samples (numbers as strings, ``requestParams`` as a JSON
string) is not. The decisions are the table in docs/contracts.md ("The strict reading")."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from contract_clients import BOUNDS, factory

from contracts import run
from contracts.reference_client import BackgroundClient
from contracts.strategies import ImageSpec, Request
from contracts.strictness import request_leniencies, signing_leniencies
from mockserver.spec import load_spec

FAST: dict[str, Any] = {
    "examples": 10,
    "derandomize": True,
    **BOUNDS,
    "shrink_budget_s": 2.0,
    "max_attempts": 4,
}
ITEM_SCHEMA = load_spec().schema("submit-request-item.json")


class DataUrl(BackgroundClient):
    """Sends the image as a data URL, as a browser's FileReader gives it."""

    def submit(self, items: list[dict[str, Any]]) -> str:
        return super().submit(
            [{**i, "imgBase64": "data:image/png;base64," + i["imgBase64"]} if "imgBase64" in i else i for i in items]
        )


class Unpadded(BackgroundClient):
    """Strips base64's "=" padding (a URL-safe habit)."""

    def submit(self, items: list[dict[str, Any]]) -> str:
        return super().submit(
            [{**i, "imgBase64": i["imgBase64"].rstrip("=")} if "imgBase64" in i else i for i in items]
        )


class VendorStyle(BackgroundClient):
    """Every value as a string, as the vendor's Java sample sends them ("800", "true")."""

    def submit(self, items: list[dict[str, Any]]) -> str:
        spelled = [{k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in i.items()} for i in items]
        return super().submit(spelled)


class LowerCaseSign(BackgroundClient):
    def _signed(self) -> dict[str, str]:
        signed = super()._signed()
        return {**signed, "sign": signed["sign"].lower()}


class _UntypedSession(requests.Session):
    """Posts the JSON as bytes: requests then sends no Content-Type."""

    def post(self, url: Any, json: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().post(url, data=_dumps(json).encode(), **kwargs)


class _ExtraFieldSession(requests.Session):
    def post(self, url: Any, json: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().post(url, json={**json, "clientVersion": "1.2"}, **kwargs)


def _dumps(value: Any) -> str:
    return json.dumps(value)


CASES = {
    # client -> (obligations checked, {obligation: the failure title it must show})
    "data-url": (factory(DataUrl), "C1,C2,C4", {"C1": "strict reading: imgBase64 with a data: prefix"}),
    "unpadded": (factory(Unpadded), "C1,C2,C4", {"C1": "strict reading: imgBase64 without padding"}),
    "lower-case-sign": (factory(LowerCaseSign), "C1,C3,C4", {"C3": "strict reading: sign in lower-case hex"}),
    "no-content-type": (
        factory(BackgroundClient, session=_UntypedSession()),
        "C1,C4",
        {"C1": "strict reading: no Content-Type"},
    ),
    "extra-top-level-field": (
        factory(BackgroundClient, session=_ExtraFieldSession()),
        "C1,C4",
        {"C1": "strict reading: unknown top-level field"},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_client_leaning_on_a_leniency_is_caught_under_its_obligation(name: str) -> None:
    make, only, expected = CASES[name]
    result = run(make, only=only, **FAST)
    assert set(result.broken) == set(expected), result.text()
    for oid, title in expected.items():
        assert [f.title for f in result.verdict(oid).failures] == [title], result.text()
    assert result.verdict("C4").status == "kept"  # the fake did answer 200 with a task


def test_a_client_written_like_the_vendor_samples_keeps_the_strict_reading() -> None:
    result = run(factory(VendorStyle), only="C1,C2,C3,C4", **FAST)
    assert result.ok, result.text()


# -- what the journal shows, judged directly --------------------------------------------------------
def _entry(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "method": "POST",
        "path": "/rest/ai/image/background/generation/scenario",
        "endpoint": "submit_rest",
        "contentType": "application/json",
        "bodyBytes": 100,
        "body": {"requestParams": "[]"},
        "params": [],
    }
    return {**entry, **overrides}


@pytest.mark.parametrize(
    ("value", "key", "loose"),
    [
        ("800", "width", False),
        (800, "width", False),
        ("true", "needLayout", False),
        ("+800", "width", True),
        (" 800", "width", True),
        ("True", "needLayout", True),
        ("TRUE", "needLayout", True),
    ],
)
def test_number_and_boolean_spellings(value: Any, key: str, loose: bool) -> None:
    item = {"imageFileUrl": "https://x.test/a.jpg", "modelNum": "m", "width": "800", "height": "800", key: value}
    for body in ({"requestParams": json.dumps([item])}, {"requestParams": [item]}):
        titles = [t for t, _ in request_leniencies(_entry(body=body), None, ITEM_SCHEMA)]
        assert titles == (["strict reading: loosely spelled number or boolean"] if loose else [])


def test_line_broken_base64_is_named_as_such() -> None:
    image = ImageSpec("PNG", 600, 600)
    standard = image.b64
    broken = "\n".join(standard[i : i + 76] for i in range(0, len(standard), 76))
    entry = _entry(params=[{"imgBase64": f"<{len(broken)} chars>"}], images=[{"crc32": image.crc32}])
    request = Request((("imgBase64", image), ("modelNum", "m"), ("width", 800), ("height", 800)))
    assert [t for t, _ in request_leniencies(entry, request, ITEM_SCHEMA)] == [
        "strict reading: imgBase64 with line breaks"
    ]
    plain = _entry(params=[{"imgBase64": f"<{len(standard)} chars>"}], images=[{"crc32": image.crc32}])
    assert request_leniencies(plain, request, ITEM_SCHEMA) == []


@pytest.mark.parametrize(
    ("content_type", "body", "title"),
    [
        ("application/vnd.api+json", {"requestParams": "[]"}, "strict reading: Content-Type"),
        ("application/x-www-form-urlencoded", {"requestParams": []}, "strict reading: JSON sent as a form"),
    ],
)
def test_content_types_the_fake_guesses(content_type: str, body: dict[str, Any], title: str) -> None:
    entry = _entry(contentType=content_type, body=body)
    assert [t for t, _ in request_leniencies(entry, None, ITEM_SCHEMA)] == [title]


def test_the_samples_own_habits_are_not_leniencies() -> None:
    form = _entry(contentType="application/x-www-form-urlencoded", body={"requestParams": "[]", "app_key": "k"})
    query = _entry(path="/rest/ai/image/background/generation/query", endpoint="query_rest", bodyBytes=0, body=None)
    upper = _entry(signing={"sign": "ABCDEF0123"})
    assert request_leniencies(form, None, ITEM_SCHEMA) == []
    assert request_leniencies(query, None, ITEM_SCHEMA) == []
    assert signing_leniencies(upper) == []
