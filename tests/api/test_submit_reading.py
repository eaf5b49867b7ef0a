"""How a submit is read and journaled, pinned where the hot path re-implements a library call.

``requestParams`` is read once per request and shared by fault rules and validation; task IDs
are formatted without ``uuid.UUID``; the journal's timestamp without ``datetime``; JSON-string
bodies are decoded with one shared decoder. Each test states what a client sees, so a faster
path that changed any of it would fail here.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from helpers import MISSING, SUBMIT, client, problems, submit, submit_item

from mockserver.ids import Ids
from mockserver.validation import coerce

URL_ITEM = {"imgBase64": MISSING, "imageFileUrl": "https://x.example/a.png"}


@pytest.mark.parametrize("seed", [0, 1, 7, 2**40 + 3])
def test_a_seed_replays_the_task_ids_the_uuid_module_makes_from_its_draws(seed: int) -> None:
    """A recorded run replays with the same seed: IDs must stay the stdlib's v4 UUIDs of the draws."""
    draws = random.Random(seed)
    ids = Ids(seed)
    for _ in range(50):
        assert ids.task_id() == str(uuid.UUID(int=draws.getrandbits(128), version=4))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("800", 800), (" 800 ", 800), ("+800", 800), ("-1", -1), ("\t800\r\n", 800), (800.0, 800),
        # not ASCII decimal: left a string for the schema to refuse by name
        ("٨٠٠", "٨٠٠"), ("\u3000800", "\u3000800"), ("\x0b800", "\x0b800"),
        ("²", "²"), ("8_00", "8_00"), ("0x10", "0x10"), ("", ""), ("9" * 33, "9" * 33), ("800.0", "800.0"),
    ],
)
def test_integer_spellings_read_as_before(value: str, expected: Any) -> None:
    """Lenient mode reads ASCII decimal spellings (JSON whitespace around them allowed), and a
    whole-number float as the integer it is; anything else stays as sent for the schema to
    refuse by name (Arabic-Indic digits were read as digits until issue 15)."""
    schema = {"properties": {"width": {"type": "integer"}}}
    assert coerce({"width": value}, schema) == {"width": expected}


def test_coerce_returns_a_copy() -> None:
    item = {"width": "800", "modelNum": "mod001"}
    out = coerce(item, {"properties": {"width": {"type": "integer"}}})
    assert out == {"width": 800, "modelNum": "mod001"}
    assert item == {"width": "800", "modelNum": "mod001"}


def test_a_rule_matches_a_string_request_params_that_then_fails_validation() -> None:
    """Rules match on the coerced items and win over validation, also when requestParams is the
    samples' JSON string and another field is invalid (one reading serves both)."""
    c = client()
    c.post("/__admin/faults", json={"resCode": 1000, "times": 1, "match": {"width": 800}})
    broken = submit_item(**URL_ITEM, width="800", height="tall")
    assert submit(c, broken, as_string=True)["resCode"] == 1000
    answer = submit(c, broken, as_string=True)  # the rule is used up: validation speaks
    assert answer["resCode"] == 700
    assert [p for p in problems(answer) if p.startswith("requestParams[0].height:")]
    entry = c.get("/__admin/requests").get_json()["requests"][0]
    assert entry["params"][0]["width"] == 800  # the journal shows the items as rules saw them


def test_a_request_params_string_with_a_byte_order_mark_is_refused() -> None:
    """As ``json.loads`` refuses a str starting with U+FEFF; a BOM before the whole body is
    the body's encoding and is accepted."""
    c = client()
    text = json.dumps([submit_item(**URL_ITEM)])
    answer = c.post(SUBMIT, json={"requestParams": "\ufeff" + text}).get_json()
    assert answer["resCode"] == 700
    assert problems(answer) == ["requestParams: string is not a valid JSON array"]
    body = b"\xef\xbb\xbf" + json.dumps({"requestParams": text}).encode()
    answer = c.post(SUBMIT, data=body, headers={"Content-Type": "application/json"}).get_json()
    assert answer["resCode"] == 200, answer


def test_the_journal_time_is_utc_iso_8601_with_milliseconds() -> None:
    c = client()
    before = datetime.now(timezone.utc).replace(microsecond=0)
    submit(c, submit_item(**URL_ITEM))
    after = datetime.now(timezone.utc)
    stamp = c.get("/__admin/requests").get_json()["requests"][0]["time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", stamp), stamp
    assert before <= datetime.fromisoformat(stamp) <= after


def test_the_journal_keeps_a_copy_of_short_fields_and_shortens_long_ones() -> None:
    c = client()
    item = submit_item(**URL_ITEM, productTitle="mug")
    submit(c, item, extra={"note": "n" * 300})
    entry = c.get("/__admin/requests").get_json()["requests"][0]
    assert entry["params"][0] == item
    assert entry["body"]["note"] == "<300 chars>"
