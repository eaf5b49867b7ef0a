"""Settings of one fake, checked against ``schemas/config.json``.

A bad setting is a user error, so it becomes a ``ConfigError`` that names the key, never a
traceback from deep inside the server.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config_error import ConfigError, without_password
from .parsing import base_url_problem
from .spec import load_spec
from .textfile import NotUtf8Error, RepeatedKeys, load_json, read_text
from .validation.coercion import integer_plan, whole_numbers
from .validation.order import field_order
from .validation.problems import Foreign, schema_problems

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class Config:
    """Every setting of a fake; defaults mirror ``schemas/config.json`` (a test keeps them equal)."""

    host: str = "127.0.0.1"
    port: int = 8080
    strict: bool = False
    seed: int | None = None
    app_keys: Mapping[str, str] = field(default_factory=dict)
    timestamp_skew_s: float = 900
    faults: tuple[Mapping[str, Any], ...] = ()
    task_duration: float = 3
    progression: str = "time"
    polls_to_finish: int = 3
    clock: str = "real"
    allow_any_scene: bool = False
    catalog: str | None = None
    max_body_bytes: int = 12 * 1024 * 1024
    body_memory_bytes: int | None = None  # None: 4 x max_body_bytes (httpd's body budget)
    max_image_bytes: int = 4 * 1024 * 1024
    image_check: str = "structure"
    image_min_side: int = 512
    image_max_side: int = 3000
    journal_size: int = 1000
    max_tasks: int = 10000
    task_ttl_s: float = 86400
    image_cache_items: int = 256
    image_cache_bytes: int = 128 * 1024 * 1024
    product_cache_bytes: int = 64 * 1024 * 1024
    result_format: str = "PNG"
    public_url: str | None = None
    admin_token: str | None = None
    allow_hosts: tuple[str, ...] = ()
    fetch_images: bool = False
    fetch_allow_hosts: tuple[str, ...] = ()
    fetch_max_bytes: int = 4 * 1024 * 1024
    fetch_timeout_s: float = 5
    log_requests: bool = True
    hang_s: float = 30
    dribble_s: float = 5
    state: str | None = None
    state_prefix: str = "bgmock:"
    state_timeout_s: float = 2
    workers: int = 1
    server: str = "auto"
    rate_limits: tuple[Mapping[str, Any], ...] = ()
    latency: str | Mapping[str, str] | None = None
    tls: bool = False
    tls_port: int | None = None
    tls_dir: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_hosts: tuple[str, ...] = ()
    proxy: bool = False
    intercept_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """A Config built directly (``Config(port=-1)``, ``dataclasses.replace``) is checked as
        one read from a file is: the same ``ConfigError``, the same message; its values are
        normalised the same way (``8080.0`` is ``8080``, a list of rules is a tuple)."""
        if _CHECKED.get():  # built by ``from_mapping`` from values it has just checked
            return
        given = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, value in _checked(given).items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None = None, **overrides: Any) -> Config:
        """Build from a mapping (file contents, plugin options); raise ConfigError when invalid."""
        merged = _checked({**(values or {}), **{k: v for k, v in overrides.items() if v is not None}})
        checked = _CHECKED.set(True)
        try:
            return cls(**merged)
        finally:
            _CHECKED.reset(checked)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Config:
        """Read a JSON or TOML file (by its suffix; .toml is TOML, anything else JSON). A
        problem is named with the file (``config file bgmock.json: invalid configuration: …``)
        unless ``overrides`` were given too (it may be theirs)."""
        data = cls.read_file(path)
        if overrides:
            return cls.from_mapping(data, **overrides)
        with named(f"config file {path}"):
            return cls.from_mapping(data)

    @staticmethod
    def read_file(path: str | Path) -> dict[str, Any]:
        """The settings a file holds, unchecked (to merge with other sources before checking).

        UTF-8, a byte-order mark accepted (Notepad's); other bytes are a ConfigError (textfile.py).
        A key given twice in a JSON file is a ConfigError naming it (TOML refuses one itself)."""
        path = Path(path)
        try:
            text = read_text(path, f"config file {path}")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
        except NotUtf8Error as exc:
            raise ConfigError(str(exc)) from None
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else load_json(text)
        except RepeatedKeys as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            kind = "TOML" if path.suffix == ".toml" else "JSON (a name ending in .toml is read as TOML)"
            raise ConfigError(f"config file {path} is not valid {kind}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold an object (a table) at the top level")
        return data

    def replace(self, **changes: Any) -> Config:
        """A copy with some settings changed, validated like the original."""
        return Config.from_mapping({**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["faults"] = [dict(rule) for rule in self.faults]
        data["app_keys"] = dict(self.app_keys)
        data["rate_limits"] = [dict(limit) for limit in self.rate_limits]
        data["fetch_allow_hosts"] = list(self.fetch_allow_hosts)
        data["allow_hosts"] = list(self.allow_hosts)
        data["tls_hosts"] = list(self.tls_hosts)
        data["intercept_hosts"] = list(self.intercept_hosts)
        if isinstance(self.latency, Mapping):
            data["latency"] = dict(self.latency)
        return data

    def redacted(self) -> dict[str, Any]:
        """The settings safe to show or log: secrets replaced."""
        data = self.as_dict()
        data["app_keys"] = {key: "***" for key in self.app_keys}
        if data["admin_token"]:
            data["admin_token"] = "***"
        if data["state"]:
            data["state"] = without_password(data["state"])
        return data


#: Set while ``from_mapping`` builds a Config from values ``_checked`` passed (no second check).
_CHECKED: ContextVar[bool] = ContextVar("bgmock_config_checked", default=False)
#: The settings a Config holds as tuples (a file or a mapping gives lists).
_TUPLES = ("faults", "rate_limits", "fetch_allow_hosts", "allow_hosts", "tls_hosts", "intercept_hosts")


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` checked against ``schemas/config.json`` and what it cannot say, then normalised
    as a Config holds them; a ConfigError naming every problem at once. Whatever builds a Config
    (a file, flags, a mapping, the constructor) comes through here."""
    spec = load_spec()  # the compiled fast check answers valid settings; jsonschema explains others
    foreign: list[str] = []  # where a value JSON has no type for sits (a set, a Decimal, bytes)
    plain = {key: _plain(value, key, foreign) for key, value in values.items()}
    merged = whole_numbers(plain, integer_plan(spec, "config.json"))  # "port": 8080.0 is 8080
    order = field_order(spec, "config.json")
    problems = schema_problems(spec.validator("config.json"), _masked(merged), fast=spec.fast_check("config.json"))
    faulted = {_top_key(problem) for problem in problems}
    # a foreign value where the schema asks for no type (none does today) is refused all the same
    problems += [f"{path}: must be a JSON value" for path in foreign if _top_key(path) not in faulted]
    problems += _meaning_problems(merged, faulted | {_top_key(path) for path in foreign})
    if problems:
        raise ConfigError(f"invalid configuration: {'; '.join(order.ordered(problems))}")
    return {key: tuple(value) if key in _TUPLES else value for key, value in merged.items()}


def _plain(value: Any, path: str = "", foreign: list[str] | None = None) -> Any:
    """A value as JSON holds it (what the schema checks): tuples as lists, mappings as dicts, a
    path (``Path("catalog.json")``) as its text. A value JSON has no type for (a set, a Decimal,
    bytes) becomes a ``problems.Foreign``, which no schema type accepts, and its path goes in ``foreign``:
    a ConfigError names the setting (``catalog: must be a string or null, got set``)."""
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{path}[{index}]", foreign) for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        return {key: _plain(item, f"{path}.{key}", foreign) for key, item in value.items()}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if foreign is not None:
        foreign.append(path)
    return Foreign(value)


@contextmanager
def named(source: str) -> Iterator[None]:
    """A ConfigError raised inside, told as ``SOURCE: …``: where the settings came from (``config
    file bgmock.json``), as ``bgmock serve --config`` and the pytest plugin name it."""
    try:
        yield
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _url_problems(key: str, url: str) -> list[str]:
    """What the schema's pattern cannot see in a URL: a host, a port that is a number from 1 to
    65535, brackets that close (``http://[::1`` crashed the start with a traceback). The one
    checker of every base URL a user gives (``parsing.base_url_problem``)."""
    problem = base_url_problem(url)
    return [] if problem is None else [f"{key}: {problem}; expected http://HOST[:PORT][/PATH]"]


def _state_problems(state: str) -> list[str]:
    """The form of ``state`` (a Redis URL, every part of it, or a directory), read without
    connecting to anything (``storage/state_url.py``), named as the setting: a Config built
    directly or from a file says ``state``; ``bgmock serve`` checks its ``--state`` first, and
    names the flag."""
    from .storage.state_url import StateProblem, check_state

    try:
        check_state(state)
    except StateProblem as exc:  # "; " separates a configuration's problems: one problem, one part
        return [f"state: {exc.shown}: {exc.why.replace('; ', ', ')}"]
    return []


def _top_key(problem: str) -> str:
    """The setting a problem line names (``faults[0].latency: …`` -> ``faults``)."""
    return problem.split(":", 1)[0].split("[", 1)[0].split(".", 1)[0]


def _meaning_problems(values: Mapping[str, Any], faulted: set[str]) -> list[str]:
    """What the schema cannot say, for the settings it found nothing wrong with (the others'
    values may not even have their types): the sides' order, and the settings written in a small
    language of their own (latency, rates, a rule's latency), read now. Listed with the schema's
    problems, so a file's every problem is named at once, whichever program (``bgmock serve``,
    the plugin, ``create_app``) made the settings."""
    from .latency import Latency, LatencyModel
    from .ratelimit import limits_from_config

    problems = []
    if not faulted & {"image_max_side", "image_min_side"} and (
        values.get("image_max_side", 3000) <= values.get("image_min_side", 512)
    ):
        problems.append("image_max_side: must exceed image_min_side")
    if values.get("public_url") and "public_url" not in faulted:
        problems += _url_problems("public_url", values["public_url"])
    if values.get("state") and "state" not in faulted:
        problems += _state_problems(values["state"])
    checks: list[tuple[str, Any]] = [
        ("latency", lambda: LatencyModel.from_config(values.get("latency"))),
        ("rate_limits", lambda: limits_from_config(values.get("rate_limits", ()))),
    ]
    for index, rule in enumerate(values.get("faults", ()) if "faults" not in faulted else ()):
        if isinstance(rule, Mapping) and rule.get("latency") is not None:
            checks.append((f"faults[{index}].latency", lambda text=rule["latency"]: Latency.parse(text)))
    for key, check in checks:
        if _top_key(key) in faulted:
            continue
        try:
            check()
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    return problems


def _masked(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """The settings with each secret replaced by a stand-in that is valid or invalid exactly as
    the secret is (stars of the same length; a value of the same type): a problem message
    quotes what it checked, and a rejected secret must never reach a terminal or a log."""
    out = dict(values)
    if "admin_token" in out:
        out["admin_token"] = _stand_in(out["admin_token"])
    if isinstance(out.get("app_keys"), Mapping):
        out["app_keys"] = {k: _stand_in(v) for k, v in out["app_keys"].items()}
    return out


def _stand_in(secret: Any) -> Any:
    if secret is None or isinstance(secret, (bool, Foreign)):  # a Foreign is named by its type alone
        return secret
    if isinstance(secret, str):
        return "*" * len(secret)
    return type(secret)() if isinstance(secret, (int, float, list, dict)) else []  # [] fits no secret
