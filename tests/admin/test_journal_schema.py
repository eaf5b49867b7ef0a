"""The journal is a documented API: every entry the fake writes validates against
``schemas/journal-entry.json``, and the code writes no field the schema does not declare."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import pytest
from helpers import QUERY, SCENES, SUBMIT, b64, make_image, submit_item
from jsonschema import Draft202012Validator

from mockserver import journal
from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.errors import GatewayError
from mockserver.http import Incoming
from mockserver.signing import signed_query
from mockserver.spec import load_spec

SPEC = load_spec()
SCHEMA = SPEC.schema("journal-entry.json")
ENTRY = SPEC.validator("journal-entry.json")
JSON = {"Content-Type": "application/json"}


def fake(**settings: Any) -> Dispatcher:
    config = {"log_requests": False, "clock": "manual", "task_duration": 0, **settings}
    return Dispatcher(Backend(Config.from_mapping(config)))


def send(d: Dispatcher, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    headers = {**(JSON if body is not None else {}), **kw.pop("headers", {})}
    return d.handle(Incoming.build(method, path, headers=headers, body=raw, **kw))


def entries_of_every_kind() -> Iterator[tuple[str, dict[str, Any]]]:
    """Real entries: one per kind of request the journal records differently."""
    d = fake(admin_token="admin-t0ken-xyz")
    ok = send(d, "POST", SUBMIT, {"requestParams": [submit_item()]})
    task_id = json.loads(ok.body)["data"]["result"]["taskId"]
    send(d, "POST", SUBMIT, {"requestParams": [submit_item(width=1)]})  # 700 with problems
    send(d, "POST", SUBMIT, {"requestParams": [submit_item(modelNum="no-such-scene")]})
    send(d, "POST", SUBMIT, b"{not json")
    long_text = "x" * 300
    send(d, "POST", SUBMIT, {"requestParams": [submit_item(), {"k": long_text}], **{f"f{i}": i for i in range(40)}})
    send(d, "POST", SUBMIT, {"requestParams": [submit_item(imageUrl="http://127.0.0.1:1/a.png", imgBase64=None)]})
    send(d, "GET", QUERY, query={"taskId": task_id})
    send(d, "POST", QUERY, {"taskId": "nope"})
    send(d, "POST", SCENES, {"count": 2})
    for rule in (
        {"endpoint": "submit", "resCode": 501, "times": 1},
        {"endpoint": "submit", "transport": "reset", "times": 1},
        {"endpoint": "submit", "transport": "truncated", "times": 1},
        {"endpoint": "query", "shape": "string-rescode", "times": 1},
        {"endpoint": "submit", "resCode": 700, "delayMs": 5, "times": 1},
    ):
        added = send(d, "POST", "/__admin/faults", rule, headers={"X-Bgmock-Admin-Token": "admin-t0ken-xyz"})
        assert added.status < 300, added.body
        send(d, "POST", SUBMIT if rule["endpoint"] == "submit" else QUERY,
             {"requestParams": [submit_item()]} if rule["endpoint"] == "submit" else {"taskId": task_id})
    send(d, "POST", SUBMIT, {"requestParams": [submit_item()]}, headers={"Prefer": "code=700"})
    send(d, "GET", "/no/such/path")
    send(d, "DELETE", SUBMIT)
    send(d, "POST", "/__admin/faults", {"resCode": 501}, headers={"Origin": "http://evil.example"})  # guard
    send(d, "GET", "/__admin/requests", headers={"Host": "rebound.example:1234"})  # guard: Host
    send(d, "GET", SUBMIT, query={"app_secret": "admin-t0ken-xyz"}, headers={"Authorization": "Bearer x"})
    d.refuse(Incoming.build("GET", "http://elsewhere.example/"), GatewayError("ProxyRefused", "no", status=403))
    yield from (("plain", e) for e in d.backend.journal())

    s = fake(app_keys={"k": "s3cret-key"}, rate_limits=[{"rate": "1/h", "burst": 1}])
    body = json.dumps({"requestParams": [submit_item()]}).encode()
    good = signed_query("k", "s3cret-key")
    for query in (good, dict(good, sign="0" * 64), {}, good):  # accepted, refused, unsigned, rate-limited
        send(s, "POST", f"/rest{SUBMIT}", body, query=query)
    yield from (("signed", e) for e in s.backend.journal())


ENTRIES = list(entries_of_every_kind())


def test_the_schema_is_valid_draft_2020_12_and_versioned() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["x-schemaVersion"] == journal.SCHEMA_VERSION
    admin = SPEC.schema("admin.json")["$defs"]["journal"]
    assert admin["properties"]["requests"]["items"] == {"$ref": "journal-entry.json"}
    assert admin["properties"]["schemaVersion"]["const"] == journal.SCHEMA_VERSION


def test_the_entries_cover_every_kind_of_request() -> None:
    """The sample is worth validating: each way an entry can differ is in it."""
    seen = [e for _, e in ENTRIES]
    assert {e["gateway"] for e in seen} >= {
        None, "ForbiddenOrigin", "ForbiddenHost", "ProxyRefused", "IncompleteSignature", "MissingParameter"
    }
    assert {e["transport"] for e in seen} >= {None, "reset", "truncated"}
    assert {e["resCode"] for e in seen} >= {200, 700, 501}
    assert any(e["images"] and e["images"][0]["crc32"] for e in seen)
    assert any(e["injected"] and e["injected"]["shape"] for e in seen)
    assert any(e["taskStatus"] for e in seen) and any(e["rateLimit"] for e in seen)
    assert any(e["signing"] and e["signature"] == "v2" for e in seen)
    assert any("<300 chars>" in json.dumps(e["body"]) for e in seen)  # the abbreviation rule at work


@pytest.mark.parametrize(("kind", "entry"), ENTRIES, ids=[f"{k}-{e['id']}" for k, e in ENTRIES])
def test_every_real_entry_validates_against_the_schema(kind: str, entry: dict[str, Any]) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in ENTRY.iter_errors(entry)]
    assert not errors, errors


def _undeclared(value: Any, schema: dict[str, Any], where: str) -> Iterator[str]:
    """Keys of ``value`` that ``schema`` (an object schema of journal-entry.json) does not declare."""
    defs = SCHEMA["$defs"]
    for key, item in value.items():
        declared = schema.get("properties", {})
        if key not in declared:
            yield f"{where}{key}"
            continue
        sub = declared[key]
        options = [*sub.get("anyOf", [sub]), sub.get("items", {})]
        ref = next((s["$ref"] for s in options if s.get("$ref", "").startswith("#/")), None)
        if ref is None or ref == "#/$defs/textMap":
            continue
        target = defs[ref.rsplit("/", 1)[1]]
        for element in item if isinstance(item, list) else [item]:
            if isinstance(element, dict) and "properties" in target:
                yield from _undeclared(element, target, f"{where}{key}.")


def test_the_code_writes_no_field_the_schema_does_not_declare() -> None:
    undeclared = {key for _, entry in ENTRIES for key in _undeclared(entry, SCHEMA, "")}
    assert not undeclared, f"written but not in schemas/journal-entry.json: {sorted(undeclared)}"


def test_every_declared_field_is_written_and_the_typed_record_matches_the_schema() -> None:
    """Both ways: the dataclass and its TypedDicts name exactly the schema's fields."""
    for _, entry in ENTRIES:
        assert list(entry) == list(SCHEMA["properties"])  # (order too: the Redis journal puts id first)
    assert len(fields(journal.JournalEntry)) == len(SCHEMA["properties"])
    defs = SCHEMA["$defs"]
    assert set(journal.ImageNote.__annotations__) == set(defs["image"]["properties"])
    assert set(journal.InjectedNote.__annotations__) == set(defs["injected"]["properties"])
    assert set(journal.SIGNING_KEYS) == set(defs["signing"]["properties"])


def test_the_schema_states_the_abbreviation_rule_the_code_applies() -> None:
    rule = SCHEMA["x-abbreviation"]
    stated = [rule[k] for k in ("maxStringLength", "maxPathLength", "maxKeyLength", "maxItems", "maxDepth")]
    assert stated == [journal.TEXT_LIMIT, journal.PATH_LIMIT, journal.KEY_LIMIT, journal.MAX_ITEMS, journal.MAX_DEPTH]
    limit = rule["maxStringLength"]
    assert journal.summarize("y" * limit) == "y" * limit
    shortened = journal.summarize("y" * (limit + 1))
    assert shortened == rule["stringMarker"].format(length=limit + 1)
    assert re.fullmatch(rule["stringMarkerPattern"], shortened).group(1) == str(limit + 1)


def test_an_entry_that_breaks_the_schema_does_not_validate() -> None:
    """The validation above can fail: a wrong type or a missing field is caught."""
    _, entry = ENTRIES[0]
    assert not ENTRY.is_valid({**entry, "t": "soon"})
    assert not ENTRY.is_valid({k: v for k, v in entry.items() if k != "params"})
    assert not ENTRY.is_valid({**entry, "images": [{"item": 0, "source": "imgBase64", "crc32": "XYZ"}]})


def test_secrets_stay_out_of_the_entries() -> None:
    text = json.dumps([e for _, e in ENTRIES])
    assert "admin-t0ken-xyz" not in text and "s3cret-key" not in text and "Bearer x" not in text


def test_big_images_are_recorded_by_digest_not_by_content() -> None:
    d = fake()
    image = make_image("PNG", 600, 600)
    send(d, "POST", SUBMIT, {"requestParams": [submit_item(imgBase64=b64(image))]})
    (entry,) = d.backend.journal()
    assert ENTRY.is_valid(entry)
    assert entry["params"][0]["imgBase64"] == f"<{len(b64(image))} chars>"


@pytest.mark.parametrize(
    ("body", "settings", "expected"),
    [(b"{not json", {}, "body"), (b"{}" + b" " * 2000, {"max_body_bytes": 1024}, "larger than")],
    ids=["unreadable", "too-large"],
)
def test_a_body_refused_before_validation_is_journaled_with_its_problem(
    body: bytes, settings: dict[str, Any], expected: str
) -> None:
    """Every 700 for the request's form says why in the journal (the kit's C1 reads ``problems``)."""
    d = fake(**settings)
    answer = json.loads(send(d, "POST", SUBMIT, body).body)
    (entry,) = d.backend.journal()
    assert answer["resCode"] == 700 and entry["resCode"] == 700
    assert entry["problems"] and expected in entry["problems"][0], entry["problems"]


def test_the_openapi_document_describes_the_journal_by_the_schema() -> None:
    from mockserver.openapi import COMPONENTS, build_document

    doc = build_document()
    assert "journal-entry" in doc["components"]["schemas"]
    journal_def = doc["components"]["schemas"]["admin"]["$defs"]["journal"]
    assert journal_def["properties"]["requests"]["items"] == {"$ref": COMPONENTS + "journal-entry"}
