"""Socket and body primitives of the servers: bounded body reads, dropping a connection.

What each transport fault sends and how it is acted out is ``faults/``'s; ``drop_connection``
is here because the TLS detection (``tls.py``) drops connections too."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
from typing import Any


class Oversized(bytes):
    """A body refused on its declared length: it holds no bytes, but ``len()`` is the length
    the client declared, so every cap check (``len(body) > max_body_bytes``) refuses it as it
    would the real body, without the fake ever reading or holding it (a client announcing
    100 MB used to cost 12 MiB of buffering before its refusal)."""

    declared: int

    def __new__(cls, declared: int) -> Oversized:
        made = super().__new__(cls, b"")
        made.declared = declared
        return made

    def __len__(self) -> int:
        return self.declared


def read_body(stream: Any, length: int | None, limit: int) -> bytes:
    """At most ``limit + 1`` bytes (one more tells "too large"), read in pieces: a single
    ``read(limit + 1)`` would allocate the whole cap (12 MiB) for every request, however small.
    A declared ``length`` over the cap is not read at all (an ``Oversized``)."""
    if length == 0:
        return b""
    if length is not None and length > limit:
        return Oversized(length)
    want = limit + 1 if length is None else min(length, limit + 1)
    parts: list[bytes] = []
    size = 0
    while size < want:
        part = stream.read(min(1 << 16, want - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def drop_connection(sock: socket.socket, *, reset: bool) -> None:
    """Close the client's connection now: a TCP reset (``reset``), or an orderly close with no answer."""
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            release_socket(sock)
        else:
            if isinstance(sock, ssl.SSLSocket):  # over TLS an orderly close says so (close_notify)
                with contextlib.suppress(OSError, ValueError):
                    sock.setblocking(False)
                    sock.unwrap()
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


def release_socket(sock: socket.socket) -> None:
    """Really close the connection now, so that SO_LINGER 0 sends a reset.

    ``sock.close()`` alone does not: the server's rfile/wfile keep the descriptor open, and
    it would later write its own answer on it. ``dup2`` puts a dead socket (its peer closed)
    on the same descriptor number: that closes the connection at once, while the number stays
    taken (no other connection can get it) and the server's later writes fail as a dropped
    connection, which it ignores quietly.
    """
    dead, peer = socket.socketpair()
    peer.close()
    try:
        os.dup2(dead.fileno(), sock.fileno())
    finally:
        dead.close()
