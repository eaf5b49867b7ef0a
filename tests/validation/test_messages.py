"""A bad value anywhere is named with what would be accepted (issue 15, item 6).

Every setting, given a bad value, is refused by a message that names it and what it accepts.

Walks every key of ``schemas/config.json`` (so a key added later is covered without editing this
file) with values of every JSON type and a few out-of-range ones: whatever is refused must be
refused with ``<key>...: must ...`` (or ``is not a documented field``), never jsonschema's
``is not valid under any of the given schemas`` or a bare ``is not of type``.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import b64, client, make_image, problems, submit, submit_item

from mockserver.backend import Backend
from mockserver.config import Config, ConfigError
from mockserver.spec import load_spec

KEYS = sorted(load_spec().schema("config.json")["properties"])
#: One of each JSON type, and values out of range for numbers and strings.
BAD: list[Any] = [
    True, -1, 0, 0.5, 10**12, -1.5, "", "x", "short", "ftp://x", "9" * 50, "lognormal:p50=2s,p99=1s", [], [1],
    ["a b"], [{"resCode": 5}], [{"rate": "²/s"}], {}, {"x": 1}, {"nope": "1s"}, {"k": ""},
]
ACCEPTED = ("must", "expected", "is not a documented field", "is required", "file not found")
UNHELPFUL = ("not valid under any of the given schemas", "is not of type", "does not match", "is not one of",
             "the pattern")  # a raw regular expression is no help to a person


def _refusal(key: str, value: Any) -> str | None:
    try:
        Backend(Config.from_mapping({key: value}))  # the backend reads catalog, latency, limits, rules
    except ConfigError as exc:
        return str(exc)
    except OSError:  # a catalog or state path that cannot be opened: named by cli.py's handler
        return None
    return None


@pytest.mark.parametrize("key", KEYS)
def test_every_setting_names_itself_and_what_it_accepts(
    key: str, tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # "state": "x" makes a state file, "catalog": "x" reads one
    refused = {repr(value)[:30]: message for value in BAD if (message := _refusal(key, value))}
    assert refused, f"no bad value of {key} was refused"
    for value, message in refused.items():
        assert key in message, (value, message)
        assert any(word in message for word in ACCEPTED), (value, message)
        assert not any(bad in message for bad in UNHELPFUL), (value, message)


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"admin_token": "short"}, "admin_token: must be at least 8 characters"),
        ({"seed": "x"}, "seed: must be an integer or null, got string"),
        ({"latency": {"nope": "1s"}}, 'latency: key "nope" is not accepted: keys must be one of "submit"'),
        ({"latency": "lognormal:p50=2s,p99=1s"}, "p50=2s,p99=1s': p99 must be at least p50"),
        ({"public_url": "ftp://x"}, "public_url: must be a URL starting with http:// or https://"),
        # a query or fragment would end up in the middle of every image URL written from it
        ({"public_url": "http://proxy.local:8080/x?y=1"}, "public_url: must be a URL starting with http:// or "
                                                           "https://, with no query, fragment or space"),
        ({"public_url": "http://proxy.local#top"}, "with no query, fragment or space"),
        # what the pattern cannot see: each crashed the start or silently gave no origin
        ({"public_url": "http://[::1"}, "public_url: not a valid URL (Invalid IPv6 URL)"),
        ({"public_url": "http://a:99999/"}, "public_url: not a valid URL (Port out of range"),
        ({"public_url": "http://:80/"}, "public_url: names no host"),
        ({"task_ttl_s": 0}, "task_ttl_s: must be more than 0"),
        ({"port": 8080.5}, "port: must be an integer, got number"),
        ({"colour": 1}, "colour: is not a documented field"),
    ],
)
def test_messages_for_the_settings_the_trial_named(settings: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping(settings)
    assert says in str(caught.value)


@pytest.mark.parametrize("key", ["port", "seed", "journal_size", "max_tasks", "workers", "polls_to_finish"])
def test_a_whole_number_float_is_the_integer_it_equals(key: str) -> None:
    """JSON Schema counts 5.0 as an integer, so the config keeps 5 (a float port cannot be bound)."""
    value = Config.from_mapping({key: 5.0}).as_dict()[key]
    assert value == 5 and type(value) is int


def test_a_start_up_rule_keeps_whole_numbers_as_integers() -> None:
    rule = Config.from_mapping({"faults": [{"resCode": 501.0, "times": 2.0, "delayMs": 10.0}]}).faults[0]
    assert [type(rule[k]) for k in ("resCode", "times", "delayMs")] == [int, int, int]


def test_an_oversized_image_is_named_once_by_its_real_reason() -> None:
    """A 5.9 MB PNG is "larger than 4 MiB"; the schema's coarse maxLength on the same field
    (6000000 characters, documented nowhere) is not reported beside it."""
    png = make_image("PNG", 600, 600, pad_to=5_900_000)
    found = problems(submit(client(), submit_item(imgBase64=b64(png), width=801)))
    assert found == [  # in the schema's order of fields, whichever check found the problem
        "requestParams[0].imgBase64: image is larger than 4 MiB (4194304 bytes)",
        "requestParams[0].width/height: only 800x800 (1:1) and 750x1000 (3:4) are supported",
    ]
