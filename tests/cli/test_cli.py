"""``bgmock serve``: its help, a real server process, config files, and clear refusals.

Bad input (a config file, a flag) must end the command with exit code 2 and one line saying
what is wrong, never a traceback. Most refusals run ``cli.main`` in-process (an uncaught
exception would fail the test just as a traceback would); one runs the real console script.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver import cli
from mockserver.config import Config
from mockserver.serving.app import create_app
from tests.helpers import MISSING, SUBMIT, stop_process, submit_item
from tests.redis_helpers import cleaned, fresh_prefix, redis_or_skip

LISTENING = re.compile(r"^bgmock listening on http://127\.0\.0\.1:(\d+) ")
ITEM = submit_item(imgBase64=MISSING, imageFileUrl="https://cdn.example.com/p/mug.jpg")


def bgmock_exe() -> str:
    """The console script of the environment running the tests, never another one on PATH
    (which could be an older install, or another interpreter's that lacks the test extras)."""
    beside = Path(sys.executable).with_name("bgmock")
    assert beside.exists(), f"the bgmock console script is not installed beside {sys.executable} (pip install -e .)"
    return str(beside)


def first_line(proc: subprocess.Popen, timeout: float = 20) -> str:
    """The server's first stdout line, without hanging the suite if it never comes."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            proc.kill()
            raise AssertionError(f"no output within {timeout}s: {proc.communicate()[1]}")
    return proc.stdout.readline()


@contextmanager
def serving(*flags: str, exe: str | None = None, cwd: str | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``bgmock serve --port 0 FLAGS`` as a child process; yields (base URL, process)."""
    env = {k: v for k, v in os.environ.items() if k != "BGMOCK_DATA_DIR"}
    proc = subprocess.Popen(
        [exe or bgmock_exe(), "serve", "--port", "0", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
    )
    try:
        line = first_line(proc)
        match = LISTENING.match(line)
        assert match, f"unexpected first line {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        yield f"http://127.0.0.1:{match[1]}", proc
    finally:
        stop_process(proc)


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse: --help, unknown flags
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def cli_config(*flags: str):
    parser = argparse.ArgumentParser()
    cli.COMMANDS["serve"][0](parser)
    return cli.build_config(parser.parse_args(list(flags)))


# -- help -----------------------------------------------------------------------------------------

def test_serve_help_explains_each_flag(capsys):
    code, out, _ = run_main(capsys, "serve", "--help")
    assert code == 0
    for flag in ("--host", "--port", "--strict", "--seed", "--app-key", "--fault", "--config", "--admin-token"):
        assert flag in out, flag
    parser = argparse.ArgumentParser()
    cli.COMMANDS["serve"][0](parser)
    for action in parser._actions:
        assert action.help and len(action.help) > 15, f"{action.option_strings} has no real help"
    assert "127.0.0.1" in out and "KEY:SECRET" in out and "CODE[:P]" in out


def test_top_level_help_lists_serve(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0 and "serve" in out


# -- a real server --------------------------------------------------------------------------------

def _first_task(url: str) -> str:
    body = requests.post(url + SUBMIT, json={"requestParams": [ITEM]}, timeout=10).json()
    assert body["resCode"] == 200, body
    return body["data"]["result"]["taskId"]


def test_serve_answers_and_logs_one_line_per_request():
    with serving("--seed", "7") as (url, proc):
        task_id = _first_task(url)
        query = requests.get(f"{url}/ai/image/background/generation/query", params={"taskId": task_id}, timeout=10)
        assert query.json()["data"]["taskId"] == task_id
        bad = requests.post(url + SUBMIT, json={"requestParams": [{**ITEM, "width": 1}]}, timeout=10).json()
        assert bad["resCode"] == 700
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    lines = [line for line in err.splitlines() if "/ai/image/background/generation/" in line]
    assert len(lines) == 3, err
    assert "POST /ai/image/background/generation/scenario" in lines[0] and "resCode=200" in lines[0]
    assert "GET /ai/image/background/generation/query" in lines[1]
    assert "resCode=700" in lines[2]
    assert "Traceback" not in err


def test_seed_gives_the_same_first_task_id_across_runs():
    with serving("--seed", "7") as (url, _):
        first = _first_task(url)
    with serving("--seed", "7") as (url, _):
        second = _first_task(url)
    assert first == second
    other = create_app(cli_config("--seed", "8", "--quiet")).test_client()
    assert other.post(SUBMIT, json={"requestParams": [ITEM]}).get_json()["data"]["result"]["taskId"] != first


def test_quiet_server_stops_cleanly_on_ctrl_c():
    with serving("--quiet") as (url, proc):
        _first_task(url)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "Traceback" not in err, err
    assert "/ai/image/" not in err  # --quiet: no line per request


def _listening_line(*flags: str) -> str:
    """The first line of ``bgmock serve --port 0 FLAGS``; the fake is stopped again."""
    proc = subprocess.Popen([bgmock_exe(), "serve", "--port", "0", "--quiet", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        return first_line(proc, timeout=60)
    finally:
        stop_process(proc)


def test_one_process_and_workers_describe_the_fake_alike():
    """Whoever serves it, the listening line says how the fake answers (the --workers line once
    left out "strict"/"lenient", the signatures and the start-up faults)."""
    pytest.importorskip("granian")
    url = redis_or_skip()
    for prefix in cleaned(fresh_prefix()):
        flags = ("--strict", "--app-key", "key:secret-of-the-key", "--fault", "501:0.1",
                 "--state", url, "--state-prefix", prefix)
        one, workers = _listening_line(*flags), _listening_line(*flags, "--workers", "2")
        said = "strict, signatures on for 1 key(s), 1 start-up fault rule(s)"
        state = f"state in Redis at {url}, prefix {prefix}; ready in "
        assert f"({said}, {state}" in one, one
        assert f"({said}, 2 granian worker(s), {state}" in workers, workers


# -- config files ---------------------------------------------------------------------------------

TOML = """
strict = true
seed = 7
task_duration = 0

[app_keys]
test-key = "test-secret"

[[faults]]
resCode = 501
times = 1
"""


@pytest.mark.parametrize("kind", ["json", "toml"])
def test_config_file(tmp_path, kind):
    path = tmp_path / f"bgmock.{kind}"
    if kind == "json":
        path.write_text(json.dumps({
            "strict": True, "seed": 7, "task_duration": 0, "app_keys": {"test-key": "test-secret"},
            "faults": [{"resCode": 501, "times": 1}],
        }))
    else:
        path.write_text(TOML)
    config = cli_config("--config", str(path))
    assert config.strict is True and config.seed == 7 and config.task_duration == 0
    assert dict(config.app_keys) == {"test-key": "test-secret"}
    assert [dict(rule) for rule in config.faults] == [{"resCode": 501, "times": 1}]


def test_config_file_rules_are_served(tmp_path):
    path = tmp_path / "faults.toml"
    path.write_text('[[faults]]\nresCode = 1001\ntimes = 1\n')
    c = create_app(cli_config("--config", str(path), "--quiet")).test_client()
    codes = [c.post(SUBMIT, json={"requestParams": [ITEM]}).get_json()["resCode"] for _ in range(2)]
    assert codes == [1001, 200]


def test_flags_override_the_file_and_add_to_its_lists(tmp_path):
    path = tmp_path / "bgmock.json"
    path.write_text(json.dumps({"seed": 1, "port": 9000, "app_keys": {"a": "sa"}, "faults": [{"resCode": 500}]}))
    config = cli_config("--config", str(path), "--seed", "2", "--app-key", "b:sb", "--fault", "501:0.5")
    assert config.seed == 2 and config.port == 9000
    assert dict(config.app_keys) == {"a": "sa", "b": "sb"}
    assert [dict(rule) for rule in config.faults] == [{"resCode": 500}, {"resCode": 501, "probability": 0.5}]


def test_app_key_flag_turns_signatures_on():
    config = cli_config("--app-key", "k1:s1", "--app-key", "k2:s:with:colons")
    assert dict(config.app_keys) == {"k1": "s1", "k2": "s:with:colons"}


BAD_FILES = [
    ("not-json.json", "{strict: true", "not valid JSON"),
    ("not-toml.toml", "strict = = true", "not valid TOML"),
    ("unknown-key.json", '{"colour": "red"}', "colour"),
    ("unknown-key.toml", 'colour = "red"', "colour"),
    ("wrong-type.json", '{"port": "eighty"}', "port"),
    ("wrong-type.toml", "strict = 1", "strict"),
    ("bad-rule.json", '{"faults": [{"resCode": 999}]}', "faults[0].resCode"),
    ("list.json", "[1, 2]", "object"),
]


@pytest.mark.parametrize(("name", "text", "says"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_config_file_exits_2_with_one_line(tmp_path, capsys, name, text, says):
    path = tmp_path / name
    path.write_text(text)
    code, out, err = run_main(capsys, "serve", "--config", str(path))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("bgmock: "), err
    assert says in err and "Traceback" not in err, err
    assert "bgmock listening" not in out


UNDECODABLE_FILES = [
    # name, bytes, what the line says the file is
    ("ps5.json", '{"seed": 1}'.encode("utf-16"), "it is UTF-16 (it starts with the byte-order mark FF FE"),
    ("ps5.toml", "seed = 1\n".encode("utf-16"), "it is UTF-16"),
    ("bare-bom.json", b"\xff\xfe", "it is UTF-16"),
    ("latin1.json", '{"seed": 1,\n "admin_token": "caf\u00e9-caf\u00e9-caf\u00e9"}'.encode("latin-1"),
     "byte 0xE9 on line 2"),
]


@pytest.mark.parametrize(("name", "data", "says"), UNDECODABLE_FILES, ids=[f[0] for f in UNDECODABLE_FILES])
def test_a_config_file_that_is_not_utf8_exits_2_with_one_line(tmp_path, capsys, name, data, says):
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = run_main(capsys, "serve", "--config", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"bgmock: config file {path} is not UTF-8 text")
    assert says in err and err.rstrip().endswith("save it as UTF-8"), err


def test_the_real_command_refuses_a_utf16_config_without_a_traceback(tmp_path):
    path = tmp_path / "g.json"
    path.write_bytes(b"\xff\xfe")  # PowerShell 5's `echo ... > g.json` starts so
    for command in (["serve", "--config", str(path)], ["ca", "--config", str(path)]):
        done = subprocess.run([bgmock_exe(), *command], capture_output=True, text=True, timeout=30)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert f"config file {path} is not UTF-8 text: it is UTF-16" in done.stderr
        assert done.stdout == ""


@pytest.mark.parametrize("kind", ["json", "toml"])
def test_a_config_file_saved_with_a_utf8_byte_order_mark_is_read(tmp_path, kind):
    path = tmp_path / f"notepad.{kind}"
    text = '{"seed": 5, "strict": true}' if kind == "json" else "seed = 5\nstrict = true\n"
    path.write_bytes(text.encode("utf-8-sig"))  # Windows Notepad's "UTF-8 with BOM"
    config = cli_config("--config", str(path))
    assert config.seed == 5 and config.strict is True


def test_missing_config_file(tmp_path, capsys):
    code, _, err = run_main(capsys, "serve", "--config", str(tmp_path / "nowhere.json"))
    assert code == 2 and err.count("\n") == 1
    assert "nowhere.json" in err and "No such file" in err


BAD_FLAGS = [
    (["--app-key", "nocolon"], "--app-key"),
    (["--app-key", ":secret"], "--app-key"),
    (["--app-key", "key:"], "--app-key"),
    (["--fault", "abc:x"], "--fault"),
    (["--fault", "abc"], "--fault"),
    (["--fault", "501:x"], "probability"),
    (["--fault", "501:2"], "probability"),
    (["--fault", "999"], "resCode"),
    (["--admin-token", "short"], "admin_token"),
    (["--port", "70000"], "port"),
]


@pytest.mark.parametrize(("flags", "says"), BAD_FLAGS, ids=[" ".join(f) for f, _ in BAD_FLAGS])
def test_bad_flag_exits_2_with_one_line(capsys, flags, says):
    code, out, err = run_main(capsys, "serve", *flags)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("bgmock: "), err
    assert says in err and "Traceback" not in err, err


def test_the_real_command_refuses_a_bad_config_without_a_traceback(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"faults": [{"resCode": 501, "transport": "reset"}]}')
    done = subprocess.run([bgmock_exe(), "serve", "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "faults[0]" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


# -- binding beyond loopback ----------------------------------------------------------------------

def test_non_loopback_host_without_admin_token_refuses(capsys):
    code, out, err = run_main(capsys, "serve", "--host", "0.0.0.0")
    assert code == 2 and err.count("\n") == 1
    assert "--admin-token" in err and "0.0.0.0" in err
    assert "listening" not in out


class _FakeServer:
    """Stands in for the HTTP server so the test never binds beyond loopback."""

    calls: list[tuple[Any, ...]] = []

    def __init__(self, host: str, port: int, app: Any, **kwargs: Any) -> None:
        _FakeServer.calls.append((host, port))
        self.socket = type("S", (), {"getsockname": staticmethod(lambda: (host, 8080))})()

    def server_close(self) -> None:
        return None


def _stopped_at_once(servers: list[Any]) -> bool:
    """``cli._serve_off_the_main_thread`` as if a stop signal came the moment it began."""
    return True


def test_non_loopback_host_with_admin_token_warns(capsys, monkeypatch):
    import mockserver.serving.httpd

    _FakeServer.calls.clear()
    monkeypatch.setattr(mockserver.serving.httpd, "make_server", _FakeServer)
    monkeypatch.setattr(cli, "_serve_off_the_main_thread", _stopped_at_once)
    code, out, err = run_main(capsys, "serve", "--host", "0.0.0.0", "--admin-token", "long-enough-token", "--quiet")
    assert code == 0
    assert _FakeServer.calls == [("0.0.0.0", 8080)]
    assert "warning" in err and "0.0.0.0" in err
    assert "bgmock listening on http://0.0.0.0:8080" in out
    assert "long-enough-token" not in out + err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_need_no_token(host):
    assert cli.is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_other_hosts_are_not_loopback(host):
    assert not cli.is_loopback(host)


# -- where it listens (SECURITY.md) -------------------------------------------------------------

ADMIN_TOKEN = "admin-token-never-shown-1"
APP_KEY, APP_SECRET = "sec-key", "app-secret-never-shown-2"


class _NoServer:
    """Stands in for the HTTP server: ``bgmock serve`` announces itself and stops at once."""

    def __init__(self, host: str, port: int, app: Any, **_: Any) -> None:
        import socket

        self.socket = socket.socket()
        self.bound = host

    def server_close(self) -> None:
        self.socket.close()


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    bound: list[str] = []

    def fake(host: str, port: int, app: Any, **kwargs: Any) -> _NoServer:
        bound.append(host)
        return _NoServer(host, port, app)

    monkeypatch.setattr("mockserver.serving.httpd.make_server", fake)
    monkeypatch.setattr(cli, "_serve_off_the_main_thread", _stopped_at_once)
    return bound


def test_serve_binds_loopback_by_default(no_server: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert Config().host == "127.0.0.1"
    assert cli.main(["serve", "--quiet"]) == 0
    assert no_server == ["127.0.0.1"]
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_serve_beyond_loopback_without_an_admin_token_refuses_to_start(
    host: str, no_server: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--host", host]) == 2
    assert no_server == []
    assert "--admin-token" in capsys.readouterr().err


def test_serve_beyond_loopback_with_a_token_warns_and_never_prints_the_token(
    no_server: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--host", "0.0.0.0", "--admin-token", ADMIN_TOKEN, "--app-key", f"{APP_KEY}:{APP_SECRET}"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert no_server == ["0.0.0.0"]
    assert "warning" in err and "reachable from other machines" in err
    assert ADMIN_TOKEN not in out + err and APP_SECRET not in out + err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.1.2.3"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert cli.is_loopback(host)
