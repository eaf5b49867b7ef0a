"""What a ``state`` setting names, read strictly: nothing (memory), a Redis URL, or a directory.

A mistyped state must not quietly become another one.  Before this module, ``redis:/host``
(one slash), ``http://host`` or ``localhost:6379`` were taken for the name of a directory (and
a private Redis started in it), ``redis://host/abc`` for DB 0 (redis-py drops a path it cannot
read), and a query parameter redis-py does not know reached its connection class as a keyword
(a ``TypeError`` traceback at the first command).  Here every part of a URL is checked before
redis-py sees it, and each problem is one ``ConfigError`` line, password masked.

``redis://`` with parts left out means what it means to redis-py and ``redis-cli``: host
``localhost``, port 6379, DB 0; the start-up line then says what was filled in
(``RedisTarget.described``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from ..config_error import ConfigError, without_password
from ..parsing import read_int, read_number
from ..spec import load_spec

SCHEMES = ("redis", "rediss", "unix")
#: The beginnings of a Redis URL (``is_redis_url`` also takes them in capitals).
REDIS_SCHEMES = tuple(f"{scheme}://" for scheme in SCHEMES)
#: The forms a message names.
FORMS = "redis://[:PASSWORD@]HOST:PORT/DB, rediss://… (TLS) or unix:///PATH/redis.sock?db=DB"
#: Redis numbers its databases with a C int: ``databases`` is at most 2**31 - 1, so is a DB index below it.
MAX_DB = 2**31 - 2
_DEFAULT_HOST, _DEFAULT_PORT = "localhost", 6379
_SHOWN_CHARS = 200  # of a URL quoted in a message

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class StateProblem(ConfigError):
    """A ``state`` value of no form bgmock takes: told as ``--state VALUE: WHY`` (the flag, as
    ``bgmock serve`` has it); ``Config`` tells it as ``state: VALUE: WHY`` (the setting)."""

    def __init__(self, shown: str, why: str) -> None:
        super().__init__(f"--state {shown}: {why}")
        self.shown, self.why = shown, why


def check_state(state: str) -> None:
    """The form of a ``state`` value, read without connecting to anything: a Redis URL, every
    part of it checked (``parse_redis_url``), or a directory (``check_directory``); StateProblem if not."""
    if is_redis_url(state):
        parse_redis_url(state)
    else:
        check_directory(state)


def is_redis_url(state: str | None) -> bool:
    """``redis://``, ``rediss://`` or ``unix://`` (the scheme in any case, as RFC 3986 has it)."""
    text = state or ""
    match = _SCHEME.match(text)
    return match is not None and match[1].lower() in SCHEMES and text[match.end():].startswith("//")


def check_directory(state: str) -> None:
    """A state that is not a Redis URL names a directory, unless it looks like a URL or a
    ``HOST:PORT``: a ``:`` in its first part (``http://x``, ``redis:/x``, ``localhost:6379``).
    No directory a user means is refused for good: ``./NAME`` (or an absolute path) takes any name."""
    if ":" not in state.split("/", 1)[0]:
        return
    shown = without_password(state)
    scheme = _SCHEME.match(state)
    if scheme and scheme[1].lower() in SCHEMES:
        why = f"expected two slashes after '{scheme[1]}:' in a Redis URL ({FORMS})"
    elif scheme and state[scheme.end():].startswith("/"):
        why = f"bgmock takes no {scheme[1]}: URLs: expected a Redis URL ({FORMS}) or a directory"
    else:
        why = f"expected a Redis URL ({FORMS}) or a plain directory name; for a Redis at HOST:PORT write redis://HOST:PORT/DB"
    raise StateProblem(shown, f"{why}; a directory whose name has ':' in its first part is written ./NAME")


@dataclass(frozen=True)
class RedisTarget:
    """A checked Redis URL: what it names, for messages and the start-up line."""

    url: str
    scheme: str
    host: str  # "" for unix://
    port: int  # 0 for unix://
    path: str  # the socket, for unix://
    db: int
    user: str
    password: bool  # one is given (never kept here)
    defaulted: bool  # host, port or DB left to the defaults

    @property
    def shown(self) -> str:
        return without_password(self.url)

    @property
    def described(self) -> str:
        """The URL as given (masked), and what its defaults came to when it left some out."""
        if not self.defaulted:
            return self.shown
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.shown} ({host}:{self.port}, DB {self.db})"

    @property
    def login_form(self) -> str:
        """How a password is written in a URL of this scheme."""
        if self.scheme == "unix":
            return "unix://:PASSWORD@/PATH/redis.sock?db=DB"
        return f"{self.scheme}://:PASSWORD@HOST:PORT/DB"


def parse_redis_url(url: str) -> RedisTarget:
    """Every part of ``url`` checked; ConfigError (one line, password masked) on the first problem."""
    problem = _Problem(url)
    if not is_redis_url(url):
        problem(f"not a Redis URL: expected {FORMS}")
    if any(not c.isprintable() or c.isspace() for c in url):
        problem("a space or control character in it (percent-encode it: a space is %20)")
    if "#" in url:
        problem("'#' in it, which starts a fragment, and a Redis URL has none (in a password write %23)")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed IPv6 bracket
        problem(f"not a valid URL ({exc})")
    if "@" in url[url.index("//") + 2 + len(parts.netloc):]:
        problem("'@' after the host: a password with '/', '?', '#' or '@' in it must be percent-encoded "
                "(%2F, %3F, %23, %40), as must any '@' after the host")
    scheme = parts.scheme.lower()
    options = _options(parts.query, scheme, problem)
    if (parts.password is not None and "password" in options) or (parts.username and "username" in options):
        problem("a user name or password given twice (in the URL and as a query parameter)")
    where = _unix(parts, problem) if scheme == "unix" else _tcp(parts, problem)
    db_path = _db_in_path(parts.path, problem) if scheme != "unix" else None
    if db_path is not None and "db" in options:
        problem("the DB given twice (in the path and as ?db=)")
    db = db_path if db_path is not None else options.get("db")
    return RedisTarget(
        url=url, scheme=scheme, host=where[0], port=where[1], path=where[2], db=int(db or 0),
        user=unquote(parts.username or "") or options.get("username", ""),
        password=parts.password is not None or "password" in options,
        defaulted=scheme != "unix" and (not parts.hostname or parts.port is None or db is None),
    )


class _Problem:
    """Raise the one line about ``url``."""

    def __init__(self, url: str) -> None:
        shown = without_password(url)  # its start is enough to recognise it (a DB of 5 000 digits)
        self.shown = shown if len(shown) <= _SHOWN_CHARS else shown[:_SHOWN_CHARS] + "..."

    def __call__(self, what: str) -> NoReturn:
        # from None: called inside an except block too (urlsplit's ValueError), whose cause
        # the message already says; a traceback would show it twice
        raise StateProblem(self.shown, what) from None


def _tcp(parts: SplitResult, problem: _Problem) -> tuple[str, int, str]:
    """Host and port (``localhost`` and 6379 when left out); no path: that is the DB."""
    try:
        port = parts.port
    except ValueError:  # not a number, or beyond 65535
        port = 0
    if port == 0:
        problem("the port must be a number from 1 to 65535")
    return parts.hostname or _DEFAULT_HOST, port or _DEFAULT_PORT, ""


def _unix(parts: SplitResult, problem: _Problem) -> tuple[str, int, str]:
    """The socket's path; no host (``unix://host/x.sock`` would quietly mean ``/x.sock``)."""
    try:
        port = parts.port
    except ValueError:
        port = 0
    if parts.hostname or port is not None:
        problem(f"unix:// is followed by the socket's absolute path (three slashes): {FORMS}")
    path = unquote(parts.path)
    if not path.strip("/"):
        problem(f"unix:// needs the path of Redis's socket: {FORMS}")
    return "", 0, path


def _db_in_path(path: str, problem: _Problem) -> int | None:
    """``/12`` is DB 12; nothing or ``/`` leaves it to ``?db=`` or the default (0)."""
    if path in ("", "/"):
        return None
    number = path[1:]
    db = read_int(number)  # ASCII digits, at most 32 (int() of 5 000 digits raised: a traceback)
    if db is None or db > MAX_DB:
        problem(f"the DB (the path after the port) must be a whole number (0 to 15 on a Redis with the "
                f"default 16 databases), not {number[:20]!r}")
    return db


def _options(query: str, scheme: str, problem: _Problem) -> dict[str, str]:
    """The query parameters, each one bgmock passes on and with a value redis-py reads as meant
    (redis-py takes any word for ``true`` and passes unknown names to its connection class)."""
    taken = {**_COMMON, **(_TLS if scheme == "rediss" else {})}
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in _TLS and scheme != "rediss":
            problem(f"query parameter {name} is for TLS: use rediss://")
        if name not in taken:
            problem(f"unknown query parameter {name[:40]!r} (bgmock takes {', '.join(_COMMON)}; "
                    f"with rediss:// also {', '.join(_TLS)})")
        if name in options:
            problem(f"query parameter {name} given twice")
        bad = _COMMON.get(name) or _TLS[name]
        if (why := bad(value)) is not None:
            shown = "***" if "password" in name else repr(value[:40])
            problem(f"query parameter {name}={shown}: {why}")
        options[name] = value
    return options


def _whole(value: str) -> str | None:
    number = read_int(value)
    return None if number is not None and number <= MAX_DB else "expected a whole number"


def _seconds(value: str) -> str | None:
    """A timeout: an ASCII decimal above 0 and at most ``state_timeout_s``'s own maximum (the
    URL's wins over it); 400 digits read as infinity, and redis-py's ``settimeout`` raised."""
    most = load_spec().schema("config.json")["properties"]["state_timeout_s"]["maximum"]
    number = read_number(value)
    return None if number is not None and 0 < number <= most else f"expected seconds, above 0 and at most {most}"


def _boolean(value: str) -> str | None:
    return None if value.lower() in _BOOLEANS else "expected true or false (yes/no, 1/0)"


def _word(value: str) -> str | None:
    """A Redis client name: no spaces, newlines or other special characters (Redis's rule)."""
    return None if value and all("!" <= c <= "~" for c in value) else "expected one word of printable ASCII"


def _text(value: str) -> str | None:
    return None if value else "empty"


def _file(value: str) -> str | None:
    return None if os.path.isfile(value) else "no such file"


def _directory(value: str) -> str | None:
    return None if os.path.isdir(value) else "no such directory"


def _cert_reqs(value: str) -> str | None:
    return None if value in ("none", "optional", "required") else "expected none, optional or required"


_Check = Callable[[str], "str | None"]
#: The query parameters bgmock passes on to redis-py, each with its check.
_COMMON: dict[str, _Check] = {
    "db": _whole, "socket_timeout": _seconds, "socket_connect_timeout": _seconds, "socket_keepalive": _boolean,
    "retry_on_timeout": _boolean, "health_check_interval": _whole, "client_name": _word, "username": _text,
    "password": _text,
}
_TLS: dict[str, _Check] = {
    "ssl_cert_reqs": _cert_reqs, "ssl_ca_certs": _file, "ssl_ca_path": _directory, "ssl_certfile": _file,
    "ssl_keyfile": _file, "ssl_password": _text, "ssl_check_hostname": _boolean,
}
