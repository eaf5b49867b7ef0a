"""``--adapter-cmd``: the kit drives clients in any language through the JSON-lines protocol.

Each shipped example adapter (Python, Node 20, Java 17 in ``examples/adapters/``) keeps every
obligation, and its deliberately broken twin is caught by the right one; an adapter process
that crashes, hangs or prints garbage is reported as a crash on that call, with its stderr,
and the run goes on with a fresh process.

Runs are small: a derandomized budget of 10 examples and bounds of a few seconds, with the
clients tuned to match (the same tuning and bounds as ``tests/kit/test_contract_kit.py``:
``contract_clients.FAST`` and ``BOUNDS``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from contract_clients import BOUND_FLAGS, BOUNDS, NO_TIMEOUT_BOUNDS
from contract_clients import FAST as CLIENT

from contracts import AdapterLoadError, pytest_contract, run
from contracts.command_adapter import command_factory
from mockserver.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "adapters"
MISBEHAVING = Path(__file__).resolve().parents[1] / "command_adapters" / "misbehaving.py"
PYTHON = shlex.quote(sys.executable)

FAST: dict[str, Any] = {
    "examples": 10,
    "derandomize": True,
    **BOUNDS,
    "poll_min_interval_s": 0.05,
    "shrink_budget_s": 2.0,
    "max_attempts": 4,
}
#: The clients' own settings, tuned to the bounds above (as a test configuration would).
TUNING = (
    f"--timeout {CLIENT['timeout'][1]:g} --max-attempts {CLIENT['max_attempts']} "
    f"--poll-interval {CLIENT['poll_interval']:g} --poll-timeout {CLIENT['poll_timeout']:g}"
)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture(scope="module")
def java_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Java example compiled with javac (JDK only, no build tool)."""
    javac = _tool("javac")
    out = tmp_path_factory.mktemp("java")
    subprocess.run([javac, "-d", str(out), str(EXAMPLES / "java" / "BgAdapter.java")], check=True)
    return out


def _command(language: str, java_classes: Path | None) -> str:
    if language == "python":
        return f"{PYTHON} {shlex.quote(str(EXAMPLES / 'python' / 'bg_adapter.py'))} {TUNING}"
    if language == "node":
        return f"{shlex.quote(_tool('node'))} {shlex.quote(str(EXAMPLES / 'node' / 'bg_adapter.mjs'))} {TUNING}"
    assert java_classes is not None
    return f"{shlex.quote(_tool('java'))} -cp {shlex.quote(str(java_classes))} BgAdapter {TUNING}"


@pytest.fixture
def command(request: pytest.FixtureRequest) -> Any:
    def make(language: str) -> str:
        classes = request.getfixturevalue("java_classes") if language == "java" else None
        return _command(language, classes)

    return make


@pytest.mark.parametrize("language", ["python", "node", "java"])
def test_each_example_adapter_keeps_every_obligation(language: str, command: Any) -> None:
    result = run(command_factory(command(language)), **FAST)
    assert result.ok, result.text()
    assert all(v.status == "kept" for v in result.verdicts), result.text()


#: A platform whose default encoding is Latin-1 (Python's stdio, Java 17's default charset).
LATIN1 = {"PYTHONIOENCODING": "latin-1", "JAVA_TOOL_OPTIONS": "-Dfile.encoding=ISO-8859-1"}


@pytest.mark.parametrize("language", ["python", "node", "java"])
def test_each_example_adapter_speaks_the_protocol_in_utf8_whatever_the_platform_encoding(
    language: str, command: Any
) -> None:
    """The kit writes the protocol in UTF-8; an adapter reading it in the platform's encoding
    sends each non-ASCII character of a title on as several (C2: productTitle changed)."""
    env = {**os.environ, **LATIN1}
    result = run(command_factory(command(language), env=env), only="C2", **FAST)
    assert result.status("C2") == "kept", result.text()


#: language -> (its broken twin's flag, obligations checked, the ones it must break)
TWINS = {
    "python": ("--bug swap-dims", "C1,C2,C3,C4", {"C1", "C2"}),
    "node": ("--bug no-timeout", "C9", {"C9"}),
    "java": ("--bug retry-all", "C5,C6", {"C6"}),
}


@pytest.mark.parametrize("language", sorted(TWINS))
def test_each_broken_twin_is_caught_by_the_right_obligation(language: str, command: Any) -> None:
    flag, only, expected = TWINS[language]
    settings = {**FAST, **(NO_TIMEOUT_BOUNDS if flag == "--bug no-timeout" else {})}
    result = run(command_factory(f"{command(language)} {flag}"), only=only, **settings)
    assert set(result.broken) == expected, result.text()


def test_the_node_twin_is_reported_as_having_no_timeout(command: Any) -> None:
    result = run(command_factory(f"{command('node')} --bug no-timeout"), only="C9", **FAST)
    assert [f.title for f in result.verdict("C9").failures] == ["timeout: no timeout"], result.text()


def test_the_adapter_stderr_is_shown_with_the_example_it_belongs_to(command: Any) -> None:
    """The Java twin prints a line per retry on stderr: the retried-700 example carries it."""
    result = run(command_factory(f"{command('java')} --bug retry-all"), only="C6", **FAST)
    failure = next(f for f in result.verdict("C6").failures if f.title == "retried 700")
    assert failure.client is not None
    assert "submit: resCode 700, retrying" in failure.client["stderr"]
    assert "the adapter's stderr during this call:" in result.text()


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("crash", "the adapter exited with code 3 during submit"),
        ("hang", "the adapter did not answer submit within the kit's limit for the call"),
        ("garbage", "the adapter answered submit with a line that is not JSON: 'hello, not json'"),
        ("off-protocol", 'the adapter answered submit with {"task": "x"}, which is not a reply of the protocol'),
    ],
)
def test_a_misbehaving_adapter_is_a_crash_on_that_call_and_the_run_goes_on(
    fault: str, says: str, tmp_path: Path
) -> None:
    once = tmp_path / "done"
    cmd = f"{PYTHON} {shlex.quote(str(MISBEHAVING))} --fault {fault} --once {shlex.quote(str(once))}"
    result = run(command_factory(cmd), only="C1,C4", **FAST)
    c4 = result.verdict("C4")
    assert c4.status == "broken", result.text()
    [failure] = c4.failures
    assert failure.client is not None and failure.client["kind"] == "crashed"
    assert says in failure.client["message"]
    assert f"about to {fault} on submit 2" in failure.client["stderr"]
    # a fresh process answered what came after (the first submit, then at least the boundary example)
    assert result.verdict("C1").status == "kept" and result.verdict("C1").judged >= 2


def test_an_adapter_that_answers_twice_is_caught_at_the_next_request(tmp_path: Path) -> None:
    once = tmp_path / "done"
    cmd = f"{PYTHON} {shlex.quote(str(MISBEHAVING))} --fault twice --once {shlex.quote(str(once))}"
    result = run(command_factory(cmd), only="C1,C4", **FAST)
    [failure] = result.verdict("C4").failures
    assert failure.client is not None and failure.client["kind"] == "crashed"
    assert "the adapter printed a line nobody asked for before submit" in failure.client["message"]
    assert "logs go to stderr" in failure.client["message"]


def test_an_adapter_that_answers_wait_false_is_not_judged_on_polling(tmp_path: Path) -> None:
    script = tmp_path / "no_wait.py"
    script.write_text(
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    m = json.loads(line)\n"
        "    reply = {'ok': True, 'wait': False} if m['op'] == 'open' else {'ok': True} if m['op'] == 'close'"
        " else {'transport': 'not implemented'}\n"
        "    print(json.dumps(reply), flush=True)\n",
        encoding="utf-8",
    )
    result = run(command_factory(f"{PYTHON} {shlex.quote(str(script))}"), only="C10,C11,C12", **FAST)
    assert {v.status for v in result.verdicts} == {"not applicable"}, result.text()


def test_pytest_contract_takes_a_command(command: Any) -> None:
    test = pytest_contract(command_factory(command("python")), only="C4", **FAST)
    test()  # passes: the Python example keeps C4


FAST_FLAGS = ["--derandomize", "--examples", "10", *BOUND_FLAGS, "--quiet"]


def test_cli_adapter_cmd_exit_0_for_a_good_client(
    command: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hypothesis.configuration import storage_directory

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    home = storage_directory(intent_to_write=False).home_directory
    code = main(["contract", "--adapter-cmd", command("python"), "--only", "C3,C4", *FAST_FLAGS])
    assert code == 0, capsys.readouterr()
    assert "every obligation kept" in capsys.readouterr().out
    # the run's Hypothesis files went to the cache (test_the_cli_leaves_nothing_in_the_current_folder);
    # a process that called the CLI gets its own setting back
    assert storage_directory(intent_to_write=False).home_directory == home


def test_the_cli_leaves_nothing_in_the_current_folder(command: Any, tmp_path: Path) -> None:
    """The command as a user runs it, in an empty folder: Hypothesis's files (no example
    database, but its caches) go under $XDG_CACHE_HOME/bgmock/hypothesis, not to .hypothesis/."""
    folder, cache = tmp_path / "project", tmp_path / "cache"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("bgmock")), "contract", "--adapter-cmd", command("python"),
         "--profile", "smoke", "--only", "C1", "--quiet"],
        cwd=folder, env={**env, "XDG_CACHE_HOME": str(cache)}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in folder.iterdir()) == []
    assert (cache / "bgmock" / "hypothesis").is_dir()


@pytest.mark.parametrize(
    ("cmd", "says"),
    [
        ("read line; echo nope", "the adapter answered open with a line that is not JSON: 'nope'"),
        ("read line; exit 4", "the adapter exited with code 4 during open"),
        ("read line; echo '{\"ok\": true}'", 'is not {"ok": true, "wait": true|false}'),
        # a reply written as UTF-16 (PowerShell 5's default) or in a legacy code page (latin-1 é)
        (r"read line; printf '\377\376{\000}\000\n'", "the adapter's reply to open is not UTF-8 text: it is UTF-16"),
        (r"read line; printf '{\"ok\": \"caf\351\"}\n'", "the adapter's reply to open is not UTF-8 text (byte 0xE9"),
    ],
)
def test_cli_an_adapter_that_cannot_open_is_a_usage_error(
    cmd: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["contract", "--adapter-cmd", cmd, *FAST_FLAGS])
    err = capsys.readouterr().err
    assert code == 2
    assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("cmd", "says"),
    [
        ("echo could not find main class >&2; echo second line >&2; exit 3",
         "exited with code 3 during open; its stderr ended with: could not find main class | second line"),
        ("read line; echo boom >&2; sleep 0.2; exit 1", "its stderr ended with: boom"),
        ("no-such-adapter-command-xyz", "no-such-adapter-command-xyz: not found"),
    ],
)
def test_cli_an_adapter_that_fails_to_open_shows_its_stderr_in_the_one_line(
    cmd: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed open ends the run before any report: the stderr (a JVM's "could not find main
    class", a shell's "not found") is quoted in the line itself, never pointed to "below"."""
    code = main(["contract", "--adapter-cmd", cmd, *FAST_FLAGS])
    err = capsys.readouterr().err
    assert code == 2 and says in err and "below" not in err and len(err.strip().splitlines()) == 1, err


def test_cli_adapter_and_adapter_cmd_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["contract", "--adapter", "x:y", "--adapter-cmd", "true"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_empty_command_is_refused() -> None:
    with pytest.raises(AdapterLoadError, match="the command is empty"):
        command_factory("  ")
