"""The handle a test holds on one fake, whichever transport carries the requests.

The pytest fixtures (``bgmock``, ``bgmock_server``, ``bgmock_responses``), ``mockserver.mocked()``
and ``mockserver.running()`` all give a ``Handle``, so a test written against one mode runs
unchanged in the other. The handle talks to the fake's ``Backend`` directly (not through the
admin API): programming a fault or reading the journal costs no request and cannot itself
fail on the wire.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ..api import Backend
from ..config import Config, ConfigError
from ..errors import InvalidInput
from ..faults import TRANSPORT_FAULTS
from ..faults.decision import INVALID_INPUT

if TYPE_CHECKING:
    from ..dispatch import Dispatcher

#: What the test-facing entry points (plugin, ``mocked()``, ``running()``) start from: time
#: stands still unless a test advances it, tasks finish at once, no log line per request.
TEST_DEFAULTS: Mapping[str, Any] = {"clock": "manual", "task_duration": 0, "log_requests": False}

#: Task outcomes ``Handle.fault`` accepts besides the transport faults.
TASK_OUTCOMES = ("failed", "stuck")

ENDPOINTS = ("submit", "query", "scenes")

#: ``inject``/``fault`` keywords and the rule fields they set (``schemas/fault-rule.json``).
_RULE_FIELDS = {"probability": "probability", "every_n": "everyN", "delay_ms": "delayMs"}


def key_pair() -> tuple[str, str]:
    """A fresh app key and secret, shaped like the vendor's (digits; 32 hex digits).

    Made with ``secrets``: a key pair is a credential, not replayable state, so it does not
    come from the fake's seeded ID source.
    """
    return str(500000 + secrets.randbelow(500000)), secrets.token_hex(16)


def resolve(
    config: Config | Mapping[str, Any] | None,
    settings: Mapping[str, Any],
    *,
    signatures: bool | None = None,
    pair: tuple[str, str] | None = None,
) -> tuple[Config, str, str]:
    """The Config and key pair for a new test fake.

    A mapping (or nothing) starts from ``TEST_DEFAULTS``; a ``Config`` is taken as it is. The
    key pair is the config's first ``app_keys`` entry when it has one (signatures are then on),
    else ``pair`` or a fresh one, checked only with ``signatures=True``. Raises ``ConfigError``.
    """
    if isinstance(config, Config):
        merged = {**config.as_dict(), **settings}
    else:
        merged = {**TEST_DEFAULTS, **dict(config or {}), **settings}
    given = merged.get("app_keys") or {}
    if not isinstance(given, Mapping):  # refused (with any other problem) as every way of giving settings is
        Config.from_mapping(merged)  # raises, naming app_keys and whatever else is wrong
        raise ConfigError("invalid configuration: app_keys: must be an object")  # should the check let it by
    app_key, app_secret = next(iter(given.items())) if given else (pair or key_pair())
    if signatures is True:
        merged["app_keys"] = {**given, app_key: app_secret}
    elif signatures is False:
        merged["app_keys"] = {}
    return Config.from_mapping(merged), app_key, app_secret


class Handle:
    """One fake as a test sees it: its URL, its key pair, fault injection, journal and clock.

    ``url`` is where the client under test must send its requests (``http://127.0.0.1:PORT``
    live, ``http://bgmock.local`` in-process). Every method acts on the backend at once.
    """

    def __init__(  # noqa: PLR0913 - keyword-only, and built only by running(), mocked() and mocked_httpx()
        self,
        dispatcher: Dispatcher,
        url: str,
        *,
        app_key: str,
        app_secret: str,
        mode: str,
        close: Callable[[], None] | None = None,
        tls_url: str | None = None,
    ) -> None:
        #: The fake's one path in (journal numbering lives there): what ``httpx_transport(fake)``
        #: answers from, so calls through it join this fake's journal instead of a second one.
        self.dispatcher = dispatcher
        #: The fake's state, for anything the methods below do not cover (docs/pytest-plugin.md).
        self.backend: Backend = dispatcher.backend
        self._url = url.rstrip("/")
        self._tls_url = tls_url.rstrip("/") if tls_url else None
        self.app_key = app_key
        self.app_secret = app_secret
        self.mode = mode
        #: What ``restart()`` goes back to: the session's (or the constructor's) settings.
        self.base_config = self.backend.config
        self._close = close

    # -- where and how -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL of the fake, without a trailing slash (``https://`` while the ``tls`` setting is on)."""
        if self._tls_url and self.backend.config.tls:
            return self._tls_url
        return self._url

    @property
    def ca(self) -> str:
        """Path of bgmock's CA certificate (PEM), for the client to trust: ``verify=fake.ca``
        with requests, ``SSL_CERT_FILE``, ``NODE_EXTRA_CA_CERTS`` (docs/tls-and-proxy.md)."""
        from ..serving.tls import ca_path

        return str(ca_path(self.backend.config))

    @property
    def config(self) -> Config:
        """The settings in force now."""
        return self.backend.config

    @property
    def signatures(self) -> bool:
        """True when requests must be signed (with ``app_key``/``app_secret``)."""
        return bool(self.backend.config.app_keys)

    def configure(self, **settings: Any) -> None:
        """Change settings for the rest of this test and start afresh (tasks, rules, journal).

        Keys are those of ``schemas/config.json``, plus ``signatures=True/False`` to check (or
        stop checking) signatures with this handle's key pair. Raises ``ConfigError``.
        """
        self._adopt(self._settings(self.backend.config, settings))

    def restart(self, **settings: Any) -> None:
        """Back to the base settings plus ``settings``, everything forgotten: what the pytest
        plugin does before each test (with the test's ``bgmock`` marker as ``settings``)."""
        self._adopt(self._settings(self.base_config, settings))

    def reset(self) -> None:
        """Forget tasks, rules and the journal; settings stay (start-up rules apply again)."""
        self.backend.reset()

    def _settings(self, base: Config, settings: Mapping[str, Any]) -> Config:
        changes = dict(settings)
        wanted = changes.pop("signatures", None)
        if wanted is not None and not isinstance(wanted, bool):
            raise ConfigError(f"signatures: must be true or false, not {wanted!r}")
        if wanted:
            changes["app_keys"] = {self.app_key: self.app_secret}
        elif wanted is False:
            changes["app_keys"] = {}
        return base.replace(**changes) if changes else base

    def _adopt(self, config: Config) -> None:
        if self.mode == "live":
            _check_live_sizes(self.base_config, config)
        if config.tls or config.proxy:  # a bad certificate setting fails here, not in a handshake
            from ..serving.tls import server_context

            server_context(config)
        if config == self.backend.config:
            self.backend.reset()
        else:
            self.backend.reconfigure(config)

    # -- faults -----------------------------------------------------------------------------
    def inject(  # noqa: PLR0913 - the public API: keyword-only options, one per field of a fault rule
        self,
        res_code: int,
        times: int | None = 1,
        *,
        endpoint: str = "submit",
        probability: float | None = None,
        every_n: int | None = None,
        delay_ms: int | None = None,
        message: str | None = None,
        **match: Any,
    ) -> dict[str, Any]:
        """Answer the next ``times`` matching calls with ``res_code`` (``times=None``: all of them).

        ``match`` keeps the rule to requests whose parameters carry those values, e.g.
        ``inject(1000, modelNum="mod002")``. Returns the stored rule (with its ``id``).
        """
        rule = {"resCode": res_code, "endpoint": endpoint}
        if message is not None:
            rule["resMessage"] = message
        return self.add_rule(_rule(rule, times, match, probability=probability, every_n=every_n, delay_ms=delay_ms))

    def fault(  # noqa: PLR0913 - the public API: keyword-only options, one per field of a fault rule
        self,
        kind: str,
        times: int | None = 1,
        *,
        endpoint: str = "submit",
        probability: float | None = None,
        every_n: int | None = None,
        delay_ms: int | None = None,
        **match: Any,
    ) -> dict[str, Any]:
        """A transport fault on the next ``times`` matching calls, or a task outcome.

        ``kind`` is one of ``reset``, ``empty``, ``malformed``, ``truncated``, ``dribble``,
        ``http502``, ``http503``, ``http504``, ``timeout`` (what the client sees on the wire),
        or ``failed``/``stuck``: the next ``times`` submitted tasks end failed or never end.
        """
        if kind in TASK_OUTCOMES:
            rule: dict[str, Any] = {"endpoint": "task", "outcome": kind}
        elif kind in TRANSPORT_FAULTS:
            rule = {"transport": kind, "endpoint": endpoint}
        else:
            raise ValueError(f"fault kind {kind!r}: use one of {', '.join(TRANSPORT_FAULTS + TASK_OUTCOMES)}")
        return self.add_rule(_rule(rule, times, match, probability=probability, every_n=every_n, delay_ms=delay_ms))

    def add_rule(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Store a rule as ``POST /__admin/faults`` takes it (``schemas/fault-rule.json``).

        A rule the schema refuses raises ``ValueError`` naming each bad field.
        """
        try:
            return self.backend.add_fault(dict(rule))
        except InvalidInput as exc:
            raise ValueError(f"invalid fault rule {json.dumps(dict(rule))}: {'; '.join(exc.problems)}") from None

    def faults(self) -> list[dict[str, Any]]:
        """The rules in force, with their counters (``matched``, ``fired``, ``remaining``)."""
        return self.backend.faults()

    def clear_faults(self) -> int:
        """Remove every rule; returns how many there were."""
        return self.backend.delete_faults()

    # -- what the fake saw --------------------------------------------------------------------
    def requests(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """API calls the fake received, oldest first, as journal entries (parsed ``body``,
        ``params``, ``problems``, ``resCode``, ``injected``, ...); ``endpoint`` is ``submit``,
        ``query`` or ``scenes`` to keep one kind (the ``/rest`` form counts as the same)."""
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint {endpoint!r}: use one of {', '.join(ENDPOINTS)}")
        entries = list(reversed(self.backend.journal()))
        if endpoint is None:
            return entries
        return [e for e in entries if (e.get("endpoint") or "").removesuffix("_rest") == endpoint]

    def problems(self) -> list[dict[str, Any]]:
        """Calls that broke the API's rules (see ``offence``), oldest first."""
        return [e for e in self.requests() if offence(e)]

    def assert_no_problems(self) -> None:
        """Fail (AssertionError) listing every call that broke the API's rules."""
        found = self.problems()
        if found:
            raise AssertionError(f"{len(found)} request(s) broke the API's rules:\n" + format_entries(found))

    def tasks(self) -> list[dict[str, Any]]:
        """Tasks with their state, oldest first."""
        return list(reversed(self.backend.tasks(self.backend.config.max_tasks)))

    # -- time ---------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """The fake's clock, in seconds since the last reset."""
        return self.backend.clock.now()

    def advance(self, seconds: float) -> float:
        """Move the fake's clock forward (instead of sleeping); returns the new ``now``."""
        return self.backend.advance(seconds)

    # -- lifetime -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the server or the interception (what leaving the ``with`` block does)."""
        if self._close is not None:
            closer, self._close = self._close, None
            closer()

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<bgmock {self.mode} fake at {self.url}>"


def _rule(rule: dict[str, Any], times: int | None, match: Mapping[str, Any], **given: Any) -> dict[str, Any]:
    """``rule`` completed for ``add_rule``: ``times`` always (None: every call), the optional
    fields of ``_RULE_FIELDS`` only when given, ``match`` only when it names a parameter."""
    rule["times"] = times
    rule.update((_RULE_FIELDS[name], value) for name, value in given.items() if value is not None)
    if match:
        rule["match"] = dict(match)
    return rule


def _check_live_sizes(started: Config, config: Config) -> None:
    """A live fake's server sized its body buffers at start: a body cap above the start value, or
    another ``body_memory_bytes``, cannot be honoured (a larger body would be cut at the old cap and
    answered as broken JSON). Said at once, with what to do instead; a lower cap works."""
    if config.max_body_bytes > started.max_body_bytes:
        raise ConfigError(
            f"max_body_bytes: {config.max_body_bytes} is above the {started.max_body_bytes} this live fake started "
            "with, which sized its server's buffers: start it with the larger cap (running(max_body_bytes=…), "
            "or the session's settings: bgmock_config)"
        )
    if config.body_memory_bytes != started.body_memory_bytes:
        raise ConfigError("body_memory_bytes: fixed while a live fake runs (its server's buffers are sized at start)")


def running(
    config: Config | Mapping[str, Any] | None = None,
    *,
    signatures: bool | None = None,
    key_pair: tuple[str, str] | None = None,
    **settings: Any,
) -> Handle:
    """A live fake on 127.0.0.1 and a free port, in a thread: ``with running() as fake: ...``.

    Settings are keys of ``schemas/config.json`` on top of ``TEST_DEFAULTS`` (manual clock,
    tasks finish at once); ``signatures=True`` checks signatures with ``fake.app_key`` and
    ``fake.app_secret`` (a fresh pair, or ``key_pair``). Leaving the block stops the server.
    Any HTTP client can reach it. Raises ``ConfigError`` for a bad setting.
    """
    from .live import LiveServer

    cfg, app_key, app_secret = resolve(config, settings, signatures=signatures, pair=key_pair)
    if cfg.tls or cfg.proxy:
        from ..serving.tls import server_context

        server_context(cfg)
    server = LiveServer(cfg)
    return Handle(
        server.dispatcher, server.url, app_key=app_key, app_secret=app_secret, mode="live", close=server.stop,
        tls_url=server.tls_url,
    )


# -- what counts as a broken request, and how it reads in a report ------------------------------
#: HTTP statuses of a call that no route took, and how a report says so.
_REFUSED_ROUTES = {
    HTTPStatus.NOT_FOUND: "unknown path (InvalidApiPath)",
    HTTPStatus.METHOD_NOT_ALLOWED: "wrong method for this path (MethodNotAllowed)",
}


def offence(entry: Mapping[str, Any]) -> str | None:
    """Why a journal entry is a call that broke the API's rules, or None.

    Validation problems (recorded even when an injected fault answered), a 700 answer that
    no test injected, an unknown path or method, and a gateway refusal (signature) all count.
    """
    if entry.get("problems"):
        return "broke the API's rules: " + "; ".join(entry["problems"])
    if entry.get("resCode") == INVALID_INPUT and not entry.get("injected"):
        return f"answered {INVALID_INPUT} (invalid input)"
    status = entry.get("status")
    if status in _REFUSED_ROUTES:
        return _REFUSED_ROUTES[status]
    if entry.get("gateway"):
        return f"refused by the gateway ({entry['gateway']})"
    no_res_code = entry.get("resCode") is None and not entry.get("transport")
    if entry.get("endpoint") and no_res_code and status == HTTPStatus.OK:  # the gateway's answer, not the API's
        return "refused by the gateway (signature)"
    return None


def describe(entry: Mapping[str, Any]) -> str:
    """One line: ``#3 POST /path -> resCode 700``."""
    if entry.get("transport"):
        answer = f"transport fault {entry['transport']}"
    elif entry.get("resCode") is not None:
        answer = f"resCode {entry['resCode']}"
    elif entry.get("gateway"):
        answer = f"gateway error {entry['gateway']}"
    else:
        answer = f"HTTP {entry.get('status')}"
    query = "&".join(f"{k}={v}" for k, v in (entry.get("query") or {}).items() if k not in ("sign",))
    path = entry.get("path", "?") + (f"?{query}" if query else "")
    task = f" taskId={entry['taskId']}" if entry.get("taskId") else ""
    return f"#{entry.get('id', '?')} {entry.get('method', '?')} {path} -> {answer}{task}"


def format_entries(entries: list[Mapping[str, Any]], *, detail: bool = True) -> str:
    """Entries as text for a failure report: one line each, and with ``detail`` why each
    broke the rules, what the fake parsed from it and which rule was injected."""
    lines = []
    for entry in entries:
        lines.append(describe(entry))
        if not detail:
            continue
        why = offence(entry)
        if entry.get("problems"):
            lines.append("    broke the API's rules:")
            lines.extend(f"      - {problem}" for problem in entry["problems"])
        elif why:
            lines.append(f"    {why}")
        injected = entry.get("injected")
        if injected:
            what = injected.get("transport") or injected.get("resCode")
            lines.append(f"    injected: {what} ({injected.get('rule') or 'Prefer header'})")
        shown = entry.get("params") or entry.get("body")
        if shown:
            lines.append(f"    sent: {_short(json.dumps(shown, ensure_ascii=False, default=str))}")
        elif entry.get("bodyBytes"):
            lines.append(f"    sent: {entry['bodyBytes']} bytes of {entry.get('contentType') or 'no content type'}")
    return "\n".join(lines)


def _short(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


__all__ = ["Handle", "TEST_DEFAULTS", "describe", "format_entries", "key_pair", "offence", "resolve", "running"]
