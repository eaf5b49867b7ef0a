"""What ``--state`` accepts, and the one line (exit 2) for everything else.

A new user's trial found a Redis URL with an unknown query parameter ending in a redis-py
traceback, ``redis://host/abc`` quietly using DB 0, ``redis:/host`` and ``http://x`` taken for
directories, login refusals worded as "cannot reach Redis", and ``--state-prefix`` ignored
without a word.  Each is a class of inputs here, with the password of every URL checked never
to appear.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import stop_process
from redis_helpers import redis_or_skip

from mockserver import cli
from mockserver.config import Config, ConfigError, without_password
from mockserver.storage import open_storage
from mockserver.storage.private_redis import PrivateRedis, serving_state
from mockserver.storage.state_url import check_directory, is_redis_url, parse_redis_url

SECRET = "hunter22"


def _refusal(state: str) -> str:
    """The one line ``open_storage`` refuses ``state`` with (the path every program takes)."""
    with pytest.raises(ConfigError) as caught:
        open_storage(Config(state=state, state_timeout_s=0.5))
    message = str(caught.value)
    assert "\n" not in message and SECRET not in message
    return message


# -- URLs that are refused before anything connects -------------------------------------------
@pytest.mark.parametrize(("url", "said"), [
    (f"redis://:{SECRET}@127.0.0.1:6379/12?x=1", "unknown query parameter 'x'"),
    ("redis://127.0.0.1:6379/12?decode_responses=true", "unknown query parameter 'decode_responses'"),
    (f"rediss://:{SECRET}@127.0.0.1:6379/12?ssl_cert_reqs=bogus", "ssl_cert_reqs='bogus': expected none, optional"),
    ("redis://127.0.0.1:6379/12?ssl_cert_reqs=none", "ssl_cert_reqs is for TLS: use rediss://"),
    ("rediss://127.0.0.1:6379/12?ssl_ca_certs=/no/such/ca.pem", "ssl_ca_certs='/no/such/ca.pem': no such file"),
    ("redis://127.0.0.1:6379/12?socket_timeout=abc", "socket_timeout='abc': expected seconds"),
    ("redis://127.0.0.1:6379/12?socket_keepalive=false&socket_keepalive=true", "socket_keepalive given twice"),
    ("redis://127.0.0.1:6379/12?retry_on_timeout=nope", "expected true or false"),
    (f"redis://127.0.0.1:6379/12?password={SECRET}&password=x", "password given twice"),
    (f"redis://:{SECRET}@127.0.0.1:6379/12?password=other", "given twice (in the URL and as a query parameter)"),
    ("redis://127.0.0.1:6379/abc", "the DB (the path after the port) must be a whole number"),
    ("redis://127.0.0.1:6379/-1", "must be a whole number"),
    ("redis://127.0.0.1:6379/1/2", "must be a whole number"),
    ("redis://127.0.0.1:6379/99999999999", "must be a whole number"),
    ("redis://127.0.0.1:6379/1?db=2", "the DB given twice"),
    ("redis://127.0.0.1:6379?db=x", "db='x': expected a whole number"),
    # numbers as every flag reads them (parsing.py): int() of 5 000 digits raised, a traceback;
    # float() of 400 digits is infinity, and redis-py's settimeout raised
    ("redis://127.0.0.1:6379/" + "9" * 5000, "the DB (the path after the port) must be a whole number"),
    ("redis://127.0.0.1:6379?db=" + "9" * 5000, "expected a whole number"),
    ("redis://127.0.0.1:6379/12?health_check_interval=" + "9" * 5000, "expected a whole number"),
    ("redis://127.0.0.1:6379/12?socket_timeout=" + "9" * 400, "expected seconds, above 0 and at most 60"),
    ("redis://127.0.0.1:6379/12?socket_connect_timeout=61", "expected seconds, above 0 and at most 60"),
    ("redis://127.0.0.1:6379/12?socket_timeout=1e1", "expected seconds"),
    ("redis://127.0.0.1:6379/12?socket_timeout=nan", "expected seconds"),
    (f"redis://u:{SECRET}@127.0.0.1:abc/1", "the port must be a number from 1 to 65535"),
    ("redis://127.0.0.1:99999/1", "the port must be a number from 1 to 65535"),
    ("redis://127.0.0.1:0/1", "the port must be a number from 1 to 65535"),
    ("redis://[::1/0", "not a valid URL"),
    (f"redis://:{SECRET[:3]}#{SECRET[3:]}@127.0.0.1:6379/1", "'#' in it"),
    (f"redis://:{SECRET[:3]}/{SECRET[3:]}@127.0.0.1:6379/1", "'@' after the host"),
    ("redis://127.0.0.1:6379/1 ", "a space or control character"),
    ("unix://", "unix:// needs the path of Redis's socket"),
    ("unix://localhost/run/redis.sock", "followed by the socket's absolute path (three slashes)"),
])
def test_a_url_redis_py_would_refuse_or_misread_is_one_line_naming_the_part(url, said):
    message = _refusal(url)
    assert said in message and len(message) < 600, message  # a 5 000-digit URL is not echoed whole


def test_a_refusal_carries_no_chained_exception_whose_cause_it_already_says():
    """From Python (``running(state=...)``, the plugin) a traceback showed urlsplit's ValueError,
    then "During handling of the above exception…", then the same words again."""
    with pytest.raises(ConfigError) as caught:
        parse_redis_url("redis://[::1/0")
    assert "not a valid URL (Invalid IPv6 URL)" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_same_urls_through_bgmock_serve_exit_2_with_one_line_and_no_traceback(capsys):
    """Before: a TypeError traceback from inside redis-py, exit 1."""
    for url in (f"redis://:{SECRET}@127.0.0.1:6379/12?x=1", "rediss://127.0.0.1:6379/12?ssl_cert_reqs=bogus"):
        assert cli.main(["serve", "--port", "0", "--state", url]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("bgmock: --state ") and SECRET not in err


@pytest.mark.parametrize(("state", "said"), [
    ("redis:/127.0.0.1:6379/12", "expected two slashes after 'redis:' in a Redis URL"),
    ("REDISS:127.0.0.1:6379", "expected two slashes after 'REDISS:' in a Redis URL"),
    ("http://x", "bgmock takes no http: URLs"),
    (f"redis:/:{SECRET}@127.0.0.1:6379/12", "two slashes"),
    ("localhost:6379", "for a Redis at HOST:PORT write redis://HOST:PORT/DB"),
    ("127.0.0.1:6379/0", "for a Redis at HOST:PORT write redis://HOST:PORT/DB"),
])
def test_something_url_like_is_refused_not_made_a_directory(state, said, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["serve", "--port", "0", "--state", state]) == 2
    err = capsys.readouterr().err
    assert said in err and "./NAME" in err and err.count("\n") == 1 and SECRET not in err
    assert list(tmp_path.iterdir()) == []  # no directory made, no private Redis started there
    assert said in _refusal(state)  # and the same words for create_app and the plugin


@pytest.mark.parametrize("name", ["./redis:x", "state", "/tmp/a:b", "~/fake-state", "a/b:c"])
def test_a_directory_name_is_still_a_directory(name):
    assert not is_redis_url(name)
    check_directory(name)  # no error


def test_a_directory_whose_name_looks_like_a_url_is_written_with_dot_slash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with serving_state(Config(state="./redis:x")) as (config, said):
        assert is_redis_url(config.state) and said == f"state kept in {tmp_path / 'redis:x'} (private Redis)"
    assert (tmp_path / "redis:x").is_dir()


# -- URLs that are accepted -------------------------------------------------------------------
def test_redis_with_parts_left_out_means_localhost_6379_db_0_and_the_start_up_line_says_so():
    assert parse_redis_url("redis://").described == "redis:// (localhost:6379, DB 0)"
    assert parse_redis_url("redis://cache.internal").described == "redis://cache.internal (cache.internal:6379, DB 0)"
    assert parse_redis_url(f"redis://:{SECRET}@[::1]:7000").described == "redis://:***@[::1]:7000 ([::1]:7000, DB 0)"
    full = parse_redis_url("redis://127.0.0.1:6379/12?socket_timeout=0.5&client_name=bgmock")
    assert full.described == "redis://127.0.0.1:6379/12?socket_timeout=0.5&client_name=bgmock"
    assert (full.host, full.port, full.db, full.defaulted) == ("127.0.0.1", 6379, 12, False)
    assert parse_redis_url("unix:///run/redis.sock?db=3").db == 3


def test_the_scheme_is_read_in_any_case_as_rfc_3986_has_it():
    """``REDIS://…`` was taken for a directory named ``REDIS:``."""
    url = redis_or_skip()
    scheme, rest = url.split("://", 1)
    store = open_storage(Config(state=f"{scheme.upper()}://{rest}", state_prefix="bgmock-test:case:"))
    assert store.engine == "redis"


def test_a_db_the_redis_does_not_have_is_said_so():
    parts = urlsplit(redis_or_skip())
    message = _refusal(f"redis://{parts.netloc}/9999")
    assert "Redis answered, and has no DB 9999" in message and "cannot reach" not in message


# -- Redis reached, login refused ------------------------------------------------------------
@pytest.fixture(scope="module")
def locked_redis() -> Iterator[str]:
    """A redis-server of this module's own that requires a password, on a unix socket."""
    home = Path(tempfile.mkdtemp(prefix="bgm-auth-"))  # short: a socket's path is at most ~107 bytes
    sock = home / "r.sock"
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", "0", "--unixsocket", str(sock),
         "--requirepass", SECRET, "--save", "", "--appendonly", "no", "--dir", str(home)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while not sock.exists() and proc.poll() is None:
            time.sleep(0.02)
        yield str(sock)
    finally:
        stop_process(proc)
        shutil.rmtree(home, ignore_errors=True)


def test_no_password_says_redis_wants_one_and_how_to_write_it(locked_redis):
    """Before: "cannot reach Redis (HELLO must be called with the client already authenticated…)"."""
    message = _refusal(f"unix://{locked_redis}")
    assert "Redis answered, and requires a password, which the URL does not give" in message
    assert "unix://:PASSWORD@/PATH/redis.sock" in message and "cannot reach" not in message


@pytest.mark.parametrize("login", [":wrong-one@", "bob:wrong-one@"])
def test_a_wrong_password_says_the_login_was_refused_never_showing_it(locked_redis, login):
    message = _refusal(f"unix://{login}{locked_redis}")
    assert "Redis answered, and refused the login: wrong user name or password" in message
    assert "wrong-one" not in message and ":***@" in message and "cannot reach" not in message


def test_a_password_in_the_query_is_masked_too(locked_redis):
    message = _refusal(f"unix://{locked_redis}?password=wrong-one")
    assert "refused the login" in message and "wrong-one" not in message and "password=***" in message


def test_the_right_password_opens_the_store(locked_redis):
    store = open_storage(Config(state=f"unix://:{SECRET}@{locked_redis}?db=1"))
    assert store.engine == "redis" and store.journal.count() == 0


def test_the_password_hint_is_written_in_the_urls_own_scheme():
    assert parse_redis_url("redis://h:1/0").login_form == "redis://:PASSWORD@HOST:PORT/DB"
    assert parse_redis_url("rediss://h:1/0").login_form == "rediss://:PASSWORD@HOST:PORT/DB"


# -- the password never shows -----------------------------------------------------------------
@pytest.mark.parametrize(("url", "shown"), [
    (f"redis://u:{SECRET}@127.0.0.1:6379/0", "redis://u:***@127.0.0.1:6379/0"),
    (f"redis://:{SECRET}@cache:6379", "redis://:***@cache:6379"),
    (f"redis://:{SECRET[:3]}#{SECRET[3:]}@cache:6379/0", "redis://:***@cache:6379/0"),  # a parser splits at '#'
    (f"redis://:{SECRET[:3]}@{SECRET[3:]}@cache:6379/0", "redis://:***@cache:6379/0"),
    (f"redis:/:{SECRET}@cache", "redis:/:***@cache"),
    (f"u:{SECRET}@cache:6379/0", "u:***@cache:6379/0"),
    (f"unix://:{SECRET}@/run/redis.sock?db=1", "unix://:***@/run/redis.sock?db=1"),
    (f"unix:///run/redis.sock?db=1&password={SECRET}", "unix:///run/redis.sock?db=1&password=***"),
    (f"rediss://cache?ssl_password={SECRET}", "rediss://cache?ssl_password=***"),
    ("redis://user@cache:6379/0", "redis://user@cache:6379/0"),
    ("redis://cache:6379/0\nx", "redis://cache:6379/0\\nx"),
    ("redis://[::1/0", "redis://[::1/0"),
])
def test_without_password_masks_every_spelling_and_never_fails(url, shown):
    assert without_password(url) == shown


# -- the private Redis's own URL -------------------------------------------------------------
def test_a_temporary_folder_with_url_characters_in_its_name_still_gives_a_working_url(monkeypatch):
    """The private Redis's ``unix://`` URL was built from the path as it was: a '?' in TMPDIR cut it."""
    odd = Path(tempfile.mkdtemp(prefix="bgm?#%x-"))
    monkeypatch.setattr(tempfile, "tempdir", str(odd))
    try:
        with PrivateRedis() as url:
            assert open_storage(Config(state=url)).engine == "redis"
    finally:
        shutil.rmtree(odd, ignore_errors=True)


# -- --state-prefix where no Redis is shared -------------------------------------------------
def test_a_prefix_with_the_state_in_memory_is_said_to_do_nothing(capsys):
    with serving_state(Config(state_prefix="team-a:")) as (_, said):
        assert said == "state in memory"
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "warning: --state-prefix team-a: has no effect: the state is in this process's memory" in err


def test_a_prefix_with_the_private_redis_of_workers_is_said_to_do_nothing(capsys):
    with serving_state(Config(state_prefix="team-a:", workers=2)) as (_, said):
        assert said == "state shared in a private Redis"
    assert "has no effect: the state is in a private Redis of this fake's own" in capsys.readouterr().err


def test_a_prefix_with_a_state_directory_is_used_and_shown(tmp_path, capsys):
    """A directory's Redis keeps each prefix's state apart: the prefix matters, so no warning."""
    with serving_state(Config(state=str(tmp_path / "s"), state_prefix="team-a:")) as (config, said):
        assert config.state_prefix == "team-a:"
        assert said == f"state kept in {tmp_path / 's'} (private Redis, prefix team-a:)"
    assert capsys.readouterr().err == ""


def test_the_default_prefix_or_a_redis_url_gives_no_warning(capsys):
    with serving_state(Config()) as (_, said):
        assert said == "state in memory"
    with serving_state(Config(state="redis://127.0.0.1:6379/13", state_prefix="team-a:")) as (_, said):
        assert said == "state in Redis at redis://127.0.0.1:6379/13, prefix team-a:"
    assert capsys.readouterr().err == ""


# -- the state's form, checked when the settings are built -------------------------------------
@pytest.mark.parametrize(("state", "said"), [
    ("http://x", "bgmock takes no http: URLs"),
    (f"redis://:{SECRET}@127.0.0.1:6379/12?x=1", "unknown query parameter 'x'"),
    ("redis://127.0.0.1:0/1", "the port must be a number from 1 to 65535"),
    ("localhost:6379", "for a Redis at HOST:PORT write redis://HOST:PORT/DB"),
])
def test_a_config_built_directly_refuses_the_state_naming_the_setting_not_the_flag(state, said):
    """README: a ``mockserver.Config`` built directly raises the ConfigError. ``Config(state="http://x")``
    was built, and only ``create_app`` refused it, naming ``--state``, a flag a Python user never used."""
    with pytest.raises(ConfigError) as caught:
        Config(state=state)
    message = str(caught.value)
    assert message.startswith(f"invalid configuration: state: {without_password(state)}: "), message
    assert said in message and "--state" not in message and SECRET not in message and "\n" not in message


def test_a_config_files_state_is_named_as_the_setting_and_the_flag_as_the_flag(tmp_path, capsys):
    config = tmp_path / "bgmock.json"
    config.write_text('{"state": "http://x"}')
    assert cli.main(["serve", "--port", "0", "--config", str(config)]) == 2
    assert capsys.readouterr().err.startswith(f"bgmock: config file {config}: invalid configuration: state: http://x: ")
    assert cli.main(["serve", "--port", "0", "--state", "http://x"]) == 2
    assert capsys.readouterr().err.startswith("bgmock: --state http://x: bgmock takes no http: URLs")


@pytest.mark.parametrize("state", ["redis://127.0.0.1:1/0", "unix:///no/such/redis.sock", "some-directory"])
def test_a_state_of_a_good_form_is_built_without_connecting_to_anything(state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Config(state=state).state == state
    assert list(tmp_path.iterdir()) == []
