"""What ``create_app``'s Flask app costs per request over ``serving.WsgiApp`` (what ``bgmock serve`` runs).

    python bench/bench_app.py            # print only (no RESULTS.md section: figures are CPU-bound and small)

Each request is a WSGI call without a socket (the host's own cost, not the network's), CPU
microseconds per call (``time.process_time``), median and min–max of ``--repeats`` batches:

- ``GET /__admin/health`` (a cheap route, so a host's overhead shows) and a submit with a URL
  item (the API's hot path), on the lean host ``WsgiApp``, on ``create_app``'s Flask app as it
  comes, and on that app with a user blueprint registered (every bgmock path then checks it is
  bgmock's before the dispatcher runs);
- a user's route on that app (Flask's full request dispatch), and the same view on a bare
  Flask app, for reference: what a user's own route costs is Flask's.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
from collections.abc import Callable, Iterable
from typing import Any

from common import per_call_us  # noqa: E402 - bench/common.py (this folder is on sys.path)
from flask import Blueprint, Flask

from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.serving.app import create_app
from mockserver.serving.wsgi import WsgiApp

SETTINGS = {"log_requests": False, "clock": "manual", "task_duration": 0, "seed": 1, "journal_size": 100,
            "max_tasks": 100}
SUBMIT = "/ai/image/background/generation/scenario"
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}
BODY = json.dumps({"requestParams": [ITEM]}).encode()


def environ(method: str, path: str, body: bytes = b"") -> dict[str, Any]:
    env = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1:8080",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    if body:
        env.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)))
    return env


def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    if not status.startswith("200"):
        raise SystemExit(f"unexpected answer {status}")


def call(app: Callable[..., Iterable[bytes]], method: str, path: str, body: bytes = b"") -> Callable[[], None]:
    def once() -> None:
        answer = app(environ(method, path, body), _start)
        b"".join(answer)
        close = getattr(answer, "close", None)
        if close:
            close()
    return once


def user_blueprint() -> Blueprint:
    bp = Blueprint("sibling", __name__, url_prefix="/oss")

    @bp.get("/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    return bp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    lean = WsgiApp(Dispatcher(Backend(Config.from_mapping(SETTINGS))))
    plain = create_app(SETTINGS)
    extended = create_app(SETTINGS)
    extended.register_blueprint(user_blueprint())
    bare = Flask("bare")
    bare.register_blueprint(user_blueprint())

    rows = [
        ("GET /__admin/health  WsgiApp (bgmock serve)", call(lean, "GET", "/__admin/health")),
        ("GET /__admin/health  create_app", call(plain, "GET", "/__admin/health")),
        ("GET /__admin/health  create_app + blueprint", call(extended, "GET", "/__admin/health")),
        ("POST submit          WsgiApp (bgmock serve)", call(lean, "POST", SUBMIT, BODY)),
        ("POST submit          create_app", call(plain, "POST", SUBMIT, BODY)),
        ("POST submit          create_app + blueprint", call(extended, "POST", SUBMIT, BODY)),
        ("GET /oss/ping (user) create_app + blueprint", call(extended, "GET", "/oss/ping")),
        ("GET /oss/ping (user) bare Flask, reference", call(bare, "GET", "/oss/ping")),
    ]
    print(f"CPU µs per WSGI call, median (min–max) of {args.repeats} batches of {args.calls}")
    for name, fn in rows:
        figures = per_call_us(fn, args.calls, args.repeats)
        print(f"  {name:46s} {statistics.median(figures):8.1f}  ({min(figures):.1f}–{max(figures):.1f})")


if __name__ == "__main__":
    main()
