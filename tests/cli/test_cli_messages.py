"""The command line names a bad flag with what it accepts, in one line from the subcommand.

A flag's value is read with the grammar every entry point uses (mockserver/parsing.py): ASCII
digits only, no ``1_000``, no NaN, no 5 000-digit numbers; each small language (latency,
``--fault CODE[:P]``, rates) refuses inconsistent values rather than guessing.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

import pytest

from mockserver import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse: --version, usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"bgmock {metadata.version('bgmock')}"


def test_an_unknown_flag_is_one_line_from_the_subcommand_with_the_likely_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "serve", "--prot", "1")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("bgmock serve: error: unrecognized arguments: --prot 1 (did you mean --port?)")
    assert "bgmock serve --help" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [([], "bgmock: error: the following arguments are required: COMMAND"),
     (["serve", "--progression", "bogus"], "bgmock serve: error: argument --progression: invalid choice"),
     (["serve", "--seed", "abc"], "bgmock serve: error: argument --seed: must be a"),
     (["contract", "--nope"], "bgmock contract: error:")],
)
def test_every_usage_error_is_one_line_naming_the_flag(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.startswith(says) and err.count("\n") == 1, err


#: Added to a command that must be refused: were its value taken by mistake, the fake would stop
#: here (a host beyond loopback needs an admin token) instead of serving for ever.
NEVER_SERVES = ("--host", "192.0.2.1")
NUMERIC_FLAGS = ["--port", "--seed", "--polls-to-finish", "--workers", "--task-duration", "--burst"]
NOT_NUMBERS = ["\u0663", "\u00b2", "1_000", "9" * 5000, "nan", "inf", " 5", "0x10", "", "1e1", "1E1", "2."]


@pytest.mark.parametrize("flag", NUMERIC_FLAGS)
@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
def test_numeric_flags_take_ascii_decimals_only(capsys: pytest.CaptureFixture[str], flag: str, value: str) -> None:
    code, _, err = run(capsys, "serve", f"{flag}={value}", *NEVER_SERVES)
    assert code == 2 and err.startswith(f"bgmock serve: error: argument {flag}: must be a"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert len(err) < 2000  # a 5 000-digit value is not echoed back whole


MINI_LANGUAGES = [
    (["--latency", "lognormal:p50=2s,p99=1s"], "p99 must be at least p50"),
    (["--latency", "2s..1s"], "second bound must not be below the first"),
    (["--latency", "query=\u0663s"], "expected"),
    (["--fault", "501:nan"], "probability: must be a decimal number from 0 to 1"),
    (["--fault", "\u00b2"], "CODE must be a documented resCode"),
    (["--fault", "9" * 5000], "CODE must be a documented resCode"),
    (["--rate-limit", "\u00b2/s"], "expected N/s, N/min or N/h"),
    (["--rate-limit", "0/s"], "must be more than 0"),
    # no exponent in any of them, as in every numeric flag (README, Numbers)
    (["--fault", "501:1e-1"], "probability: must be a decimal number from 0 to 1"),
    (["--fault", "reset:5E-1"], "probability: must be a decimal number from 0 to 1"),
    (["--latency", "1e2ms"], "expected a duration"),
    (["--latency", "submit=1e2ms..2s"], "expected e.g. 200ms"),
    (["--rate-limit", "1e1/s"], "expected N/s, N/min or N/h"),
]


@pytest.mark.parametrize(("flags", "says"), MINI_LANGUAGES, ids=[" ".join(f)[:30] for f, _ in MINI_LANGUAGES])
def test_small_languages_refuse_bad_or_inconsistent_values(
    capsys: pytest.CaptureFixture[str], flags: list[str], says: str
) -> None:
    code, _, err = run(capsys, "serve", *flags, *NEVER_SERVES)
    assert code == 2 and err.startswith(f"bgmock: {flags[0]}") and err.count("\n") == 1, err
    assert says in err and len(err) < 400, err


def test_no_flag_of_any_subcommand_reads_numbers_with_pythons_int_or_float() -> None:
    """The class, not the instances: every numeric flag of every subcommand (serve, contract,
    verify-provider, openapi) uses parsing.py's readers, so a new flag typed ``int`` fails here."""
    import argparse

    cli._register_optional()
    seen = 0
    for name, (add_args, _run) in cli.COMMANDS.items():
        parser = argparse.ArgumentParser(prog=f"bgmock {name}")
        add_args(parser)
        for action in parser._actions:
            assert action.type not in (int, float), f"bgmock {name} {action.option_strings}: type={action.type}"
            seen += action.type is not None
    assert seen >= 10


def test_every_numeric_flag_of_every_subcommand_reads_one_grammar() -> None:
    """Decimal flags (``--task-duration``, ``--burst``, the kit's ``--timeout``) read ``1e1`` while
    whole-number flags refused it; every typed flag now refuses an exponent, a sign (but the seeds)
    and NaN, and reads plain ASCII decimals."""
    import argparse

    from mockserver.parsing import flag_int, flag_number, flag_signed_int

    cli._register_optional()
    readers = {flag_int: ("5", 5), flag_signed_int: ("-5", -5), flag_number: ("0.5", 0.5)}
    seen = []
    for name, (add_args, _run) in cli.COMMANDS.items():
        parser = argparse.ArgumentParser(prog=f"bgmock {name}")
        add_args(parser)
        for action in parser._actions:
            if action.type is None:
                continue
            assert action.type in readers, f"bgmock {name} {action.option_strings}: type={action.type}"
            good, read = readers[action.type]
            assert action.type(good) == read
            signs = ("+1", "-1") if action.type is not flag_signed_int else ()
            for bad in ("1e1", "1E1", "1e-1", "nan", "inf", "2.", *signs):
                with pytest.raises(argparse.ArgumentTypeError):
                    action.type(bad)
            seen.append(f"{name} {action.option_strings[0]}")
    assert {"serve --task-duration", "serve --burst", "verify-provider --timeout", "contract --examples"} <= set(seen)


@pytest.mark.parametrize(
    "argv",
    [["contract", "tests.docs.examples.requests_adapter:Adapter", "--examples", "\u0663"],
     ["verify-provider", "http://127.0.0.1:1", "--timeout", "nan"]],
)
def test_other_subcommands_name_a_bad_number_in_their_usage(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith(f"bgmock {argv[0]}: error: argument") and ": must be a" in err


@pytest.mark.parametrize(
    ("flags", "says"),
    [(["--server", "granian"], "bgmock: --server granian needs granian"),
     (["--workers", "2"], "bgmock: --workers needs granian")],
)
def test_without_granian_the_flag_that_asked_for_it_is_named_before_anything_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, flags: list[str], says: str
) -> None:
    import sys

    from mockserver.storage import private_redis

    monkeypatch.setitem(sys.modules, "granian", None)

    def no_state(config: object) -> None:
        raise AssertionError("a private Redis was started for a fake that cannot run")

    monkeypatch.setattr(private_redis, "serving_state", no_state)
    code, _, err = run(capsys, "serve", "--port", "0", *flags)
    assert code == 2 and err.startswith(says) and "pip install granian" in err and err.count("\n") == 1, err


def test_public_url_is_a_flag_that_overrides_the_file(tmp_path: pytest.TempPathFactory) -> None:
    import argparse
    import json

    config_file = tmp_path / "c.json"  # type: ignore[operator]
    config_file.write_text(json.dumps({"public_url": "http://from-file.test"}))
    parser = argparse.ArgumentParser()
    cli._serve_args(parser)
    config = cli.build_config(parser.parse_args(["--config", str(config_file), "--public-url", "https://fake.local:8092"]))
    assert config.public_url == "https://fake.local:8092"


def test_a_bad_public_url_flag_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve", "--port", "0", "--public-url", "ftp://x")
    assert code == 2 and err.count("\n") == 1 and "public_url: must be a URL starting with http://" in err, err


def test_every_setting_flag_of_serve_is_in_the_readmes_settings_table() -> None:
    """The README's table of settings names each one's flag: a flag added without its row (as
    ``--public-url`` and ``--clock`` once were) fails here, as does a row naming a flag that is gone."""
    import argparse
    import re
    from pathlib import Path

    parser = argparse.ArgumentParser()
    cli._serve_args(parser)
    not_settings = {"--help", "--config", "--quiet"}  # the file of settings; logging
    flags = {flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")}
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = [line.replace("\\|", "/") for line in readme.splitlines() if line.startswith("| `")]
    named = {flag for row in rows if row.count("|") > 3 for flag in re.findall(r"`(--[a-z-]+)", row.split("|")[2])}
    assert flags - not_settings - named == set()
    assert named - flags == set()


def test_an_unwritable_output_file_is_named(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    target = f"{tmp_path}/no/such/dir/openapi.json"
    code, _, err = run(capsys, "openapi", "-o", target)
    assert code == 2 and err == f"bgmock: --output {target}: cannot write it (No such file or directory)\n", err


@pytest.mark.parametrize("argv", [["openapi"], ["--version"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(argv: list[str]) -> None:
    """``bgmock openapi | head -c 0``: no "Broken pipe" line and no traceback, the shell's code for
    SIGPIPE (141) as any Unix tool whose reader went away (``--version`` too: it prints while
    the flags are read, before ``main``'s own handler)."""
    import subprocess
    import sys
    from pathlib import Path

    command = [str(Path(sys.executable).with_name("bgmock")), *argv]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert (code, err) == (141, b"")


# -- a flag that means nothing without another is refused, as --tls-port without --tls is -------
@pytest.fixture
def never_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    """A start that got past the checks fails the test instead of serving for ever."""

    def listening(*_: Any, **__: Any) -> int:
        raise AssertionError("bgmock serve started: the flags were accepted")

    monkeypatch.setattr(cli, "_serve_one", listening)


@pytest.mark.usefixtures("never_listens")
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--intercept", "x.com"], "--intercept: give --proxy too"),
        (["--tls-cert", "c.pem", "--tls-key", "k.pem"], "--tls-cert: give --tls too"),
        (["--tls-key", "k.pem"], "--tls-key: give --tls too"),
        (["--tls-port", "8443"], "--tls-port: give --tls too"),
        (["--tls-dir", "ca-dir"], "--tls-dir: has no effect without --tls or --proxy"),
        (["--polls-to-finish", "4"], "--polls-to-finish: has no effect without --progression polls"),
        (["--progression", "polls", "--task-duration", "1"], "--task-duration: has no effect with --progression polls"),
    ],
)
def test_a_flag_without_the_flag_it_needs_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Any, argv: list[str], says: str
) -> None:
    files = [str(tmp_path / a) if a.endswith((".pem", "-dir")) and not a.startswith("--") else a for a in argv]
    code, out, err = run(capsys, "serve", "--port", "0", *files)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith(f"bgmock: {says}"), err


def test_a_tls_dir_in_a_config_file_alone_is_fine(tmp_path: Any) -> None:
    """A file may be shared with `bgmock ca --config`: only the flag, typed for this start, is refused."""
    path = tmp_path / "fake.json"
    path.write_text(json.dumps({"tls_dir": str(tmp_path / "ca")}), encoding="utf-8")
    parser = cli.Parser(prog="bgmock serve")
    cli._serve_args(parser)
    namespace = parser.parse_args(["--config", str(path)])  # the serve flags as main reads them
    config = cli.build_config(namespace)
    cli._check_flag_needs(namespace, config)  # no ConfigError
    assert config.tls_dir == str(tmp_path / "ca")


@pytest.mark.usefixtures("never_listens")
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        # quoted as typed ('key:'), not as what was read of it ('key')
        (["--app-key", "key:"], "--app-key 'key:': expected KEY:SECRET (the secret is missing)"),
        (["--app-key", "nocolon"], "--app-key 'nocolon': expected KEY:SECRET (the ':' between them is missing)"),
        (["--app-key", ":s3cret"], "--app-key ':***': expected KEY:SECRET (the key is missing)"),  # no secret shown
        (["--latency", "Submit=200ms"], "--latency 'Submit=200ms': ENDPOINT 'Submit' before '=' must be one of"),
        (["--latency", "submit=abc"], "--latency 'submit=abc': latency 'abc': expected"),
        (["--rate-limit", "5/s@nowhere"], "--rate-limit '5/s@nowhere': ENDPOINT after '@' must be one of"),
        (["--host", "0.0.0.0 "], "--host '0.0.0.0 ' exposes the fake beyond this machine"),
    ],
)
def test_flag_messages_quote_what_was_typed(capsys: pytest.CaptureFixture[str], argv: list[str], says: str) -> None:
    code, out, err = run(capsys, "serve", "--port", "0", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith(f"bgmock: {says}"), err
    assert "s3cret" not in err
