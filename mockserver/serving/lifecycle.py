"""How ``bgmock serve`` stops and says it is ready, the same in every serving mode.

**Stopping.** SIGINT (Ctrl-C, sent to the whole process group), SIGTERM (to the main process)
and SIGHUP all mean "stop now".  The first one arms a watchdog: it repeats SIGTERM to the
fake's copies of itself still there (granian's workers) every ``NUDGE_S`` (a worker can lose
one), and if the fake is still there ``STOP_GRACE_S`` later it forces the stop
(``Watchdog._force``).  A repeated stop signal changes nothing: the same stop is often
delivered twice (GNU ``timeout`` signals the process and then its process group; a wrapper
forwards the terminal's Ctrl-C to a process that got it already), and it neither forces nor
interrupts the stop's own clean-up.  The one exception is a Ctrl-C pressed again, a SIGINT that
comes ``SAME_PRESS_S`` or more after the stop began: the common "force" convention (Redis
itself treats a second SIGINT so), it forces at once.  A forced stop SIGKILLs the fake's
copies (they hold nothing that lasts), gives a program the fake ran (its private
redis-server, which may be writing the user's data to its append-only file) SIGTERM and up to
``PROGRAM_GRACE_S`` to stop before SIGKILL, says in one line on stderr what it did, and exits
128 + the signal that began the stop (130, 143): a forced stop is not a clean one.  Once a force
has begun the process does not end before that line is out, even when its main thread finishes
the stop by itself meanwhile (``Watchdog.final``): the line is always there, once.  Stopping
cannot hang, whatever a server library, a worker thread, a lock or an atexit handler does; the
force is the exception, not the way it normally stops.

**Readiness.** ``bgmock listening on ...`` is printed only once a connection would be
answered: the one-process servers print after their socket listens (the kernel queues a
connection from then on, and the loop that answers it starts right after); granian's
workers start after the main process has already bound the port, so the main process asks
``GET /__admin/health`` until a worker answers (``wait_until_answering``), then prints.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..answers.urls import ADMIN_HEALTH

if TYPE_CHECKING:
    import ssl

#: Seconds between the first stop signal and SIGKILL of the fake's child processes.
STOP_GRACE_S = 4.0
#: Seconds after that before the main process ends itself if it is still there.
FORCE_EXIT_S = 1.0
#: Seconds a program the fake ran (its private redis-server) has, in a forced stop, to stop on
#: SIGTERM before it gets SIGKILL; the normal stop of the private Redis waits as long.
PROGRAM_GRACE_S = 5.0
#: A SIGINT this soon after the stop began is the same Ctrl-C delivered twice (``timeout -s INT``
#: signals the process and its group), not a second press: it changes nothing.
SAME_PRESS_S = 0.3
#: Seconds, beyond ``PROGRAM_GRACE_S``, that the main thread's end waits for a force under way to
#: say its line (``Watchdog.final``).
SAY_MARGIN_S = 2.0
#: Seconds between the SIGTERMs repeated to children that have not stopped yet.
NUDGE_S = 0.5
_STATUS_START = b"HTTP/1.1 200"  # as much of the answer as a probe reads: the status code
#: The signals that stop the fake.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, *((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()))
#: The exit code of a fake stopped by a signal once it had announced itself (graceful or forced).
EXIT_STOPPED = 0


class Stopped(KeyboardInterrupt):
    """Raised in the main thread by a stop signal (a KeyboardInterrupt, so servers that handle
    Ctrl-C, werkzeug's and socketserver's loops, stop the same way for SIGTERM)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code_before_ready(exc: BaseException) -> int:
    """The shell's code for a fake stopped while starting: 128 + the signal (130 for Ctrl-C)."""
    return 128 + (exc.signum if isinstance(exc, Stopped) else int(signal.SIGINT))


class Watchdog:
    """Makes a requested stop certain: see the module docstring."""

    def __init__(
        self, *, grace_s: float = STOP_GRACE_S, force_exit_s: float = FORCE_EXIT_S,
        program_grace_s: float = PROGRAM_GRACE_S, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.grace_s = grace_s
        self.force_exit_s = force_exit_s
        self.program_grace_s = program_grace_s
        self.clock = clock
        self.stopping = threading.Event()
        #: The signal that began the stop (None: none yet), and when (``clock``).
        self.signum: int | None = None
        self.began = 0.0
        #: The exit code of a forced stop, once one has begun (the main thread's own end uses it too).
        self.forced: int | None = None
        self.main_pid = os.getpid()
        #: Run (each error ignored) after the children are stopped, before the process ends:
        #: what a ``finally`` would have done (the private temporary folder's removal).
        self.at_force: list[Callable[[], None]] = []
        #: Taken for good by the force that begins (``_claim_force``): a second finds it taken.
        self._forcing = threading.Lock()
        #: Set once a force has said its line on stderr.
        self.said = threading.Event()

    def exit_code(self, announced: bool) -> int:
        """0 for a fake stopped after it said it was listening, 128 + the signal before."""
        if self.signum is None or announced:
            return EXIT_STOPPED
        return 128 + self.signum

    def stopped_while_starting(self) -> bool:
        """Whether a stop signal came before serving began, though start-up went on: the
        ``Stopped`` it raised was swallowed by code that ignores what it catches (once, logging's
        fork lock: "Exception ignored in: <function _releaseLock ...> ... Stopped: SIGTERM").
        Asked where serving would begin, so such a start ends there, unannounced, with 128 + the
        signal, instead of serving until the watchdog forced it."""
        return self.signum is not None

    def final(self, code: int) -> int:
        """The exit code of a fake whose main thread returned ``code``: a forced stop's, if one began.

        Called as the main thread ends. Once a force has begun the process does not end before
        the force has said its line (``_force``: it waits for a program the fake ran for up to
        ``program_grace_s``): the main thread, which often finishes meanwhile, waits for it,
        bounded. A force that begins later still ends a process whose exit hangs (an atexit
        handler, a thread it waits for)."""
        if self._forcing.acquire(blocking=False):  # no force under way
            self._forcing.release()
            return code
        self.said.wait(self.program_grace_s + SAY_MARGIN_S)
        return self.forced if self.forced is not None else code

    def arm(self, signum: int = signal.SIGINT) -> bool:
        """Act on a stop signal: True for the one that begins the stop (the caller stops serving),
        False for a later one, which changes nothing unless it is a Ctrl-C pressed again (a SIGINT
        ``SAME_PRESS_S`` or more after the first signal): that forces the stop now.

        Runs in the main thread (Python's signal handlers do), so no lock: a handler may run
        inside another, which then finds ``signum`` set and takes its signal as a repeat."""
        now = self.clock()
        if self.signum is None:
            self.began, self.signum = now, signum
            self.stopping.set()
            threading.Thread(target=self._countdown, name="bgmock-stop-watchdog", daemon=True).start()
            return True
        if signum == signal.SIGINT and now - self.began >= SAME_PRESS_S and self._claim_force():
            threading.Thread(target=self._carry_out, args=("Ctrl-C again",), name="bgmock-force-stop",
                             daemon=True).start()
        return False

    def _countdown(self) -> None:
        """SIGTERM again, every ``NUDGE_S``, to the fake's copies still there; then force.

        A granian worker loses a SIGTERM that arrives in the instant between installing its
        handler and registering what the handler must wake (it then serves on, and its main
        process waits for it); the next SIGTERM is not lost.  A daemon thread: when the process
        ends normally (the usual case) it ends with it."""
        deadline = time.monotonic() + self.grace_s
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(NUDGE_S, left))
            for pid in forks(self.main_pid):  # not the private redis-server: it is stopped after them
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
        self._force(f"still stopping {self.grace_s:g} s after {signal.Signals(self.signum or signal.SIGTERM).name}")

    def _force(self, reason: str) -> None:
        """End the fake now, unless the main thread's end (``final``) or another force came first."""
        if self._claim_force():
            self._carry_out(reason)

    def _claim_force(self) -> bool:
        """Whether this call begins the force (the first to, and before the main thread's end)."""
        if not self._forcing.acquire(blocking=False):
            return False
        self.forced = 128 + (self.signum or signal.SIGTERM)
        return True

    def _carry_out(self, reason: str) -> None:
        """The force: the children (``stop_children``), the line, the clean-up, the process's end."""
        try:
            done = stop_children(self.main_pid, program_grace_s=self.program_grace_s)
            print(f"bgmock: stop forced ({reason}): {done}; exit code {self.forced}", file=sys.stderr, flush=True)
        finally:
            self.said.set()  # (set even if stderr is gone: the main thread must not wait in vain)
        time.sleep(self.force_exit_s)  # the main thread may end by itself meanwhile (with the same code)
        for cleanup in self.at_force:
            with contextlib.suppress(Exception):
                cleanup()
        os._exit(self.forced)

    @contextlib.contextmanager
    def installed(self) -> Iterator[Watchdog]:
        """Our handlers for the stop signals while the block runs: arm, then raise ``Stopped``.

        Only in the main thread (where Python runs signal handlers); the previous handlers come
        back afterwards, so ``cli.main`` called inside another program leaves it as it was."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def on_stop(signum: int, _frame: Any) -> None:
            if os.getpid() != self.main_pid:  # a child forked before it set its own handlers
                os._exit(0)
            if self.arm(signum):  # a repeat must not interrupt the stop's own clean-up
                raise Stopped(signum)

        previous = {signum: signal.signal(signum, on_stop) for signum in STOP_SIGNALS}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def wrap(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """``handler`` (a server library's own stop handler) behind the watchdog.

        The wrapper also ends, at once, a *child* that receives a stop signal before it has
        installed handlers of its own: a forked process inherits its parent's Python-level
        handlers, and granian's would only set a flag in the child's copy of the parent's
        server object; the stop would be lost and the worker would go on serving, its main
        process waiting for it (one of the two causes of ``--workers`` fakes that did not stop
        on Ctrl-C; the other, a worker given SIGINT and SIGTERM at once: ``serving.py``,
        ``_stop_only_when_told``).
        """

        def on_stop(*args: Any, **kwargs: Any) -> Any:
            if os.getpid() != self.main_pid:
                os._exit(0)
            self.arm(args[0] if args and isinstance(args[0], int) else signal.SIGINT)
            return handler(*args, **kwargs)

        return on_stop


def stop_children(parent: int, *, program_grace_s: float) -> str:
    """End every child process of ``parent``; returns what was done, as a stop line says it.

    Its copies (granian's workers, ``forks``) get SIGKILL: they hold nothing that lasts. A
    program it ran (the private redis-server, which may be writing the user's data to its
    append-only file) gets SIGTERM, and SIGKILL only if it is still there ``program_grace_s`` later."""
    copies = forks(parent)
    killed = [pid for pid in copies if _send(pid, signal.SIGKILL)]
    programs = {pid: _name(pid) for pid in children(parent) if pid not in copies and _send(pid, signal.SIGTERM)}
    deadline = time.monotonic() + program_grace_s
    while any(map(_alive, programs)) and time.monotonic() < deadline:
        time.sleep(0.02)
    done = [f"SIGKILL to {len(killed)} worker process(es) ({', '.join(map(str, killed))})"] if killed else []
    for pid, name in programs.items():
        if _alive(pid) and _send(pid, signal.SIGKILL):
            done.append(f"{name} (pid {pid}) still running {program_grace_s:g} s after SIGTERM: SIGKILL")
        else:
            done.append(f"{name} (pid {pid}) stopped on SIGTERM")
    return "; ".join(done) or "no child process was left"


def _send(pid: int, signum: int) -> bool:
    try:
        os.kill(pid, signum)
    except OSError:
        return False
    return True


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as comm:
            return comm.read().strip() or "process"
    except OSError:
        return "process"


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended; without /proc, whether a signal reaches it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        if os.path.isdir("/proc/self"):
            return False
    return _send(pid, 0)


def children(parent: int) -> list[int]:
    """The pids of ``parent``'s child processes (from /proc; elsewhere, multiprocessing's)."""
    if os.path.isdir("/proc/self"):
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != b"Z":  # ppid; a zombie needs no kill
                found.append(int(name))
        return found
    import multiprocessing

    return [p.pid for p in multiprocessing.active_children() if p.pid is not None]


def probe_address(host: str, port: int) -> tuple[int, tuple[Any, ...]]:
    """(family, address) to probe the fake at: resolved here, in the caller's thread (see below)."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    family, _, _, _, address = socket.getaddrinfo(target, port, type=socket.SOCK_STREAM)[0]
    return family, address


class Probe:
    """What ``wait_until_answering`` sends, and where: all of it prepared by the caller's thread."""

    def __init__(self, address: tuple[int, tuple[Any, ...]], *, tls: bool = False, admin_token: str | None = None):
        self.family, self.sockaddr = address
        self.port = int(self.sockaddr[1])
        host = f"[{self.sockaddr[0]}]" if ":" in self.sockaddr[0] else self.sockaddr[0]
        head = f"GET {ADMIN_HEALTH} HTTP/1.1\r\nHost: {host}:{self.port}\r\nConnection: close\r\n"
        if admin_token:
            head += f"X-Bgmock-Admin-Token: {admin_token}\r\n"
        self.request = (head + "\r\n").encode("latin-1")
        self.tls: ssl.SSLContext | None = None
        if tls:  # our own server: whether its certificate is trusted is not the question here
            import ssl

            self.tls = ssl.create_default_context()
            self.tls.check_hostname = False
            self.tls.verify_mode = ssl.CERT_NONE

    def status(self, timeout_s: float) -> bytes:
        """The first bytes of the answer (raises OSError when nothing answers)."""
        with socket.socket(self.family, socket.SOCK_STREAM) as raw:
            raw.settimeout(timeout_s)
            raw.connect(self.sockaddr)
            conn = self.tls.wrap_socket(raw) if self.tls is not None else raw
            conn.sendall(self.request)
            status = b""
            while len(status) < len(_STATUS_START) and (part := conn.recv(16)):
                status += part
            return status


def forks(parent: int) -> list[int]:
    """The children of ``parent`` that are copies of it (granian's workers), not programs it ran."""
    try:
        with open(f"/proc/{parent}/cmdline", "rb") as cmdline:
            own = cmdline.read()
    except OSError:
        return children(parent)
    found = []
    for pid in children(parent):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if cmdline.read() == own:
                found.append(pid)
    return found


def wait_until_answering(probe: Probe, *, stop: threading.Event | None = None, timeout_s: float = 2.0) -> bool:
    """Ask ``GET /__admin/health`` until it answers 200; False if ``stop`` is set first.
    Admin calls are neither journaled nor logged: the probes leave no trace a user sees.

    Fork-safe: this runs in a thread while granian forks its workers, and a fork copies a lock
    held by another thread as held forever.  So no import, no name resolution (``getaddrinfo``
    imports the idna codec, whose module lock a worker then waited on for ever when it bound its
    routes), no logging: a numeric address, a prepared request and context, sockets and sleeps."""
    pause = 0.005
    while stop is None or not stop.is_set():
        try:
            if probe.status(timeout_s)[9:12] == b"200":
                return True
        except (OSError, ValueError):
            pass
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
    return False


__all__ = [
    "EXIT_STOPPED", "PROGRAM_GRACE_S", "STOP_GRACE_S", "Probe", "Stopped", "Watchdog", "exit_code_before_ready",
    "probe_address", "wait_until_answering",
]
