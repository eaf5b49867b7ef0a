"""Group commit for the Redis repositories: concurrent requests of one process share round trips."""

from __future__ import annotations

import threading
from typing import Any


class Batcher:
    """Group commit: the round trips of concurrent requests of one process share one pipeline.

    A thread that finds no round trip under way sends its commands, and those queued by others
    meanwhile, in one pipeline (it leads); the others wait for it and take their own results. A
    request still reads only after it began and gets its answer only after its writes are done, so
    nothing changes but the count of round trips: on a machine where a round trip costs more than
    the commands in it (here 60-110 us), that is most of what shared state costs a request.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._cond = threading.Condition()
        self._queue: list[_Ticket] = []
        self._busy = False

    def run(self, commands: list[tuple[Any, ...]], *, errors: bool = True) -> list[Any]:
        """The results of ``commands`` (as ``execute_command`` takes them), in order. Raises the
        connection's error, and the first error of a command unless ``errors`` is False (then it
        stands in the results)."""
        ticket = _Ticket(commands)
        with self._cond:
            self._queue.append(ticket)
            while self._busy and not ticket.done:
                self._cond.wait()
            if not ticket.done:  # lead: send what is queued, this ticket included
                self._busy = True
                batch, self._queue = self._queue, []
        if not ticket.done:
            try:
                _send(self.client, batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        return ticket.outcome(errors)


class _Ticket:
    def __init__(self, commands: list[tuple[Any, ...]]) -> None:
        self.commands = commands
        self.results: list[Any] = []
        self.error: BaseException | None = None
        self.done = False

    def outcome(self, errors: bool) -> list[Any]:
        if self.error is not None:
            raise self.error
        for result in self.results if errors else ():
            if isinstance(result, BaseException):
                raise result
        return self.results


def _send(client: Any, batch: list[_Ticket]) -> None:
    """One pipeline for every ticket of ``batch``; each gets its own results or the error."""
    try:
        with client.pipeline(transaction=False) as pipe:
            for ticket in batch:
                for command in ticket.commands:
                    pipe.execute_command(*command)
            results = pipe.execute(raise_on_error=False)
    except BaseException as exc:  # the connection's (or an interrupt): every ticket of the batch has it
        for ticket in batch:
            ticket.error, ticket.done = exc, True
        raise
    start = 0
    for ticket in batch:
        ticket.results = results[start:start + len(ticket.commands)]
        start += len(ticket.commands)
        ticket.done = True


__all__ = ["Batcher"]
