"""The ``bgmock`` command: serve the fake (and, registered by their modules, the other tools)."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .config import Config, ConfigError
from .faults import parse_fault_flag
from .http import host_port
from .origin import is_loopback
from .parsing import flag_int, flag_number, flag_signed_int
from .serving.lifecycle import STOP_SIGNALS, Stopped, Watchdog, exit_code_before_ready
from .serving.scratch import sweep
from .storage.state_url import check_state


class Parser(argparse.ArgumentParser):
    """argparse, except that a usage error is one line on stderr (exit 2), not the whole usage:
    the message names the flag and what it takes, and points at ``--help`` for the rest."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help lists every flag)\n")


#: Subcommands: name -> (add arguments, run). Other modules add theirs here (explicit table).
Command = tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def _serve_args(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", help="address to bind (default 127.0.0.1: this machine only)")
    add("--port", type=flag_int, help="port to listen on (default 8080; 0 picks a free one)")
    add("--config", metavar="FILE",
        help="JSON or TOML (.toml) file of settings: any key of schemas/config.json, including those "
             "without a flag (journal_size, max_body_bytes, image_check, result_format, "
             "hang_s, dribble_s, fetch_*); flags override it")
    add("--strict", action="store_true", default=None,
        help="reject anything but the documented types, require imageNum, reject unknown fields")
    add("--seed", type=flag_signed_int, help="seed of the random source: same seed, same task and request IDs")
    add("--app-key", action="append", default=[], metavar="KEY:SECRET",
        help="accept this key pair and turn signature checks on (repeatable)")
    add("--fault", action="append", default=[], metavar="CODE[:P]",
        help="answer CODE (a documented resCode or a transport fault) to submits with probability P "
             "(default 1); repeatable")
    add("--task-duration", type=flag_number, metavar="SECONDS",
        help="seconds from submit to finished (default 3; 0 finishes at once)")
    add("--progression", choices=["time", "polls"],
        help="tasks advance on the clock (time) or after --polls-to-finish queries (polls)")
    add("--polls-to-finish", type=flag_int, metavar="N",
        help="with --progression polls: the Nth query of a task sees it finished")
    add("--clock", choices=["real", "manual"],
        help="real (default): time passes, and POST /__admin/clock adds to it; manual: time stands still "
             "except through POST /__admin/clock")
    add("--allow-any-scene", action="store_true", default=None,
        help="accept any modelNum, not only the scene catalog's")
    add("--catalog", metavar="FILE", help="scene catalog JSON to use instead of the shipped fixtures/scenes.json")
    add("--admin-token", metavar="TOKEN",
        help="require header X-Bgmock-Admin-Token on /__admin: TOKEN is at least 8 characters (required when "
             "binding beyond loopback)")
    add("--allow-host", action="append", default=[], metavar="NAME",
        help="also answer requests whose Host header is NAME (besides 127.0.0.1, localhost, [::1], the "
             "bound host and public_url's); any other Host is refused (DNS rebinding); repeatable")
    add("--public-url", metavar="URL",
        help="the base URL clients reach the fake at (behind a proxy, a load balancer or another name): "
             "written into image and cover URLs, and its host is answered like --allow-host")
    add("--quiet", action="store_true", help="do not log one line per request")
    _load_args(parser)
    _tls_args(parser)


def _load_args(parser: argparse.ArgumentParser) -> None:
    load = parser.add_argument_group("load, latency and workers (docs/load-and-workers.md)")
    load.add_argument("--rate-limit", action="append", default=[], metavar="RATE[@ENDPOINT]",
                      help="token bucket per app_key, e.g. 20/s or 1200/min@submit; "
                           "over it: 501 'rate limit exceed' (repeatable)")
    load.add_argument("--global-rate-limit", action="append", default=[], metavar="RATE[@ENDPOINT]",
                      help="one token bucket for all clients (repeatable)")
    load.add_argument("--burst", type=flag_number, metavar="N",
                      help="bucket size of the --rate-limit flags (default: one second of RATE)")
    load.add_argument("--latency", action="append", default=[], metavar="[ENDPOINT=]SPEC",
                      help="delay before answering: 200ms, 50ms..2s, or lognormal:p50=120ms,p99=2s "
                           "(repeatable per endpoint)")
    load.add_argument("--workers", type=flag_int, metavar="N",
                      help="run N processes of the production server (granian) sharing state (at most 64)")
    load.add_argument("--server", choices=["auto", "threaded", "granian", "werkzeug"],
                      help="auto (default): bgmock's threaded keep-alive server for one process (exact TCP "
                           "resets), granian for --workers; granian: also for one worker; werkzeug: werkzeug's "
                           "development server (closes every connection)")
    load.add_argument("--state", metavar="URL|DIR",
                      help="redis://[:PASSWORD@]HOST:PORT/DB (or rediss://, unix:///PATH?db=DB): every fake on that "
                           "Redis and prefix is one fake; or a directory: a private redis-server keeps tasks, rules, "
                           "journal and buckets there across restarts, for one fake at a time (--workers N alone: a "
                           "private Redis, kept nowhere)")
    load.add_argument("--state-prefix", metavar="PREFIX",
                      help="with a Redis --state or a --state DIR: the prefix of this fake's keys (default bgmock:); "
                           "without either it has no effect, and a warning says so")


def _tls_args(parser: argparse.ArgumentParser) -> None:
    tls = parser.add_argument_group("HTTPS and proxy mode (docs/tls-and-proxy.md)")
    add = tls.add_argument
    add("--tls", action="store_true", default=None,
        help="serve HTTPS (on --port, or on --tls-port beside HTTP) with a certificate from bgmock's local CA "
             "(`bgmock ca` prints the file clients trust)")
    add("--tls-port", type=flag_int, metavar="PORT", help="with --tls: HTTPS on PORT, plain HTTP stays on --port")
    add("--tls-dir", metavar="DIR", help="directory of bgmock's CA (default $XDG_DATA_HOME/bgmock or "
                                         "~/.local/share/bgmock; created once and kept)")
    add("--tls-host", action="append", default=[], metavar="NAME",
        help="a name the certificate is valid for besides localhost, 127.0.0.1, ::1 (repeatable)")
    add("--tls-cert", metavar="FILE", help="your own certificate (PEM) instead of one from bgmock's CA")
    add("--tls-key", metavar="FILE", help="the private key (PEM) of --tls-cert")
    add("--proxy", action="store_true", default=None,
        help="also be an HTTP proxy (HTTPS_PROXY=http://127.0.0.1:PORT) for api.aidc-ai.com, cn-api.aidc-ai.com "
             "and --intercept hosts; other hosts get 403, never forwarded")
    add("--intercept", action="append", default=[], metavar="HOST",
        help="with --proxy: another host the fake answers for (repeatable)")


def build_config(args: argparse.Namespace) -> Config:
    """Settings from --config, then flags; a ConfigError names what is wrong."""
    overrides: dict[str, Any] = {
        "host": args.host, "port": args.port, "strict": args.strict, "seed": args.seed,
        "task_duration": args.task_duration, "progression": args.progression,
        "polls_to_finish": args.polls_to_finish, "allow_any_scene": args.allow_any_scene,
        "catalog": args.catalog, "admin_token": args.admin_token, "clock": args.clock,
        "workers": args.workers, "state": args.state, "server": args.server,
        "state_prefix": args.state_prefix,
        "tls": args.tls, "tls_port": args.tls_port, "tls_dir": args.tls_dir, "tls_cert": args.tls_cert,
        "tls_key": args.tls_key, "proxy": args.proxy, "public_url": args.public_url,
    }
    if args.quiet:
        overrides["log_requests"] = False
    base = Config.from_file(args.config) if args.config else Config()
    values = base.as_dict()
    if args.app_key:
        keys = dict(values["app_keys"])
        for pair in args.app_key:
            key, sep, secret = pair.partition(":")
            if not sep or not key or not secret:
                missing = "the ':' between them" if not sep else "the key" if not key else "the secret"
                # quoted as typed, but a secret that was typed stays out of the message
                shown = pair if not (sep and secret) else f"{key}:***"
                raise ConfigError(f"--app-key {shown[:60]!r}: expected KEY:SECRET ({missing} is missing)")
            keys[key] = secret
        values["app_keys"] = keys
    if args.fault:
        try:
            values["faults"] = [*values["faults"], *(parse_fault_flag(f) for f in args.fault)]
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    _load_flags(args, values)
    if args.allow_host:
        values["allow_hosts"] = [*values["allow_hosts"], *args.allow_host]
    for key, flag in (("tls_hosts", args.tls_host), ("intercept_hosts", args.intercept)):
        if flag:
            values[key] = [*values[key], *flag]
    _check_state_flag(args.state)
    return Config.from_mapping(values, **overrides)


def _check_state_flag(state: str | None) -> None:
    """``--state``'s form, told with the flag (``--state VALUE: …``) before the settings are built;
    a config file's ``state`` is told as the setting (``… invalid configuration: state: VALUE: …``)."""
    if state:
        check_state(state)


def _load_flags(args: argparse.Namespace, values: dict[str, Any]) -> None:
    """--rate-limit, --global-rate-limit, --burst and --latency into the settings they stand for."""
    from .latency import parse_latency_flag

    limits = [
        _rate_limit(text, scope, flag, args.burst)
        for scope, flag, given in (("app_key", "--rate-limit", args.rate_limit),
                                   ("global", "--global-rate-limit", args.global_rate_limit))
        for text in given
    ]
    if limits:
        values["rate_limits"] = [*values["rate_limits"], *limits]
    elif args.burst is not None:
        raise ConfigError("--burst: give --rate-limit or --global-rate-limit too")
    if args.latency:
        latency: dict[str, str] = {}
        for text in args.latency:
            try:
                endpoint, spec = parse_latency_flag(text)
            except ValueError as exc:
                raise ConfigError(f"--latency {text[:60]!r}: {exc}") from None
            latency[endpoint] = spec
        values["latency"] = latency


def _rate_limit(text: str, scope: str, flag: str, burst: float | None) -> dict[str, Any]:
    """One ``--rate-limit``/``--global-rate-limit`` as a ``rate_limits`` entry; a ConfigError
    quotes the flag as typed (not as ``rate_limits[N]``, which the user never wrote)."""
    from .ratelimit import ENDPOINTS, parse_rate

    rate, _, endpoint = text.partition("@")
    try:
        parse_rate(rate)
    except ValueError as exc:
        raise ConfigError(f"{flag} {text[:40]!r}: {exc}") from None
    if endpoint.strip() and endpoint.strip() not in ENDPOINTS:
        raise ConfigError(f"{flag} {text[:40]!r}: ENDPOINT after '@' must be one of {', '.join(ENDPOINTS)}")
    limit: dict[str, Any] = {"rate": rate.strip(), "scope": scope, "endpoint": endpoint.strip() or "any"}
    if burst is not None:
        limit["burst"] = burst
    return limit


def _serve(args: argparse.Namespace) -> int:
    """SIGINT and SIGTERM stop it in every mode, within seconds (``lifecycle``): exit code 0 once
    it has said it is listening, 128 + the signal before (130 for Ctrl-C, 143 for SIGTERM) or
    when the stop had to be forced."""
    started = time.perf_counter()
    with Watchdog().installed() as watchdog:
        try:
            code = _serve_with(args, started, watchdog)
        except BaseException as exc:
            if watchdog.forced is None and not _caused_by_a_stop(exc):
                raise
            code = watchdog.exit_code(announced=False)  # the stop's doing: 128 + the signal, quietly
        return watchdog.final(code)


def _caused_by_a_stop(exc: BaseException) -> bool:
    """Whether a stop signal's ``Stopped`` is ``exc`` or behind it (``__cause__``/``__context__``):
    start-up code that wraps what it catches (``dataclasses``' ``__set_name__`` on Python 3.11, a
    library's own error) must not turn a stop into a traceback and exit code 1."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, Stopped):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _serve_with(args: argparse.Namespace, started: float, watchdog: Watchdog) -> int:
    config = build_config(args)
    if not is_loopback(config.host):
        if not config.admin_token:
            raise ConfigError(f"--host {config.host!r} exposes the fake beyond this machine: set --admin-token too")
        print(f"bgmock: warning: listening on {config.host}, reachable from other machines", file=sys.stderr)
    if config.server in ("threaded", "werkzeug") and config.workers > 1:
        raise ConfigError(f"--workers: --server {config.server} serves one process; use --server granian (or auto)")
    from .serving.tls import check as check_tls

    check_tls(config)
    _check_flag_needs(args, config)
    on_granian = config.workers > 1 or config.server == "granian"
    if on_granian and (config.proxy or config.tls_port is not None):
        flag = "--proxy" if config.proxy else "--tls-port"
        raise ConfigError(f"{flag}: granian (--workers) serves one port and no proxy; use the one-process server")
    from .storage.private_redis import others_may_share, serving_state

    if on_granian:
        from .serving.workers import granian_server

        granian_server(config)  # installed? (before a private Redis is started for nothing)
    sweep()  # every start, any mode: the folders of fakes killed with kill -9 (scratch.py)
    take_back = others_may_share(config)  # (before serving_state puts its private Redis in config.state)
    with serving_state(config, stopping=watchdog.stopping) as (config, state):
        if on_granian:
            from .serving.workers import serve_workers

            return serve_workers(config, state, started=started, watchdog=watchdog, take_back=take_back)
        return _serve_one(config, state, started, take_back=take_back, watchdog=watchdog)


#: Flags that mean nothing unless the settings (flags or --config) have something else: (the
#: flag's dest, the flag, whether it means something, why not). A flag given without its partner
#: is refused, as ``--tls-port`` without ``--tls`` is; the same settings from a --config file are
#: not (a file may be shared: its tls_dir with `bgmock ca --config`). Settings that need another
#: whatever their source are tls.check's.
_FLAG_NEEDS: tuple[tuple[str, str, Callable[[Config], bool], str], ...] = (
    ("tls_dir", "--tls-dir", lambda c: bool(c.tls or c.proxy),
     "has no effect without --tls or --proxy (bgmock's CA serves only those)"),
    ("polls_to_finish", "--polls-to-finish", lambda c: c.progression == "polls",
     "has no effect without --progression polls (tasks advance on the clock otherwise)"),
    ("task_duration", "--task-duration", lambda c: c.progression != "polls",
     "has no effect with --progression polls (tasks then advance on polls, not on the clock)"),
)


def _check_flag_needs(args: argparse.Namespace, config: Config) -> None:
    for dest, flag, meaningful, why in _FLAG_NEEDS:
        if getattr(args, dest) is not None and not meaningful(config):
            raise ConfigError(f"{flag}: {why}")


def _serve_one(config: Config, state: str, started: float, *, take_back: bool, watchdog: Watchdog) -> int:
    """One process on bgmock's threaded server (or werkzeug's, by name). ``take_back``: its
    start-up rules are taken back at its stop (``serving.workers.startup_rules``)."""
    from .dispatch import Dispatcher
    from .serving.workers import serving_backend, startup_rules
    from .serving.wsgi import WsgiApp

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    # The lean WSGI host (serving.py), not Flask: the same dispatcher, without Flask's
    # per-request machinery and its import time (bench/RESULTS.md, "Throughput under wrk").
    backend = serving_backend(config, take_back=take_back)
    with startup_rules(backend, take_back=take_back):  # taken back at a stop, or a start that fails
        return _serve_app(config, state, started, WsgiApp(Dispatcher(backend)), watchdog)


def _serve_app(config: Config, state: str, started: float, app: Any, watchdog: Watchdog) -> int:
    """``_serve_one``'s servers: listen, say so, serve until stopped (or, stopped already while
    starting, say nothing and end with 128 + the signal: ``Watchdog.stopped_while_starting``)."""
    from .serving.workers import listening_line

    server = beside = None
    try:
        server = _make_server(config, app)
        beside = _make_server(config, app, tls_port=True) if config.tls_port is not None else None
    except OSError as exc:
        flag, port = ("--tls-port", config.tls_port) if server is not None else ("--port", config.port)
        if server is not None:
            server.server_close()
        raise ConfigError(f"{flag} {port}: cannot listen on {config.host}:{port} ({exc.strerror or exc})") from None
    port = server.socket.getsockname()[1]
    # The socket listens already: a client acting on the line at once is queued, then answered.
    try:  # from the announcement on, a stop signal is a clean stop (exit code 0)
        if watchdog.stopped_while_starting():
            return watchdog.exit_code(announced=False)
        ready_ms = (time.perf_counter() - started) * 1000
        urls = _urls(config, port, beside)
        print(listening_line(config, urls=urls, port=port, state=state, ready_ms=ready_ms), flush=True)
        stopped = _serve_off_the_main_thread([server] if beside is None else [server, beside])
    except KeyboardInterrupt:  # between the line and the loops' start
        stopped = True
    finally:
        server.server_close()
        if beside is not None:
            beside.server_close()
    return 0 if stopped else 1


#: How often a serve loop looks for a shutdown (socketserver's default, 0.5 s, would add as much to a stop).
STOP_POLL_S = 0.1


def _serve_off_the_main_thread(servers: list[Any]) -> bool:
    """Serve until a stop signal (True), which ends every server's loop, or until a loop ends by
    itself (False: an error, which the thread printed); the main thread only waits.

    A stop signal's handler raises ``Stopped`` in the main thread wherever it is. When the main
    thread ran the serve loop, that could be inside ``Thread.start`` for a new connection, in
    the one spot where the exception leaves the thread's lock broken: it came out as that
    ``RuntimeError``, which socketserver logs and serves on, and the watchdog had to force the
    stop. So the loops run in threads of their own, started with the stop signals blocked (a
    thread keeps the mask it starts with, so only the main thread takes them), and the main
    thread waits in ``join``, where the exception is clean; then each loop is shut down."""
    import signal
    import threading

    mask = getattr(signal, "pthread_sigmask", None)  # POSIX; elsewhere signals reach the main thread anyway
    blocked = mask(signal.SIG_BLOCK, STOP_SIGNALS) if mask else None
    loops: dict[Any, threading.Thread] = {}  # server -> the thread running its loop, once started
    stopped = False
    try:
        for index, server in enumerate(servers):
            loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": STOP_POLL_S},
                                    name=f"bgmock-serve-{index}", daemon=True)
            loop.start()
            loops[server] = loop
        if mask:
            mask(signal.SIG_SETMASK, blocked)  # a signal that came meanwhile is taken here, inside the try
        while all(loop.is_alive() for loop in loops.values()):
            loops[servers[0]].join(STOP_POLL_S)
    except KeyboardInterrupt:
        stopped = True
    finally:
        if mask:
            mask(signal.SIG_SETMASK, blocked)
        for server in loops:
            server.shutdown()  # returns at once for a loop that has ended
    return stopped


def _urls(config: Config, port: int, beside: Any) -> str:
    """Where the fake listens, as the announcement line says it."""
    if beside is not None:
        https = host_port(config.host, beside.socket.getsockname()[1])
        return f"http://{host_port(config.host, port)} and https://{https}"
    return f"{'https' if config.tls else 'http'}://{host_port(config.host, port)}"


def _make_server(config: Config, app: Any, *, tls_port: bool = False) -> Any:
    """The one-process server: bgmock's threaded keep-alive server (mockserver/serving/httpd.py), or
    werkzeug's development server when asked for by name (it closes every connection).
    ``tls_port``: the HTTPS server beside the HTTP one (``--tls-port``)."""
    from .serving.tls import server_context

    https = config.tls and (tls_port or config.tls_port is None)
    port = config.tls_port if tls_port else config.port
    if config.server == "werkzeug":
        from werkzeug.serving import make_server

        from .serving.wsgi import werkzeug_handler

        if config.proxy:
            raise ConfigError("--proxy: --server werkzeug cannot be a proxy; use the default server")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        context = server_context(config) if https else None
        try:
            return make_server(config.host, port, app, threaded=True, ssl_context=context,
                               request_handler=werkzeug_handler(app.refusal))
        except SystemExit:  # werkzeug prints its own lines and exits 1 when the port is taken
            raise OSError(f"port {port} is in use") from None
    from .serving.httpd import make_server as make_threaded
    from .serving.proxy import Proxy
    from .serving.tls import Gate

    # With --proxy the port also takes plain HTTP (CONNECT arrives in the clear); --tls alone
    # makes it HTTPS only, and a plain request there is told to use https.
    gate = Gate(lambda: server_context(config), plain=config.proxy) if https else None
    dispatcher = app.dispatcher
    proxy = Proxy(lambda: config, dispatcher.refuse, dispatcher.shown) if config.proxy and not tls_port else None
    return make_threaded(
        config.host, port, app, refusal=app.refusal, max_body=config.max_body_bytes, tls=gate, proxy=proxy,
        body_memory=config.body_memory_bytes,
    )


COMMANDS: dict[str, Command] = {"serve": (_serve_args, _serve)}
HELP = {"serve": "run the fake on 127.0.0.1:8080 (bgmock serve --help lists every setting)"}


def _register_optional() -> None:
    """Subcommands that live in other modules, listed here by name (no discovery by convention)."""
    for module, names in (
        ("mockserver.openapi.cli", ("openapi",)),
        ("mockserver.serving.tls_cli", ("ca",)),
        ("contracts.cli", ("contract", "verify-provider")),
    ):
        try:
            mod = __import__(module, fromlist=["COMMANDS"])
        except ImportError:
            continue
        for name in names:
            if name in getattr(mod, "COMMANDS", {}):
                COMMANDS[name] = mod.COMMANDS[name]
                HELP[name] = mod.HELP.get(name, "")


def main(argv: Sequence[str] | None = None) -> int:
    _register_optional()
    parser = Parser(prog="bgmock", description="Offline fake of the Aidge Image Background Generation API.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = {}
    for name, (add_args, _run) in COMMANDS.items():
        commands[name] = sub.add_parser(name, help=HELP.get(name), description=HELP.get(name))
        add_args(commands[name])
    args = _parse(parser, commands, argv)
    try:
        code = COMMANDS[args.command][1](args)
        sys.stdout.flush()  # a reader that went away is found here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except ConfigError as exc:
        print(f"bgmock: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # stopped while starting: quietly, with the shell's code for the signal
        return exit_code_before_ready(exc)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""  # which file, when there is one
        print(f"bgmock: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _reader_gone() -> int:
    """Standard output's reader went away (``bgmock openapi | head``): stop without a word, as a
    Unix tool does, with the shell's code for SIGPIPE (141); standard output is pointed at
    /dev/null so the interpreter's last flush cannot complain either."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 128 + 13  # SIGPIPE


def _parse(
    parser: argparse.ArgumentParser, commands: dict[str, argparse.ArgumentParser], argv: Sequence[str] | None
) -> argparse.Namespace:
    """``parse_args``, except that an unknown flag of a subcommand is reported by that
    subcommand (argparse leaves it to the top-level parser, which names only COMMAND), with the
    flag it was probably meant to be."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = commands[args.command]
        flags = [flag for action in command._actions for flag in action.option_strings]
        unknown = [word.split("=", 1)[0] for word in extra if word.startswith("-")]
        close = difflib.get_close_matches(unknown[0], flags, n=1) if unknown else []
        hint = f" (did you mean {close[0]}?)" if close else ""
        command.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    return args


class _Version(argparse.Action):
    """``--version``, looked up only when asked for: ``importlib.metadata`` and the search for
    the distribution cost ~40 ms, a seventh of every ``bgmock serve``'s start (measured with
    ``python -c``)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **_: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0,
                         help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        try:
            print(f"bgmock {_version()}", flush=True)
        except BrokenPipeError:  # run while parsing, before main's own handler
            parser.exit(_reader_gone())
        parser.exit()


def _version() -> str:
    """The installed distribution's version (package metadata), so it cannot drift from pyproject.toml."""
    from importlib import metadata

    try:
        return metadata.version("bgmock")
    except metadata.PackageNotFoundError:  # pragma: no cover - a checkout on sys.path, not installed
        return "unknown (not installed)"


def entry() -> None:
    """The ``bgmock`` command (its console script comes through ``launch.entry``, which takes
    Ctrl-C before importing this module; ``python -m mockserver.cli`` comes here directly):
    ``main`` in a process of its own.

    Only here is the allocator tuned (``keep_large_blocks_mapped``: process-wide, so never when
    ``main`` runs inside another program, e.g. a test run; a pytest worker that had run
    ``main(["serve"])`` in-process once crashed in a later test's large read). A Ctrl-C before
    ``main`` reaches its command (while the other subcommands load, or the flags are read) ends
    it as one while it starts does: quietly, 130."""
    from .serving.bodies import keep_large_blocks_mapped
    from .serving.ctrl_c import take_ctrl_c

    take_ctrl_c()
    try:
        keep_large_blocks_mapped()
        code = main()
    except KeyboardInterrupt as exc:
        code = exit_code_before_ready(exc)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
