"""The lean WSGI host of the dispatcher: environ -> ``Incoming`` -> ``Dispatcher.handle`` ->
status, headers, body.

``app.create_app`` is the Flask app (to embed, to extend with one's own routes, Flask's test
client), which hands bgmock's paths to ``WsgiApp``; ``bgmock serve`` runs ``WsgiApp`` alone,
without Flask's per-request machinery, on its own threaded server (``httpd.py``) or on granian
(``workers.py``); a transport fault is handed to ``faults.on_socket``, which acts it out on the
socket when the server exposes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from ..config import Config
from ..dispatch import Dispatcher
from ..errors import ApiError, GatewayError
from ..faults.on_socket import act_out
from ..framing import FramingError, content_length
from ..http import Incoming, Reply, host_port
from ..transport import read_body
from .bodies import BODY_WAIT_S, BodyBudget
from .request_head import NOT_A_PROXY

log = logging.getLogger("bgmock")
StartResponse = Callable[..., Any]
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class _NoRoom(Exception):
    """No room in the body budget before the wait ran out (answered 503)."""


class WsgiApp:
    """A WSGI callable that hands every request to one dispatcher."""

    def __init__(self, dispatcher: Dispatcher, *, worker: str | None = None) -> None:
        self.dispatcher = dispatcher
        self.backend = dispatcher.backend
        # Which process answered (X-Bgmock-Worker), so a test or a person can see the spread.
        self._worker_header = [("X-Bgmock-Worker", worker)] if worker else []
        # Bodies read here, all threads together (werkzeug's, granian's; bgmock's own server
        # charges its own budget before the application runs): bodies.py.
        cfg = self.config
        self.bodies = BodyBudget(cfg.body_memory_bytes or 4 * (cfg.max_body_bytes + 1))
        self.body_wait_s = BODY_WAIT_S

    @property
    def config(self) -> Config:
        """The backend's settings now: a running fake adopts others (the pytest plugin's
        markers, ``Handle.configure``), and a fault's ``hang_s`` or ``dribble_s``, the body cap,
        count from the next request on. (The body budget, sized at start, stays.)"""
        return self.backend.config

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if _closes_every_connection(environ):
            start_response = _without_connection(start_response)
        reply = self._answer(environ)
        if reply.delay_ms:
            time.sleep(reply.delay_ms / 1000)
        if reply.transport:
            return act_out(reply.transport, environ, start_response, reply.body, self.config)
        headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body)))]
        headers += list(reply.headers.items())
        headers += self._worker_header
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Unknown')}", headers)
        return [reply.body]

    def _answer(self, environ: dict[str, Any]) -> Reply:
        """The dispatcher's answer, or the HTTP layer's refusal of a request it cannot take."""
        if environ.get("REQUEST_METHOD") == "CONNECT" and not _target(environ).startswith("/"):
            return self._bad_request(400, NOT_A_PROXY)  # werkzeug and granian hand it on: no proxy here
        charged = 0
        try:
            charged = self._charge(environ)
            return self.dispatcher.handle(self.incoming(environ))
        except FramingError as exc:  # a Content-Length no server should have passed on
            return self._bad_request(400, str(exc))
        except _NoRoom:
            return self._bad_request(503, "too many request bodies in flight (body_memory_bytes); retry")
        except Exception:  # the dispatcher has its own net; this one catches a broken request stream
            log.exception("bgmock: internal error on %s",
                          self.dispatcher.shown(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))
            return Reply.json(self.dispatcher.envelopes.business_error(ApiError(500, "internal error in bgmock")))
        finally:
            self.bodies.release(charged)

    def _bad_request(self, status: int, reason: str) -> Reply:
        status, body = self.dispatcher.envelopes.gateway_error(GatewayError("BadHttpRequest", reason, status=status))
        return Reply.json(body, status=status, headers={"Connection": "close"})

    def _charge(self, environ: dict[str, Any]) -> int:
        """Room for the body about to be read (its declared length, or the cap for a chunked
        one), waiting up to ``body_wait_s``; 0 when there is nothing to read here."""
        if "bgmock.body_bytes" in environ:
            return 0  # bgmock's own server read it within its own budget
        limit = self.config.max_body_bytes
        length = content_length([environ["CONTENT_LENGTH"]]) if environ.get("CONTENT_LENGTH") else None
        if length is None:
            want = limit + 1 if environ.get("wsgi.input_terminated") else 0
        else:
            want = 0 if length > limit else length  # over the cap: refused unread (Oversized)
        if want == 0:
            return 0
        charged = self.bodies.acquire(want, self.body_wait_s)
        if charged is None:
            raise _NoRoom
        return charged

    def refusal(self, status: int, reason: str) -> bytes:
        """The body for a request the HTTP server could not read: the gateway's JSON envelope."""
        _, body = self.dispatcher.envelopes.gateway_error(GatewayError("BadHttpRequest", reason, status=status))
        return Reply.json(body).body  # encoded as every other answer is

    def incoming(self, environ: dict[str, Any]) -> Incoming:
        """The request as the dispatcher sees it (the fields the in-process modes build too)."""
        # Strict (framing.py): werkzeug and granian hand the header over as the client sent it.
        length = content_length([environ["CONTENT_LENGTH"]]) if environ.get("CONTENT_LENGTH") else None
        if length is None and not environ.get("wsgi.input_terminated"):
            length = 0  # no length and no terminated stream (no chunked upload): no body
        try:
            # bgmock's own server read the body already (within its budget): take it as is.
            body = environ.get("bgmock.body_bytes")
            if body is None or (length is not None and length > self.config.max_body_bytes):
                body = read_body(environ["wsgi.input"], length, self.config.max_body_bytes)
        except (OSError, ValueError) as exc:  # werkzeug's dechunking: a bad chunk size, a cut body
            raise FramingError(f"the request body could not be read ({str(exc)[:80] or type(exc).__name__})") from None
        query: dict[str, str] = {}
        raw_query = environ.get("QUERY_STRING")
        for key, value in parse_qsl(raw_query, keep_blank_values=True) if raw_query else ():
            query.setdefault(key, value)  # the first value wins, as Flask's request.args
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]
        host = environ.get("HTTP_HOST") or host_port(environ.get("SERVER_NAME", "127.0.0.1"),
                                                     environ.get("SERVER_PORT", 80))
        path = environ.get("PATH_INFO") or "/"
        if not path.isascii():  # WSGI hands the path as latin-1 code points of its UTF-8 bytes
            path = path.encode("latin-1").decode("utf-8", "replace")
        return Incoming(
            method=environ.get("REQUEST_METHOD", "GET").upper(), path=path, query=query,
            headers=headers, body=body, base_url=f"{environ.get('wsgi.url_scheme', 'http')}://{host}",
        )


def _closes_every_connection(environ: dict[str, Any]) -> bool:
    """Whether the server is werkzeug's development server (``bgmock serve --server werkzeug``, or
    a ``create_app`` app run on it): it closes every connection and adds ``Connection: close``
    to every answer itself, after the application's headers."""
    return str(environ.get("SERVER_SOFTWARE", "")).startswith("Werkzeug/")


def _without_connection(start_response: StartResponse) -> StartResponse:
    """``start_response`` without the application's ``Connection`` header (a 400 ``BadHttpRequest``,
    a transport fault that closes): the server sends its own, and two is one too many."""
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, [(k, v) for k, v in headers if k.lower() != "connection"], exc_info)

    return start


def _target(environ: dict[str, Any]) -> str:
    """The request target as sent: werkzeug keeps it (``RAW_URI``; its ``PATH_INFO`` of
    ``CONNECT host:443`` is ``443``), granian gives an authority-form target an empty path."""
    return str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "")


# -- werkzeug's development server ----------------------------------------------------------
def werkzeug_handler(refusal: Callable[[int, str], bytes]) -> type:
    """werkzeug's request handler, answering what it cannot read (a garbage request line, a
    line too long, an unsupported version) with ``refusal``'s JSON envelope, as bgmock's own
    server does, instead of http.server's HTML "Error response" page."""
    from werkzeug.serving import WSGIRequestHandler

    class JsonErrors(WSGIRequestHandler):
        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            phrase = _REASONS.get(code, "Error")
            self.log_error("code %d, message %s", code, message)
            # A line it could not read leaves HTTP/0.9, which answers with the body alone: the
            # status line and headers go out as bgmock's own server sends them.
            if self.request_version == "HTTP/0.9":
                self.request_version = "HTTP/1.0"
            self.send_response(code, phrase)  # the reason phrase is the status's, never the request's text
            self.send_header("Connection", "close")
            body = b""
            if code >= HTTPStatus.OK and code not in (HTTPStatus.NO_CONTENT, HTTPStatus.RESET_CONTENT,
                                                       HTTPStatus.NOT_MODIFIED):
                body = refusal(code, message or phrase)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

    return JsonErrors


# -- granian workers -------------------------------------------------------------------------
