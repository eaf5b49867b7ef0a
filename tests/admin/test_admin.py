"""The admin API: the request journal, reset, health, and the admin token."""

from __future__ import annotations

import hmac
import json
import threading
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator

from mockserver.api import Backend
from mockserver.signing import signed_query
from tests.helpers import MISSING, QUERY, SCENES, SUBMIT, b64, client, make_image, submit, submit_item

ROOT = Path(__file__).resolve().parents[2]
GATEWAY_ERROR = Draft202012Validator(json.loads((ROOT / "schemas" / "gateway-error.json").read_text()))
ITEM = submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/p/mug.jpg")
TOKEN = "admin-token-123456"


def post(c, item: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    return c.post(SUBMIT, json={"requestParams": [item or ITEM]}, **kwargs).get_json()


def journal(c, **kwargs: Any) -> list[dict[str, Any]]:
    response = c.get("/__admin/requests", **kwargs)
    assert response.status_code == 200
    return response.get_json()["requests"]


# -- journal --------------------------------------------------------------------------------------

def test_journal_entries_carry_method_path_headers_params_and_res_code():
    c = client()
    post(c, submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/a.png", modelNum="mod001"),
         headers={"X-Client": "unit-test"})
    (entry,) = journal(c)
    assert entry["method"] == "POST" and entry["path"] == SUBMIT
    assert entry["headers"]["x-client"] == "unit-test"
    assert entry["headers"]["content-type"].startswith("application/json")
    assert entry["params"][0]["modelNum"] == "mod001" and entry["params"][0]["width"] == 800
    assert entry["resCode"] == 200 and entry["taskId"]


def test_journal_params_are_parsed_from_every_encoding():
    """requestParams as a JSON string and as a form field are journaled as parsed objects."""
    c = client()
    params = json.dumps([{**ITEM, "width": "800"}])
    c.post(SUBMIT, json={"requestParams": params})
    c.post(SUBMIT, data={"requestParams": params}, content_type="application/x-www-form-urlencoded")
    for entry in journal(c):
        assert entry["params"][0]["width"] == 800 and entry["resCode"] == 200


def test_journal_records_errors_with_their_res_code_and_problems():
    c = client()
    post(c, {**ITEM, "width": 801})
    (entry,) = journal(c)
    assert entry["resCode"] == 700
    assert any("width" in problem for problem in entry["problems"])


def test_journal_is_newest_first():
    c = client()
    post(c)
    c.post(SCENES, json={})
    c.get(f"{QUERY}?taskId=nope")
    assert [(e["method"], e["path"]) for e in journal(c)] == [("GET", QUERY), ("POST", SCENES), ("POST", SUBMIT)]


def test_journal_is_bounded_by_journal_size():
    c = client(journal_size=3)
    for width in (801, 802, 803, 804, 805):
        post(c, {**ITEM, "width": width})
    entries = journal(c)
    assert len(entries) == 3
    assert [e["params"][0]["width"] for e in entries] == [805, 804, 803]


def test_journal_limit_and_a_bad_limit():
    c = client()
    for _ in range(4):
        post(c)
    assert len(journal(c, query_string={"limit": 2})) == 2
    bad = c.get("/__admin/requests?limit=many").get_json()
    assert bad["resCode"] == 700 and "limit" in bad["resMessage"]


def test_journal_size_zero_keeps_nothing():
    c = client(journal_size=0)
    post(c)
    assert journal(c) == []


def test_journal_does_not_keep_whole_images():
    """A base64 image is summarized, so a journal of big requests stays small."""
    c = client()
    item = submit_item()
    post(c, item)
    (entry,) = journal(c)
    assert item["imgBase64"] not in json.dumps(entry)


def test_journal_records_arrival_time_and_the_image_digest() -> None:
    c = client()
    image = make_image("PNG", 600, 601)
    submit(c, submit_item(imgBase64=b64(image)))
    submit(c, submit_item(imgBase64="data:image/png;base64," + b64(image)))
    newer, older = c.get("/__admin/requests?limit=2").get_json()["requests"]
    assert newer["t"] > older["t"]
    for entry in (newer, older):
        (note,) = entry["images"]
        assert note["crc32"] == f"{zlib.crc32(image):08x}"
        assert (note["source"], note["format"], note["width"], note["height"]) == ("imgBase64", "PNG", 600, 601)


def test_journal_records_signing_parameters_and_the_gateway_verdict() -> None:
    c = client(app_keys={"k": "s3cret"})
    body = json.dumps({"requestParams": [submit_item()]})
    good = signed_query("k", "s3cret")
    bad = dict(good, sign="0" * 64)
    for query in (good, bad):
        c.post(f"/rest{SUBMIT}?{urlencode(query)}", data=body, content_type="application/json")
    newer, older = c.get("/__admin/requests?limit=2").get_json()["requests"]
    assert older["signing"]["sign"] == good["sign"] and older["gateway"] is None and older["signature"] == "v2"
    assert newer["signing"]["sign"] == "0" * 64 and newer["gateway"] == "IncompleteSignature"


def test_query_schema_problems_are_journaled() -> None:
    c = client()
    c.post("/ai/image/background/generation/query", json={"taskId": ""})
    entry = c.get("/__admin/requests?limit=1").get_json()["requests"][0]
    assert entry["resCode"] == 700 and any(p.startswith("taskId") for p in entry["problems"])


def test_the_journal_counts_the_requests_still_being_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    """A submit the fake is still answering is not in the journal yet, and ``pending`` says so:
    a reader that must see every request sent so far (the contract kit) reads until it is 0."""
    c = client()
    reader = c.application.test_client()
    entered, release = threading.Event(), threading.Event()
    original = Backend.submit

    def held(backend: Backend, *args: Any, **kwargs: Any) -> str:
        entered.set()
        release.wait(10)
        return original(backend, *args, **kwargs)

    monkeypatch.setattr(Backend, "submit", held)
    assert reader.get("/__admin/requests").get_json()["pending"] == 0  # the reader does not count itself
    worker = threading.Thread(target=post, args=(c,))
    worker.start()
    try:
        assert entered.wait(10)
        during = reader.get("/__admin/requests").get_json()
    finally:
        release.set()
        worker.join(10)
    assert during["pending"] == 1 and during["requests"] == []
    after = reader.get("/__admin/requests").get_json()
    assert after["pending"] == 0 and [e["path"] for e in after["requests"]] == [SUBMIT]


# -- reset ----------------------------------------------------------------------------------------

def test_reset_clears_journal_rules_and_tasks_and_reapplies_startup_rules():
    c = client(faults=[{"resCode": 501, "times": 1}], seed=3)
    assert post(c)["resCode"] == 501  # the start-up rule fires once
    first_task = post(c)["data"]["result"]["taskId"]
    c.post("/__admin/faults", json={"resCode": 1000})
    assert len(c.get("/__admin/faults").get_json()["faults"]) == 1  # start-up rule used up, one added
    assert journal(c)

    response = c.post("/__admin/reset")
    assert response.status_code == 200

    assert journal(c) == []
    assert c.get("/__admin/tasks").get_json()["tasks"] == []
    faults = c.get("/__admin/faults").get_json()["faults"]
    assert [(f["resCode"], f["times"], f["fired"]) for f in faults] == [(501, 1, 0)]
    assert post(c)["resCode"] == 501  # the start-up rule applies again
    assert post(c)["data"]["result"]["taskId"] == first_task  # and so does the seed
    assert [t["taskId"] for t in c.get("/__admin/tasks").get_json()["tasks"]] == [first_task]


def test_reset_gives_the_same_rule_ids_again():
    """After a reset a script that deletes ``rule-1`` deletes the same start-up rule."""
    c = client(faults=[{"resCode": 501}])
    before = [f["id"] for f in c.get("/__admin/faults").get_json()["faults"]]
    c.post("/__admin/faults", json={"resCode": 500})
    c.post("/__admin/reset")
    assert [f["id"] for f in c.get("/__admin/faults").get_json()["faults"]] == before


# -- health ---------------------------------------------------------------------------------------

def test_health():
    c = client(app_keys={"k": "s"}, strict=True)
    post(c)
    response = c.get("/__admin/health")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "ok" and body["signatures"] is True and body["strict"] is True
    assert body["journal"] == 1


def test_admin_calls_are_not_journaled():
    c = client()
    c.get("/__admin/health")
    c.get("/__admin/faults")
    assert journal(c) == []


# -- admin token ----------------------------------------------------------------------------------

ADMIN_CALLS = [
    ("GET", "/__admin/health"),
    ("GET", "/__admin/requests"),
    ("GET", "/__admin/faults"),
    ("POST", "/__admin/faults"),
    ("DELETE", "/__admin/faults"),
    ("GET", "/__admin/tasks"),
    ("GET", "/__admin/config"),
    ("POST", "/__admin/clock"),
    ("POST", "/__admin/reset"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
@pytest.mark.parametrize("given", [None, "wrong-token-xyz", TOKEN[:-1]])
def test_admin_token_required(method, path, given):
    c = client(admin_token=TOKEN, faults=[{"resCode": 501}])
    headers = {"X-Bgmock-Admin-Token": given} if given else {}
    response = c.open(path, method=method, json={"resCode": 500}, headers=headers)
    assert response.status_code == 401
    body = response.get_json()
    GATEWAY_ERROR.validate(body)
    assert body["code"] == "Unauthorized"
    assert TOKEN not in response.get_data(as_text=True)
    # nothing changed: the start-up rule is still there, untouched
    faults = c.get("/__admin/faults", headers={"X-Bgmock-Admin-Token": TOKEN}).get_json()["faults"]
    assert [f["resCode"] for f in faults] == [501]


def test_admin_token_accepted():
    c = client(admin_token=TOKEN)
    ok = {"X-Bgmock-Admin-Token": TOKEN}
    assert c.get("/__admin/health", headers=ok).get_json()["status"] == "ok"
    assert c.post("/__admin/faults", json={"resCode": 500, "times": 1}, headers=ok).status_code == 201
    config = c.get("/__admin/config", headers=ok).get_json()
    assert config["admin_token"] == "***"


def test_admin_token_does_not_guard_the_api_and_is_not_journaled():
    c = client(admin_token=TOKEN)
    assert post(c, headers={"X-Bgmock-Admin-Token": TOKEN})["resCode"] == 200
    entries = journal(c, headers={"X-Bgmock-Admin-Token": TOKEN})
    assert TOKEN not in json.dumps(entries)


# -- the admin token as SECURITY.md promises it: every call refused, compared in constant time --

ADMIN_TOKEN = "admin-token-never-shown-1"
APP_KEY, APP_SECRET = "sec-key", "app-secret-never-shown-2"
ADMIN = "X-Bgmock-Admin-Token"


@pytest.mark.parametrize("sent", [None, "", "wrong-token-xxxx", ADMIN_TOKEN + "x", ADMIN_TOKEN[:-1]])
def test_admin_api_refuses_a_missing_or_wrong_token(sent: str | None) -> None:
    c = client(admin_token=ADMIN_TOKEN)
    headers = {} if sent is None else {ADMIN: sent}
    for method, path in [("GET", "/__admin/requests"), ("POST", "/__admin/faults"), ("POST", "/__admin/reset"),
                         ("GET", "/__admin/config"), ("DELETE", "/__admin/faults")]:
        response = c.open(path, method=method, headers=headers, json={"resCode": 501})
        assert response.status_code == 401, (method, path)
        assert response.get_json()["code"] == "Unauthorized"
    assert c.get("/__admin/faults", headers={ADMIN: ADMIN_TOKEN}).get_json() == {"faults": []}


def test_admin_api_accepts_the_token_and_the_vendor_api_does_not_need_it() -> None:
    c = client(admin_token=ADMIN_TOKEN)
    assert c.get("/__admin/health", headers={ADMIN: ADMIN_TOKEN}).status_code == 200
    assert submit(c, submit_item())["resCode"] == 200


def test_tokens_and_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every secret comparison goes through hmac.compare_digest (no early exit on the first byte)."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    c = client(admin_token=ADMIN_TOKEN, app_keys={APP_KEY: APP_SECRET})
    assert c.get("/__admin/health", headers={ADMIN: "guess-guess-guess"}).status_code == 401
    assert (b"guess-guess-guess", ADMIN_TOKEN.encode()) in compared
    signed = signed_query(APP_KEY, APP_SECRET)
    answer = c.get("/rest" + QUERY, query_string={**signed, "sign": "0" * 64, "taskId": "x"}).get_json()
    assert answer["code"] == "IncompleteSignature"
    assert any(given == b"0" * 64 for given, _ in compared)
    assert c.get("/rest" + QUERY, query_string={**signed, "taskId": "x"}).get_json()["resCode"] == 700
