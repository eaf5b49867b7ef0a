"""Every flag, setting and argument that takes a base URL goes through one checker
(``parsing.base_url_problem``): a URL urllib cannot use is one line naming where it was given
and quoting it as typed, before anything starts, never a traceback at the first request.

The trial's inputs: ``notaurl`` crashed ``bgmock contract --base-url`` with urllib's
``ValueError: unknown url type``; ``http//…``, ``/tmp`` and ``http://[::1`` the same;
``http://h:abc`` crashed ``verify-provider`` in http.client; ``http://[::1`` crashed ``bgmock
openapi --server``.
"""

from __future__ import annotations

import pytest

from contracts import SettingsError, pytest_contract, run
from contracts.reference_client import make_fast_adapter
from mockserver import cli
from mockserver.config import Config, ConfigError
from mockserver.parsing import base_url_problem, parse_base_url
from mockserver.testing.intercept import checked_base_urls

pytest_plugins = ["pytester"]

BAD = ["notaurl", "http//127.0.0.1:8080", "/tmp", "http://[::1", "localhost:8080", "http://h:abc",
       "http://h:99999", "http://:80", "ftp://x", "http://h:0", "http://a b", "", "http://user:pw@h"]


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert out == ""
    return code, err


@pytest.mark.parametrize("url", BAD, ids=repr)
@pytest.mark.parametrize(
    "argv",
    [
        ["contract", "--adapter", "contracts.reference_client:make_adapter", "--base-url"],
        ["verify-provider", "--base-url"],
        ["openapi", "--server"],
        ["serve", "--port", "0", "--public-url"],
    ],
    ids=lambda argv: argv[0],
)
def test_every_subcommand_refuses_a_bad_url_in_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], url: str
) -> None:
    code, err = _main(capsys, *argv, url)
    problem = base_url_problem(url)
    assert problem is not None
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    if argv[0] == "serve":  # a setting: the schema's pattern speaks first, the checker after it
        assert "public_url: " in err, err
    else:  # the one checker's verdict, quoting what was typed
        assert f"{argv[-1]} {parse_quoted(url)}: {problem}" in err, err
    assert "pw" not in err  # a password in the URL is never echoed


def parse_quoted(url: str) -> str:
    return repr(url.replace("user:pw@", "user:***@"))


@pytest.mark.parametrize("url", BAD, ids=repr)
def test_the_kit_s_python_entry_points_refuse_a_bad_base_url_before_anything_starts(url: str) -> None:
    for call in (lambda: run(make_fast_adapter, base_url=url), lambda: pytest_contract(make_fast_adapter,
                                                                                       base_url=url)()):
        with pytest.raises(SettingsError) as caught:
            call()
        assert str(caught.value).startswith("base_url ") and base_url_problem(url) in str(caught.value)
        assert caught.value.__context__ is None or caught.value.__suppress_context__


@pytest.mark.parametrize("url", [*BAD, "http://bgmock.local/api", "http://h/?q=1"], ids=repr)
def test_in_process_base_urls_and_the_plugin_s_ini_take_scheme_host_port_only(url: str) -> None:
    with pytest.raises(ValueError, match="base URL") as caught:
        checked_base_urls([url])
    assert base_url_problem(url, path=False) in str(caught.value)


def test_the_plugin_s_ini_base_url_is_one_usage_line(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nbgmock_base_urls =\n    http://ok.test\n    localhost:8080\n")
    pytester.makepyfile(test_user="def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bgmock: ini bgmock_base_urls 'localhost:8080': must start with http:// or "
                                 "https:// (did you mean 'http://localhost:8080'?)*"])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("url", BAD, ids=repr)
def test_the_public_url_setting_uses_the_same_checker(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({"public_url": url})
    assert "public_url: " in str(caught.value) and "\n" not in str(caught.value).strip()


@pytest.mark.parametrize(
    ("url", "taken"),
    [("http://127.0.0.1:8080", "http://127.0.0.1:8080"), ("https://api.aidc-ai.com/", "https://api.aidc-ai.com"),
     ("http://[::1]:8080", "http://[::1]:8080"), ("HTTP://Fake.Test:1/prefix/", "HTTP://Fake.Test:1/prefix"),
     ("http://h:", "http://h:")],
)
def test_good_urls_pass_without_their_trailing_slash(url: str, taken: str) -> None:
    assert parse_base_url(url, "--base-url") == taken


def test_a_url_given_as_host_and_port_gets_a_did_you_mean() -> None:
    with pytest.raises(ValueError, match=r"did you mean 'http://127\.0\.0\.1:8080'\?"):
        parse_base_url("127.0.0.1:8080", "--base-url")
    assert "did you mean" not in (base_url_problem("notaurl") or "")


def test_a_non_string_base_url_is_named() -> None:
    with pytest.raises(SettingsError, match="base_url: must be a string, not int"):
        run(make_fast_adapter, base_url=8080)
