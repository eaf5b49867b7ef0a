"""Calling the adapter: each call in a worker thread joined with a bound.

A client that hangs costs one bound, not the run: the call is reported as ``hung`` and the
kit goes on; after the kit lifts the fault it gives the call a grace to end (``settle``), so
a late timeout is told apart from a missing one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .adapter import Rejected, TaskFailed, TransportError, describe_exception
from .observation import Outcome
from .settings import BOUND_GRACE_S


@dataclass
class Pending:
    """An adapter call's worker thread and where it leaves its outcome."""

    worker: threading.Thread
    holder: dict[str, Any]


class Caller:
    """Runs one adapter's calls; counts the time spent in them and the calls abandoned."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self.client_s = 0.0  # seconds spent in (or waiting for) the adapter's calls
        self.abandoned = 0  # calls that never returned, even after their grace

    def call(self, fn: Callable[[], Any], bound: float) -> tuple[Outcome, Pending]:
        """Run one adapter call in a worker thread; ``hung`` when it outlives ``bound`` (which
        is inclusive: the call has ``BOUND_GRACE_S`` more before it counts as late)."""
        holder: dict[str, Any] = {}
        take_log = getattr(self.adapter, "take_log", None)

        def target() -> None:
            begin = time.perf_counter()
            try:
                holder["outcome"] = Outcome("returned", value=fn())
            except Rejected as exc:
                holder["outcome"] = Outcome("rejected", code=exc.code, message=exc.message)
            except TransportError as exc:
                holder["outcome"] = Outcome("transport", message=exc.reason)
            except TaskFailed as exc:
                holder["outcome"] = Outcome("task_failed", message=exc.message)
            except BaseException as exc:  # noqa: BLE001 - whatever the client throws is a verdict
                holder["outcome"] = Outcome("crashed", message=describe_exception(exc))
            holder["outcome"].elapsed = time.perf_counter() - begin
            if callable(take_log):  # a command adapter: what it printed on stderr during this call
                holder["outcome"].log = take_log()

        worker = threading.Thread(target=target, name="bgmock-contract-call", daemon=True)
        ready = getattr(self.adapter, "ready", None)
        if callable(ready):
            ready()  # a command adapter restarts a process the last call lost: before the call's timing
        begin = time.perf_counter()
        worker.start()
        worker.join(bound + BOUND_GRACE_S)
        self.client_s += time.perf_counter() - begin
        pending = Pending(worker, holder)
        if worker.is_alive():
            return Outcome("hung", elapsed=time.perf_counter() - begin), pending
        return holder["outcome"], pending

    def settle(self, outcome: Outcome, pending: Pending, grace: float) -> None:
        """Give a call that outlived its bound time to end after the fault was lifted; how it
        ended, if it did, goes into ``outcome.later`` (a late timeout is not a missing one).

        A command adapter still silent then is stopped (``abandon``): its call ends as the crash
        it is ("did not answer within ..."), with its stderr, instead of hanging on."""
        begin = time.perf_counter()
        pending.worker.join(grace)
        abandon = getattr(self.adapter, "abandon", None)
        abandoned = pending.worker.is_alive() and callable(abandon)
        if abandoned:
            abandon()
            pending.worker.join(5.0)
        self.client_s += time.perf_counter() - begin
        if pending.worker.is_alive():
            self.abandoned += 1
            return
        late = pending.holder.get("outcome")
        if late is None:
            return
        outcome.log = late.log
        if abandoned and late.kind == "crashed":
            outcome.kind, outcome.message, outcome.elapsed = late.kind, late.message, late.elapsed
        else:
            outcome.later = late
