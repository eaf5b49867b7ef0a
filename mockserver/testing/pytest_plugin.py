"""The pytest plugin (registered through the ``pytest11`` entry point; nothing to import).

Fixtures:
  ``bgmock_server``    session-scoped live fake on 127.0.0.1 and a free port (one per xdist
                       worker); reset, and set up from the test's marker, before each test
                       that uses it.
  ``bgmock``           the function-scoped handle on that live fake: what most tests take.
  ``bgmock_responses`` the same handle on an in-process fake: ``requests`` calls to
                       ``http://bgmock.local`` (and the vendor's hosts) are answered without a
                       socket. It intercepts the ``requests`` library only.
  ``bgmock_httpx``     the same for httpx (``Client`` and ``AsyncClient``): its own in-process fake.

``@pytest.mark.bgmock(...)`` sets the fake up for one test: keys of ``schemas/config.json``
(``strict=True``, ``task_duration=5``, ...) plus ``fault=501``/``fault="reset"`` with
``times=`` and ``signatures=True``; ``tls=True`` makes the live fake's ``url`` https:// (its CA
is ``bgmock.ca``). Session settings come, weakest first, from the plugin's
defaults (manual clock, tasks finish at once, signatures off), a config file, ini settings,
``BGMOCK_*`` environment variables and ``--bgmock-*`` options. When a test fails, its report
gets a section listing the calls the fake saw and every one that broke the API's rules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the fake loads on first use: every pytest run imports this module
    from ..config import Config
    from .handle import Handle

#: Settings a marker cannot change: the session's server is already bound, its store sized.
SESSION_ONLY = ("host", "port", "journal_size", "max_tasks", "task_ttl_s")
#: Journal lines shown in a failure report (the offending calls are always all shown).
REPORT_LAST = 20

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Session:
    """The session's settings, checked once (in ``pytest_configure`` when any was given)."""

    config: Config
    app_key: str
    app_secret: str
    extra_urls: tuple[str, ...]  # intercepted in-process besides bgmock.local and the vendor's hosts


_SESSION = pytest.StashKey["Session"]()
_PREPARED = pytest.StashKey["list[Handle]"]()
_SETTINGS = ("strict", "seed", "task_duration", "signatures", "config", "tls")
#: The settings an ini option (``bgmock_NAME``) or a variable (``BGMOCK_NAME``) may give, with their kind.
_TYPED = (("strict", bool), ("seed", int), ("task_duration", float), ("signatures", bool), ("tls", bool))


# -- options ------------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bgmock", "bgmock: fake Aidge Image Background Generation API")
    group.addoption("--bgmock-strict", action="store_true", default=None,
                    help="the fake accepts only the documented types (env BGMOCK_STRICT, ini bgmock_strict)")
    group.addoption("--bgmock-seed", default=None, metavar="N",
                    help="seed of the fake's IDs: same seed, same task IDs (env BGMOCK_SEED, ini bgmock_seed)")
    group.addoption("--bgmock-signatures", action="store_true", default=None,
                    help="the fake checks signatures with the handle's key pair (env BGMOCK_SIGNATURES)")
    group.addoption("--bgmock-config", default=None, metavar="FILE",
                    help="JSON or TOML file of fake settings (env BGMOCK_CONFIG, ini bgmock_config)")
    parser.addini("bgmock_config", "JSON or TOML file of fake settings (relative to the ini file)", default="")
    parser.addini("bgmock_strict", "true: the fake accepts only the documented types", default="")
    parser.addini("bgmock_seed", "seed of the fake's IDs", default="")
    parser.addini("bgmock_task_duration", "seconds from submit to finished on the fake's clock (default 0)",
                  default="")
    parser.addini("bgmock_signatures", "true: the fake checks signatures with the handle's key pair", default="")
    parser.addini("bgmock_tls", "true: the live fake's url is https:// (trust bgmock.ca; env BGMOCK_TLS)", default="")
    parser.addini("bgmock_base_urls", "more base URLs the in-process fixtures intercept", type="linelist",
                  default=[])


def _flag(text: str, source: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise pytest.UsageError(f"bgmock: {source} must be true or false, not {text!r}")


def _number(text: str, source: str, kind: type) -> Any:
    """An ini option's or flag's number, in the grammar every entry point uses (parsing.py)."""
    from ..parsing import read_int, read_number

    value = read_int(text, signed=True, padded=True) if kind is int else read_number(text, signed=True, padded=True)
    if value is None:
        raise pytest.UsageError(f"bgmock: {source} must be {'a whole number' if kind is int else 'a number'}, "
                                f"not {text[:40]!r}")
    return value


def session_settings(config: pytest.Config) -> Session:
    """Merge the sources (defaults < file < ini < env < command line) and check them once.

    Each source is checked alone first, so a problem names where its value came from: the
    config file (``config file bgmock.json: invalid configuration: …``, as ``bgmock serve
    --config`` says it), the ini option, the variable or the flag."""
    from ..config import Config, ConfigError, named
    from .handle import TEST_DEFAULTS, resolve

    settings: dict[str, Any] = dict(TEST_DEFAULTS)
    signatures: bool | None = None
    try:
        for source, layer in _sources(config):
            if "signatures" in layer:  # not a config key: it picks the key pair (resolve)
                signatures = layer.pop("signatures")
            with named(source):
                Config.from_mapping({**TEST_DEFAULTS, **layer})
            settings.update(layer)
        cfg, app_key, app_secret = resolve(settings, {}, signatures=signatures)
        _check_catalog(cfg)
    except ConfigError as exc:
        raise pytest.UsageError(f"bgmock: {exc}") from None
    extra = tuple(_base_url(url) for url in config.getini("bgmock_base_urls"))
    return Session(cfg, app_key, app_secret, extra)


def _sources(config: pytest.Config) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, settings) of each source, weakest first: the config file, then each setting of the
    ini file, of the environment and of the command line on its own."""
    path, settings = _file_settings(config)
    if path is not None:
        yield f"{path[0]}: config file {path[1]}", settings
    for name, value in _ini_settings(config).items():
        yield f"ini bgmock_{name}", {name: value}
    for name, value in _env_settings().items():
        yield f"BGMOCK_{name.upper()}", {name: value}
    for name, value in _cli_settings(config).items():
        yield f"--bgmock-{name}", {name: value}


def _check_catalog(cfg: Config) -> None:
    """A session's own scene catalog, read now: a file the fake cannot use stops the run with
    one line, as a bad setting does, not as an error with a traceback in every test."""
    if cfg.catalog:
        from ..config import ConfigError
        from ..scenes import CatalogError, SceneCatalog

        try:
            SceneCatalog.load(cfg.catalog)
        except CatalogError as exc:
            raise ConfigError(f"catalog: {exc}") from None


def _file_settings(config: pytest.Config) -> tuple[tuple[str, Path] | None, dict[str, Any]]:
    """The config file ((the option that named it, its path), or None) and its settings:
    ``--bgmock-config`` or ``BGMOCK_CONFIG``, else the ini's ``bgmock_config`` (relative to
    the ini file); none without either."""
    from ..config import Config, ConfigError

    cli_file, env_file = config.getoption("bgmock_config"), os.environ.get("BGMOCK_CONFIG")
    ini_file = config.getini("bgmock_config")
    if cli_file or env_file:
        path, origin = Path(cli_file or env_file), "--bgmock-config" if cli_file else "BGMOCK_CONFIG"
    elif ini_file:
        base = config.inipath.parent if config.inipath else config.rootpath
        path, origin = base / ini_file, "ini bgmock_config"
    else:
        return None, {}
    try:
        return (origin, path), Config.read_file(path)
    except ConfigError as exc:
        raise pytest.UsageError(f"bgmock: {origin}: {exc}") from None


def _typed(text: str, source: str, kind: type) -> Any:
    """A text setting read as its kind: a flag (``true``/``false``) or a number."""
    return _flag(text, source) if kind is bool else _number(text, source, kind)


def _ini_settings(config: pytest.Config) -> dict[str, Any]:
    return {
        name: _typed(text, f"ini bgmock_{name}", kind)
        for name, kind in _TYPED
        if (text := config.getini(f"bgmock_{name}"))
    }


def _env_settings() -> dict[str, Any]:
    found = ((name, kind, os.environ.get(f"BGMOCK_{name.upper()}")) for name, kind in _TYPED)
    return {name: _typed(text, f"BGMOCK_{name.upper()}", kind) for name, kind, text in found if text}


def _cli_settings(config: pytest.Config) -> dict[str, Any]:
    cli: dict[str, Any] = {}
    if config.getoption("bgmock_strict"):
        cli["strict"] = True
    if config.getoption("bgmock_seed") is not None:
        cli["seed"] = _number(config.getoption("bgmock_seed"), "--bgmock-seed", int)
    if config.getoption("bgmock_signatures"):
        cli["signatures"] = True
    return cli


def _given(config: pytest.Config) -> bool:
    """Whether any bgmock session setting was given (then it is checked before any test runs)."""
    return (
        any(config.getoption(f"bgmock_{name}", None) is not None for name in _SETTINGS)
        or any(os.environ.get(f"BGMOCK_{name.upper()}") for name in _SETTINGS)
        or any(config.getini(f"bgmock_{name}") for name in (*_SETTINGS, "base_urls"))
    )


def session(config: pytest.Config) -> Session:
    """The session's settings, built on first use (a run that never uses the fake never loads it)."""
    found = config.stash.get(_SESSION, None)
    if found is None:
        found = config.stash[_SESSION] = session_settings(config)
    return found


def _base_url(url: str) -> str:
    from ..parsing import parse_base_url

    try:
        return parse_base_url(url.strip(), "ini bgmock_base_urls", path=False, example="http://api.example.test")
    except ValueError as exc:
        raise pytest.UsageError(f"bgmock: {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bgmock(**settings): set the bgmock fake up for this test: keys of schemas/config.json "
        "(strict=True, task_duration=5, ...), fault=501 or fault='reset' with times=N, signatures=True",
    )
    if _given(config):  # a bad setting stops the run now, with a message, not in a fixture
        session(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    found = config.stash.get(_SESSION, None)
    if found is None:
        return "bgmock: plugin defaults (manual clock, tasks finish at once, signatures off)"
    cfg = found.config
    return (f"bgmock: strict={cfg.strict} seed={cfg.seed} task_duration={cfg.task_duration} "
            f"signatures={'on' if cfg.app_keys else 'off'}")


# -- per test -----------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every run of a test starts unprepared (a plugin that reruns failures reuses the item)."""
    item.stash[_PREPARED] = []


def _marker(item: pytest.Item) -> tuple[dict[str, Any], list[tuple[Any, int | None]]]:
    """The test's marker settings (class and module markers first, the closest wins) and faults."""
    settings: dict[str, Any] = {}
    for mark in reversed(list(item.iter_markers("bgmock"))):
        if mark.args:
            pytest.fail(f"@pytest.mark.bgmock takes keyword arguments only, got {mark.args!r}", pytrace=False)
        settings.update(mark.kwargs)
    fixed = sorted(set(settings) & set(SESSION_ONLY))
    if fixed:
        pytest.fail(f"@pytest.mark.bgmock: {', '.join(fixed)} can only be set for the session "
                    "(bgmock_config file, ini or BGMOCK_* environment)", pytrace=False)
    times = settings.pop("times", 1)
    fault = settings.pop("fault", None)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        pytest.fail(f"@pytest.mark.bgmock: times must be a whole number from 1, or None (every call), not {times!r}",
                    pytrace=False)
    faults: list[tuple[Any, int | None]] = []
    if fault is not None:
        for one in fault if isinstance(fault, (list, tuple)) else [fault]:
            faults.append((one, times))
    return settings, faults


def prepare(handle: Handle, item: pytest.Item) -> Handle:
    """Reset ``handle``'s fake and set it up from ``item``'s marker, once per test."""
    done = item.stash.setdefault(_PREPARED, [])
    if any(h is handle for h in done):
        return handle
    from ..config import ConfigError
    from ..parsing import read_int

    settings, faults = _marker(item)
    problem = None
    try:
        handle.restart(**settings)
        for fault, times in faults:
            if isinstance(fault, bool) or not isinstance(fault, (int, str)):
                raise ValueError(f"fault must be a resCode or a fault name, not {fault!r}")
            if isinstance(fault, int):
                handle.inject(fault, times)
            elif (code := read_int(fault, max_digits=5)) is not None:
                handle.inject(code, times)
            else:
                handle.fault(fault, times)
    except (ConfigError, ValueError) as exc:
        problem = str(exc)
    if problem is not None:  # failed outside the except: no "During handling of the above exception" chain
        pytest.fail(f"@pytest.mark.bgmock: {problem}", pytrace=False)
    done.append(handle)
    return handle


@pytest.fixture(scope="session")
def bgmock_server(pytestconfig: pytest.Config) -> Iterator[Handle]:
    """A live fake on 127.0.0.1 and a free port for the whole session (one per xdist worker).

    Reset and set up from the marker before each test that uses it (directly or through a
    fixture). Session-scoped fixtures may take it for its ``url``; state they add is wiped
    before each test (session-wide faults belong in the ``faults`` setting).
    """
    from .handle import running

    found = session(pytestconfig)
    handle = running(found.config, key_pair=(found.app_key, found.app_secret))
    yield handle
    handle.close()


@pytest.fixture(autouse=True)
def _bgmock_reset(request: pytest.FixtureRequest) -> None:
    """Resets the session fake before a test that uses it without the ``bgmock`` fixture."""
    if "bgmock_server" in request.fixturenames:
        prepare(request.getfixturevalue("bgmock_server"), request.node)


@pytest.fixture
def bgmock(request: pytest.FixtureRequest, bgmock_server: Handle) -> Handle:
    """The live fake, reset and set up from this test's ``@pytest.mark.bgmock``."""
    return prepare(bgmock_server, request.node)


@pytest.fixture(scope="session")
def _bgmock_inprocess(pytestconfig: pytest.Config) -> Iterator[Any]:
    try:
        from .inprocess import build
    except ImportError as exc:  # responses/requests are optional dependencies
        raise pytest.UsageError(
            f"bgmock_responses needs the 'responses' and 'requests' packages (missing: {exc.name or exc}): "
            'pip install responses requests (or, from the bgmock checkout: pip install -e ".[test]")'
        ) from None
    yield from _built(pytestconfig, build)


def _built(pytestconfig: pytest.Config, build: Callable[..., Any]) -> Iterator[Any]:
    """The session's in-process fake, made by the mode's ``build`` (requests or httpx) on the
    session's settings, intercepting the default URL, the vendor's hosts and the configured ones."""
    from .intercept import DEFAULT_URL, VENDOR_URLS

    found = session(pytestconfig)
    handle, interceptor = build(
        found.config, base_urls=(DEFAULT_URL, *VENDOR_URLS, *found.extra_urls),
        key_pair=(found.app_key, found.app_secret),
    )
    yield handle, interceptor
    interceptor.stop()


@pytest.fixture
def bgmock_responses(request: pytest.FixtureRequest, _bgmock_inprocess: Any) -> Iterator[Handle]:
    """The in-process fake: ``requests`` calls to ``bgmock_responses.url`` (``http://bgmock.local``)
    and the vendor's hosts are answered without a socket. Only the ``requests`` library is
    intercepted; other URLs go out as usual."""
    yield from _intercepting(request, *_bgmock_inprocess)


def _intercepting(request: pytest.FixtureRequest, handle: Handle, interceptor: Any) -> Iterator[Handle]:
    """The session's in-process fake, prepared for this test and intercepting during it only."""
    prepare(handle, request.node)
    interceptor.start()
    try:
        yield handle
    finally:
        interceptor.stop()


@pytest.fixture(scope="session")
def _bgmock_httpx_inprocess(pytestconfig: pytest.Config) -> Iterator[Any]:
    try:
        from .inprocess_httpx import build
    except ImportError as exc:  # httpx is an optional dependency
        raise pytest.UsageError(
            f"bgmock_httpx needs the 'httpx' package (missing: {exc.name or exc}): "
            'pip install httpx (or, from the bgmock checkout: pip install -e ".[httpx]")'
        ) from None
    yield from _built(pytestconfig, build)


@pytest.fixture
def bgmock_httpx(request: pytest.FixtureRequest, _bgmock_httpx_inprocess: Any) -> Iterator[Handle]:
    """The in-process fake for httpx: ``httpx.Client`` and ``httpx.AsyncClient`` calls (with httpx's
    default transports) to ``bgmock_httpx.url`` (``http://bgmock.local``) and the vendor's hosts
    are answered without a socket. Other URLs go out as usual."""
    yield from _intercepting(request, *_bgmock_httpx_inprocess)


# -- failure reports ----------------------------------------------------------------------------
def report_text(handle: Handle) -> str:
    """What a failed test's report shows about one fake: the offending calls, then the last ones."""
    from .handle import describe, format_entries, offence

    entries = handle.requests()
    if not entries:
        hint = {"in-process": " (the in-process mode sees the requests library only)",
                "in-process httpx": " (this in-process mode sees httpx only)"}.get(handle.mode, "")
        return f"no API call reached the fake at {handle.url}{hint}"
    # Numbered per test, #1 its first call (the journal's own IDs run on across the session's tests).
    entries = [{**e, "id": n} for n, e in enumerate(entries, 1)]
    offending = [e for e in entries if offence(e)]
    parts = []
    if offending:
        parts.append(f"{len(offending)} call(s) broke the API's rules:\n" + format_entries(offending))
    if len(entries) >= handle.config.journal_size:  # the test's first calls may have been dropped
        parts.append(f"(the journal keeps the last {len(entries)} calls: #1 is the oldest kept)")
    if len(offending) == len(entries):
        return "\n\n".join(parts)
    shown = entries[-REPORT_LAST:]
    head = f"last {len(shown)} of {len(entries)} calls" if len(shown) < len(entries) else f"{len(entries)} call(s)"
    parts.append(f"{head}:\n" + "\n".join(describe(e) for e in shown))
    return "\n\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not report.failed:
        return
    for handle in item.stash.get(_PREPARED, []):
        title = f"bgmock {handle.mode} fake at {handle.url}"
        if any(name == title for name, _ in report.sections):
            continue
        report.sections.append((title, report_text(handle)))


__all__ = ["prepare", "report_text", "session_settings"]
