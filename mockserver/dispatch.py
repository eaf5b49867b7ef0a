"""The only path into the backend: (method, path, query, headers, body) -> reply.

Every host (``serving.WsgiApp`` under ``bgmock serve``, granian and the Flask app; the
in-process modes for ``requests`` and httpx) calls ``Dispatcher.handle``, so they cannot
drift. The route table is explicit (``routes/``), matched with werkzeug's router; every
failure becomes a documented envelope, never a traceback; a fault decision's remainder is
applied to the answer by ``faults.apply_to_reply``.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule

from .answers.envelopes import Envelopes
from .answers.urls import ADMIN, ASSETS, CONVERTERS
from .api import Backend
from .config import Config
from .errors import ApiError, GatewayError, InvalidInput
from .faults import TransportFault, apply_to_reply, own_delay
from .http import Incoming, Reply
from .journal import SIGNING_KEYS, JournalWriter, Notes
from .origin import Guard, Refused
from .parsing import media_type
from .redact import Redactor
from .routes import Context, Route, route_table
from .signing import verify
from .storage.base import Stale
from .validation.body import FORM, parse_body

log = logging.getLogger("bgmock")

#: The bound of ``Dispatcher._match``'s memo: far above the route table's fixed paths.
_ROUTES_REMEMBERED = 256


def signing_params(request: Incoming) -> dict[str, str]:
    """Query parameters merged with form fields: the IOP SDK puts system parameters in either."""
    params = dict(request.query)
    if media_type(request.header("content-type")) == FORM:
        try:
            form = parse_body(FORM, request.body)
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        except InvalidInput:  # an unreadable form is reported by the handler
            pass
    return params


@dataclass(frozen=True)
class _FromSettings:
    """What the dispatcher makes from one set of settings."""

    config: Config
    guard: Guard | None
    redactor: Redactor
    journal: JournalWriter


@dataclass
class _Attempt:
    """How far one request got: its route and context once matched, a refusal's notes."""

    request: Incoming
    started: float
    #: The settings it is answered under, read once (a configure() meanwhile is the next request's).
    made: _FromSettings
    route: Route | None = None
    ctx: Context | None = None
    refused: Notes | None = None  # a refusal before (or whatever) the route: journaled
    #: answered without reading or changing state (an unknown path, a wrong method, a bad body):
    #: a store that is down, or refuses the writes, loses its journal entry, never this answer
    stateless: bool = False
    #: the first store outage the request met (answering, journaling, writing): logged once, when done
    outage: BaseException | None = None
    #: the answer is the outage's 500 ``system error`` (else only the journal entry is lost)
    answered_down: bool = False

    def met(self, exc: BaseException) -> None:
        """The store failed the request here: the first failure is the one its log line names."""
        if self.outage is None:
            self.outage = exc

    @property
    def kind(self) -> str | None:
        """The matched route's kind (``api``, ``admin``, ...), None before a route matched."""
        return self.route.kind if self.route is not None else None

    @property
    def journaled(self) -> bool:
        """API calls, requests that matched no route and refusals go to the journal; admin and UI do not."""
        return self.route is None or self.route.kind == "api" or self.refused is not None


class Dispatcher:
    """Routes a request, applies the checks of its kind, and turns errors into envelopes."""

    def __init__(self, backend: Backend, *, guard: bool = True) -> None:
        """``guard=False`` turns off the Host and Origin checks (``origin.py``): only for the
        in-process mode, which no browser can reach."""
        self.backend = backend
        self._guarded = guard
        self.envelopes = Envelopes(backend.spec, backend.ids)
        self.routes = route_table()
        self.by_endpoint = {route.endpoint: route for route in self.routes}
        self.url_map = Map(
            [Rule(r.rule, methods=list(r.methods), endpoint=r.endpoint) for r in self.routes],
            strict_slashes=False, converters=CONVERTERS,
        )
        # What a shared store raises when its engine is down or slow (redis-py's connection and
        # timeout errors): the API's own 500 "system error", never a traceback. () for memory.
        self._store_down = backend.store.unavailable
        self._routes_seen: dict[tuple[str, str], str] = {}
        self._numbers = itertools.count(1)
        self._made = self._from(backend.config)

    def _from(self, cfg: Config) -> _FromSettings:
        #: Every configured secret, by value: nothing the fake records or answers may carry one.
        redactor = Redactor([*cfg.app_keys.values(), cfg.admin_token])
        guard = Guard(cfg) if self._guarded else None
        # one numbering for every writer: entry numbers go on across new settings
        return _FromSettings(cfg, guard, redactor, JournalWriter(redactor, self.backend.clock, self._numbers))

    @property
    def settings(self) -> _FromSettings:
        """The guard, redactor and journal writer of the backend's *current* settings: a
        running fake adopts others (``Backend.reconfigure``, the pytest plugin's markers), and
        a new admin token, key pair or allowed host must count from the next request on."""
        made = self._made
        if made.config is not self.backend.config:
            made = self._made = self._from(self.backend.config)
        return made

    @property
    def guard(self) -> Guard | None:
        return self.settings.guard

    def handle(self, request: Incoming) -> Reply:
        """The answer to one request: one unit of work of the storage (see ``storage.Storage.unit``)."""
        store = self.backend.store
        attempt = _Attempt(request, time.perf_counter(), self.settings)
        reply: Reply | None = None  # the route's answer, once ``_handle`` gave it (before the unit's writes)
        with self._pending(request):
            try:
                try:
                    with store.unit():
                        reply = self._handle(attempt)
                except Stale:  # another fake changed the rules or the clock meanwhile: nothing was written
                    attempt = _Attempt(request, attempt.started, attempt.made)
                    reply = None
                    with store.unit(fresh=True):
                        reply = self._handle(attempt)
            except self._store_down as exc:  # the unit's writes (task, journal entry) did not reach the store
                self._met(attempt, exc)  # stateless: only the journal entry is lost, the answer holds without the store
                if reply is None or not attempt.stateless:  # the route answered on state that was not kept
                    reply = self._store_lost(attempt, exc)
            except Exception:  # the store refused the writes for no outage (a bug, an error it should not give)
                if reply is None or not attempt.stateless:
                    reply = self._internal_error(attempt)
                else:  # as for an outage: only the journal entry is lost, the answer holds
                    log.exception("bgmock: could not record %s", self.shown(request.method, request.path, attempt.made))
        return self._done(attempt, reply)

    def _done(self, attempt: _Attempt, reply: Reply) -> Reply:
        """Log the request once its unit is done: the outage it met, in one line, and its access
        line with the answer the client gets and the time it took, the store's calls included
        (not an injected delay: the server sleeps it after)."""
        request, made = attempt.request, attempt.made
        if attempt.outage is not None:
            lost = "answered system error" if attempt.answered_down else "the journal entry is lost"
            log.warning("bgmock: state store unavailable on %s: %s (%s)",
                        self.shown(request.method, request.path, made), lost, attempt.outage)
        if attempt.journaled and made.config.log_requests:
            self._log(request, reply, (time.perf_counter() - attempt.started) * 1000, made)
        return reply

    def _pending(self, request: Incoming) -> contextlib.AbstractContextManager[None]:
        """Counted in ``backend.pending`` until its journal entry is written: every request but
        the admin API's (the journal's reader among them) and the fake's own images, which the
        journal does not record. Told by the path, before routing: routing an image path with
        its arguments costs as much as validating a submit, and is not remembered."""
        if request.path.startswith((ADMIN, ASSETS)):
            return contextlib.nullcontext()
        return self.backend.pending.held()

    def _met(self, attempt: _Attempt, exc: BaseException) -> None:
        """The request met an outage: its log line names the first, and the store makes no call
        for it after this one (``Storage.met``): one ``state_timeout_s`` at most, not one per call."""
        attempt.met(exc)
        self.backend.store.met(exc)

    def _store_lost(self, attempt: _Attempt, exc: BaseException) -> Reply:
        """The API's own 500 ``system error`` (HTTP 200, as the gateway answers); on the admin
        API, a plain REST API, HTTP 503 with it, so ``curl -f`` and scripts see the outage.
        Logged when the request is done (``_done``), once however often the store failed it."""
        self._met(attempt, exc)
        attempt.answered_down = True
        status = 503 if attempt.kind == "admin" else 200
        return Reply.json(self.envelopes.business_error(ApiError(500)), status=status)

    def _internal_error(self, attempt: _Attempt) -> Reply:
        """The safety net: a bug in the fake (or a store's refusal that is no outage) is a 500
        envelope and a logged traceback, never a traceback to the client. HTTP 200, as the
        gateway answers; on the admin API, a plain REST API, HTTP 500 with it (as ``_store_lost``
        answers it 503), so ``curl -f`` and scripts see the failure."""
        request = attempt.request
        log.exception("bgmock: internal error on %s", self.shown(request.method, request.path, attempt.made))
        status = 500 if attempt.kind == "admin" else 200
        return Reply.json(self.envelopes.business_error(ApiError(500, "internal error in bgmock")), status=status)

    def _handle(self, attempt: _Attempt) -> Reply:
        reply = self._finished(attempt, self._answer(attempt))
        attempt.stateless = not self.backend.store.touched()  # asked before the journal entry touches it
        if attempt.journaled:
            self._journal(attempt, reply)
        return reply

    def _answer(self, attempt: _Attempt) -> Reply:
        """The route's answer, or the envelope of whatever refused or broke the request on the way."""
        try:
            reply = self._routed(attempt)
        except (NotFound, RequestRedirect):  # a redirect (``//``, a trailing slash) is no route here
            reply = self._gateway(GatewayError("InvalidApiPath"))
        except MethodNotAllowed as exc:
            reply = self._gateway(GatewayError("MethodNotAllowed"))
            reply.headers["Allow"] = ", ".join(sorted(exc.valid_methods or []))
        except Refused as exc:  # a web page or a rebound name: journaled, whatever the route
            reply = self._gateway(exc)
            attempt.refused = Notes(gateway=exc.code, problems=[exc.message])
        except GatewayError as exc:
            reply = self._gateway(exc)
            if attempt.ctx is not None:
                attempt.ctx.notes.gateway = exc.code
        except TransportFault as exc:
            reply = Reply(transport=exc.kind, delay_ms=exc.delay_ms, status=0)
        except ApiError as exc:
            # The vendor's API answers business errors with HTTP 200; our own admin API is a
            # plain REST API, where a rejected rule must fail `curl -f` and raise_for_status().
            status = 400 if attempt.kind == "admin" else 200
            reply = Reply.json(self.envelopes.business_error(exc), status=status, delay_ms=exc.delay_ms)
        except self._store_down as exc:
            reply = self._store_lost(attempt, exc)
        except Exception:  # the safety net: a bug in the fake is a 500 envelope, not a traceback
            reply = self._internal_error(attempt)
        return reply

    def _routed(self, attempt: _Attempt) -> Reply:
        """Guard the host, find the route, guard the origin, then the checks of its kind and its handler."""
        request = attempt.request
        guard = attempt.made.guard
        if guard is not None:
            guard.check_host(request)
        endpoint, args = self._match(request.path, request.method)
        attempt.route = route = self.by_endpoint[endpoint]
        attempt.ctx = Context(request, args, self.backend, self.envelopes, route)
        if guard is not None:
            guard.check_origin(request, route.kind)
        return self._checked(attempt.ctx)

    def _finished(self, attempt: _Attempt, reply: Reply) -> Reply:
        """The answer as it leaves: the fault decision's remainder applied, the API's latency drawn,
        configured secrets taken out of the body."""
        injected = attempt.ctx.notes.injected if attempt.ctx is not None else None
        reply = apply_to_reply(reply, injected)
        if attempt.kind == "api" and not own_delay(injected) and self.backend.latency:
            # Drawn here, acted out by the transport (the server sleeps; handle() never does).
            reply.delay_ms = self.backend.latency.draw_ms(_api_endpoint(attempt.route), self.backend.ids.chance)
        redactor = attempt.made.redactor
        if redactor and reply.content_type.startswith("application/json"):
            reply.body = redactor.data(reply.body)  # a problem message may quote what was sent
        return reply

    def _journal(self, attempt: _Attempt, reply: Reply) -> None:
        """Record the request; a failure to record is logged, never turned into the answer."""
        request = attempt.request
        try:
            notes = attempt.refused or (attempt.ctx.notes if attempt.ctx is not None else Notes())
            self._record(request, attempt.route, notes, reply, attempt.started, made=attempt.made)
        except self._store_down as exc:  # said once per request, when it is done (``_done``)
            self._met(attempt, exc)
        except Exception:  # the journal must never turn an answer into a traceback
            log.exception("bgmock: could not record %s", self.shown(request.method, request.path, attempt.made))

    def _match(self, path: str, method: str) -> tuple[str, dict[str, Any]]:
        """werkzeug's match, remembered for paths without arguments (the API's fixed paths).

        Binding and matching cost as much as validating a submit; the answer for a fixed
        (path, method) never changes, and only paths that match without arguments are kept,
        so the memo is bounded by the route table.  Misses (404/405) are never remembered.
        """
        found = self._routes_seen.get((path, method))
        if found is not None:
            return found, {}
        endpoint, args = self.url_map.bind("fake", url_scheme="http").match(path, method=method)
        if not args and len(self._routes_seen) < _ROUTES_REMEMBERED:
            self._routes_seen[(path, method)] = endpoint
        return endpoint, args

    def _checked(self, ctx: Context) -> Reply:
        route, request, cfg = ctx.route, ctx.request, self.backend.config
        if route.kind == "admin" and cfg.admin_token:
            given = (request.header("x-bgmock-admin-token") or "").encode()
            if not hmac.compare_digest(given, cfg.admin_token.encode()):
                raise GatewayError("Unauthorized")
        try:  # every route, before anything reads the body (an admin route's JSON, a signature's form)
            self.backend.requests.size(request.body)
        except InvalidInput as exc:  # the journal says why, as for any body refused unread
            ctx.notes.problems = exc.problems
            raise
        if route.kind == "api":
            if cfg.app_keys:
                params = signing_params(request)
                ctx.notes.signing = {k: params[k] for k in SIGNING_KEYS if k in params}
                ctx.notes.app_key, ctx.notes.signature = verify(
                    params, route.api_name, cfg.app_keys, skew_s=cfg.timestamp_skew_s
                )
            if self.backend.limiter:  # after the signature (it names the app_key), before faults
                app_key = ctx.notes.app_key or signing_params(request).get("app_key")
                refused = self.backend.rate_limited(_api_endpoint(route), app_key)
                if refused:
                    ctx.notes.rate_limit = refused
                    raise ApiError(501)
        return route.handler(ctx)

    def _gateway(self, error: GatewayError) -> Reply:
        status, body = self.envelopes.gateway_error(error)
        return Reply.json(body, status=status)

    def shown(self, method: object, path: object, made: _FromSettings | None = None) -> str:
        """``METHOD PATH`` as every log line shows a request, also outside the dispatcher (a
        server's own error, the proxy's refusal): escaped, so a sent newline cannot forge a log
        line; secrets masked, as the journal masks them (with ``made``'s secrets: the settings
        the request is answered under; else the current ones); each cut short (``_printable``)."""
        redactor = (made or self.settings).redactor
        return f"{_printable(str(method), _METHOD_CHARS)} {_printable(redactor.text(str(path)))}"

    def refuse(self, request: Incoming, error: GatewayError) -> Reply:
        """Answer ``request`` with a gateway error and journal it, outside the routes: what the
        proxy mode does with a host the fake does not stand in for (proxy.py)."""
        attempt = _Attempt(request, time.perf_counter(), self.settings, stateless=True)
        attempt.refused = Notes(gateway=error.code, problems=[error.message])
        reply = self._gateway(error)
        self._journal(attempt, reply)
        return self._done(attempt, reply)

    def _record(  # noqa: PLR0913 - what one journal entry is made of
        self, request: Incoming, route: Route | None, notes: Notes, reply: Reply, started: float, *,
        made: _FromSettings,
    ) -> None:
        entry = made.journal.entry(request, route.endpoint if route else None, notes, reply, started)
        self.backend.record(entry.to_json())

    def _log(self, request: Incoming, reply: Reply, elapsed_ms: float, made: _FromSettings) -> None:
        """The access line (``_done`` writes it when ``log_requests`` is on)."""
        log.info(
            "%s -> %s%s%s %.1fms", self.shown(request.method, request.path, made), reply.status or "-",
            f" resCode={reply.res_code}" if reply.res_code is not None else "",
            f" transport={reply.transport}" if reply.transport else "", elapsed_ms,
        )


def _api_endpoint(route: Route) -> str:
    """``submit_rest`` -> ``submit``: limits and latencies name the API, not the URL form."""
    return route.endpoint.removesuffix("_rest")


#: The longest method a log line shows (the longest real one, ``OPTIONS``, is 7; the server takes any token).
_METHOD_CHARS = 32


def _printable(text: str, limit: int = 300) -> str:
    """A request's method or path for the log: escaped, so a sent newline cannot forge a log
    line, and cut at ``limit`` characters (the escapes at most 4 times as long: ``\\x00``)."""
    return text[:limit].encode("unicode_escape").decode("ascii") + ("..." if len(text) > limit else "")


__all__ = ["Context", "Dispatcher", "Incoming", "Reply", "Route"]

