"""The image fetcher against a hostile image server speaking raw bytes (fetch.py, framing.py).

Two classes of mistake: a deadline that only bounds each read (so a server dribbling its
status line or headers holds the fetch as long as it likes), and a byte count parsed with
``int`` (so ``²``, ``+5`` or 5 000 digits either lie or crash). Each test serves one raw
answer from a local socket and checks what ``fetch`` says; the limits are small so nothing
waits long, and no test asserts a duration.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from helpers import MISSING, client, make_image, problems, submit, submit_item

from mockserver.fetch import FetchPolicy, FetchRefused, ImageFetcher

PNG = make_image("PNG", 600, 600)
Behaviour = Callable[[socket.socket], None]


@contextlib.contextmanager
def raw_server(behaviour: Behaviour, *, read_head: bool = True) -> Iterator[str]:
    """A server on 127.0.0.1 that reads a request's head (unless not ``read_head``) and then
    runs ``behaviour`` on the connection (each connection); yields its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the loop sees ``stop`` (closing does not wake accept)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.settimeout(10)
                head = b"" if read_head else b"\r\n\r\n"
                while b"\r\n\r\n" not in head:
                    part = conn.recv(4096)
                    if not part:
                        break
                    head += part
                behaviour(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=15)


def _fetcher(timeout: float = 0.5, max_bytes: int = 4 << 20) -> ImageFetcher:
    return ImageFetcher(FetchPolicy(("127.0.0.1",), max_bytes, timeout))


class _Dribbler:
    """Sends ``data`` a byte every 50 ms (well within any per-read timeout) for up to 10 s;
    ``finished`` says whether the client sat through all of it instead of hanging up."""

    def __init__(self, data: bytes, head: bytes = b"") -> None:
        self.data, self.head = data, head
        self.finished = threading.Event()

    def __call__(self, conn: socket.socket) -> None:
        conn.sendall(self.head)
        for index in range(200):
            conn.sendall(self.data[index % len(self.data) : index % len(self.data) + 1])
            threading.Event().wait(0.05)
        self.finished.set()


@pytest.mark.parametrize(
    ("head", "data"),
    [
        (b"", b"HTTP/1.1 200 OK" + b" " * 10_000),  # the status line never ends
        (b"HTTP/1.1 200 OK\r\n", b"X-Pad: " + b"a" * 10_000),  # a header never ends
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"\0"),  # nor does the body
    ],
    ids=["status-line", "headers", "body"],
)
def test_a_server_dribbling_its_answer_is_cut_off_at_the_deadline(head: bytes, data: bytes) -> None:
    dribbler = _Dribbler(data, head)
    _refused(dribbler, "took longer than 0.5 s", 0.5)
    assert not dribbler.finished.is_set()  # the fetcher hung up; it did not wait it out


def test_a_server_dribbling_its_tls_handshake_is_cut_off_at_the_deadline() -> None:
    """A TLS record header announcing 16 kB, then a byte every 50 ms: the handshake is one
    call bounded by what is left of the deadline, however the bytes trickle in."""
    dribbler = _Dribbler(b"\x00", head=b"\x16\x03\x03\x40\x00")
    with raw_server(dribbler, read_head=False) as base, pytest.raises(FetchRefused, match="took longer than 0.5 s"):
        _fetcher(0.5).fetch(base.replace("http://", "https://") + "/image.png")
    assert not dribbler.finished.is_set()


def test_a_hanging_name_lookup_counts_against_the_deadline() -> None:
    release, answered = threading.Event(), threading.Event()

    def resolver(host: str, port: int) -> list[str]:
        release.wait(10)
        answered.set()
        return ["127.0.0.1"]

    fetcher = ImageFetcher(FetchPolicy(("images.example.com",), 1 << 20, 0.3), resolver=resolver)
    try:
        with pytest.raises(FetchRefused, match="took longer than 0.3 s"):
            fetcher.fetch("http://images.example.com/image.png")
        assert not answered.is_set()  # refused while the lookup was still hanging
    finally:
        release.set()


def _answer(*headers: bytes, body: bytes = PNG) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        head = b"".join(h + b"\r\n" for h in headers)
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n" + head + b"\r\n" + body)

    return behaviour


def _refused(behaviour: Behaviour, match: str, timeout: float = 2) -> None:
    with raw_server(behaviour) as base, pytest.raises(FetchRefused, match=match):
        _fetcher(timeout).fetch(base + "/image.png")


BAD_LENGTHS = {
    "superscript-two": "²".encode(),  # passes str.isdigit()
    "arabic-indic-three": "٣".encode(),
    "5000-digits": b"9" * 5000,  # past int()'s 4300-digit limit
    "minus-one": b"-1",
    "plus-five": b"+5",
    "underscore": b"1_0",  # int() says 10
}


@pytest.mark.parametrize("value", BAD_LENGTHS.values(), ids=BAD_LENGTHS.keys())
def test_a_bad_content_length_from_the_image_server_is_refused(value: bytes) -> None:
    _refused(_answer(b"Content-Length: " + value), "bad Content-Length")


def test_content_lengths_that_disagree_are_refused() -> None:
    length = str(len(PNG)).encode()
    _refused(_answer(b"Content-Length: " + length, b"Content-Length: 5"), "conflicting Content-Length")


def test_good_content_lengths_still_fetch() -> None:
    length = str(len(PNG)).encode()
    agreeing = (b"Content-Length: " + length, b"Content-Length: 00" + length)
    with raw_server(_answer(*agreeing)) as base:
        assert _fetcher(2).fetch(base + "/image.png") == PNG


def test_a_declared_length_over_the_cap_with_many_digits_is_refused_as_too_large() -> None:
    _refused(_answer(b"Content-Length: " + b"9" * 18), "larger than fetch_max_bytes")


@pytest.mark.parametrize(
    "chunk_size", ["٣".encode(), b"f" * 5000, b"-1"], ids=["non-ascii", "huge-hex", "minus"]
)
def test_a_bad_chunk_size_from_the_image_server_is_refused(chunk_size: bytes) -> None:
    """http.client decodes chunked answers; what it cannot parse is a refusal, not a crash
    (it reads ``+5`` as 5: lenient, and still bounded by ``fetch_max_bytes``)."""
    body = chunk_size + b"\r\n" + PNG[:5] + b"\r\n0\r\n\r\n"
    with raw_server(_answer(b"Transfer-Encoding: chunked", body=body)) as base, pytest.raises(FetchRefused):
        _fetcher(2, max_bytes=1 << 20).fetch(base + "/image.png")


@pytest.mark.parametrize("value", [BAD_LENGTHS["superscript-two"], BAD_LENGTHS["5000-digits"]], ids=["²", "5000"])
def test_a_submit_naming_such_a_server_gets_700_naming_image_file_url(value: bytes) -> None:
    with raw_server(_answer(b"Content-Length: " + value)) as base:
        settings = {"fetch_images": True, "fetch_allow_hosts": ["127.0.0.1"], "fetch_timeout_s": 2}
        answer = submit(client(**settings), submit_item(imgBase64=MISSING, imageFileUrl=base + "/p.png"))
    assert answer["resCode"] == 700
    (problem,) = problems(answer)
    assert problem.startswith("requestParams[0].imageFileUrl: the image server sent a bad Content-Length")


def test_a_body_without_a_length_is_read_until_the_server_closes() -> None:
    with raw_server(_answer()) as base:
        assert _fetcher(2).fetch(base + "/image.png") == PNG


# "0" was read as no port at all: the scheme's default (80) was fetched
@pytest.mark.parametrize("port", ["²", "9" * 5000, "+5", "1_0", "99999", "0"],
                         ids=["²", "5000", "+5", "1_0", "99999", "0"])
def test_a_bad_port_in_the_url_or_a_redirect_is_refused(port: str) -> None:
    with pytest.raises(FetchRefused, match="not a valid URL"):
        _fetcher(2).fetch(f"http://127.0.0.1:{port}/image.png")
    redirect = f"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/p.png\r\nContent-Length: 0\r\n\r\n"
    _refused(lambda conn: conn.sendall(redirect.encode()), "not a valid URL")
