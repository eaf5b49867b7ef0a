"""Number settings that a huge value broke have an upper bound; up to it, every store works.

A new user's trial found ``task_ttl_s = 1e300`` with Redis answering every submit 500 (EXPIRE
refuses such a time). Looking for the same mistake found ``journal_size`` (the in-memory
journal could not be built beyond 2^63; Redis's LTRIM refused far less), ``max_tasks`` (beyond
2^63 Redis refused the read of the task list) and rate limits (a bucket's Redis expiry, burst /
rate, had no bound: ``rate: 1e-300`` or ``burst: 1e300`` answered every request 500). Each bound
is in ``schemas/config.json`` and the README's settings table.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import QUERY, SCENES, SUBMIT, client, submit_item
from redis_helpers import cleaned, fresh_prefix, redis_or_skip

import mockserver
from mockserver.cli import _serve_args as cli_serve_args
from mockserver.config import Config, ConfigError
from mockserver.spec import load_spec

#: The bounds this file is about: setting -> its maximum in schemas/config.json.
BOUNDS = {"task_ttl_s": 31_536_000, "journal_size": 1_000_000, "max_tasks": 1_000_000}


@pytest.fixture
def redis_state() -> Iterator[dict[str, str]]:
    url = redis_or_skip()
    for prefix in cleaned(fresh_prefix()):
        yield {"state": url, "state_prefix": prefix}


def test_the_schema_holds_these_bounds() -> None:
    properties = load_spec().schema("config.json")["properties"]
    assert {key: properties[key]["maximum"] for key in BOUNDS} == BOUNDS


@pytest.mark.parametrize("key", BOUNDS)
@pytest.mark.parametrize("above", [1, 1e300])
def test_one_past_the_bound_is_refused_by_name(key: str, above: float) -> None:
    value = BOUNDS[key] + above
    with pytest.raises(ConfigError, match=rf"^invalid configuration: {key}: must be (at most|between \d+ and) "):
        Config.from_mapping({key: value if key == "task_ttl_s" else int(value)})


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_at_every_bound_a_fake_serves_remembers_and_lists(store: str, request: pytest.FixtureRequest) -> None:
    state = request.getfixturevalue("redis_state") if store == "redis" else {}
    with mockserver.mocked(**BOUNDS, **state) as fake:
        answer = requests.post(fake.url + SUBMIT, json={"requestParams": [submit_item()]}, timeout=10).json()
        assert answer["resCode"] == 200, answer
        task_id = answer["data"]["result"]["taskId"]
        polled = requests.post(fake.url + QUERY, json={"taskId": task_id}, timeout=10).json()
        assert polled["data"]["taskStatus"] == "finished", polled
        assert [task["taskId"] for task in fake.tasks()] == [task_id]  # read with max_tasks as the limit
        assert len(fake.requests()) == 2


@pytest.mark.parametrize("limit", [{"rate": 1e-300}, {"rate": 5e-324}, {"rate": 1, "burst": 1e300}])
@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_bucket_of_any_valid_rate_and_burst_answers(limit: dict[str, float], store: str,
                                                      request: pytest.FixtureRequest) -> None:
    state = request.getfixturevalue("redis_state") if store == "redis" else {}
    c = client(rate_limits=[{**limit, "scope": "global"}], **state)
    codes = [c.post(SCENES, json={}).get_json()["resCode"] for _ in range(3)]
    assert 500 not in codes and codes[0] == 200, codes  # never "system error"
    assert codes == ([200, 200, 200] if "burst" in limit else [200, 501, 501])


def _bounds(prop: dict[str, Any]) -> list[tuple[str, int | float]]:
    """The bounds of one setting a user can run into: ``("at most", 64)``, ``("at least", 8)``.

    A maximum (ports aside: 65535 is no news), a minimum above 1 and a string's minimum length
    above 1 (a count of 0 or less, an empty name, refused: no news either); ``anyOf`` is looked
    into (``admin_token``: a string of 8 or more, or null)."""
    out: list[tuple[str, int | float]] = []
    for part in [prop, *prop.get("anyOf", [])]:
        if "maximum" in part:
            out.append(("at most", part["maximum"]))
        for key in ("minimum", "minLength"):
            if part.get(key, 0) > 1:
                out.append(("at least", part[key]))
    return out


def _bounded_settings() -> dict[str, list[tuple[str, int | float]]]:
    properties = load_spec().schema("config.json")["properties"]
    found = {key: _bounds(prop) for key, prop in properties.items() if key not in ("port", "tls_port")}
    return {key: bounds for key, bounds in found.items() if bounds}


def test_the_bounds_looked_for_include_the_admin_token_s_length() -> None:
    bounded = _bounded_settings()
    assert bounded["admin_token"] == [("at least", 8)] and bounded["workers"] == [("at most", 64)], bounded


def test_the_readme_gives_every_bound_of_a_setting() -> None:
    """The settings table says each bound a value can hit: ``task_ttl_s`` at most 31536000, an
    ``admin_token`` of at least 8 characters (a trial found that one documented nowhere)."""
    readme = Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text(encoding="utf-8")
    table = text[text.index("| setting | flag | default | meaning |"):text.index("## What is validated")]
    table = re.sub(r"(?<=\d)[ \u202f,](?=\d{3}\b)", "", table)  # 31 536 000 -> 31536000
    missing = []
    for key, bounds in _bounded_settings().items():
        row = next((line for line in table.splitlines() if f"`{key}`" in line), "")
        missing += [f"{key} ({word} {value})" for word, value in bounds
                    if not re.search(rf"(?<![\d.]){value}(?![\d.])", row)]
    assert not missing, f"README's settings table does not give: {', '.join(missing)}"


def test_a_flag_s_help_gives_its_setting_s_bounds() -> None:
    """``bgmock serve --help`` says what the flag takes: ``--admin-token`` at least 8 characters,
    ``--workers`` at most 64."""
    parser = argparse.ArgumentParser()
    cli_serve_args(parser)
    bounded = _bounded_settings()
    missing = [
        f"{action.option_strings[0]} ({word} {value})"
        for action in parser._actions  # noqa: SLF001 - argparse lists a parser's flags nowhere else
        for word, value in bounded.get(action.dest, [])
        if not re.search(rf"{word} {value}(?![\d.])", action.help or "")
    ]
    assert not missing, f"bgmock serve --help does not give: {', '.join(missing)}"
