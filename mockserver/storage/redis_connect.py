"""A redis-py client for a state URL, and every way that fails as one line that says which.

Three steps, each with its own words: the URL is read (``state_url.py``: what it names), the
client is built (the connection class made with every parameter, without connecting: a
parameter redis-py refuses is a bad URL, not "cannot reach"), and Redis is asked ``PING``: no
answer is "cannot reach Redis", unless Redis was reached and spoke the other protocol (TLS
for a ``redis://`` URL, plain text for a ``rediss://`` one: asked again in that protocol) or
refused the TLS handshake; an answer refusing the login says so, and how a password is
written; an unknown DB says so.  The password never appears (``without_password``).
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

from ..config import ConfigError
from .state_url import RedisTarget, parse_redis_url

try:  # an optional engine: only a Redis state needs redis-py
    import redis
    from redis.connection import DefaultParser
except ImportError:  # pragma: no cover - the message is in connect
    redis = None  # type: ignore[assignment]
    DefaultParser = object  # type: ignore[assignment,misc]


class RefusesWrites(redis.ResponseError if redis is not None else Exception):  # type: ignore[misc]
    """A Redis refusing writes for a state of its own, which redis-py leaves a plain
    ``ResponseError``: ``MISCONF`` (its last RDB snapshot failed and ``stop-writes-on-bgsave-error``
    is on) and ``NOREPLICAS`` (fewer replicas than ``min-replicas-to-write``)."""


class _Parser(DefaultParser):  # type: ignore[misc,valid-type]
    """redis-py's parser, reading those two replies as ``RefusesWrites``."""

    EXCEPTION_CLASSES = {**getattr(DefaultParser, "EXCEPTION_CLASSES", {}),
                         "MISCONF": RefusesWrites, "NOREPLICAS": RefusesWrites}


#: What a Redis that is down, too slow or refusing writes raises (full at ``maxmemory``, a
#: read-only replica, a failed snapshot, missing replicas, a replica without its master): the
#: API's 500 ``system error`` and one log line, in Redis's words (``Storage.unavailable``).
OUTAGES: tuple[type[BaseException], ...] = () if redis is None else (
    redis.ConnectionError, redis.TimeoutError, redis.OutOfMemoryError, redis.ReadOnlyError,
    redis.exceptions.MasterDownError, RefusesWrites,
)

#: Redis's login refusals that a redis-py version may leave a plain ResponseError.
_LOGIN_WORDS = ("NOAUTH", "WRONGPASS", "already authenticated", "invalid password", "invalid username-password")
#: Redis's words for a password given to a Redis that has none.
_NO_PASSWORD_WORDS = ("no password is set", "without any password configured")
#: The longest a failed start waits, on top of its PING, to ask the other protocol.
_PROBE_S = 1.0


def connect(url: str, timeout_s: float) -> Any:
    """A client of the Redis ``url`` names that answered ``PING``; ConfigError (one line) if not."""
    target = parse_redis_url(url)
    if redis is None:
        raise ConfigError(f"--state {target.shown}: Redis state needs redis-py: pip install 'redis[hiredis]'")
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, parser_class=_Parser,
        )
        pool = client.connection_pool
        pool.connection_class(**pool.connection_kwargs)  # built, not connected: a parameter it refuses
    except (TypeError, ValueError, redis.RedisError) as exc:
        raise ConfigError(f"--state {target.shown}: redis-py cannot use this URL ({exc})") from None
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise ConfigError(f"--state {target.shown}: {_refusal(target, exc, timeout_s)}") from None
    return client


def briefer(client: Any, timeout_s: float) -> Any:
    """A client of the same Redis as ``client`` whose connections wait at most ``timeout_s`` for
    a reply or a connection (or ``client``'s own timeout, when shorter), whatever the URL set;
    for one call that must not wait the whole ``state_timeout_s``. Close it after."""
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    # redis-py 6+ also keeps the timeouts as orig_* (to restore after a maintenance notice)
    timeouts = {name: min(timeout_s, kwargs.get(name) or timeout_s) for name in (
        "socket_timeout", "socket_connect_timeout", "orig_socket_timeout", "orig_socket_connect_timeout")
        if name in kwargs or not name.startswith("orig_")}
    return redis.Redis(connection_pool=type(pool)(connection_class=pool.connection_class, **{**kwargs, **timeouts}))


def _refusal(target: RedisTarget, exc: Exception, timeout_s: float) -> str:
    """What a failed ``PING`` means to the user, in their words."""
    text = str(exc)
    if any(words in text for words in _NO_PASSWORD_WORDS):
        return f"Redis answered, and it has no password: leave the password out of the URL ({text})"
    if isinstance(exc, (redis.AuthenticationError, redis.AuthenticationWrongNumberOfArgsError)) or (
        isinstance(exc, redis.ResponseError) and any(words in text for words in _LOGIN_WORDS)
    ):
        return _login_refused(target, exc, text)
    if isinstance(exc, redis.ResponseError) and "DB index is out of range" in text:
        return (f"Redis answered, and has no DB {target.db}: its DBs are 0 to one less than its `databases` "
                f"setting (16 unless configured otherwise)")
    if isinstance(exc, redis.ResponseError):
        return f"Redis answered PING with an error ({text})"
    return _unanswered(target, exc, text, min(timeout_s, _PROBE_S))


def _unanswered(target: RedisTarget, exc: Exception, text: str, probe_s: float) -> str:
    """No answer to ``PING``: Redis out of reach, or reached and the TLS of the URL's scheme
    not what it serves (a plain Redis leaves a TLS handshake unanswered: "Timeout connecting")."""
    if target.scheme == "rediss" and _answers_plain(target.host, target.port, probe_s):
        return (f"Redis answered in plain text, and did not complete a TLS handshake: it does not serve TLS "
                f"on port {target.port}; use redis:// for a Redis without TLS ({text})")
    if isinstance(exc.__cause__ or exc.__context__, ssl.SSLError):
        hint = ("; a CA of your own is given with ?ssl_ca_certs=CA.pem"
                if isinstance(exc.__cause__ or exc.__context__, ssl.SSLCertVerificationError) else "")
        return f"Redis was reached, and the TLS handshake failed ({text}){hint}"
    if target.scheme == "redis" and _speaks_tls(target.host, target.port, probe_s):
        return f"Redis serves TLS on port {target.port}, and the URL asks for plain text: use rediss:// ({text})"
    return f"cannot reach Redis ({text})"


def _answers_plain(host: str, port: int, timeout_s: float) -> bool:
    """Whether a plain-text Redis answers an inline ``PING`` at ``host:port`` (``+PONG``, or an
    error such as ``-NOAUTH``: either is Redis speaking without TLS)."""
    try:
        with socket.create_connection((host, port), timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(1) in (b"+", b"-")
    except OSError:
        return False


def _speaks_tls(host: str, port: int, timeout_s: float) -> bool:
    """Whether a TLS handshake at ``host:port`` completes (certificates unchecked: only the protocol is asked)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout_s) as sock, context.wrap_socket(sock, server_hostname=host):
            return True
    except OSError:  # ssl.SSLError among them: a plain server closes on a ClientHello, or leaves it unanswered
        return False


def _login_refused(target: RedisTarget, exc: Exception, text: str) -> str:
    """Redis was reached and refused the login (no password, a wrong one, a user name it has none of):
    saying "cannot reach" sent users looking for a network problem."""
    if isinstance(exc, redis.AuthenticationWrongNumberOfArgsError):
        return (f"Redis answered, and refused a user name (Redis before 6 has none): give the password alone, "
                f"{target.login_form}")
    if not target.password:
        return (f"Redis answered, and requires a password, which the URL does not give: {target.login_form} "
                f"(USER:PASSWORD@ for an ACL user; percent-encode '/', '?', '#', '@' in it)")
    return f"Redis answered, and refused the login: wrong user name or password ({text})"
