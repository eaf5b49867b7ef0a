"""Configured secrets never appear in the journal, the log or an answer, whatever name they
are sent under and wherever they sit (issue 15, attack 7).

The fake redacts by value (every app secret and the admin token, also inside a longer string)
and by name (``app_secret``, ``X-Api-Key``, ... whatever their value): a property test places a
secret anywhere in a request and reads everything the fake keeps or says back.
"""

from __future__ import annotations

import json
import logging
import string
from typing import Any
from urllib.parse import quote

import pytest
from helpers import QUERY, SCENES, SUBMIT, client, submit_item
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.config import Config, ConfigError
from mockserver.redact import MASK, Redactor
from mockserver.signing import signed_query

ADMIN = "X-Bgmock-Admin-Token"
APP_KEY = "redact-key"
#: The characters of the secrets drawn: letters, digits and the punctuation keys and tokens carry
#: (each class: a secret of letters alone could be a word the fake writes anyway).
TOKEN_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "-_.~+/=!@$\"\\%&")
TOKEN_ALPHABET = "".join(TOKEN_CLASSES)
#: A secret at least this long, with every class in it, cannot be text the fake writes itself (a
#: word such as "requests", an ID, a timestamp, a digest): finding it in an answer means it leaked.
TOKEN_MIN = 16


@st.composite
def secrets_(draw: st.DrawFn) -> str:
    """A secret as teams make them: 16 to 40 characters, one of each class at least, in any order."""
    one_of_each = [draw(st.sampled_from(chars)) for chars in TOKEN_CLASSES]
    rest = draw(st.lists(st.sampled_from(TOKEN_ALPHABET), min_size=TOKEN_MIN - len(one_of_each), max_size=36))
    return "".join(draw(st.permutations(one_of_each + rest)))


def _secret_looking(token: str) -> bool:
    return len(token) >= TOKEN_MIN and all(any(c in chars for c in token) for chars in TOKEN_CLASSES)


PLACES = [
    "query", "query-inside", "header", "header-inside", "json-field", "json-nested", "json-key", "form-field",
    "path", "title-inside", "scene-title", "task-id",
]


def _request(place: str, secret: str, filler: str) -> dict[str, Any]:
    """Flask test-client arguments that carry ``secret`` at ``place`` (with ``filler`` around it)."""
    inside = f"{filler}{secret}{filler}"
    item = submit_item()
    form = {"requestParams": json.dumps([item]), "secret_x": inside}
    nested = {**item, "meta": {"k": [inside]}}
    named = filler or "appSecret"  # a credential's name, or a name of the client's own
    return {
        "query": {"method": "GET", "path": QUERY, "query_string": {filler or "app_secret": secret, "taskId": "x"}},
        "query-inside": {"method": "GET", "path": QUERY, "query_string": {"note": inside, "taskId": "x"}},
        "header": {"method": "POST", "path": SCENES, "json": {}, "headers": {"X-Api-Key": secret}},
        "header-inside": {"method": "POST", "path": SCENES, "json": {}, "headers": {"X-Custom": inside}},
        "json-field": {"method": "POST", "path": SUBMIT, "json": {"requestParams": [item], named: secret}},
        "json-nested": {"method": "POST", "path": SUBMIT, "json": {"requestParams": [nested]}},
        "json-key": {"method": "POST", "path": SCENES, "json": {inside: 1}},
        "form-field": {"method": "POST", "path": SUBMIT, "data": form},
        "path": {"method": "GET", "path": "/ai/" + quote(inside, safe="")},
        # a field the answer's problem message quotes
        "title-inside": {"method": "POST", "path": SUBMIT, "json": {"requestParams": [{**item, "modelNum": inside}]}},
        "scene-title": {"method": "POST", "path": SCENES, "json": {"productTitle": inside, "sceneType": inside}},
        "task-id": {"method": "POST", "path": QUERY, "json": {"taskId": inside}},
    }[place]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(
    app_secret=secrets_(), admin_token=secrets_(), place=st.sampled_from(PLACES),
    which=st.sampled_from(["app", "admin"]), filler=st.text(alphabet=string.ascii_letters, max_size=6),
)
def test_a_secret_placed_anywhere_is_never_kept_logged_or_answered(  # noqa: PLR0913, PLR0917 - a fixture and draws
    caplog: pytest.LogCaptureFixture, app_secret: str, admin_token: str, place: str, which: str, filler: str
) -> None:
    caplog.clear()
    caplog.set_level(logging.INFO, logger="bgmock")
    c = client(app_keys={APP_KEY: app_secret}, admin_token=admin_token, log_requests=True, strict=True)
    secret = app_secret if which == "app" else admin_token
    args = _request(place, secret, filler)
    said = [c.open(args.pop("path"), **args).get_data(as_text=True)]
    for admin_path in ("/__admin/requests", "/__admin/tasks", "/__admin/config", "/__admin/faults"):
        said.append(c.get(admin_path, headers={ADMIN: admin_token}).get_data(as_text=True))
    everything = "\n".join(said) + caplog.text
    assert app_secret not in everything and admin_token not in everything
    assert json.loads(said[1])["requests"], "the request reached the journal"


@given(secrets_())
def test_a_drawn_secret_is_long_has_every_class_and_only_token_characters(token: str) -> None:
    """The strategy's secrets are what the property above needs (``TOKEN_MIN``): at least 16
    characters, one of each class, nothing outside the alphabet. A shorter or plainer one could be
    text the fake writes anyway (an admin token of "requests" is in every journal answer,
    ``{"requests": …}``), and the property would fail though nothing leaked."""
    assert _secret_looking(token), token
    assert set(token) <= set(TOKEN_ALPHABET)


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"query_string": {"app_secret": "not-configured-1", "taskId": "x"}}, "query"),
        ({"headers": {"X-Api-Key": "not-configured-2"}, "query_string": {"taskId": "x"}}, "headers"),
        # names of the client's own choosing: what the dashboard masks, the journal (and its HAR) drops
        ({"headers": {"X-Api-Token": "not-configured-4"}, "query_string": {"taskId": "x"}}, "headers"),
        ({"headers": {"X-Session-Id": "not-configured-5"}, "query_string": {"taskId": "x"}}, "headers"),
        ({"json": {"taskId": "x", "password": "not-configured-3"}}, "body"),
    ],
)
def test_credential_names_are_masked_even_with_no_secret_configured(sent: dict[str, Any], field: str) -> None:
    c = client()
    method = "POST" if "json" in sent else "GET"
    c.open(QUERY, method=method, **sent)
    entry = c.get("/__admin/requests").get_json()["requests"][0]
    assert "not-configured" not in json.dumps(entry)
    assert MASK in json.dumps(entry[field]) or field == "headers"


def test_a_short_secret_is_masked_only_as_a_whole_value() -> None:
    """A three-letter secret inside every word would leave nothing readable; as a whole value it goes."""
    redactor = Redactor(["abc"])
    assert redactor.value({"x": "abc", "y": "abcdef"}) == {"x": MASK, "y": "abcdef"}
    assert Redactor(["secret-1"]).value({"x": ["a secret-1 b"], "secret-1": 1}) == {"x": [f"a {MASK} b"], MASK: 1}


# -- secrets stay secret: the admin token and an app secret in logs, answers and errors ---------

ADMIN_TOKEN = "admin-token-never-shown-1"
APP_SECRET = "app-secret-never-shown-2"


def test_secrets_never_reach_logs_answers_or_the_journal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    c = client(admin_token=ADMIN_TOKEN, app_keys={APP_KEY: APP_SECRET}, log_requests=True)
    auth = {ADMIN: ADMIN_TOKEN, "Authorization": "Bearer " + ADMIN_TOKEN}
    seen: list[str] = []
    seen.append(c.get("/rest" + QUERY, query_string={**signed_query(APP_KEY, APP_SECRET), "taskId": "x"}).text)
    seen.append(c.get("/rest" + QUERY, query_string={**signed_query(APP_KEY, "wrong"), "taskId": "x"}).text)
    seen.append(c.get(QUERY, query_string={"taskId": "x", "access_token": ADMIN_TOKEN}).text)
    seen.append(c.post(SUBMIT, json={"requestParams": [submit_item()]}, headers=auth).text)
    seen.append(c.get("/__admin/requests", headers=auth).text)
    seen.append(c.get("/__admin/config", headers=auth).text)
    seen.append(c.get("/__admin/health", headers=auth).text)
    seen.append(c.get("/__admin/health", headers={ADMIN: "nope-nope-nope"}).text)
    everything = "\n".join(seen) + caplog.text
    assert "POST /ai/image/background/generation/scenario" in caplog.text  # the log was on
    assert ADMIN_TOKEN not in everything
    assert APP_SECRET not in everything
    assert json.loads(seen[5])["admin_token"] == "***" and json.loads(seen[5])["app_keys"] == {APP_KEY: "***"}


@pytest.mark.parametrize(
    "settings",
    [{"admin_token": "short12"}, {"app_keys": {"k": ""}}, {"app_keys": {"k": 12345678}}, {"admin_token": 123456789}],
)
def test_a_rejected_secret_is_not_quoted_in_the_error(settings: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping(settings)
    secret = settings.get("admin_token", next(iter(settings.get("app_keys", {"": ""}).values())))
    if str(secret):
        assert str(secret) not in str(caught.value)
