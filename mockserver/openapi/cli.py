"""``bgmock openapi``: print the document, or write it to a file."""

from __future__ import annotations

import argparse
import json
import sys

from ..parsing import parse_base_url
from .document import build_document


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", metavar="FILE", help="write the document to FILE instead of standard output")
    parser.add_argument(
        "--server",
        metavar="URL",
        default="http://127.0.0.1:8080",
        help="the fake's base URL written into the document (default http://127.0.0.1:8080)",
    )
    parser.add_argument("--strict", action="store_true", help="describe a fake started with --strict")


def run(args: argparse.Namespace) -> int:
    from ..config import ConfigError

    try:
        server = parse_base_url(args.server, "--server")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    text = json.dumps(build_document(server=server, strict=args.strict), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            raise ConfigError(f"--output {args.output}: cannot write it ({exc.strerror or exc})") from None
    else:
        sys.stdout.write(text)
    return 0


COMMANDS = {"openapi": (add_args, run)}
HELP = {"openapi": "print an OpenAPI 3.1 document of the fake (from schemas/) for Swagger UI, Prism or Schemathesis"}
