"""A request the fake answers after the client gave up on it belongs to the call that sent it.

On a loaded machine a client's own timeout can fire while the fake is still answering (the
Java example with its 0.5 s timeout, under the full suite): the call ends with a transport
error, and the fake writes the journal entry later. The kit used to read the journal as soon
as the call ended, so the entry was missing there and turned up among the next example's
requests: a submit carrying the previous example's values, reported as C2 "productTitle
changed" against a client that had sent every value as given.

Here the fake is made slow on purpose, and deterministically: it holds the run's first
submit until the client has given up on it, then answers after a pause (the loaded machine).
The next call waits until that entry is written, so it runs while the late entry arrives,
whatever the machine's speed.
"""

from __future__ import annotations

import functools
import importlib
import threading
import time
from typing import Any

from contracts import TransportError, run
from mockserver.answers.urls import SUBMIT
from mockserver.api import Backend

#: How long the fake keeps answering after the client gave up: the kit has long read the
#: journal by then, unless it waits for the fake (the pause only has to outlast that read).
LATE_S = 0.3
#: A bound on every wait below, never reached when things work (no test is timed by it).
WAIT_S = 10.0

FAST: dict[str, Any] = {
    "examples": 5,
    "derandomize": True,
    "transport_bound_s": 1.0,
    "call_bound_s": 2.0,
    "shrink_budget_s": 2.0,
}


class _LateFirstSubmit:
    """The fake's side: the first submit is answered late, after its client gave up."""

    def __init__(self) -> None:
        self.gave_up = threading.Event()  # the client's call for the first submit ended
        self.recorded = threading.Event()  # the first submit's journal entry is written
        self._first = True
        self._lock = threading.Lock()

    def install(self, monkeypatch: Any) -> None:
        submit, record = Backend.submit, Backend.record

        def slow_submit(backend: Backend, *args: Any, **kwargs: Any) -> str:
            with self._lock:
                first, self._first = self._first, False
            if first:
                self.gave_up.wait(WAIT_S)
                time.sleep(LATE_S)
            return submit(backend, *args, **kwargs)

        def noting_record(backend: Backend, entry: dict[str, Any]) -> None:
            record(backend, entry)
            if str(entry.get("path", "")).endswith(SUBMIT):
                self.recorded.set()  # the held submit is the first recorded: the next one waits for it

        monkeypatch.setattr(Backend, "submit", slow_submit)
        monkeypatch.setattr(Backend, "record", noting_record)


class _ClientThatTimesOutFirst:
    """A good client (the documented urllib example) with a short timeout; its second call
    starts only once the fake has written the first call's entry."""

    def __init__(self, inner: Any, fake: _LateFirstSubmit) -> None:
        self.inner, self.fake = inner, fake
        self.first_outcome = ""

    def submit(self, params: dict[str, Any]) -> Any:
        if self.fake.gave_up.is_set():
            self.fake.recorded.wait(WAIT_S)
            return self.inner.submit(params)
        try:
            return self.inner.submit(params)
        except TransportError:
            self.first_outcome = "transport"
            raise
        finally:
            self.fake.gave_up.set()


def test_a_request_answered_after_the_client_gave_up_is_not_taken_for_the_next_calls(monkeypatch: Any) -> None:
    fake = _LateFirstSubmit()
    fake.install(monkeypatch)
    urllib_client = importlib.import_module("tests.docs.examples.urllib_adapter").make_adapter
    clients: list[_ClientThatTimesOutFirst] = []

    def make_adapter(base_url: str, app_key: str, app_secret: str) -> _ClientThatTimesOutFirst:
        inner = functools.partial(urllib_client, timeout=0.2, poll_interval=0.1, poll_timeout=1.2)
        clients.append(_ClientThatTimesOutFirst(inner(base_url, app_key, app_secret), fake))
        return clients[-1]

    result = run(make_adapter, only="C2", **FAST)
    [client] = clients
    assert client.first_outcome == "transport" and fake.recorded.is_set()  # the late answer did happen
    assert result.ok, result.text()
