"""A setting is checked the same way however the Config is built: from a file or flags, from a
mapping (``create_app``, ``mockserver.mocked()``/``running()``), or by the constructor itself
(``Config(port=-1)``, ``dataclasses.replace``), which used to take anything: ``create_app(Config(
port=-1))`` started, ``Config(task_duration=float("nan"))`` ran with every bound compared false,
``Config(app_keys=5)`` ended in an ``AttributeError`` from deep inside.

Each way gives the same ``ConfigError`` with the same message as a config file holding the
settings (less the file's name, which only a file has).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import mockserver
from mockserver.config import Config, ConfigError

BAD: dict[str, dict[str, Any]] = {
    "port-negative": {"port": -1},
    "task-duration-nan": {"task_duration": math.nan},
    "faults-not-a-list": {"faults": "abc"},
    "app-keys-not-an-object": {"app_keys": 5},
    "unknown-latency": {"latency": "soon"},
    "sides-crossed": {"image_min_side": 900, "image_max_side": 800},
    "two-at-once": {"port": 70000, "strict": "yes"},
}


def _enter(manager: Any) -> None:
    with manager:
        pass


BUILDERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "Config(...)": lambda settings: Config(**settings),
    "dataclasses.replace": lambda settings: dataclasses.replace(Config(), **settings),
    "Config.replace": lambda settings: Config().replace(**settings),
    "create_app(mapping)": mockserver.create_app,
    "create_app(Config(...))": lambda settings: mockserver.create_app(Config(**settings)),
    "mocked(mapping)": lambda settings: _enter(mockserver.mocked(settings)),
    "mocked(**settings)": lambda settings: _enter(mockserver.mocked(**settings)),
    "running(mapping)": lambda settings: _enter(mockserver.running(settings)),
}


def _file_message(tmp_path: Path, settings: dict[str, Any]) -> str:
    """What ``bgmock serve --config`` says of these settings, less ``config file NAME: ``."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Config.from_file(path)
    return str(caught.value).removeprefix(f"config file {path}: ")


@pytest.mark.parametrize("builder", BUILDERS.values(), ids=BUILDERS.keys())
@pytest.mark.parametrize("settings", BAD.values(), ids=BAD.keys())
def test_every_way_of_building_settings_refuses_a_bad_one_with_the_files_message(
    tmp_path: Path, settings: dict[str, Any], builder: Callable[[dict[str, Any]], Any]
) -> None:
    expected = _file_message(tmp_path, settings)
    assert expected.startswith("invalid configuration: "), expected
    with pytest.raises(ConfigError) as caught:
        builder(settings)
    assert str(caught.value) == expected


def test_a_config_built_directly_holds_its_values_as_one_read_from_a_file_does() -> None:
    """The constructor normalises as ``from_mapping`` does: whole numbers, tuples of rules."""
    built = Config(port=8080.0, faults=[{"resCode": 501}], allow_hosts=["dev.test"])
    assert built == Config.from_mapping({"port": 8080, "faults": [{"resCode": 501}], "allow_hosts": ["dev.test"]})
    assert type(built.port) is int and built.faults == ({"resCode": 501},) and built.allow_hosts == ("dev.test",)


def test_a_rejected_secret_given_to_the_constructor_is_not_quoted() -> None:
    with pytest.raises(ConfigError, match="admin_token") as caught:
        Config(admin_token="short12")
    assert "short12" not in str(caught.value)


PATHS: dict[str, Callable[[dict[str, Any]], Config]] = {
    "Config(...)": lambda settings: Config(**settings),
    "from_mapping": Config.from_mapping,
    "Config.replace": lambda settings: Config().replace(**settings),
}


@pytest.mark.parametrize("builder", PATHS.values(), ids=PATHS.keys())
def test_a_path_is_taken_for_a_setting_that_names_a_file_or_directory(
    tmp_path: Path, builder: Callable[[dict[str, Any]], Config]
) -> None:
    """``Config(catalog=Path(...))`` worked before a Config checked itself, then raised jsonschema-rs's
    ``ValueError: Unsupported type: 'PosixPath'``: a path is held as its text, as a file gives it."""
    built = builder({"catalog": Path("scenes.json"), "tls_dir": tmp_path / "tls"})
    assert built.catalog == "scenes.json" and built.tls_dir == str(tmp_path / "tls")
    assert type(built.catalog) is str and type(built.tls_dir) is str


NOT_JSON: dict[str, tuple[dict[str, Any], str]] = {
    "set": ({"allow_hosts": {"dev.test"}}, "allow_hosts: must be an array, got set"),
    "decimal": ({"timestamp_skew_s": Decimal("1.5")}, "timestamp_skew_s: must be a number, got Decimal"),
    "decimal-integer": ({"port": Decimal(8080)}, "port: must be an integer, got Decimal"),
    "bytes": ({"catalog": b"scenes.json"}, "catalog: must be a string or null, got bytes"),
    "nested": ({"app_keys": {"key-1": {"s"}}}, "app_keys.key-1: must be a string, got set"),
}


@pytest.mark.parametrize("builder", PATHS.values(), ids=PATHS.keys())
@pytest.mark.parametrize(("settings", "problem"), NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_value_json_has_no_type_for_is_a_config_error_naming_the_setting(
    settings: dict[str, Any], problem: str, builder: Callable[[dict[str, Any]], Config]
) -> None:
    """A set raised jsonschema-rs's ``ValueError: Unsupported type``; a Decimal was taken as it was
    (a Decimal port went on to fail far from the setting)."""
    with pytest.raises(ConfigError) as caught:
        builder(settings)
    assert str(caught.value) == f"invalid configuration: {problem}"
