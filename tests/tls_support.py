"""Helpers for the TLS and proxy tests: a real ``bgmock serve`` process, and a TLS client on a
raw socket that tells a TCP reset from an orderly close.

``serve(*flags, data_home) -> (scheme, port, process)``
    ``bgmock serve --port 0 FLAGS`` with ``XDG_DATA_HOME`` set to ``data_home`` (a test never
    touches the user's real CA), stopped on leaving the block.
``raw_when_up(port, request) -> bytes``
    Send ``request`` on a plain socket and read until the connection ends, retrying while the
    port refuses or closes at once (granian announces before its worker listens).
``tls_exchange(port, ca, request) -> list``
    Send ``request`` over TLS and read until the connection ends; what was read, then
    ``"RST"`` (a TCP reset), ``"close_notify"`` or ``"EOF"`` (FIN without close_notify).
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import stop_process

LISTENING = re.compile(r"^bgmock listening on (https?)://127\.0\.0\.1:(\d+)")
CLIENTS = Path(__file__).parent / "clients"


def bgmock_exe() -> str:
    beside = Path(sys.executable).with_name("bgmock")
    found = str(beside) if beside.exists() else shutil.which("bgmock")
    assert found, "the bgmock console script is not installed (pip install -e .)"
    return found


def env_with(data_home: Path, **extra: str) -> dict[str, str]:
    drop = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "XDG_DATA_HOME": str(data_home), **extra}


@contextmanager
def serve(*flags: str, data_home: Path) -> Iterator[tuple[str, int, subprocess.Popen]]:
    proc = subprocess.Popen(
        [bgmock_exe(), "serve", "--port", "0", "--quiet", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_with(data_home),
    )
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(30):
                proc.kill()
                raise AssertionError(f"no output within 30s: {proc.communicate()[1]}")
        line = proc.stdout.readline()
        match = LISTENING.match(line)
        assert match, f"unexpected first line {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        proc.bgmock_line = line  # type: ignore[attr-defined]  # the whole announcement
        yield match[1], int(match[2]), proc
    finally:
        stop_process(proc)


def raw_when_up(port: int, request: bytes, *, within_s: float = 30) -> bytes:
    deadline = time.monotonic() + within_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request)
                answer = b"".join(iter(lambda: sock.recv(65536), b""))
            if answer:
                return answer
        except ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no answer on port {port} within {within_s} s")
        time.sleep(0.1)


def tls_exchange(port: int, ca: str, request: bytes) -> list[bytes | str]:
    """TLS through memory buffers over a plain socket, so the socket's own errors show."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ssl.create_default_context(cafile=ca).wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    read: list[bytes | str] = []
    with raw:
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                raw.sendall(outgoing.read())
                incoming.write(raw.recv(65536))
        obj.write(request)
        raw.sendall(outgoing.read())
        try:
            while True:
                data = raw.recv(65536)
                if not data:
                    read.append("EOF")
                    return read
                incoming.write(data)
                try:
                    while True:
                        chunk = obj.read(65536)
                        if not chunk:  # the peer's close_notify
                            read.append("close_notify")
                            break
                        read.append(chunk)
                except ssl.SSLWantReadError:
                    pass
        except ConnectionResetError:
            read.append("RST")
    return read
