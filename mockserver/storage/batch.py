"""Group commit for the Redis repositories: concurrent requests of one process share round trips."""

from __future__ import annotations

import os
import threading
from typing import Any

try:  # hiredis (redis[hiredis]) packs a command in C; redis-py's own packer otherwise
    from hiredis import pack_command
except ImportError:  # pragma: no cover - redis[hiredis] is a dependency
    pack_command = None

try:
    from redis.exceptions import RedisError, ResponseError
except ImportError:  # pragma: no cover - only a Redis state builds a Batcher
    RedisError = ResponseError = RuntimeError  # type: ignore[misc,assignment]


class Batcher:
    """Group commit: the round trips of concurrent requests of one process share one write.

    A thread that finds no round trip under way sends its commands, and those queued by others
    meanwhile, at once (it *leads*); the others wait, each on its own event, and take their own
    results. When the leader is done it wakes the first thread that queued meanwhile to lead
    the next round, so every thread is woken once. A request still reads only after it began and
    gets its answer only after its writes are done, so nothing changes but the count of round
    trips: on a machine where a round trip costs more than the commands in it (here 60-110 us),
    that is most of what shared state costs a request.

    Only the leader talks to Redis, so the batcher keeps one connection of its own (made by the
    client's pool: same address, password, TLS, timeouts), without the pool's and pipeline's
    bookkeeping per call. A connection that failed is dropped; the next round makes a new one.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._busy = False
        self._conn: Any = None
        self._pid = 0

    def run(self, commands: list[tuple[Any, ...]], *, errors: bool = True) -> list[Any]:
        """The results of ``commands`` (as ``execute_command`` takes them), in order. Raises the
        connection's error, and the first error of a command unless ``errors`` is False (then it
        stands in the results)."""
        ticket = _Ticket(commands)
        with self._lock:
            self._queue.append(ticket)
            leading, self._busy = not self._busy, True
        if not leading:
            ticket.wake.wait()  # done by a leader, or woken to lead the next round
        if not ticket.done:
            self._lead()
        return ticket.outcome(errors)

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            self._send(batch)
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].wake.set()  # it leads the next round
                else:
                    self._busy = False

    def _send(self, batch: list[_Ticket]) -> None:
        """Every command of ``batch`` in one write; each ticket gets its results, or the error."""
        commands = [command for ticket in batch for command in ticket.commands]
        try:
            conn = self._connection()
            if pack_command is not None:
                conn.send_packed_command([b"".join(pack_command(command) for command in commands)], False)
            else:  # pragma: no cover
                conn.send_packed_command(conn.pack_commands(commands), False)
            results = [_read(conn) for _ in commands]
        except BaseException as exc:  # the connection's (or an interrupt): every ticket has it
            self._drop()
            for ticket in batch:
                ticket.error = exc
                ticket.finish()
            return
        start = 0
        for ticket in batch:
            ticket.results = results[start:start + len(ticket.commands)]
            start += len(ticket.commands)
            ticket.finish()

    def _connection(self) -> Any:
        if self._conn is not None and self._pid == os.getpid() and _idle(self._conn):
            return self._conn
        self._drop()  # none yet, a forked child's copy, or one the server closed while it was idle
        pool = self.client.connection_pool  # its class and settings; not counted in its connections
        self._conn, self._pid = pool.connection_class(**pool.connection_kwargs), os.getpid()
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.disconnect()
        self._conn = None


def _idle(conn: Any) -> bool:
    """Whether a kept connection is fit for the next round: nothing waits to be read on it.

    Between rounds nothing should: a Redis that restarted (or dropped the client) has closed
    it, and only a read says so. Without this check the first round after a Redis restart was
    sent into the dead connection, and the first request of every idle fake answered "system
    error" (and ``/__admin/health`` said down) although Redis was back. Checked before sending,
    so no command is ever sent twice; the pool makes the same check for its connections
    (``ConnectionPool.get_connection``). ~2 µs a round."""
    try:
        return not conn.can_read(timeout=0)
    except (OSError, ConnectionError, RedisError):
        return False


def _read(conn: Any) -> Any:
    """One reply; a command's error (``NOSCRIPT``, a wrong type) stands in for its result."""
    try:
        return conn.read_response()
    except ResponseError as exc:
        return exc


class _Ticket:
    def __init__(self, commands: list[tuple[Any, ...]]) -> None:
        self.commands = commands
        self.results: list[Any] = []
        self.error: BaseException | None = None
        self.done = False
        self.wake = threading.Event()

    def finish(self) -> None:
        self.done = True
        self.wake.set()

    def outcome(self, errors: bool) -> list[Any]:
        if self.error is not None:
            raise self.error
        for result in self.results if errors else ():
            if isinstance(result, BaseException):
                raise result
        return self.results


__all__ = ["Batcher"]
