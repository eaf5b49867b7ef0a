"""``bgmock contract`` and ``bgmock verify-provider`` (registered by name in mockserver/cli.py).

Exit codes: 0 every obligation kept (every answer matches), 1 something broken (drift),
2 a usage or setup error (bad flag, an adapter path that does not import, a fake that cannot
be reached), always with a one-line message and no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver.parsing import flag_int, flag_number, flag_signed_int, parse_base_url

from .settings import PROFILES, Settings, SettingsError

if TYPE_CHECKING:  # the kit's modules are imported when it runs: they need its extra's packages
    from .adapter import AdapterFactory
    from .runner import Result

_BOUNDS = (
    # flag, setting, help
    ("--call-bound", "call_bound_s", "C1-C8: seconds one submit call may take, retries included"),
    (
        "--transport-bound",
        "transport_bound_s",
        "C9: seconds each transport probe must end within (the fake's hang too)",
    ),
    ("--poll-bound", "poll_bound_s", "C10: seconds a wait on a never-ending task must give up within"),
    ("--poll-min-interval", "poll_min_interval_s", "C11: least seconds between two polls of one task"),
    ("--poll-slowdown", "poll_slowdown", "C11: after a 501 the next poll waits this many times the usual gap"),
    ("--retry-min-gap", "retry_min_gap_s", "C7/C12: least seconds before a retry"),
    ("--retry-growth", "retry_growth", "C7/C12: over 3+ attempts, the last wait is at least this many times the first"),
    ("--shrink-budget", "shrink_budget_s", "per search round: seconds to find more failures and shrink them"),
)


def _usage(message: str, command: str = "contract") -> int:
    print(f"bgmock {command}: {message}", file=sys.stderr)
    return 2


def _writable(path: str | None, flag: str) -> str | None:
    """A report path whose folder exists, checked before a long run rather than after."""
    if path is None:
        return None
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        return f"{flag} {path}: folder {folder} does not exist"
    return None


# -- bgmock contract ---------------------------------------------------------------------------
def contract_args(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--adapter",
        metavar="MODULE:FACTORY",
        help="your adapter factory, e.g. myapp.bg_adapter:make_adapter (imported from the current folder)",
    )
    which.add_argument(
        "--adapter-cmd",
        metavar="CMD",
        help="a command (run through the shell, in the current folder) speaking the JSON-lines adapter "
        "protocol on stdin/stdout, for a client in any language (docs/contracts.md, schemas/adapter-protocol.json)",
    )
    parser.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        help="a preset of the settings below: full (default) or smoke, for every commit (10 examples, "
        "codes 501 and 700, no probe that waits out the client's own timeouts); flags override it",
    )
    parser.add_argument("--examples", type=flag_int, metavar="N", help="Hypothesis examples for C1-C8 (default 100)")
    parser.add_argument(
        "--codes", metavar="CODES", help="only these documented resCodes in scenarios and probes, e.g. 501,700"
    )
    parser.add_argument(
        "--only",
        metavar="IDS",
        help="check only these obligations, e.g. C1,C4 (default: every obligation)",
    )
    parser.add_argument("--seed", type=flag_signed_int, help="fix the search: same seed, same examples")
    parser.add_argument(
        "--derandomize", action="store_true", default=None, help="a fixed search, as in CI (default when CI is set)"
    )
    parser.add_argument("--report", metavar="FILE", help="write the verdicts as JSON")
    parser.add_argument(
        "--junit", metavar="FILE", help="write the verdicts as JUnit XML (one test case per obligation)"
    )
    parser.add_argument(
        "--html", metavar="FILE", help="write the report as one self-contained HTML page (images, stderr)"
    )
    parser.add_argument("--base-url", metavar="URL", help="use this running fake instead of starting one")
    parser.add_argument("--app-key", metavar="KEY", help="with --base-url: the key pair the fake accepts")
    parser.add_argument("--app-secret", metavar="SECRET", help="with --base-url: the secret of --app-key")
    parser.add_argument("--admin-token", metavar="TOKEN", help="with --base-url: the fake's admin token, if it has one")
    parser.add_argument(
        "--max-attempts", type=flag_int, metavar="N", help="C7/C12: attempts allowed for one call (default 6)"
    )
    for flag, name, text in _BOUNDS:
        parser.add_argument(
            flag, type=flag_number, dest=name, metavar="S", help=f"{text} (default {getattr(Settings(), name)})"
        )
    parser.add_argument("--quiet", action="store_true", help="no progress lines while the kit runs")


def contract(args: argparse.Namespace) -> int:
    from .adapter import AdapterLoadError
    from .deps import INSTALL_HINT, is_kit_package

    try:
        from .fake import FakeError
        from .report import Progress
        from .runner import Run
        from .search import cache_dir, hypothesis_home
    except ModuleNotFoundError as exc:
        if not is_kit_package(exc):
            raise
        return _usage(f"the contract kit needs the package {exc.name!r}, which is not installed: {INSTALL_HINT}")
    try:
        settings = _contract_settings(args)
    except SettingsError as exc:
        return _usage(str(exc))
    problem = _contract_flags_problem(args)
    if problem:
        return _usage(problem)
    try:
        with hypothesis_home(cache_dir()):  # not .hypothesis/ in the user's current folder
            result = Run(
                _adapter_factory(args),
                settings,
                base_url=args.base_url,
                app_key=args.app_key,
                app_secret=args.app_secret,
                admin_token=args.admin_token,
                progress=Progress(enabled=not args.quiet),
            ).execute()
    except (AdapterLoadError, SettingsError, FakeError) as exc:
        return _usage(str(exc))
    print(result.text())
    _write_reports(result, args)
    return 0 if result.ok else 1


def _contract_settings(args: argparse.Namespace) -> Settings:
    """The profile and the flags given, as ``Settings`` (a SettingsError names a bad one)."""
    values: dict[str, Any] = {
        "profile": args.profile,
        "codes": args.codes,
        "examples": args.examples,
        "only": args.only,
        "seed": args.seed,
        "derandomize": args.derandomize,
        "max_attempts": args.max_attempts,
    }
    values.update({name: getattr(args, name) for _, name, _ in _BOUNDS})
    return Settings.make(**{k: v for k, v in values.items() if v is not None})


def _contract_flags_problem(args: argparse.Namespace) -> str | None:
    """Flags that do not go together, a base URL that is not one, or a report that could not be
    written: said before a long run."""
    if args.base_url is not None:
        try:
            parse_base_url(args.base_url, "--base-url")
        except ValueError as exc:
            return str(exc)
    if (args.app_key is None) != (args.app_secret is None):
        return "--app-key and --app-secret go together"
    if args.base_url is None:  # flags about a fake someone started: the kit's own needs none of them
        for flag, value, why in (
            ("--app-key", args.app_key, "the kit makes its own key pair for the fake it starts"),
            ("--admin-token", args.admin_token, "the fake the kit starts has no admin token"),
        ):
            if value is not None:
                return f"{flag} needs --base-url ({why})"
    for path, flag in ((args.report, "--report"), (args.junit, "--junit"), (args.html, "--html")):
        problem = _writable(path, flag)
        if problem:
            return problem
    return None


def _adapter_factory(args: argparse.Namespace) -> AdapterFactory:
    """The adapter factory of ``--adapter-cmd`` (a process) or ``--adapter`` (a Python module)."""
    if args.adapter_cmd is not None:
        from .command_adapter import command_factory

        return command_factory(args.adapter_cmd)
    from .adapter import load_factory

    return load_factory(args.adapter)


def _write_reports(result: Result, args: argparse.Namespace) -> None:
    """The JSON, JUnit and HTML reports asked for."""
    if args.report:
        result.write_json(args.report)
    if args.junit:
        result.write_junit(args.junit)
    if args.html:
        from .report_html import write_html

        write_html(result, args.html)


# -- bgmock verify-provider --------------------------------------------------------------------
def provider_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", required=True, metavar="URL", help="the provider, e.g. https://api.aidc-ai.com or a fake"
    )
    parser.add_argument(
        "--app-key", default="", metavar="KEY", help="your app key (calls are signed with v2 when given)"
    )
    parser.add_argument("--app-secret", default="", metavar="SECRET", help="the secret of --app-key")
    parser.add_argument(
        "--model-num", metavar="ID", help="scene for the one submit (default: the first the scene query returns)"
    )
    parser.add_argument(
        "--timeout", type=flag_number, default=30.0, metavar="S", help="seconds to wait for each answer (default 30)"
    )
    parser.add_argument(
        "--poll-interval",
        type=flag_number,
        default=None,
        metavar="S",
        help="first wait between polls of the result query, growing to 5 s (default 1)",
    )
    parser.add_argument(
        "--poll-timeout",
        type=flag_number,
        default=None,
        metavar="S",
        help="give up polling the result query after this many seconds (default 120)",
    )
    parser.add_argument("--report", metavar="FILE", help="write the steps and verdicts as JSON")


def verify_provider(args: argparse.Namespace) -> int:
    from .provider import POLL_INTERVAL_S, POLL_TIMEOUT_S
    from .provider import verify_provider as verify

    if bool(args.app_key) != bool(args.app_secret):
        return _usage("--app-key and --app-secret go together", "verify-provider")
    problem = _writable(args.report, "--report")
    if problem:
        return _usage(problem, "verify-provider")
    try:
        result = verify(
            args.base_url,
            args.app_key,
            args.app_secret,
            model_num=args.model_num,
            timeout=args.timeout,
            poll_interval=POLL_INTERVAL_S if args.poll_interval is None else args.poll_interval,
            poll_timeout=POLL_TIMEOUT_S if args.poll_timeout is None else args.poll_timeout,
        )
    except ValueError as exc:
        return _usage(str(exc), "verify-provider")
    print(result.text())
    if args.report:
        Path(args.report).write_text(
            json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return result.exit_code


COMMANDS = {"contract": (contract_args, contract), "verify-provider": (provider_args, verify_provider)}
HELP = {
    "contract": "check a client (through its adapter) against every obligation of the contract kit",
    "verify-provider": "check a provider's answers (the real service or a fake) against the schemas",
}
