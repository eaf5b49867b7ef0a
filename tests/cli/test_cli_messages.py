"""The command line names a bad flag with what it accepts, in the subcommand's own usage.

A flag's value is read with the grammar every entry point uses (mockserver/parsing.py): ASCII
digits only, no ``1_000``, no NaN, no 5 000-digit numbers; each small language (latency,
``--fault CODE[:P]``, rates) refuses inconsistent values rather than guessing.
"""

from __future__ import annotations

from importlib import metadata

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


def test_an_unknown_flag_shows_the_subcommands_usage_and_the_likely_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve", "--prot", "1")
    assert code == 2
    assert "usage: bgmock serve" in err and "unrecognized arguments: --prot 1 (did you mean --port?)" in err


NUMERIC_FLAGS = ["--port", "--seed", "--polls-to-finish", "--workers", "--task-duration", "--burst"]
NOT_NUMBERS = ["\u0663", "\u00b2", "1_000", "9" * 5000, "nan", "inf", " 5", "0x10", ""]


@pytest.mark.parametrize("flag", NUMERIC_FLAGS)
@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
def test_numeric_flags_take_ascii_decimals_only(capsys: pytest.CaptureFixture[str], flag: str, value: str) -> None:
    code, _, err = run(capsys, "serve", f"{flag}={value}")
    assert code == 2 and "usage: bgmock serve" in err
    assert f"argument {flag}: must be a" in err and "Traceback" not in err
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
]


@pytest.mark.parametrize(("flags", "says"), MINI_LANGUAGES, ids=[" ".join(f)[:30] for f, _ in MINI_LANGUAGES])
def test_small_languages_refuse_bad_or_inconsistent_values(
    capsys: pytest.CaptureFixture[str], flags: list[str], says: str
) -> None:
    code, _, err = run(capsys, "serve", *flags)
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


@pytest.mark.parametrize(
    "argv",
    [["contract", "tests.docs.examples.requests_adapter:Adapter", "--examples", "\u0663"],
     ["verify-provider", "http://127.0.0.1:1", "--timeout", "nan"]],
)
def test_other_subcommands_name_a_bad_number_in_their_usage(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and f"usage: bgmock {argv[0]}" in err and ": must be a" in err
