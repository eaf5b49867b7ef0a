"""One fake's session with Redis, and the optimistic unit of work: a request costs one round trip.

On this project's machines a Redis round trip costs more than everything a submit does in
memory (60-110 us against ~70 us), so what a request sends, and when, is the whole cost of
shared state.  A request needs two things every other fake can change, the fault rules and the
clock, and writes its task and journal entry.  A unit of work (one per request, per thread):

- **optimistic**: the rules and clock this process saw last (its *view*, tagged with the
  *version token* every change of the rules or the clock replaces) are used without asking
  Redis.  The writes go at the end, in one script call that first checks the version token
  (``redis.lua``): unchanged, they are written, atomically, in the one round trip of the
  request; changed, nothing is written and the request raises ``Stale``: the dispatcher runs it
  once more, on a fresh view, so no answer is ever given on rules or a clock that had changed.
- **settled**: before anything that acts on Redis at once (a rule fires, a rate-limit token is
  taken, a poll is counted, an admin change), an optimistic view is checked first (one read;
  ``Stale`` if it changed, while nothing has been done yet), and the unit's writes are then
  sent without a check: a step with an effect is never run twice.

- **one outage**: once a call of the request failed on an outage (``OUTAGES``: a timeout, a lost
  connection), its later calls raise that one at once (``Session.met``): the request answers
  500 after one ``state_timeout_s``, not one per call, and its journal entry is lost anyway.

Outside a unit (admin tools, tests) every read is fresh and every write is sent at once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from importlib.resources import files
from typing import Any, NamedTuple

from .base import Stale
from .batch import Batcher
from .redis_connect import OUTAGES, briefer

try:  # an optional engine: only a Redis state needs redis-py
    from redis.exceptions import NoScriptError, WatchError
    from redis.exceptions import TimeoutError as RedisTimeout
except ImportError:  # pragma: no cover - redis_storage says what to install
    WatchError = NoScriptError = RedisTimeout = RuntimeError  # type: ignore[misc,assignment]

SCRIPT = files(__package__).joinpath("redis.lua").read_text(encoding="utf-8")
#: The script's argument for "write without checking the version token".
NO_CHECK = b""
#: What the script answers when nothing was written: the view was stale, or it ran too late.
STALE, LATE = 0, 2
#: The share of the socket timeout within which a script call must have run (``redis.lua``).
DEADLINE_SHARE = 0.9


def _skew(client: Any) -> float:
    """Redis's clock minus this machine's, in seconds (within half a round trip)."""
    before = time.time()
    seconds, micros = client.time()
    return seconds + micros / 1e6 - (before + time.time()) / 2


class View(NamedTuple):
    """The rules and the clock as one read found them, with the version token of that moment."""

    version: bytes | None
    rules: bytes | None
    origin: bytes | None
    offset: bytes | None


class Step(NamedTuple):
    """One step of ``redis.lua``: its name, keys and arguments."""

    name: str
    keys: list[str]
    args: list[Any]


class Unit(threading.local):
    """The unit of work of the request this thread is answering (``active`` False: none)."""

    active = False
    #: the request has read or changed state (a view, a step run now, a write queued): its answer
    #: depends on the store, and is lost with it (``Storage.touched``)
    used = False
    view: View | None = None  # the view the request uses, once it asked
    optimistic = False  # that view is the process's last one, not read for this request
    settled = False  # something acted on Redis at once: write without a check, read afresh
    pending: list[Step]
    #: the outage the request met (a call that timed out, a lost connection): from then on nothing
    #: in it waits on Redis again, every call raises it at once (``Session.met``)
    down: BaseException | None = None


def _transact(client: Any, keys: Sequence[str], step: Callable[[Any], Any]) -> Any:
    while True:
        with client.pipeline() as pipe:
            try:
                if keys:
                    pipe.watch(*keys)
                result = step(pipe)
                pipe.execute()
                return result
            except WatchError:
                continue


class Session:
    """What every repository of one fake shares: the client, the key prefix, the batcher (group
    commit across this process's threads), the script, the last view and the unit of work."""

    def __init__(self, client: Any, prefix: str, timeout_s: float) -> None:
        self.client, self.prefix = client, prefix
        # A script call must run within this long of being made, on Redis's clock, or write
        # nothing (redis.lua): by then this fake has answered "system error". The margin leaves
        # the reply time to come back before the socket timeout.
        self.patience_s = timeout_s * DEADLINE_SHARE
        self.skew_s = _skew(client)
        self.batch = Batcher(client)
        self.script = client.register_script(SCRIPT)
        self.unit = Unit()
        self.latest: View | None = None  # shared by this process's threads; replaced, never edited
        self._reads = [("GET", self.key("version")), ("GET", self.key("rules")),
                       ("HMGET", self.key("clock"), "origin", "offset")]

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # -- an outage -----------------------------------------------------------------------------
    def met(self, exc: BaseException) -> None:
        """The request this thread answers met an outage (here, or in a command a repository sent
        on ``direct()``'s client, as the dispatcher reports): its answer is the API's 500 and its
        journal entry is lost, so none of its later calls may wait ``state_timeout_s`` once more."""
        unit = self.unit
        if unit.active and unit.down is None:
            unit.down = exc

    def _reachable(self) -> None:
        """Raise, without a call, the outage the request already met."""
        unit = self.unit
        if unit.active and unit.down is not None:
            raise unit.down

    @contextmanager
    def _watched(self) -> Iterator[None]:
        """Around every call this session makes: none once the request met an outage; an outage
        met here is remembered for the rest of the request."""
        self._reachable()
        try:
            yield
        except OUTAGES as exc:
            self.met(exc)
            raise

    # -- the view ------------------------------------------------------------------------------
    def read(self) -> View:
        """The rules and the clock now, in one round trip; remembered as the process's view."""
        with self._watched():
            version, rules, (origin, offset) = self.batch.run(self._reads)
        self.latest = view = View(version, rules, origin, offset)
        return view

    def view(self) -> View:
        unit = self.unit
        if not unit.active:
            return self.read()
        unit.used = True
        if unit.view is None:
            latest = self.latest
            if latest is not None and not unit.settled:
                unit.view, unit.optimistic = latest, True
            else:
                unit.view = self.read()
        return unit.view

    def settle(self) -> None:
        """Called before anything that acts on Redis at once: from here on, no second attempt."""
        unit = self.unit
        if not unit.active:
            return
        unit.used = True
        if unit.optimistic:
            unit.optimistic = False  # checked once: a failed read is the request's answer, not retried
            fresh = self.read()
            if unit.view is None or fresh.version != unit.view.version:
                raise Stale
            unit.view = fresh
        unit.settled = True

    def changed(self, pipe: Any) -> None:
        """Queue, in the transaction that changes the rules or the clock, a new version token;
        and read the view afresh after it (this unit's and the process's)."""
        pipe.set(self.key("version"), os.urandom(12).hex())
        self.latest = self.unit.view = None

    def direct(self) -> Any:
        """The client, for a command that runs now (the unit is settled first). A command that
        fails on it is reported by the dispatcher (``Storage.met``)."""
        self._reachable()
        self.settle()
        return self.client

    def transact(self, keys: Sequence[str], step: Callable[[Any], Any], *, within: float | None = None) -> Any:
        """Run ``step(pipe)`` under WATCH of ``keys``: it reads, decides, calls ``pipe.multi()``
        and queues its writes; retried on a race with another fake, so nothing is lost or doubled.
        ``within``: each read of a reply waits at most this long (if shorter than the client's
        own timeout), on a connection of its own (``redis_connect.briefer``)."""
        client = self.direct()
        with self._watched():
            if within is None:
                return _transact(client, keys, step)
            with closing(briefer(client, within)) as brief:
                return _transact(brief, keys, step)

    # -- the script ----------------------------------------------------------------------------
    def write(self, step: Step) -> None:
        """A step that only writes: at the end of the unit of work, or now outside one."""
        if self.unit.active:
            self.unit.used = True
            self.unit.pending.append(step)
        else:
            self.call([step], NO_CHECK)

    def now(self, step: Step) -> Any:
        """A step run now, for its result. In an optimistic unit the step itself checks the view
        (``Stale``, and nothing done, if it changed): one round trip, not a check and then the step."""
        unit = self.unit
        if unit.active and unit.optimistic and unit.view is not None:
            unit.used = True
            unit.optimistic = False  # checked once: a failed call is the request's answer, not retried
            (result,) = self.call([step], unit.view.version or b"-")
            unit.settled = True
            return result
        self.settle()
        return self.call([step], NO_CHECK)[0]

    def call(self, steps: Sequence[Step], expected: bytes) -> list[Any]:
        """``steps`` in one script call; ``Stale`` when ``expected`` is not the version token.

        By SHA through the batcher (redis-py's own script calls ask ``SCRIPT EXISTS`` first: a
        round trip more); a Redis that restarted and forgot the script gets it again."""
        keys, args = [self.key("version")], [expected, repr(time.time() + self.skew_s + self.patience_s)]
        for step in steps:
            keys += step.keys
            args += [step.name, len(step.keys), len(step.args), *step.args]
        command = ("EVALSHA", self.script.sha, len(keys), *keys, *args)
        with self._watched():
            (result,) = self.batch.run([command], errors=False)
            if isinstance(result, NoScriptError):
                self.client.script_load(SCRIPT)
                (result,) = self.batch.run([command])
            elif isinstance(result, BaseException):
                raise result
            if result[0] == LATE:
                raise RedisTimeout(f"Redis ran the call after {self.patience_s:.2f} s: nothing written")
        if result[0] == STALE:
            raise Stale
        return result[1:]

    # -- the unit of work ----------------------------------------------------------------------
    @contextmanager
    def unit_of_work(self, *, fresh: bool = False) -> Iterator[None]:
        """One request. ``fresh``: read the rules and clock for it, never the process's last view
        (the second attempt after ``Stale``: it cannot be stale again)."""
        unit = self.unit
        unit.active, unit.view, unit.optimistic, unit.settled, unit.pending = True, None, False, fresh, []
        unit.used, unit.down = False, None
        try:
            yield
            if unit.pending:
                optimistic = unit.optimistic and unit.view is not None
                expected = (unit.view.version or b"-") if optimistic else NO_CHECK  # type: ignore[union-attr]
                self.call(unit.pending, expected)
            elif unit.optimistic:  # nothing to write: check that the answer's view was current
                self.settle()
        finally:
            unit.active, unit.view, unit.pending, unit.used, unit.down = False, None, [], False, None

    def touched(self) -> bool:
        """Whether the request this thread answers has read or changed state so far."""
        return self.unit.used
