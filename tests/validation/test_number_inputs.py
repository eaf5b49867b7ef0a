"""Every place that turns outside text into a number reads one grammar (mockserver/parsing.py).

``int()`` takes "٣" (Arabic-Indic three) and "1_000", "²" passes ``str.isdigit()`` and then fails
``int()``, 5 000 digits pass the regex and then exceed Python's int-conversion limit, ``float()``
takes "nan" and "inf". Each entry point below is fed each such spelling: every one must be
refused with a message naming the entry point, never read as a number, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import QUERY, SCENES, SUBMIT, client, submit_item

from contracts.observation import code_of
from mockserver.faults import parse_fault_flag
from mockserver.latency import Latency
from mockserver.parsing import read_int, read_number
from mockserver.ratelimit import parse_rate
from mockserver.scenes import CatalogError, SceneCatalog
from mockserver.signing import signed_query
from mockserver.testing.pytest_plugin import _number

NOT_NUMBERS = ["\u00b2", "\u0663", "\u0661\u0660", "1_000", "9" * 5000, "nan", "inf", "-inf", "0x10", "\uff15", ""]


def _refused_700(answer: dict) -> str:
    assert answer.get("resCode") == 700 and answer.get("success") is False, answer
    return answer["resMessage"]


def admin_limit(text: str) -> str:
    response = client().get("/__admin/requests", query_string={"limit": text})
    assert response.status_code == 400
    return _refused_700(response.get_json())


def prefer_delay(text: str) -> str:
    return _refused_700(client().post(SCENES, json={}, headers={"Prefer": f"delay={text}"}).get_json())


def prefer_code(text: str) -> str:
    return _refused_700(client().post(SCENES, json={}, headers={"Prefer": f"code={text}"}).get_json())


def signed_timestamp(text: str) -> str:
    c = client(app_keys={"num-key": "num-secret-1"})
    query = {**signed_query("num-key", "num-secret-1"), "timestamp": text, "taskId": "x"}
    answer = c.get("/rest" + QUERY, query_string=query).get_json()
    assert answer["code"] == "InvalidTimestamp", answer
    return "timestamp " + answer["message"]


def json_string_field(text: str) -> str:
    """The lenient mode reads "5" as 5 for an integer field; nothing else."""
    return _refused_700(client().post(SCENES, json={"count": text}).get_json())


def form_field(text: str) -> str:
    form = {"requestParams": json.dumps([{**submit_item(), "width": text}])}
    return _refused_700(client().post(SUBMIT, data=form).get_json())


def fault_flag(text: str) -> str:
    with pytest.raises(ValueError) as caught:
        parse_fault_flag(text)
    return str(caught.value)


def fault_flag_probability(text: str) -> str:
    with pytest.raises(ValueError) as caught:
        parse_fault_flag(f"501:{text}")
    return str(caught.value)


def latency(text: str) -> str:
    with pytest.raises(ValueError) as caught:
        Latency.parse(f"{text}ms")
    return "latency " + str(caught.value)


def rate(text: str) -> str:
    with pytest.raises(ValueError) as caught:
        parse_rate(f"{text}/s")
    return str(caught.value)


def catalog_id(text: str, tmp_path: Path) -> str:
    path = tmp_path / "catalog.json"
    shipped = json.loads(Path("fixtures/scenes.json").read_text(encoding="utf-8"))
    path.write_text(json.dumps({**shipped, "sceneTypes": {text: "Indoor"}}), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        SceneCatalog.load(path)
    return str(caught.value)


def plugin_option(text: str) -> str:
    with pytest.raises(pytest.UsageError) as caught:
        _number(text, "ini bgmock_seed", int)
    return str(caught.value)


ENTRY_POINTS: dict[str, tuple[Callable[..., str], str]] = {
    "admin limit=": (admin_limit, "limit"),
    "Prefer delay=": (prefer_delay, "Prefer: delay"),
    "Prefer code=": (prefer_code, "Prefer: code"),
    "signed timestamp": (signed_timestamp, "timestamp"),
    "JSON string for an integer": (json_string_field, "count"),
    "form field": (form_field, "width"),
    "--fault CODE": (fault_flag, "--fault"),
    "--fault CODE:P": (fault_flag_probability, "probability"),
    "latency": (latency, "latency"),
    "rate": (rate, "rate"),
    "catalog id": (catalog_id, "sceneTypes"),
    "plugin option": (plugin_option, "bgmock_seed"),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("text", NOT_NUMBERS, ids=lambda t: repr(t)[:12])
def test_no_entry_point_reads_a_non_ascii_or_unbounded_number(entry: str, text: str, tmp_path: Path) -> None:
    read, named = ENTRY_POINTS[entry]
    if read in (catalog_id, signed_timestamp) and not text:
        pytest.skip("an empty key or timestamp is another error (a missing parameter)")
    message = read(text, tmp_path) if read is catalog_id else read(text)
    assert named in message, message
    assert len(message) < 1000, "the value is not echoed back whole"


@pytest.mark.parametrize("text", NOT_NUMBERS, ids=lambda t: repr(t)[:12])
def test_the_kit_leaves_a_code_it_cannot_read_as_it_is(text: str) -> None:
    """The contract kit reads codes a client reports: a non-number stays as reported, no crash."""
    assert code_of(text) == text


@pytest.mark.parametrize(
    ("text", "signed", "padded", "expected"),
    [
        ("800", False, False, 800), ("0", False, False, 0), ("-5", True, False, -5), ("+5", True, False, 5),
        ("+5", False, False, None), (" 5 ", False, False, None), (" 5\t", False, True, 5), ("\x0b5", False, True, None),
        ("9" * 32, False, False, int("9" * 32)), ("9" * 33, False, False, None), ("-" + "9" * 33, True, False, None),
    ],
)
def test_read_int_grammar(text: str, signed: bool, padded: bool, expected: int | None) -> None:
    assert read_int(text, signed=signed, padded=padded) == expected


@pytest.mark.parametrize(
    ("text", "signed", "expected"),
    [("1.5", False, 1.5), ("-2", True, -2.0), ("+2", True, 2.0), ("-2", False, None), ("+2", False, None),
     (".5", False, 0.5), ("nan", False, None), ("1_0", False, None), ("\u0663", False, None), ("1" * 40, False, None),
     # no exponent, as no flag, latency or rate spelling takes one (README, Numbers): 1e3 was read by
     # --task-duration, --burst and --fault's probability, refused by --polls-to-finish and --latency
     ("1e3", False, None), ("1E3", False, None), ("1e-1", False, None), ("1e999", False, None), ("-1e3", True, None),
     ("2.", False, None), (".", False, None)],
)
def test_read_number_grammar(text: str, signed: bool, expected: float | None) -> None:
    assert read_number(text, signed=signed) == expected


# -- JSON's whitespace ---------------------------------------------------------------------------


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(("body", "empty"), [
    (b"", True), (b" \t\r\n", True), (b"\x0b", False), (b"\x0c", False), (b" \x0b\x0c ", False), (b"\xc2\xa0", False),
])
def test_only_jsons_four_whitespace_characters_make_an_empty_body(strict: bool, body: bytes, empty: bool) -> None:
    """An empty scene query lists scenes; \\x0b and \\x0c (bytes.isspace() says yes) are not JSON."""
    answer = client(strict=strict).post(SCENES, data=body, content_type="application/json").get_json()
    if empty:
        assert answer["resCode"] == 200, answer
    else:
        assert answer["resCode"] == 700 and "body: not valid JSON" in answer["resMessage"], answer


def test_an_admin_body_of_vertical_tab_is_not_empty() -> None:
    response = client().post("/__admin/clock", data=b"\x0b", content_type="application/json")
    assert response.status_code == 400 and "body: not valid JSON" in response.get_json()["resMessage"]


def test_a_rule_matching_a_whole_float_fires_on_the_integer() -> None:
    """``match: {"width": 800.0}`` is the 800 an item carries (it compared as "800.0" before)."""
    c = client()
    assert c.post("/__admin/faults", json={"resCode": 1001, "match": {"width": 800.0}}).status_code == 201
    assert c.post(SUBMIT, json={"requestParams": [submit_item()]}).get_json()["resCode"] == 1001
