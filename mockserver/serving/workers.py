"""``--workers N`` (and ``--server granian``): the fake on granian's worker processes.

Why granian: measured in ``bench/RESULTS.md``, it answers a trivial WSGI app about ten times
faster than gunicorn's sync workers on this 2-core machine, so the fake's own work (validation,
shared state) is what is left to pay for.

Several processes share state through Redis (``storage/``; a private ``redis-server`` unless
``--state`` names a Redis): the parent installs the start-up fault rules once, as the fake's (a
reset through any worker installs them as the parent's too), and, on a Redis the user gave,
takes them back when it stops (``startup_rules``); each worker builds its own Backend on the
same Redis and key prefix. The settings reach the workers in an environment variable, never a
file; the parent's private
temporary folder (``scratch.py``) holds only the TLS files granian reads. Stopping and
readiness: ``lifecycle.py``; the line that announces readiness, the same in every serving mode:
``listening_line``.
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import Backend
from ..config import Config, ConfigError
from ..dispatch import Dispatcher
from ..faults.on_socket import Aborted
from ..http import host_port
from ..origin import intercepted_hosts
from ..ui import dashboard_url  # (imported here: the announcer thread must not import)
from .lifecycle import STOP_GRACE_S, Probe, Watchdog, probe_address, wait_until_answering
from .scratch import scratch_dir
from .wsgi import WsgiApp

#: Environment variable through which the parent hands its settings (JSON) to granian's workers.
WORKER_CONFIG_ENV = "BGMOCK_WORKER_CONFIG"
#: The main process's pid, for workers to die with it (``_die_with_parent``).
WORKER_PARENT_ENV = "BGMOCK_WORKER_PARENT"
#: Whose start-up rules a worker's reset installs: the fake's (its main process's ``startup_owner``).
WORKER_OWNER_ENV = "BGMOCK_WORKER_RULES_OWNER"


def worker_app() -> WsgiApp:
    """Granian's factory, run in each worker: a Backend on the shared store the parent prepared."""
    text = os.environ.pop(WORKER_CONFIG_ENV, None)  # read once: this worker spawns nothing that needs it
    if not text:
        raise RuntimeError(f"{WORKER_CONFIG_ENV} is not set: start workers with `bgmock serve --workers N`")
    config = Config.from_mapping(json.loads(text))
    _die_with_parent()
    _stop_only_when_told()
    if config.log_requests:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(message)s", datefmt="%H:%M:%S")
    # Shared state (Redis): the parent installed the start-up rules once. One worker without
    # state keeps it in memory: the parent's Backend was a check only, so install them here.
    backend = Backend(config, apply_startup_rules=not config.state,
                      startup_owner=os.environ.pop(WORKER_OWNER_ENV, None))
    return WsgiApp(Dispatcher(backend), worker=str(os.getpid()))


def _die_with_parent() -> None:
    """Linux: SIGKILL for this worker when bgmock's main process dies, however it dies.

    granian's workers outlive a ``kill -9`` of the main process and go on serving, orphans on
    the port that a restarted fake then meets.  ``PR_SET_PDEATHSIG`` fires when the thread that
    started the worker ends; granian starts and respawns workers from its main thread.  SIGKILL,
    not SIGTERM: with the main process gone nobody would force a worker whose graceful stop
    hangs (a request in a ``timeout`` fault holds it for ``hang_s``); the store survives a
    killed process by design.
    """
    parent = os.environ.get(WORKER_PARENT_ENV, "")
    if not sys.platform.startswith("linux") or not parent.isdigit():
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the main process died before the request above
        os.kill(os.getpid(), signal.SIGKILL)


def _stop_only_when_told() -> None:
    """Block SIGINT in this worker: it stops on its main process's SIGTERM alone.

    Ctrl-C signals the whole process group.  A granian worker that got SIGINT and, a moment
    later, its main process's SIGTERM sometimes handled neither and went on serving while the
    main process waited for it (measured: 3 of 9 Ctrl-C); one signal alone always stopped it.
    The mask is set in the worker's main thread before granian starts its runtime threads,
    which inherit it, so no thread of the worker takes SIGINT.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def bind_address(host: str) -> str:
    """The IP address granian binds for ``host``: it takes no names (``localhost`` crashed it
    with a traceback), so a name is resolved here, and one that does not resolve is a
    ``ConfigError``. The one-process servers resolve names themselves."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0])
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"--host {host}: not an IP address, and the name does not resolve ({exc})") from None


def _port_to_serve(host: str, port: int) -> int:
    """``port`` if nobody listens on it (a free one for 0), else a ``ConfigError``.

    granian binds with ``SO_REUSEPORT``: a second fake started on a busy port would not fail,
    it would quietly take half of the first one's traffic.  A probe without that option fails
    as the one-process server does.
    """
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT is no listener
            probe.bind((host, port))
            return int(probe.getsockname()[1])
    except OSError as exc:
        raise ConfigError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def serve_workers(  # noqa: PLR0913 - keyword-only after state, each with its default
    config: Config, state: str, *, started: float | None = None, blocking_threads: int | None = None,
    watchdog: Watchdog | None = None, take_back: bool = False,
) -> int:
    """Run ``config.workers`` granian processes; several share the Redis of ``config.state``
    (``storage/private_redis.serving_state`` says where state lives: ``state``). Returns an exit code.
    ``take_back``: the fake's start-up rules are taken back at its stop (``startup_rules``).

    Stops within ``lifecycle.STOP_GRACE_S`` of SIGINT or SIGTERM (forcing if it must), and says
    it is listening only once a worker answers (``lifecycle``)."""
    granian, interfaces = granian_server(config)
    started = time.perf_counter() if started is None else started
    watchdog = watchdog or Watchdog()
    with scratch_dir() as scratch:
        watchdog.at_force.append(lambda: shutil.rmtree(scratch, ignore_errors=True))
        address = bind_address(config.host)
        port = _port_to_serve(address, config.port)
        config = config.replace(port=port)
        # Stops here, with a message, on a bad setting (a catalog, say); with shared state it
        # also installs the start-up rules, once for all workers.
        backend = serving_backend(config, take_back=take_back)
        with _settings_for_workers(config, backend.startup_owner), startup_rules(backend, take_back=take_back):
            server = granian(
                "mockserver.serving.workers:worker_app", factory=True, address=address, port=port,
                interface=interfaces.WSGI, workers=config.workers,
                blocking_threads=_threads_per_worker(config, blocking_threads),
                # critical: a deliberate abort (a transport fault) would otherwise print a traceback
                # per fault; the fake logs its own errors and requests through the "bgmock" logger.
                log_level="critical", log_access=False, respawn_failed_workers=True, **_tls_files(config, scratch),
                workers_kill_timeout=int(STOP_GRACE_S) - 1,  # granian's own force, before the watchdog's
            )
            if watchdog.stopped_while_starting():
                return watchdog.exit_code(announced=False)
            _stop_on_signals(server, watchdog)
            # resolved and made here: the announcer thread must not import or resolve (fork safety)
            probe = Probe(probe_address(config.host, port), tls=bool(config.tls), admin_token=config.admin_token)
            announcement = _Announcement(config, state, started, probe, watchdog.stopping)
            threading.Thread(
                target=announcement.when_answering, args=(server,), name="bgmock-ready", daemon=True,
            ).start()
            code = _serve(server, watchdog)
    return watchdog.exit_code(announcement.done.is_set()) if code is None else code


def granian_server(config: Config) -> tuple[Any, Any]:
    """granian's server class and its interface names, or a ``ConfigError`` that names the
    setting that asked for granian and says how to install it."""
    flag = "--workers" if config.workers > 1 else "--server granian"
    try:
        from granian import Granian
        from granian.constants import Interfaces
    except ImportError:
        raise ConfigError(
            f"{flag} needs granian, the production server: pip install granian "
            "(or, from the bgmock checkout, pip install -e \".[workers]\")"
        ) from None
    return Granian, Interfaces


@contextmanager
def _settings_for_workers(config: Config, owner: str) -> Iterator[None]:
    """The settings (secrets included) reach the workers in their environment, never in a file;
    taken out again once the workers are gone. ``owner``: the fake's start-up rules' owner."""
    handed = {WORKER_CONFIG_ENV: json.dumps(config.as_dict()), WORKER_PARENT_ENV: str(os.getpid()),
              WORKER_OWNER_ENV: owner}
    os.environ.update(handed)
    try:
        yield
    finally:
        for name in handed:
            os.environ.pop(name, None)


#: Whose start-up rules they are on a private state (``take_back`` False): the one fake there.
PRIVATE_OWNER = "the fake on this private state"


def serving_backend(config: Config, *, take_back: bool) -> Backend:
    """``bgmock serve``'s Backend, its start-up rules not installed yet (``startup_rules`` does).
    On a private state (``take_back`` False) one fake at a time is on it: its rules are always
    that fake's (a restart on ``--state DIR`` adds no owner to those it left)."""
    return Backend(config, apply_startup_rules=False, startup_owner=None if take_back else PRIVATE_OWNER)


@contextmanager
def startup_rules(backend: Backend, *, take_back: bool) -> Iterator[None]:
    """The fake's start-up rules installed (``note_replaced`` says whose it replaced) and, with
    ``take_back``, taken back when it stops or fails to start (``note_withdrawn``). Installed
    inside the ``try``: a stop signal during the install still takes them back.

    ``take_back``: the state is a Redis the user gave (``private_redis.others_may_share``), the
    only one other fakes can be on. A private Redis (``--workers``, ``--state DIR``) has this
    fake alone: nobody to take them back from, and ``--state DIR`` keeps them, counters and all,
    for its next start, as it keeps programmed rules."""
    try:
        backend.install_startup_rules()
        note_replaced(backend)
        yield
    finally:
        if take_back:
            note_withdrawn(backend)


def _tls_files(config: Config, scratch: Path) -> dict[str, Any]:
    """granian's TLS options: it serves TLS itself, from files (docs/tls-and-proxy.md)."""
    if not config.tls:
        return {}
    from .tls import server_files

    cert, key = server_files(config, scratch)
    return {"ssl_cert": cert, "ssl_key": key}


def _threads_per_worker(config: Config, asked: int | None) -> int:
    """Threads per worker = requests it serves at once. Few is fastest for quick answers (less
    GIL hand-over); a latency setting means many requests wait at once."""
    if asked is not None:
        return asked
    return 64 if config.latency else 8


def _stop_on_signals(server: Any, watchdog: Watchdog) -> None:
    """SIGINT, SIGTERM and SIGHUP stop the fake through the watchdog."""
    # granian installs this as its SIGINT/SIGTERM handler when it starts (instance attribute)
    server.signal_handler_interrupt = watchdog.wrap(server.signal_handler_interrupt)
    # SIGHUP (a closed terminal, a dropped ssh session) stops the fake as in one process;
    # granian's own meaning, "reload the workers", left it serving on its port for good.
    server.signal_handler_reload = server.signal_handler_interrupt


def _serve(server: Any, watchdog: Watchdog) -> int | None:
    """Serve until stopped: None for a stop someone asked for, else the exit code of a granian
    that gave up on its workers."""
    try:
        server.serve()
    except KeyboardInterrupt:  # a stop before granian set its handlers (ours raise Stopped)
        pass
    except SystemExit as exc:
        if exc.code in (0, None) or watchdog.signum is not None:
            return None  # a worker ended by the same Ctrl-C is no crash
        print(
            f"bgmock: granian stopped (exit {exc.code}): a worker died again within 5.5 s of being"
            " respawned (granian's crash-loop guard); the fake is no longer listening",
            file=sys.stderr, flush=True,
        )
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        watchdog.stopping.set()  # the announcer gives up if no worker ever answered
    return None


@dataclass
class _Announcement:
    """The listening line of ``serve_workers``: what it says, and when (once a worker answers)."""

    config: Config
    state: str
    started: float
    probe: Probe
    stop: threading.Event
    done: threading.Event = field(default_factory=threading.Event)

    def when_answering(self, server: Any) -> None:
        """Print the listening line once a worker answers (the port is bound before any worker runs)."""
        config, probe = self.config, self.probe
        # granian forks its workers from its main thread; probing after the last fork means no
        # fork copies a lock this thread holds (OpenSSL's, with --tls). Its respawns come later.
        forked = getattr(server, "wrks", None)
        while forked is not None and len(forked) < config.workers and not self.stop.is_set():
            time.sleep(0.005)
        if wait_until_answering(probe, stop=self.stop):
            self.done.set()
            url = f"{'https' if config.tls else 'http'}://{host_port(config.host, probe.port)}"
            ready_ms = (time.perf_counter() - self.started) * 1000
            line = listening_line(config, urls=url, port=probe.port, state=self.state, ready_ms=ready_ms,
                                  granian_workers=config.workers)
            print(line, flush=True)


def listening_line(  # noqa: PLR0913 - keyword-only, each a part of the line only the serving mode knows
    config: Config, *, urls: str, port: int, state: str, ready_ms: float, granian_workers: int = 0
) -> str:
    """The line ``bgmock serve`` prints once it answers, built here for every serving mode (one
    process, ``--server granian``, ``--workers``) so that they cannot say different things:
    where it listens; how it answers (strict or lenient, signatures, and whatever else changes
    answers, so nobody debugs a fault they forgot they set); the granian workers serving it and
    where its state lives (unless in memory); how long it took; the dashboard."""
    signing = f"signatures on for {len(config.app_keys)} key(s)" if config.app_keys else "signatures off"
    parts = ["strict" if config.strict else "lenient", signing, *_active(config)]
    if granian_workers:
        parts.append(f"{granian_workers} granian worker(s)")
    if state != "state in memory":
        parts.append(state)
    return (f"bgmock listening on {urls} ({', '.join(parts)}; ready in {ready_ms:.0f} ms;"
            f" dashboard {dashboard_url(config, port)})")


#: How many replaced start-up rules ``note_replaced`` names (the rest are counted).
NAMED_RULES = 5


def note_replaced(backend: Backend) -> None:
    """Say (stderr, one line) when this start replaced other start-up rules on a shared store:
    the fakes on one prefix share one set, so a start with other ``--fault`` rules (a rolling
    restart, a replica added without them) has just turned its siblings' off."""
    replaced = backend.replaced_startup
    if not replaced:
        return
    print(f"bgmock: note: this start replaced {len(replaced)} start-up fault rule(s) another start on this "
          f"state had installed ({_named(replaced)}): fakes on one Redis prefix share one set of start-up rules, "
          "so give them the same --fault/faults (docs/load-and-workers.md)", file=sys.stderr, flush=True)


def note_withdrawn(backend: Backend) -> None:
    """At the stop, on a shared store: take this fake off the owners of the start-up rules in
    force, which deletes those it was the last owner of (the fakes left on the store would
    otherwise inject them for ever), and say so (stderr, one line). A Redis that does not answer
    within ``storage.redis.STOP_CALL_S`` is said too, not raised; a fake without start-up rules
    makes no call, so has nothing to say."""
    try:
        withdrawn = backend.withdraw_startup_rules()
    except backend.store.unavailable as exc:
        print(f"bgmock: stopped without removing its start-up fault rule(s) from the state: Redis did not "
              f"answer ({exc}); the fakes still on it inject them until a start or a reset replaces them",
              file=sys.stderr, flush=True)
        return
    if withdrawn:
        print(f"bgmock: stopped: removed its {len(withdrawn)} start-up fault rule(s) from the state "
              f"({_named(withdrawn)}): fakes still on it no longer inject them", file=sys.stderr, flush=True)


def _named(rules: list[dict[str, Any]]) -> str:
    """Start-up rules as the lines above name them: the first ``NAMED_RULES``, the rest counted."""
    return ", ".join(
        f"{rule['endpoint']} " + next((f"{key} {rule[key]}" for key in ("resCode", "transport", "outcome", "shape",
                                                                      "latency") if key in rule), "delay")
        for rule in rules[:NAMED_RULES]
    ) + (f", … ({len(rules) - NAMED_RULES} more)" if len(rules) > NAMED_RULES else "")


def _active(config: Config) -> list[str]:
    """The settings that change answers, as the listening line names them."""
    parts = []
    if config.faults:
        parts.append(f"{len(config.faults)} start-up fault rule(s)")
    if config.rate_limits:
        parts.append(f"{len(config.rate_limits)} rate limit(s)")
    if config.latency:
        parts.append("latency")
    if config.clock == "manual":
        parts.append("manual clock")
    if config.tls:
        parts.append(f"TLS with {'your certificate' if config.tls_cert else 'bgmock CA (bgmock ca)'}")
    if config.proxy:
        parts.append(f"proxy for {', '.join(sorted(intercepted_hosts(config)))}")
    return parts


__all__ = ["Aborted", "WsgiApp", "granian_server", "listening_line", "serve_workers", "worker_app"]
