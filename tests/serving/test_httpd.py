"""bgmock's own threaded HTTP/1.1 server (mockserver/serving/httpd.py), over real sockets.

It is what ``bgmock serve``, ``running()`` and the pytest plugin listen with, so these are the
promises a client relies on: connections are kept open, whatever a client sends it gets an
answer it can parse (the gateway's JSON envelope, never an HTML page or a traceback), and the
bounds hold (line and header sizes, open connections, idle connections).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from helpers import MISSING, SUBMIT, submit_item

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.serving import httpd
from mockserver.serving.wsgi import WsgiApp
from mockserver.spec import load_spec

GATEWAY = load_spec().validator("gateway-error.json")
BODY = json.dumps({"requestParams": [submit_item(imageFileUrl="https://example.com/p.jpg", imgBase64=MISSING)]})


class _Server:
    def __init__(self, **options: object) -> None:
        config = Config(log_requests=False, task_duration=0)
        config = config.replace(max_body_bytes=options["max_body"]) if "max_body" in options else config
        app = WsgiApp(Dispatcher(Backend(config)))
        self.server = httpd.make_server("127.0.0.1", 0, app, refusal=app.refusal, **options)
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def raw(self, data: bytes, *, timeout: float = 5.0) -> bytes:
        """Send bytes on a fresh connection; everything the server sends until it closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            chunks = []
            while True:
                try:
                    part = sock.recv(65536)
                except (ConnectionResetError, TimeoutError):
                    break
                if not part:
                    break
                chunks.append(part)
        return b"".join(chunks)


@pytest.fixture
def srv() -> Iterator[_Server]:
    server = _Server()
    yield server
    server.stop()


def _post(host_port: str) -> bytes:
    return (
        f"POST {SUBMIT} HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n{BODY}"
    ).encode()


def _answers(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Split a byte stream into (status, headers, body) answers, by Content-Length."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", len(rest)))
        out.append((int(lines[0].split()[1]), headers, rest[:length]))
        data = rest[length:]
    return out


def _refusal(data: bytes, status: int) -> dict[str, object]:
    (got, headers, body), = _answers(data)
    assert got == status
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    envelope = json.loads(body)
    GATEWAY.validate(envelope)
    assert envelope["code"] == "BadHttpRequest"
    return envelope


def test_one_connection_carries_many_requests(srv: _Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("POST", SUBMIT, BODY, {"Content-Type": "application/json"})
            answer = conn.getresponse()
            assert answer.status == 200 and json.loads(answer.read())["resCode"] == 200
            assert answer.getheader("Connection") is None and not answer.will_close
        first = conn.sock
        conn.request("GET", "/__admin/health")
        assert conn.getresponse().read() and conn.sock is first  # the same socket all along
    finally:
        conn.close()


def test_pipelined_requests_are_answered_in_order(srv: _Server) -> None:
    data = srv.raw(_post("127.0.0.1") + b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    (s1, _, b1), (s2, h2, b2) = _answers(data)
    assert s1 == 200 and json.loads(b1)["resCode"] == 200
    assert s2 == 200 and h2["connection"] == "close" and "tasks" in json.loads(b2)


def test_http10_closes_unless_asked_to_keep_alive(srv: _Server) -> None:
    request = f"POST {SUBMIT} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n"
    (status, headers, body), = _answers(srv.raw((request + "\r\n" + BODY).encode()))
    assert status == 200 and headers["connection"] == "close" and json.loads(body)["resCode"] == 200
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall((request + "Connection: keep-alive\r\n\r\n" + BODY).encode())
        head = sock.recv(65536)
        assert b"Connection: keep-alive" in head


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /a b HTTP/1.1\r\n\r\n", 400),
        (b"G@T / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / SPDY/3\r\n\r\n", 400),
        (b"GET nowhere HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nNoColonHere\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),  # whitespace before the colon: a smuggling tool
        (b"GET / HTTP/1.1\r\n folded: line\r\n\r\n", 400),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
    ],
    ids=lambda value: str(value) if isinstance(value, int) else value[:24].decode("latin-1"),
)
def test_unreadable_requests_get_a_json_envelope_and_a_close(srv: _Server, request_bytes: bytes, status: int) -> None:
    envelope = _refusal(srv.raw(request_bytes), status)
    assert envelope["message"]  # says what was wrong


def test_the_server_keeps_serving_after_garbage(srv: _Server) -> None:
    for garbage in (b"\x00\xff\r\n\r\n", b"GET / HTTP/1.1\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):
        srv.raw(garbage, timeout=0.5)
    assert requests.post(f"http://127.0.0.1:{srv.port}{SUBMIT}", data=BODY,
                         headers={"Content-Type": "application/json"}, timeout=5).json()["resCode"] == 200


def test_a_chunked_upload_is_read_whole(srv: _Server) -> None:
    def pieces() -> Iterator[bytes]:  # a generator body: requests sends it chunked
        for start in range(0, len(BODY), 7):
            yield BODY[start : start + 7].encode()

    answer = requests.post(f"http://127.0.0.1:{srv.port}{SUBMIT}", data=pieces(),
                           headers={"Content-Type": "application/json"}, timeout=5)
    assert answer.json()["resCode"] == 200


@pytest.mark.parametrize(
    "chunks",
    ["5\r\n{\"req\r\nzz\r\n", "ZZ\r\nabc\r\n0\r\n\r\n", "-5\r\nabcde\r\n0\r\n\r\n", "5\r\nabcdeXX0\r\n\r\n"],
    ids=["cut", "not-hex", "negative", "no-crlf"],
)
def test_a_badly_framed_chunked_upload_is_refused_not_run(srv: _Server, chunks: str) -> None:
    data = srv.raw(
        f"POST {SUBMIT} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        f"{chunks}".encode(), timeout=2,
    )
    assert "chunked body" in str(_refusal(data, 400)["message"])
    assert srv.server.app.backend.store.stats()["tasks"] == 0  # nothing was run with half a body


def test_a_body_shorter_than_its_length_is_refused_not_run(srv: _Server) -> None:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(
            f"POST {SUBMIT} HTTP/1.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(BODY) + 500}\r\n\r\n{BODY}".encode()
        )
        sock.shutdown(socket.SHUT_WR)  # the client is done, 500 bytes short
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    assert "Content-Length" in str(_refusal(data, 400)["message"])
    assert srv.server.app.backend.store.stats()["tasks"] == 0


def test_an_oversized_body_is_answered_and_the_connection_says_it_closes() -> None:
    srv = _Server(max_body=2000)
    try:
        big = json.dumps({"requestParams": "A" * 5000})
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(
                f"POST {SUBMIT} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {len(big)}\r\n\r\n"
                f"{big}".encode()
            )
            data = b"".join(iter(lambda: sock.recv(65536), b""))
        (status, headers, body), = _answers(data)
        assert status == 200 and headers["connection"] == "close"  # announced, not a silent drop
        answer = json.loads(body)
        assert answer["resCode"] == 700 and "larger than the 2000 bytes" in answer["resMessage"]
    finally:
        srv.stop()


def test_expect_100_continue_is_honoured(srv: _Server) -> None:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(
            f"POST {SUBMIT} HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(BODY.encode())
        assert b'"resCode":200' in sock.recv(65536)


def test_head_gets_headers_only(srv: _Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.request("HEAD", "/__admin/health")
        answer = conn.getresponse()
        assert answer.read() == b""
        conn.request("GET", "/__admin/health")  # the connection is still in step
        assert json.loads(conn.getresponse().read())
    finally:
        conn.close()


def test_absolute_form_targets_are_understood(srv: _Server) -> None:
    (status, _, body), = _answers(srv.raw(
        f"POST http://example.com{SUBMIT} HTTP/1.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n{BODY}".encode()
    ))
    assert status == 200 and json.loads(body)["resCode"] == 200


def test_idle_connections_are_closed() -> None:
    srv = _Server(idle_timeout=0.2)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(b"GET /__admin/health HTTP/1.1\r\n")  # starts a request, never ends it
            assert sock.recv(1024) == b""  # closed by the server, not left hanging
    finally:
        srv.stop()


def _until(condition: Callable[[], bool]) -> None:
    """Wait (up to 5 s) for the server's threads to reach a state; not a timing assertion."""
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert condition()


def _kept(port: int) -> socket.socket:
    """A keep-alive connection that has had one answer and now sits idle."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    return sock


def test_connections_beyond_the_cap_get_a_503_envelope_when_none_is_idle() -> None:
    srv = _Server(max_connections=1)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as first:
            first.sendall(b"GET /__admin/health HTTP/1.1\r\n")  # in the middle of a request: busy
            _until(lambda: srv.server.connections() == (1, 0))
            envelope = _refusal(srv.raw(_post("127.0.0.1")), 503)
            assert "too many open connections" in str(envelope["message"])
            first.sendall(b"\r\n")  # the busy connection was not cut: it gets its answer
            assert first.recv(65536).startswith(b"HTTP/1.1 200")
        _until(lambda: srv.server.connections()[0] == 0)  # the slot frees when it closes
        assert srv.raw(b"GET /__admin/health HTTP/1.1\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")
    finally:
        srv.stop()


def test_when_slots_run_out_the_longest_idle_keep_alive_connection_makes_room() -> None:
    """256 keep-alive clients each sending a request now and then used to hold every slot."""
    srv = _Server(max_connections=3)
    try:
        oldest = _kept(srv.port)
        _until(lambda: srv.server.connections() == (1, 1))  # its thread marked it idle: the oldest idle
        middle = _kept(srv.port)
        _until(lambda: srv.server.connections() == (2, 2))
        busy = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        busy.sendall(b"GET /__admin/health HTTP/1.1\r\n")
        _until(lambda: srv.server.connections() == (3, 2))
        newcomer = _kept(srv.port)  # answered, not refused
        assert oldest.recv(1024) == b""  # closed by the server: it had been idle the longest
        middle.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert middle.recv(65536).startswith(b"HTTP/1.1 200")  # the others are untouched
        busy.sendall(b"\r\n")
        assert busy.recv(65536).startswith(b"HTTP/1.1 200")
        _until(lambda: srv.server.connections() == (3, 3))
        for sock in (oldest, middle, busy, newcomer):
            sock.close()
    finally:
        srv.stop()


def test_many_keep_alive_clients_cannot_lock_a_new_one_out() -> None:
    """The attack of issue 15, by count: every slot held by a kept connection, then more
    clients than slots each get their answer."""
    srv = _Server(max_connections=8)
    try:
        kept = [_kept(srv.port) for _ in range(8)]
        for _ in range(20):
            answer = srv.raw(b"GET /__admin/health HTTP/1.1\r\nConnection: close\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200")
        for sock in kept:
            sock.close()
    finally:
        srv.stop()


def test_closing_the_server_ends_kept_connections() -> None:
    srv = _Server()
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        sock.sendall(_post("127.0.0.1"))
        assert b'"resCode":200' in sock.recv(65536)
        srv.stop()
        assert sock.recv(1024) == b""  # the server's thread let go of the connection
    finally:
        sock.close()


def test_a_client_trickling_its_headers_is_cut_off() -> None:
    """A slowloris: each byte comes well within the idle timeout, the head never ends."""
    srv = _Server(idle_timeout=5.0, head_timeout=0.3)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(b"GET /__admin/health HTTP/1.1\r\n")
            closed = False
            # A byte every 0.05 s until the server closes: no read ever waits the idle timeout, so
            # only the head's deadline can end it; 30 s (ended at the close) leaves a busy machine time.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    sock.sendall(b"X")
                except OSError:
                    closed = True
                    break
                sock.settimeout(0.05)
                try:
                    if sock.recv(1024) == b"":
                        closed = True
                        break
                except TimeoutError:
                    pass
            assert closed
    finally:
        srv.stop()


def test_a_body_trickled_past_its_deadline_is_refused() -> None:
    srv = _Server(idle_timeout=5.0, body_timeout=0.3)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(
                f"POST {SUBMIT} HTTP/1.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY[:10].encode()
            )
            time.sleep(0.6)  # the rest would come too late
            data = b"".join(iter(lambda: sock.recv(65536), b""))
        assert "Content-Length" in str(_refusal(data, 400)["message"])
    finally:
        srv.stop()


# -- bodies in flight, all connections together (bodies.py) ----------------------------------


def _head(length: int) -> bytes:
    return f"POST {SUBMIT} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()


def test_bodies_in_flight_are_bounded_together() -> None:
    """One upload holds the whole body budget while it trickles in; another body that does
    not fit waits, and past its deadline gets a 503 envelope instead of more memory."""
    srv = _Server(max_body=4000, body_memory=4001, body_timeout=0.5)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as first:
            first.sendall(_head(4000))
            _until(lambda: srv.server.bodies.used == 4000)  # charged before a byte of it came
            envelope = _refusal(srv.raw(_post("127.0.0.1")), 503)
            assert "too many request bodies in flight" in str(envelope["message"])
        _until(lambda: srv.server.bodies.used == 0)  # the cut-off upload gave its share back
        assert json.loads(_answers(srv.raw(_post("127.0.0.1")))[0][2])["resCode"] == 200  # room again
    finally:
        srv.stop()


def test_a_body_waiting_for_room_is_read_once_there_is_some() -> None:
    srv = _Server(max_body=4000, body_memory=4001)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as first:
            first.sendall(_head(len(BODY)))
            _until(lambda: srv.server.bodies.used == len(BODY))
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as second:
                second.sendall(_post("127.0.0.1").replace(b"Content-Length", b"Connection: close\r\nContent-Length"))
                first.sendall(BODY.encode())  # the first body completes, is answered, and leaves
                assert b'"resCode":200' in first.recv(65536)
                (status, _, body), = _answers(b"".join(iter(lambda: second.recv(65536), b"")))
                assert status == 200 and json.loads(body)["resCode"] == 200
    finally:
        srv.stop()


def test_a_chunked_body_is_charged_as_it_grows_and_stops_at_the_cap() -> None:
    srv = _Server(max_body=2000)
    try:
        chunks = b"".join(b"400\r\n" + b"a" * 1024 + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
        data = srv.raw(
            f"POST {SUBMIT} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + chunks
        )
        (status, headers, body), = _answers(data)
        assert status == 200 and headers["connection"] == "close"
        assert "larger than the 2000 bytes" in json.loads(body)["resMessage"]
        _until(lambda: srv.server.bodies.used == 0)
    finally:
        srv.stop()
