"""The pytest plugin, used as a user would: a temporary project that only knows the fixtures.

The projects below import nothing from ``mockserver``; the plugin arrives through its
``pytest11`` entry point. Most runs are in-process (``pytester.runpytest``, fast); the xdist
run is a subprocess, as xdist itself spawns workers. The last test holds the failure report to
what docs/pytest-plugin.md shows.
"""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

#: Plugins of this environment the project does not use: each of the three processes of an xdist
#: run would import them (schemathesis alone takes seconds). A name that is not installed is ignored.
UNUSED_PLUGINS = [arg for name in ("schemathesis", "benchmark", "anyio", "hypothesispytest", "pytest_httpserver")
                  for arg in ("-p", f"no:{name}")]


def run(pytester, *args):
    """An in-process run of the temporary project, as a user would start it."""
    return pytester.runpytest("-p", "no:cacheprovider", *UNUSED_PLUGINS, *args)


# What every project's tests share: a valid submit and a tiny signing helper, as a user writes them.
PRELUDE = '''
import hashlib, hmac, time
import pytest, requests

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}

def submit(fake, item=ITEM, **kwargs):
    return requests.post(fake.url + SUBMIT, json={"requestParams": [item]}, timeout=5, **kwargs).json()

def signed(fake):
    ts = str(int(time.time() * 1000))
    sign = hmac.new(fake.app_secret.encode(), (fake.app_secret + ts).encode(), hashlib.sha256).hexdigest().upper()
    return {"app_key": fake.app_key, "timestamp": ts, "sign": sign, "sign_method": "sha256", "sign_ver": "v2"}
'''

FIXTURES_AND_MARKERS = PRELUDE + '''
@pytest.fixture(params=["bgmock", "bgmock_responses"])
def fake(request):
    return request.getfixturevalue(request.param)

def test_defaults(fake):
    assert fake.url.startswith("http://")
    assert fake.config.task_duration == 0 and fake.config.clock == "manual" and not fake.signatures
    assert fake.app_key and fake.app_secret
    answer = submit(fake)
    assert answer["resCode"] == 200
    task = fake.tasks()[0]
    assert task["taskId"] == answer["data"]["result"]["taskId"] and task["taskStatus"] == "finished"

def test_a_rule_left_forever_by_one_test(fake):
    fake.inject(1000, times=None)
    assert submit(fake)["resCode"] == 1000

def test_is_gone_in_the_next(fake):
    assert fake.faults() == [] and fake.requests() == [] and fake.now == 0
    assert submit(fake)["resCode"] == 200

@pytest.mark.bgmock(fault=501, times=2)
def test_marker_fault(fake):
    assert [submit(fake)["resCode"] for _ in range(3)] == [501, 501, 200]

@pytest.mark.bgmock(fault="failed")
def test_marker_task_outcome(fake):
    task_id = submit(fake)["data"]["result"]["taskId"]
    data = requests.get(fake.url + QUERY, params={"taskId": task_id}, timeout=5).json()["data"]
    assert data["taskStatus"] == "failed"

@pytest.mark.bgmock(strict=True, task_duration=4)
def test_marker_settings(fake):
    assert submit(fake, dict(ITEM, width="800"))["resCode"] == 700
    task_id = submit(fake)["data"]["result"]["taskId"]
    fake.advance(4)
    data = requests.get(fake.url + QUERY, params={"taskId": task_id}, timeout=5).json()["data"]
    assert data["taskStatus"] == "finished"

def test_marker_settings_do_not_leak(fake):
    assert not fake.config.strict and fake.config.task_duration == 0

@pytest.mark.bgmock(signatures=True)
def test_signatures(fake):
    assert fake.signatures
    body = {"requestParams": [ITEM]}
    assert requests.post(fake.url + "/rest" + SUBMIT, json=body, timeout=5).json()["code"] == "MissingParameter"
    answer = requests.post(fake.url + "/rest" + SUBMIT, params=signed(fake), json=body, timeout=5).json()
    assert answer["resCode"] == 200

@pytest.mark.bgmock(strict=True)
class TestClassMarker:
    @pytest.mark.bgmock(task_duration=9)
    def test_both_apply(self, fake):
        assert fake.config.strict and fake.config.task_duration == 9

@pytest.fixture(scope="session")
def session_client(bgmock_server):
    return requests.Session(), bgmock_server.url

def test_a_session_fixture_sees_a_reset_server(session_client, bgmock_server):
    http, url = session_client
    assert bgmock_server.requests() == []
    assert http.post(url + SUBMIT, json={"requestParams": [ITEM]}, timeout=5).json()["resCode"] == 200

def test_the_same_server_for_the_session(bgmock, bgmock_server):
    assert bgmock is bgmock_server
'''


def test_fixtures_and_markers_work_in_a_users_project(pytester):
    pytester.makepyfile(test_user=FIXTURES_AND_MARKERS)
    result = run(pytester)
    result.assert_outcomes(passed=20)
    result.stdout.fnmatch_lines(["bgmock: plugin defaults (manual clock, tasks finish at once, signatures off)"])


def test_a_failing_test_shows_the_offending_request(pytester):
    pytester.makepyfile(test_user=PRELUDE + '''
@pytest.mark.parametrize("name", ["bgmock", "bgmock_responses"])
def test_client_sends_a_bad_size(request, name):
    fake = request.getfixturevalue(name)
    submit(fake)
    answer = submit(fake, dict(ITEM, width=801, imageNum=11))
    assert answer["success"]

def test_client_never_called(bgmock_responses):
    assert False, "the client was pointed elsewhere"

@pytest.mark.bgmock(signatures=True)
def test_client_forgot_to_sign(bgmock):
    assert submit(bgmock, item=ITEM)["success"]
''')
    result = run(pytester)
    result.assert_outcomes(failed=4)
    out = result.stdout.str()
    for mode in ("live fake at http://127.0.0.1:", "in-process fake at http://bgmock.local"):
        assert re.search(rf"-+ bgmock {re.escape(mode)}", out), out
    assert out.count("1 call(s) broke the API's rules:") == 3
    assert out.count("#2 POST /ai/image/background/generation/scenario -> resCode 700") >= 2
    assert "requestParams[0].width/height" in out and "imageNum" in out
    assert '"width": 801' in out, "the offending request itself is shown"
    assert "no API call reached the fake at http://bgmock.local" in out
    assert "refused by the gateway (MissingParameter)" in out


def test_ini_env_and_command_line_layer_in_that_order(pytester, monkeypatch):
    pytester.makeini("[pytest]\nbgmock_seed = 1\nbgmock_task_duration = 5\nbgmock_strict = true\n")
    pytester.makepyfile(test_user='''
import os

def test_layers(bgmock, bgmock_responses):
    for fake in (bgmock, bgmock_responses):
        assert fake.config.seed == int(os.environ["EXPECT_SEED"])
        assert fake.config.task_duration == 5
        assert fake.config.strict == (os.environ["EXPECT_STRICT"] == "1")
''')
    monkeypatch.setenv("EXPECT_SEED", "1")
    monkeypatch.setenv("EXPECT_STRICT", "1")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["bgmock: strict=True seed=1 task_duration=5.0 signatures=off"])

    monkeypatch.setenv("BGMOCK_SEED", "2")
    monkeypatch.setenv("BGMOCK_STRICT", "false")
    monkeypatch.setenv("EXPECT_SEED", "2")
    monkeypatch.setenv("EXPECT_STRICT", "0")
    run(pytester).assert_outcomes(passed=1)

    monkeypatch.setenv("EXPECT_SEED", "3")
    monkeypatch.setenv("EXPECT_STRICT", "1")
    run(pytester, "--bgmock-seed", "3", "--bgmock-strict").assert_outcomes(passed=1)


def test_a_config_file_sets_the_session_up(pytester):
    pytester.makefile(".toml", fake='task_duration = 7\nseed = 11\n\n[[faults]]\nresCode = 500\nendpoint = "query"\n')
    pytester.makeini("[pytest]\nbgmock_config = fake.toml\n")
    pytester.makepyfile(test_user='''
def test_file(bgmock):
    assert bgmock.config.task_duration == 7 and bgmock.config.seed == 11
    assert [rule["resCode"] for rule in bgmock.faults()] == [500]
''')
    run(pytester).assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--bgmock-seed", "abc"], {}, "--bgmock-seed must be a whole number, not 'abc'"),
        ([], {"BGMOCK_STRICT": "maybe"}, "BGMOCK_STRICT must be true or false, not 'maybe'"),
        ([], {"BGMOCK_TASK_DURATION": "-1"}, "BGMOCK_TASK_DURATION: invalid configuration: task_duration*"),
        (["--bgmock-config", "missing.json"], {}, "bgmock: --bgmock-config: cannot read config file missing.json*"),
    ],
    ids=["seed", "strict", "duration", "file"],
)
def test_a_bad_session_setting_stops_the_run_with_a_message(pytester, monkeypatch, args, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile(test_user="def test_x(bgmock):\n    pass\n")
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("how", ["--bgmock-config", "BGMOCK_CONFIG", "ini bgmock_config"])
def test_a_bad_value_in_the_session_config_file_is_named_with_the_file_as_the_cli_names_it(
    pytester, monkeypatch, how
):
    """A value the file gives is told as ``bgmock serve --config`` tells it (``config file NAME:
    invalid configuration: …``), after the option that named the file; the ini's own settings
    (here a good one, merged on top) take no blame."""
    from mockserver.config import Config, ConfigError

    pytester.makefile(".json", bad='{"port": -1, "task_duration": "soon"}')
    args: list[str] = []
    if how == "--bgmock-config":
        args = ["--bgmock-config", "bad.json"]
    elif how == "BGMOCK_CONFIG":
        monkeypatch.setenv("BGMOCK_CONFIG", "bad.json")
    pytester.makeini("[pytest]\nbgmock_seed = 4\n" + ("bgmock_config = bad.json\n" if how.startswith("ini") else ""))
    pytester.makepyfile(test_user="def test_x(bgmock):\n    pass\n")
    path = pytester.path / "bad.json" if how.startswith("ini") else "bad.json"
    with pytest.raises(ConfigError) as cli:  # what bgmock serve --config says (after its "bgmock: ")
        Config.from_file(path)
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: bgmock: {how}: {cli.value}"])
    assert str(cli.value).startswith(f"config file {path}: invalid configuration: port: ")


def test_a_bad_ini_setting_is_named_as_the_ini_option(pytester):
    pytester.makeini("[pytest]\nbgmock_task_duration = -1\n")
    pytester.makepyfile(test_user="def test_x(bgmock):\n    pass\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: bgmock: ini bgmock_task_duration: invalid configuration: task_duration: *"])


@pytest.mark.parametrize("where", ["config", "catalog"])
def test_a_session_file_that_is_not_utf8_stops_the_run_with_one_line(pytester, where):
    scenes = '{"scenes": []}'.encode("utf-16")  # PowerShell 5's `echo ... > scenes.json`
    if where == "config":
        (pytester.path / "fake.json").write_bytes('{"seed": 1}'.encode("utf-16"))
    else:
        (pytester.path / "fake.json").write_text('{"catalog": "scenes.json"}', encoding="utf-8")
        (pytester.path / "scenes.json").write_bytes(scenes)
    pytester.makepyfile(test_user="def test_x(bgmock):\n    pass\n")
    result = run(pytester, "--bgmock-config", "fake.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    said = {"config": "*--bgmock-config: config file fake.json is not UTF-8 text: it is UTF-16*save it as UTF-8",
            "catalog": "*catalog: scenes.json: scene catalog is not UTF-8 text: it is UTF-16*save it as UTF-8"}
    result.stderr.fnmatch_lines([f"ERROR: bgmock: {said[where]}"])
    assert "Traceback" not in result.stderr.str() and "INTERNALERROR" not in result.stderr.str() + result.stdout.str()


def test_a_config_file_saved_with_a_utf8_byte_order_mark_is_read(pytester):
    (pytester.path / "fake.toml").write_bytes("seed = 13\n".encode("utf-8-sig"))  # Notepad's "UTF-8 with BOM"
    pytester.makeini("[pytest]\nbgmock_config = fake.toml\n")
    pytester.makepyfile(test_user="def test_file(bgmock):\n    assert bgmock.config.seed == 13\n")
    run(pytester).assert_outcomes(passed=1)


def test_a_bad_marker_fails_only_that_test_with_a_message(pytester):
    pytester.makepyfile(test_user='''
import pytest

@pytest.mark.bgmock(colour="blue")
def test_unknown(bgmock):
    pass

@pytest.mark.bgmock(journal_size=5)
def test_session_only(bgmock_responses):
    pass

@pytest.mark.bgmock(fault=404)
def test_bad_fault(bgmock):
    pass

@pytest.mark.bgmock(times=0, fault=501)
def test_bad_times(bgmock):
    pass

def test_fine(bgmock):
    pass
''')
    result = run(pytester, "-q")
    result.assert_outcomes(passed=1, errors=4)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.bgmock: invalid configuration*colour*",
        "*@pytest.mark.bgmock: journal_size can only be set for the session*",
        "*@pytest.mark.bgmock: invalid fault rule*resCode*",
        "*@pytest.mark.bgmock: times must be a whole number from 1*",
    ])
    # one clean error each: not the ConfigError, then "During handling of the above exception…"
    assert "During handling of the above exception" not in result.stdout.str()


XDIST_TESTS = PRELUDE + '''
@pytest.mark.parametrize("n", range(8))
def test_each_worker_has_its_own_fake(bgmock, bgmock_responses, n):
    for fake in (bgmock, bgmock_responses):
        fake.inject(501, times=1)
        assert [submit(fake)["resCode"] for _ in range(2)] == [501, 200]
        assert len(fake.requests()) == 2
    print("SERVED-BY", bgmock.url)
'''


def test_safe_with_xdist_workers(pytester):
    pytest.importorskip("xdist")
    pytester.makepyfile(test_user=XDIST_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *UNUSED_PLUGINS, "-n", "2", "-rP", timeout=120)
    result.assert_outcomes(passed=8)
    urls = set(re.findall(r"SERVED-BY (http://127\.0\.0\.1:\d+)", result.stdout.str()))
    assert len(urls) == 2, f"one live fake per worker, got {urls}"


# -- the failure report numbers calls per test, as docs/pytest-plugin.md shows: a test's first call
# is #1 whatever the tests before it sent to the same session's fake ------------------------------


def test_each_failing_tests_report_numbers_its_own_calls_from_one(pytester):
    pytester.makepyfile(
        test_user=PRELUDE
        + """
@pytest.mark.parametrize("name", ["bgmock", "bgmock_responses"])
@pytest.mark.parametrize("earlier", [3, 0])
def test_a_bad_size_after_good_calls(request, name, earlier):
    fake = request.getfixturevalue(name)
    for _ in range(earlier):
        submit(fake)
    answer = submit(fake, dict(ITEM, width=801))
    assert answer["success"]
"""
    )
    result = run(pytester)
    result.assert_outcomes(failed=4)
    out = result.stdout.str()
    offending = re.findall(r"^#(\d+) POST /ai/image/background/generation/scenario -> resCode 700$", out, re.M)
    # After good calls a report lists the offending call, then the last calls (the same number
    # twice); a test whose only call broke the rules shows it once.
    assert offending == ["4", "4", "4", "4", "1", "1"], out
    assert "#5 " not in out and "#8 " not in out, out
