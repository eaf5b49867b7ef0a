"""The only path into the backend: (method, path, query, headers, body) -> reply.

The live Flask server and the in-process ``responses`` mode both call ``Dispatcher.handle``,
so the two cannot drift. The route table is explicit (``routes/``), matched with werkzeug's
router; every failure becomes a documented envelope, never a traceback.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from .backend import Backend, TransportFault
from .envelopes import Envelopes
from .errors import ApiError, GatewayError, InvalidInput
from .http import Incoming, Reply
from .signing import verify

log = logging.getLogger("bgmock")

Handler = Callable[["Context"], Reply]


@dataclass(frozen=True)
class Route:
    """One row of the route table. ``kind`` decides checks: api (signed), admin, asset."""

    rule: str
    methods: tuple[str, ...]
    endpoint: str
    handler: Handler
    kind: str = "api"
    api_name: str = ""


@dataclass
class Context:
    """What a handler gets: the request, URL arguments, the backend, and notes for the journal."""

    request: Incoming
    args: dict[str, Any]
    backend: Backend
    envelopes: Envelopes
    route: Route
    notes: dict[str, Any] = field(default_factory=dict)


def route_table() -> list[Route]:
    """Every route of the fake, in one list (imported lazily to keep modules acyclic)."""
    from .routes import admin, api, assets

    return [*api.ROUTES, *assets.ROUTES, *admin.ROUTES]


def signing_params(request: Incoming) -> dict[str, str]:
    """Query parameters merged with form fields: the IOP SDK puts system parameters in either."""
    from .validation import FORM, parse_body

    params = dict(request.query)
    if (request.header("content-type") or "").split(";")[0].strip().lower() == FORM:
        try:
            params.update(parse_body(FORM, request.body))
        except InvalidInput:  # an unreadable form is reported by the handler
            pass
    return params


class Dispatcher:
    """Routes a request, applies the checks of its kind, and turns errors into envelopes."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.envelopes = Envelopes(backend.spec, backend.ids)
        self.routes = route_table()
        self.by_endpoint = {route.endpoint: route for route in self.routes}
        self.url_map = Map(
            [Rule(r.rule, methods=list(r.methods), endpoint=r.endpoint) for r in self.routes],
            strict_slashes=False,
        )
        self._seq = itertools.count(1)

    def handle(self, request: Incoming) -> Reply:
        started = time.perf_counter()
        route: Route | None = None
        ctx: Context | None = None
        try:
            adapter = self.url_map.bind("fake", url_scheme="http")
            endpoint, args = adapter.match(request.path, method=request.method)
            route = self.by_endpoint[endpoint]
            ctx = Context(request, args, self.backend, self.envelopes, route)
            reply = self._checked(ctx)
        except NotFound:
            reply = self._gateway(GatewayError("InvalidApiPath"))
        except MethodNotAllowed as exc:
            reply = self._gateway(GatewayError("MethodNotAllowed"))
            reply.headers["Allow"] = ", ".join(sorted(exc.valid_methods or []))
        except GatewayError as exc:
            reply = self._gateway(exc)
        except TransportFault as exc:
            reply = Reply(transport=exc.kind, delay_ms=exc.delay_ms, status=0)
        except ApiError as exc:
            reply = Reply.json(self.envelopes.business_error(exc), delay_ms=exc.delay_ms)
        except Exception:  # the safety net: a bug in the fake is a 500 envelope, not a traceback
            log.exception("bgmock: internal error on %s %s", request.method, request.path)
            reply = Reply.json(self.envelopes.business_error(ApiError(500, "internal error in bgmock")))
        if route is None or route.kind == "api":
            self._record(request, route, ctx, reply, started)
        return reply

    def _checked(self, ctx: Context) -> Reply:
        route, request, cfg = ctx.route, ctx.request, self.backend.config
        if route.kind == "admin" and cfg.admin_token:
            given = (request.header("x-bgmock-admin-token") or "").encode()
            if not hmac.compare_digest(given, cfg.admin_token.encode()):
                raise GatewayError("Unauthorized")
        if route.kind == "api":
            if len(request.body) > cfg.max_body_bytes:
                raise InvalidInput([f"body: larger than the {cfg.max_body_bytes} bytes the fake accepts"])
            if cfg.app_keys:
                app_key, scheme = verify(
                    signing_params(request), route.api_name, cfg.app_keys, skew_s=cfg.timestamp_skew_s
                )
                ctx.notes.update(appKey=app_key, signature=scheme)
        return route.handler(ctx)

    def _gateway(self, error: GatewayError) -> Reply:
        status, body = self.envelopes.gateway_error(error)
        return Reply.json(body, status=status)

    def _record(
        self, request: Incoming, route: Route | None, ctx: Context | None, reply: Reply, started: float
    ) -> None:
        notes = ctx.notes if ctx else {}
        elapsed_ms = (time.perf_counter() - started) * 1000
        entry = {
            "id": next(self._seq),
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "clock": round(self.backend.clock.now(), 3),
            "method": request.method,
            "path": request.path,
            "endpoint": route.endpoint if route else None,
            "query": dict(request.query),
            "headers": {k: v for k, v in request.headers.items() if k not in _SECRET_HEADERS},
            "contentType": request.header("content-type"),
            "bodyBytes": len(request.body),
            "body": _summarize(notes.get("body")),
            "params": _summarize(notes.get("params")),
            "images": notes.get("images", []),
            "problems": notes.get("problems", []),
            "injected": notes.get("injected"),
            "appKey": notes.get("appKey"),
            "signature": notes.get("signature"),
            "status": reply.status,
            "resCode": reply.res_code,
            "transport": reply.transport,
            "taskId": notes.get("taskId"),
            "elapsedMs": round(elapsed_ms, 3),
        }
        self.backend.record(entry)
        if self.backend.config.log_requests:
            log.info(
                "%s %s -> %s%s%s %.1fms", request.method, request.path, reply.status or "-",
                f" resCode={reply.res_code}" if reply.res_code is not None else "",
                f" transport={reply.transport}" if reply.transport else "", elapsed_ms,
            )


_SECRET_HEADERS = frozenset({"authorization", "cookie", "x-bgmock-admin-token", "proxy-authorization"})


def _summarize(value: Any, limit: int = 256) -> Any:
    """Journal copy of parsed parameters: long strings (base64 images) become a short note."""
    if isinstance(value, str) and len(value) > limit:
        return f"<{len(value)} chars>"
    if isinstance(value, dict):
        return {k: _summarize(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_summarize(v, limit) for v in value]
    return value


__all__ = ["Context", "Dispatcher", "Incoming", "Reply", "Route"]
