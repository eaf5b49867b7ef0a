"""Every number the HTTP layer reads from a client (Content-Length, chunk sizes), over raw
sockets, on the default server and on werkzeug's (both run ``serving.WsgiApp``).

The class of bug: outside text turned into a byte count with ``int``/``isdigit``, which take
``²`` and ``٣`` for digits, read ``+5`` and ``1_0`` as numbers, and raise on 5 000 digits
(Python's int-conversion limit) -- that last one used to leave the client with no answer and
a traceback in the log. Each must be a 400 ``BadHttpRequest`` envelope, and the server must
go on serving. What granian (``--workers``) does is in docs/hardening.md.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from helpers import MISSING, SUBMIT, submit_item
from werkzeug.serving import make_server as werkzeug_server

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.framing import FramingError, content_length, parse_chunk_size, parse_length
from mockserver.serving import httpd
from mockserver.serving.wsgi import WsgiApp
from mockserver.spec import load_spec

GATEWAY = load_spec().validator("gateway-error.json")
BODY = json.dumps({"requestParams": [submit_item(imageFileUrl="https://example.com/p.jpg", imgBase64=MISSING)]})

BAD_LENGTHS = {
    "superscript-two-utf8": "²".encode(),
    "superscript-two-latin1": "²".encode("latin-1"),
    "arabic-indic-three": "٣".encode(),
    "5000-digits": b"9" * 5000,
    "minus-one": b"-1",
    "plus-five": b"+5",
    "underscore": b"1_0",
    "comma-list": b"5, 5",
}
BAD_CHUNK_SIZES = {
    "non-ascii": "٣".encode(),
    "huge-hex": b"f" * 5000,
    "17-hex-digits": b"1" + b"0" * 16,
    "plus": b"+5",
    "underscore": b"1_0",
}


class _Served:
    def __init__(self, kind: str) -> None:
        self.app = WsgiApp(Dispatcher(Backend(Config(log_requests=False, task_duration=0))))
        if kind == "threaded":
            self.server = httpd.make_server("127.0.0.1", 0, self.app, refusal=self.app.refusal)
        else:
            self.server = werkzeug_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def raw(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send bytes on a fresh connection; the first answer (status, headers, body)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            received = b"".join(iter(lambda: sock.recv(65536), b""))
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        return int(lines[0].split()[1]), headers, body[: int(headers.get("content-length", len(body)))]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(params=["threaded", "werkzeug"], scope="module")
def served(request: pytest.FixtureRequest) -> Iterator[_Served]:
    server = _Served(request.param)
    yield server
    server.stop()


def _post(*head: bytes, body: bytes = b"") -> bytes:
    return (
        f"POST {SUBMIT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode()
        + b"".join(h + b"\r\n" for h in head) + b"\r\n" + body
    )


def _bad_http_request(answer: tuple[int, dict[str, str], bytes]) -> str:
    status, _, body = answer
    assert status == 400
    envelope = json.loads(body)
    GATEWAY.validate(envelope)
    assert envelope["code"] == "BadHttpRequest"
    return str(envelope["message"])


def _still_serving(served: _Served) -> None:
    status, _, body = served.raw(_post(f"Content-Length: {len(BODY)}".encode(), body=BODY.encode()))
    assert status == 200 and json.loads(body)["resCode"] == 200


@pytest.mark.parametrize("value", BAD_LENGTHS.values(), ids=BAD_LENGTHS.keys())
def test_a_bad_content_length_gets_400_bad_http_request(served: _Served, value: bytes) -> None:
    message = _bad_http_request(served.raw(_post(b"Content-Length: " + value, body=BODY.encode())))
    assert "Content-Length" in message
    _still_serving(served)


def test_content_length_surrounded_by_whitespace_is_read(served: _Served) -> None:
    """``Content-Length:  5 `` is valid HTTP: the spaces around a header's value are not part of it."""
    status, _, body = served.raw(_post(f"Content-Length:   {len(BODY)}  ".encode(), body=BODY.encode()))
    assert status == 200 and json.loads(body)["resCode"] == 200


def test_content_lengths_that_disagree_get_400_on_the_default_server() -> None:
    """werkzeug only looks at the first header; the default server refuses the smuggling tool."""
    served = _Served("threaded")
    try:
        answer = served.raw(_post(f"Content-Length: {len(BODY)}".encode(), b"Content-Length: 5", body=BODY.encode()))
        assert "conflicting Content-Length" in _bad_http_request(answer)
        agreeing = (f"Content-Length: {len(BODY)}".encode(), f"Content-Length: 000{len(BODY)}".encode())
        status, _, body = served.raw(_post(*agreeing, body=BODY.encode()))
        assert status == 200 and json.loads(body)["resCode"] == 200
    finally:
        served.stop()


@pytest.mark.parametrize("size", BAD_CHUNK_SIZES.values(), ids=BAD_CHUNK_SIZES.keys())
def test_a_bad_chunk_size_gets_400_bad_http_request(served: _Served, size: bytes) -> None:
    """werkzeug dechunks by itself, with ``int(line, 16)``: it reads ``+5`` and any run of hex
    digits as a size (its body is then bounded by ``max_body_bytes`` and fails as JSON), so
    there the check is only that nothing crashes; the default server refuses them all."""
    before = served.app.backend.store.stats()["tasks"]
    answer = served.raw(_post(b"Transfer-Encoding: chunked", body=size + b"\r\nabcde\r\n0\r\n\r\n"))
    if isinstance(served.server, httpd.ThreadedServer) or size == BAD_CHUNK_SIZES["non-ascii"]:
        assert "chunk" in _bad_http_request(answer)
    elif answer[0] == 400:  # werkzeug ran out of body reading a size it misread
        _bad_http_request(answer)
    else:
        assert answer[0] == 200 and json.loads(answer[2])["resCode"] == 700
    assert served.app.backend.store.stats()["tasks"] == before  # nothing was run
    _still_serving(served)


# -- the parser itself ---------------------------------------------------------------------------

Parser = Callable[[str], int]


@pytest.mark.parametrize("text", ["²", "٣", "9" * 5000, "-1", "+5", " 5", "1_0", "", "0x10", "5.0"])
def test_parse_length_refuses_what_int_would_take_or_choke_on(text: str) -> None:
    with pytest.raises(FramingError):
        parse_length(text)


def test_parse_length_reads_plain_digits() -> None:
    assert parse_length("0") == 0 and parse_length("000123") == 123
    assert parse_length("0" * 5000 + "7") == 7
    assert parse_length("9" * 18) == 10**18 - 1
    assert content_length([" 12 ", "12"]) == 12 and content_length([]) is None
    with pytest.raises(FramingError, match="conflicting"):
        content_length(["12", "13"])


def test_parse_chunk_size() -> None:
    assert parse_chunk_size(b"1A;ext=1\r\n") == 26 and parse_chunk_size(b"0\r\n") == 0
    assert parse_chunk_size(b"0" * 5000 + b"f\r\n") == 15
    for bad in (b"\r\n", b"+5\r\n", b"-5\r\n", "٣".encode() + b"\r\n", b"1" + b"0" * 16 + b"\r\n"):
        with pytest.raises(FramingError):
            parse_chunk_size(bad)


# -- a declared length over the cap -----------------------------------------------------------


def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_sent(served: _Served) -> None:
    """100 MB announced: the 700 comes back while the client has sent none of it (the body
    is never read, let alone buffered up to the cap; the default server sends no 100)."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(_post(b"Content-Length: 100000000", b"Expect: 100-continue"))
        head, continues = sock.recv(65536), 0
        while b"\r\n\r\n" not in head or head.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
            if head.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
                head, continues = head[25:], continues + 1
            head += sock.recv(65536)
        assert continues == 0 or not isinstance(served.server, httpd.ThreadedServer)  # werkzeug sends its own
        assert head.startswith(b"HTTP/1.1 200")
        answer = head.partition(b"\r\n\r\n")[2]
        with contextlib.suppress(OSError):
            answer += b"".join(iter(lambda: sock.recv(65536), b""))
    envelope = json.loads(answer)
    assert envelope["resCode"] == 700
    assert "body: larger than the 12582912 bytes the fake accepts" in envelope["resMessage"]
    _still_serving(served)


# -- what the HTTP server itself cannot read: the same JSON envelope from bgmock serve's servers ----
UNREADABLE = {
    "garbage": (b"GARBAGE\r\n\r\n", 400),
    "http-2.0": (b"GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", 505),
    "line-too-long": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414),
}


@pytest.mark.parametrize("server", ["threaded", "werkzeug"])
def test_a_request_the_server_cannot_read_is_a_json_envelope_never_an_html_page(tmp_path, server):
    """README: no answer is ever an HTML page. werkzeug's handler answered these with
    http.server's "Error response" page (and, for a garbage line, with no status line at all)."""
    from tls_support import raw_when_up, serve

    with serve("--server", server, data_home=tmp_path) as (_, port, _):
        answers = {name: raw_when_up(port, data) for name, (data, _) in UNREADABLE.items()}
    for name, answer in answers.items():
        head, _, body = answer.partition(b"\r\n\r\n")
        status = UNREADABLE[name][1]
        assert head.startswith(f"HTTP/1.1 {status} ".encode()), (name, answer[:300])
        assert b"content-type: application/json" in head.lower() and b"<html" not in answer.lower(), (name, answer)
        envelope = json.loads(body)
        assert envelope["code"] == "BadHttpRequest" and not list(GATEWAY.iter_errors(envelope)), (name, envelope)


# -- one Connection header per answer, whichever server --------------------------------------------
#: Answers that close the connection: the application's 400 ``BadHttpRequest`` (a Content-Length
#: or a CONNECT it cannot take) and a transport fault that cuts the body short.
CLOSING = {
    "bad-content-length": _post(b"Content-Length: +5", body=b"hello"),
    "connect": b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "truncated": _post(f"Content-Length: {len(BODY)}".encode(), b"Prefer: transport=truncated", body=BODY.encode()),
}


def _connection_headers(answer: bytes) -> list[str]:
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    return [line for line in head[1:] if line.lower().startswith("connection:")]


@pytest.mark.parametrize("server", ["threaded", "werkzeug", "granian"])
def test_an_answer_that_closes_says_so_once_on_every_server(tmp_path, server):
    """werkzeug's development server adds its own ``Connection: close`` after the application's
    headers: the application's 400s carried the header twice."""
    from tls_support import raw_when_up, serve

    if server == "granian":
        pytest.importorskip("granian")
    with serve("--server", server, data_home=tmp_path) as (_, port, _):
        answers = {name: raw_when_up(port, data) for name, data in CLOSING.items()}
    for name, answer in answers.items():
        assert [line.split(":", 1)[1].strip().lower() for line in _connection_headers(answer)] == ["close"], (
            name, answer[:400])


def test_a_create_app_answer_on_werkzeugs_server_says_connection_close_once() -> None:
    """The same for a ``create_app`` app that its user runs on werkzeug's server (``app.run()``)."""
    from mockserver import create_app

    server = werkzeug_server("127.0.0.1", 0, create_app({"log_requests": False}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5) as sock:
            sock.sendall(CLOSING["bad-content-length"])
            answer = b"".join(iter(lambda: sock.recv(65536), b""))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert answer.startswith(b"HTTP/1.1 400 ") and len(_connection_headers(answer)) == 1, answer[:400]
