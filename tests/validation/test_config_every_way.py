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
