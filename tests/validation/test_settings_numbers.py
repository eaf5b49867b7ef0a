"""A number setting is a finite number, from every source: a JSON or TOML file, create_app, the
pytest marker, a fault rule given any way, a flag.

A new user's trial found NaN and Infinity accepted everywhere but in flags: jsonschema counted
``float("nan")`` as a number, and every bound compared false with it. ``/__admin/config`` then
sent ``NaN`` (not JSON), ``hang_s = nan`` broke the server thread, ``state_timeout_s = nan``
crashed the start, ``task_ttl_s = nan`` forgot every task at once. The places are found from
the schemas, so a number setting added later is held to the same rule.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers import client

import mockserver
from mockserver import cli
from mockserver.clock import Clock
from mockserver.config import Config, ConfigError
from mockserver.spec import load_spec

pytest_plugins = ["pytester"]

SPEC = load_spec()
#: Plugins of this environment the temporary project does not use (as tests/testing/test_plugin.py).
UNUSED_PLUGINS = [arg for name in ("schemathesis", "benchmark", "anyio", "hypothesispytest", "pytest_httpserver")
                  for arg in ("-p", f"no:{name}")]
NAN, INF = math.nan, math.inf
#: How a message names each value (JSON's own words for what JSON cannot write).
NAMED = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
VALUES = {"nan": NAN, "inf": INF, "-inf": -INF}
#: A rule the schema accepts, to carry one bad field.
RULE = {"resCode": 501}


def _numeric(schema: Any) -> bool:
    """Whether a value here may be a number (``type`` number or integer, itself, in a list of
    types or in an ``anyOf`` branch)."""
    if not isinstance(schema, Mapping):
        return False
    declared = schema.get("type")
    kinds = declared if isinstance(declared, list) else [declared]
    return bool({"number", "integer"} & set(kinds)) or any(_numeric(b) for b in schema.get("anyOf", ()))


def number_places() -> Iterator[tuple[str, Any]]:
    """(path a message names, settings holding ``VALUE`` there) for every place of
    ``schemas/config.json`` where a number goes, fault rules and rate limits included."""
    config = SPEC.schema("config.json")["properties"]
    for key, prop in config.items():
        if _numeric(prop):
            yield key, {key: "VALUE"}
    for key, prop in SPEC.schema("fault-rule.json")["properties"].items():
        if _numeric(prop):
            yield f"faults[0].{key}", {"faults": [{**RULE, key: "VALUE"}]}
    yield "faults[0].match.width", {"faults": [{**RULE, "match": {"width": "VALUE"}}]}
    for key, prop in config["rate_limits"]["items"]["properties"].items():
        if _numeric(prop):
            yield f"rate_limits[0].{key}", {"rate_limits": [{"rate": 5, key: "VALUE"}]}


PLACES = dict(number_places())


def _with(settings: Any, value: float) -> Any:
    """``settings`` with its ``"VALUE"`` replaced by ``value``."""
    if settings == "VALUE":
        return value
    if isinstance(settings, dict):
        return {key: _with(item, value) for key, item in settings.items()}
    if isinstance(settings, list):
        return [_with(item, value) for item in settings]
    return settings


def test_the_places_are_every_number_setting_the_trial_named() -> None:
    named = {"task_duration", "task_ttl_s", "timestamp_skew_s", "hang_s", "dribble_s", "fetch_timeout_s",
             "state_timeout_s", "faults[0].probability", "rate_limits[0].rate", "rate_limits[0].burst"}
    assert named <= set(PLACES), named - set(PLACES)
    assert len(PLACES) >= 30  # the integer settings too (port, journal_size, faults[0].delayMs, ...)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("path", PLACES)
def test_no_number_setting_takes_nan_or_an_infinity(path: str, value: str) -> None:
    settings = _with(PLACES[path], VALUES[value])
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping(settings)
    message = str(caught.value)
    assert f"{path}: must be" in message and "\n" not in message, message


@pytest.mark.parametrize(("path", "says"), [
    ("task_duration", "task_duration: must be a finite number, got {}"),
    ("hang_s", "hang_s: must be a finite number, got {}"),
    ("port", "port: must be an integer, got {}"),
    ("body_memory_bytes", "body_memory_bytes: must be an integer of at least 1024 or null, got {}"),
    ("faults[0].probability", "faults[0].probability: must be a finite number, got {}"),
    ("faults[0].match.width", "faults[0].match.width: must be a string, a finite number or a boolean, got {}"),
    ("rate_limits[0].rate", "rate_limits[0].rate: must be a finite number or a string, got {}"),
])
@pytest.mark.parametrize("value", VALUES)
def test_the_message_names_the_value_as_json_would(path: str, says: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping(_with(PLACES[path], VALUES[value]))
    assert says.format(NAMED[value]) in str(caught.value)


@pytest.mark.parametrize("path", PLACES)
def test_both_validators_refuse_nan(path: str) -> None:
    """jsonschema-rs (the fast check) refused NaN; jsonschema, which words the problems, took it
    (also through config.json's ``$ref`` to fault-rule.json, checked by the stock class)."""
    settings = _with(PLACES[path], NAN)
    assert not SPEC.fast_check("config.json")(settings)
    assert not SPEC.validator("config.json").is_valid(settings)


# -- the sources ----------------------------------------------------------------------------------
JSON_FILES = [
    ('{"task_duration": NaN}', "task_duration: must be a finite number, got NaN"),
    ('{"task_ttl_s": Infinity}', "task_ttl_s: must be a finite number, got Infinity"),
    ('{"timestamp_skew_s": -Infinity}', "timestamp_skew_s: must be a finite number, got -Infinity"),
    ('{"state_timeout_s": 1e400}', "state_timeout_s: must be a finite number, got Infinity"),
    ('{"faults": [{"resCode": 501, "probability": NaN}]}', "faults[0].probability: must be a finite number"),
]
TOML_FILES = [
    ("hang_s = nan", "hang_s: must be a finite number, got NaN"),
    ("dribble_s = inf", "dribble_s: must be a finite number, got Infinity"),
    ("fetch_timeout_s = -inf", "fetch_timeout_s: must be a finite number, got -Infinity"),
    ("[[faults]]\nresCode = 501\nprobability = nan", "faults[0].probability: must be a finite number, got NaN"),
    ("[[rate_limits]]\nrate = 5\nburst = inf", "rate_limits[0].burst: must be a finite number, got Infinity"),
]


@pytest.mark.parametrize(("name", "text", "says"), [
    *(("n.json", text, says) for text, says in JSON_FILES),
    *(("n.toml", text, says) for text, says in TOML_FILES),
])
def test_a_config_file_with_nan_is_refused_in_one_line_naming_file_and_setting(
    tmp_path: Path, name: str, text: str, says: str
) -> None:
    """Through ``bgmock serve``'s own reading (file, then flags); built, not served: a file
    accepted by mistake would start a server that never returns."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    args = argparse.ArgumentParser()
    cli.COMMANDS["serve"][0](args)
    with pytest.raises(ConfigError) as caught:
        cli.build_config(args.parse_args(["--config", str(path)]))
    message = str(caught.value)
    assert message.startswith(f"config file {path}: invalid configuration: ") and says in message, message
    assert "\n" not in message


@pytest.mark.parametrize(("name", "text"), [("n.json", '{"task_duration": NaN}'), ("n.toml", "state_timeout_s = nan")])
def test_the_real_command_exits_2_with_one_line(tmp_path: Path, name: str, text: str) -> None:
    """As the trial ran it (``state_timeout_s = nan`` with a Redis state: a traceback, exit 1)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    exe = Path(sys.executable).with_name("bgmock")
    done = subprocess.run([str(exe), "serve", "--port", "0", "--config", str(path), "--state", "redis://127.0.0.1:1/14"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.startswith(f"bgmock: config file {path}: invalid configuration: ") and "got NaN" in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_every_problem_of_a_file_is_named_at_once_in_the_schemas_order(tmp_path: Path) -> None:
    path = tmp_path / "many.toml"
    path.write_text('state_timeout_s = nan\nport = "x"\ntask_duration = inf\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Config.from_file(path)
    assert str(caught.value) == (
        f"config file {path}: invalid configuration: port: must be an integer, got string; "
        "task_duration: must be a finite number, got Infinity; state_timeout_s: must be a finite number, got NaN"
    )


def _entered(factory: Any) -> Any:
    def start(config: dict[str, Any]) -> None:
        with factory(config):
            pass
    return start


@pytest.mark.parametrize("make", [mockserver.create_app, _entered(mockserver.mocked), _entered(mockserver.running)],
                         ids=["create_app", "mocked", "running"])
def test_create_app_and_the_test_entry_points_refuse_nan(make: Any) -> None:
    with pytest.raises(ConfigError, match=r"^invalid configuration: task_ttl_s: must be a finite number, got NaN$"):
        make({"task_ttl_s": NAN})


def test_a_live_fake_refuses_nan_in_configure() -> None:
    with mockserver.running() as fake, pytest.raises(ConfigError, match="hang_s: must be a finite number, got NaN"):
        fake.configure(hang_s=NAN)


@pytest.mark.parametrize("given", [{"probability": NAN}, {"probability": INF}])
def test_a_rule_from_python_refuses_nan(given: dict[str, float]) -> None:
    with mockserver.mocked() as fake:
        with pytest.raises(ValueError, match=r"rule\.probability: must be a finite number"):
            fake.inject(501, **given)
        with pytest.raises(ValueError, match=r"rule\.match\.width: must be a string, a finite number"):
            fake.inject(501, width=NAN)
        with pytest.raises(ValueError, match=r"rule\.probability: must be a finite number"):
            fake.add_rule({"transport": "reset", **given})
        assert fake.faults() == []


def test_a_rule_through_the_admin_api_refuses_nan_as_not_json() -> None:
    c = client()
    for body in ('{"resCode": 501, "probability": NaN}', '{"resCode": 501, "probability": 1e400}'):
        response = c.post("/__admin/faults", data=body, content_type="application/json")
        assert response.status_code == 400 and "body: not valid JSON" in response.get_json()["resMessage"]
    assert c.get("/__admin/faults").get_json()["faults"] == []


@pytest.mark.parametrize("flag", [["--fault", "501:nan"], ["--fault", "reset:inf"], ["--task-duration", "nan"],
                                  ["--burst", "inf"]])
def test_flags_refuse_nan_as_they_did(capsys: pytest.CaptureFixture[str], flag: list[str]) -> None:
    try:
        code = cli.main(["serve", "--port", "0", "--rate-limit", "5/s", *flag])
    except SystemExit as exc:
        code = exc.code
    assert code == 2 and capsys.readouterr().err.count("\n") == 1


def test_the_marker_refuses_nan(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user='''
import math, pytest

@pytest.mark.bgmock(task_duration=math.nan)
def test_nan(bgmock):
    pass

@pytest.mark.bgmock(hang_s=math.inf)
def test_inf(bgmock_responses):
    pass

def test_fine(bgmock):
    pass
''')
    result = pytester.runpytest("-p", "no:cacheprovider", *UNUSED_PLUGINS, "-q")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.bgmock: invalid configuration: task_duration: must be a finite number, got NaN*",
        "*@pytest.mark.bgmock: invalid configuration: hang_s: must be a finite number, got Infinity*",
    ])


def test_the_admin_config_is_json_for_every_accepted_setting() -> None:
    """What ``/__admin/config`` sends (the dashboard reads it) is JSON a strict parser takes."""
    answer = client(task_duration=1e308, timestamp_skew_s=1e308).get("/__admin/config").get_data(as_text=True)
    json.loads(answer, parse_constant=lambda name: pytest.fail(f"/__admin/config sent {name}"))


# -- the clock, moved from Python ---------------------------------------------------------------
@pytest.mark.parametrize("seconds", [NAN, INF, -1.0])
def test_the_clock_moves_forward_by_finite_seconds_only(seconds: float) -> None:
    clock = Clock("manual")
    with pytest.raises(ValueError, match="only moves forward, by a finite number of seconds"):
        clock.advance(seconds)
    assert clock.now() == 0


def test_a_handle_refuses_to_advance_by_nan_and_its_clock_goes_on() -> None:
    with mockserver.mocked() as fake:
        with pytest.raises(ValueError, match="finite"):
            fake.advance(NAN)
        assert fake.now == 0 and fake.advance(5) == 5  # before: NaN, and NaN after every advance
