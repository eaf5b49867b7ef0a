"""A user's JSON files (config files, scene catalogs): a key given twice, and a catalog of nothing.

A new user's trial found ``{"port": 1, "port": 2}`` in a config file silently read as port 2
(``json.loads`` keeps the last), and ``{"scenes": []}`` accepted as a catalog, after which every
real ``modelNum`` failed. Both are refused now with one line naming the file and the key. API
bodies are another matter and keep the last value, as JSON readers do (README, Spec notes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from helpers import SCENES, SUBMIT, client, submit_item

from mockserver import cli
from mockserver.config import Config, ConfigError
from mockserver.scenes import CatalogError, SceneCatalog
from mockserver.textfile import RepeatedKeys, load_json

pytest_plugins = ["pytester"]

SCENE = {"modelNum": "x001", "name": "N", "sceneName": "S", "sceneType": 1, "categoryType": [1],
         "categoryNameList": ["General"]}


def _build(*flags: str) -> Config:
    """The settings ``bgmock serve`` would start with (built, not served)."""
    parser = argparse.ArgumentParser()
    cli.COMMANDS["serve"][0](parser)
    return cli.build_config(parser.parse_args(list(flags)))


# -- a key given twice ----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "says"), [
    ('{"port": 1, "port": 2}', "port: given twice"),
    ('{"seed": 1, "strict": true, "seed": 2, "seed": 3}', "seed: given 3 times"),
    ('{"app_keys": {"k": "secret-1", "k": "secret-2"}}', "app_keys.k: given twice"),
    ('{"faults": [{"resCode": 501}, {"resCode": 501, "times": 1, "times": 2}]}', "faults[1].times: given twice"),
    ('{"rate_limits": [{"rate": "5/s", "burst": 2, "burst": 9}]}', "rate_limits[0].burst: given twice"),
])
def test_a_key_given_twice_in_a_json_config_file_is_refused_by_name(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "twice.json"
    path.write_text(text, encoding="utf-8")
    for read in (lambda: _build("--config", str(path)), lambda: Config.from_file(path), lambda: Config.read_file(path)):
        with pytest.raises(ConfigError) as caught:
            read()
        message = str(caught.value)
        assert message.startswith(f"config file {path}: {says}"), message
        assert message.endswith("(only the last would count, silently: write each key once)") and "\n" not in message
        assert "secret" not in message  # the values are never quoted


def test_every_repeated_key_is_named_at_once_in_the_files_order(tmp_path: Path) -> None:
    path = tmp_path / "twice.json"
    path.write_text('{"strict": true, "faults": [{"resCode": 501, "everyN": 2, "everyN": 3}], "strict": false, '
                    '"port": 1, "port": 2}', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Config.read_file(path)
    assert str(caught.value) == (f"config file {path}: strict: given twice; faults[0].everyN: given twice; "
                                 "port: given twice (only the last would count, silently: write each key once)")


def test_the_real_command_exits_2_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "twice.json"
    path.write_text('{"task_duration": 0, "task_duration": 5}', encoding="utf-8")
    exe = Path(sys.executable).with_name("bgmock")
    done = subprocess.run([str(exe), "serve", "--port", "0", "--config", str(path)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"bgmock: config file {path}: task_duration: given twice") and \
        done.stderr.count("\n") == 1, done.stderr


def test_a_toml_file_refuses_a_key_given_twice_itself(tmp_path: Path) -> None:
    path = tmp_path / "twice.toml"
    path.write_text("port = 1\nport = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*line 2"):
        Config.read_file(path)


def test_the_plugin_names_its_file_too(pytester: pytest.Pytester) -> None:
    (pytester.path / "fake.json").write_text('{"seed": 1, "seed": 2}', encoding="utf-8")
    pytester.makepyfile(test_user="def test_x(bgmock):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:schemathesis", "--bgmock-config", "fake.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: bgmock: --bgmock-config: config file fake.json: seed: given twice*"])


def test_a_key_given_twice_in_a_scene_catalog_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "scenes.json"
    scene = json.dumps(SCENE)[:-1] + ', "name": "Other"}'  # "name" twice
    path.write_text(f'{{"categories": {{"1": "A", "1": "B"}}, "scenes": [{scene}]}}', encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        SceneCatalog.load(path)
    assert str(caught.value) == (f"{path}: categories.1: given twice; scenes[0].name: given twice "
                                 "(only the last would count, silently: write each key once)")


def test_a_file_without_repeated_keys_reads_as_json_loads_does() -> None:
    text = '{"a": [1, {"b": 2.5, "c": null}], "d": {"e": "f"}, "g": "\\u00e9"}'
    assert load_json(text) == json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        load_json('{"a": ')
    with pytest.raises(RepeatedKeys) as caught:
        load_json('[{"x": 1}, {"y": {"z": 1, "z": 1}}]')
    assert caught.value.repeats == [("[1].y.z", 2)]


def test_an_api_body_keeps_the_last_value_of_a_key_given_twice() -> None:
    """Not a config file: bodies are read as JSON readers read them (unchanged by this rule)."""
    c = client()
    item = json.dumps(submit_item())[:-1] + ', "modelNum": "no-such-scene"}'  # the last one wins
    answer = c.post(SUBMIT, data='{"requestParams": [' + item + "]}", content_type="application/json").get_json()
    assert answer["resCode"] == 700 and "modelNum" in answer["resMessage"], answer
    body = '{"count": 99, "count": 2}'
    answer = c.post(SCENES, data=body, content_type="application/json").get_json()
    assert answer["resCode"] == 200 and len(answer["data"]) == 2, answer


# -- a catalog of no scenes -----------------------------------------------------------------------
def test_an_empty_catalog_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text('{"scenes": []}', encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        SceneCatalog.load(path)
    assert str(caught.value) == (f"{path}: scenes: must list at least one scene (with none, submit would refuse "
                                 "every modelNum; allow_any_scene accepts any modelNum)")
    with pytest.raises(CatalogError, match="scenes: must list at least one scene"):
        SceneCatalog.from_dict({"scenes": []})


def test_a_fake_refuses_an_empty_catalog_at_its_start(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text('{"scenes": []}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^catalog: .*empty\.json: scenes: must list at least one scene"):
        client(catalog=str(path))
