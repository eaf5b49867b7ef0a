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

from contract_clients import BOUNDS
from contract_clients import FAST as CLIENT

from contracts import TransportError, run
from mockserver.answers.urls import SUBMIT
from mockserver.api import Backend

#: How long the fake keeps answering after the client gave up: the kit has long read the
#: journal by then, unless it waits for the fake (the pause only has to outlast that read).
LATE_S = 0.3
#: A bound on every wait below, never reached when things work (no test is timed by it).
WAIT_S = 10.0

FAST: dict[str, Any] = {"examples": 5, "derandomize": True, **BOUNDS, "shrink_budget_s": 2.0}
#: The first call's timeout, short: the held submit must trip it (the fake holds it up to
#: ``WAIT_S`` for that). Every other call has the tests' usual, wide one (``contract_clients.FAST``):
#: the fake answers those at once, but on a loaded machine "at once" can take longer than this.
HASTY_TIMEOUT_S = 0.2


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
    """A good client (the documented urllib example) that gives up on its first call after a
    short timeout; its second call starts only once the fake has written the first call's
    entry, and it and the later ones wait as long as the tests' clients usually do."""

    def __init__(self, hasty: Any, patient: Any, fake: _LateFirstSubmit) -> None:
        self.hasty, self.patient, self.fake = hasty, patient, fake
        self.first_outcome = ""

    def submit(self, params: dict[str, Any]) -> Any:
        if self.fake.gave_up.is_set():
            self.fake.recorded.wait(WAIT_S)
            return self.patient.submit(params)
        try:
            return self.hasty.submit(params)
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
        tuned = functools.partial(
            urllib_client, base_url, app_key, app_secret,
            poll_interval=CLIENT["poll_interval"], poll_timeout=CLIENT["poll_timeout"],
        )
        patient = tuned(timeout=CLIENT["timeout"][1])
        clients.append(_ClientThatTimesOutFirst(tuned(timeout=HASTY_TIMEOUT_S), patient, fake))
        return clients[-1]

    result = run(make_adapter, only="C2", **FAST)
    [client] = clients
    assert client.first_outcome == "transport" and fake.recorded.is_set()  # the late answer did happen
    assert result.ok, result.text()
