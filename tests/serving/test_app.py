"""``create_app`` is a real Flask app: bgmock's routes first, the user's own routes, hooks and
error handlers after (mockserver/serving/app.py; README "Extending the fake").

Driven with Flask's test client, and over a socket (bgmock's server and werkzeug's) for what
only a socket shows: transport faults.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from flask import Blueprint, Flask, abort, current_app, g, jsonify, request
from helpers import SUBMIT, submit_item
from werkzeug.serving import make_server

from mockserver.serving.app import create_app
from mockserver.serving.wsgi import WsgiApp
from mockserver.testing.live import LiveServer

SETTINGS = {"log_requests": False, "clock": "manual", "task_duration": 0, "seed": 3}
EVIL = "https://evil.example"


def sibling() -> Blueprint:
    """A user's sibling API: what a client calls beside the image API (an upload, say)."""
    bp = Blueprint("sibling", __name__, url_prefix="/oss")

    @bp.post("/upload")
    def upload():
        return jsonify(url="https://example.com/p.jpg", by=g.get("caller"))

    @bp.get("/tasks")
    def tasks():  # a view reaching the fake: app.extensions["bgmock"] is its WSGI host
        return jsonify(count=len(current_app.extensions["bgmock"].backend.tasks()))

    @bp.get("/missing")
    def missing():
        abort(404)

    @bp.get("/broken")
    def broken():
        raise LookupError("the user's own bug")

    return bp


def extended(**settings) -> Flask:
    app = create_app({**SETTINGS, **settings})
    app.register_blueprint(sibling())
    return app


def _submit(client) -> dict:
    return client.post(SUBMIT, json={"requestParams": [submit_item()]}).get_json()


# -- the user's routes ------------------------------------------------------------------------
def test_a_users_blueprint_answers_beside_the_fake():
    client = extended().test_client()
    assert client.post("/oss/upload").get_json()["url"] == "https://example.com/p.jpg"
    assert _submit(client)["success"] is True
    assert client.get("/oss/tasks").get_json() == {"count": 1}  # the view saw the fake's state


def test_a_plain_app_route_works_too():
    app = create_app(SETTINGS)

    @app.get("/hello/<name>")
    def hello(name):
        return {"hello": name}

    assert app.test_client().get("/hello/bgmock").get_json() == {"hello": "bgmock"}


def test_before_and_after_request_hooks_run_for_the_users_routes_only():
    app = extended()
    seen: list[str] = []

    @app.before_request
    def who():
        seen.append(request.path)
        if request.headers.get("X-Caller") is None:
            return jsonify(error="who are you?"), 401
        g.caller = request.headers["X-Caller"]
        return None

    @app.after_request
    def mark(response):
        response.headers["X-User-Hook"] = "1"
        return response

    client = app.test_client()
    assert client.post("/oss/upload").status_code == 401
    answer = client.post("/oss/upload", headers={"X-Caller": "tests"})
    assert answer.get_json()["by"] == "tests" and answer.headers["X-User-Hook"] == "1"
    fake = client.post(SUBMIT, json={"requestParams": [submit_item()]})  # no X-Caller: bgmock's route
    assert fake.get_json()["success"] is True and "X-User-Hook" not in fake.headers
    assert seen == ["/oss/upload", "/oss/upload"]


def test_wsgi_middleware_on_app_wsgi_app_sees_every_request():
    """What README says to do to see bgmock's requests too: Flask's own middleware idiom."""
    app = extended()
    seen: list[str] = []
    inner = app.wsgi_app

    def middleware(environ, start_response):
        seen.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    app.wsgi_app = middleware
    client = app.test_client()
    assert _submit(client)["success"] is True
    assert client.post("/oss/upload").status_code == 200
    assert client.get("/nowhere").status_code == 404
    assert seen == [SUBMIT, "/oss/upload", "/nowhere"]


def test_a_users_error_handlers_answer_for_their_views():
    app = extended()

    @app.errorhandler(LookupError)
    def lookup(exc):
        return {"userError": str(exc)}, 418

    @app.errorhandler(404)
    def not_found(exc):
        return {"userNotFound": True}, 404

    client = app.test_client()
    assert client.get("/oss/broken").status_code == 418
    assert client.get("/oss/broken").get_json() == {"userError": "the user's own bug"}
    assert client.get("/oss/missing").get_json() == {"userNotFound": True}  # the view's abort(404)
    # A path nobody serves is still the gateway's: the user's 404 handler is for their views.
    assert client.get("/nowhere").get_json()["code"] == "InvalidApiPath"


# -- what stays bgmock's ----------------------------------------------------------------------
@pytest.mark.parametrize("user_routes", [False, True], ids=["plain", "extended"])
@pytest.mark.parametrize("path", ["/nowhere", "/oss", "/oss/upload/more", "/"])
def test_unknown_paths_keep_the_invalid_api_path_envelope(user_routes, path):
    app = extended() if user_routes else create_app(SETTINGS)
    client = app.test_client()
    answer = client.get(path)
    assert answer.status_code == 404 and answer.mimetype == "application/json"
    assert answer.get_json()["code"] == "InvalidApiPath"
    journal = client.get("/__admin/requests").get_json()["requests"]
    assert journal[0]["path"] == path and journal[0]["status"] == 404 and journal[0]["endpoint"] is None


def test_a_wrong_method_on_bgmocks_path_is_bgmocks_405_on_the_users_flasks():
    client = extended().test_client()
    ours = client.open("/__admin/health", method="PROPFIND")
    assert ours.status_code == 405 and ours.get_json()["code"] == "MethodNotAllowed"
    theirs = client.get("/oss/upload")  # the user's POST-only route: Flask's answer, as they wrote it
    assert theirs.status_code == 405 and "POST" in theirs.headers["Allow"]


def test_bgmocks_routes_come_before_a_users_catch_all():
    app = create_app(SETTINGS)

    @app.route("/<path:anything>", methods=["GET", "POST"])
    def everything(anything):
        return {"caughtBy": "user", "path": anything}

    client = app.test_client()
    assert _submit(client)["success"] is True
    assert client.get("/__admin/health").get_json()["status"] == "ok"
    assert client.get("/elsewhere").get_json() == {"caughtBy": "user", "path": "elsewhere"}


@pytest.mark.parametrize("path", ["/__admin/health", SUBMIT, "/rest" + SUBMIT])
def test_a_route_on_one_of_bgmocks_paths_is_refused_not_silently_dead(path):
    app = create_app(SETTINGS)
    with pytest.raises(ValueError, match="one of bgmock's own paths"):
        app.add_url_rule(path, "mine", lambda: "never")
    bp = Blueprint("clash", __name__, url_prefix=path.rsplit("/", 1)[0])
    bp.add_url_rule("/" + path.rsplit("/", 1)[1], "mine", lambda: "never")
    with pytest.raises(ValueError, match="one of bgmock's own paths"):
        app.register_blueprint(bp)


def test_extensions_bgmock_is_the_host_the_app_sends_bgmocks_requests_to():
    """Read, not decoration: swapping the entry swaps who answers bgmock's paths."""
    app = create_app(SETTINGS)
    other = create_app({**SETTINGS, "seed": 99}).extensions["bgmock"]
    assert isinstance(other, WsgiApp)
    app.extensions["bgmock"] = other
    client = app.test_client()
    _submit(client)
    assert len(other.backend.tasks()) == 1
    assert not any(key.startswith("BGMOCK_") for key in app.config)


# -- the guard (origin.py) through the Flask app ------------------------------------------------
def test_the_host_guard_covers_the_users_routes_too():
    client = extended().test_client()
    refused = client.post("/oss/upload", headers={"Host": "rebound.evil.example", "X-Caller": "x"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "ForbiddenHost"
    journal = client.get("/__admin/requests").get_json()["requests"]
    assert journal[0]["path"] == "/oss/upload" and journal[0]["gateway"] == "ForbiddenHost"
    assert extended(allow_hosts=["fake.test"]).test_client().post(
        "/oss/upload", headers={"Host": "fake.test"}).status_code == 200


def test_the_origin_guard_protects_bgmocks_admin_api_not_the_users_routes():
    client = extended().test_client()
    refused = client.post("/__admin/reset", headers={"Origin": EVIL})
    assert refused.status_code == 403 and refused.get_json()["code"] == "ForbiddenOrigin"
    refused = client.post("/__admin/reset", headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    # The user's routes are theirs to guard (README "Extending the fake").
    assert client.post("/oss/upload", headers={"Origin": EVIL}).status_code == 200


# -- over a socket: transport faults -----------------------------------------------------------
@pytest.fixture(params=["bgmock", "werkzeug"])
def served(request) -> Iterator[str]:
    """An extended app over a socket: bgmock's own server (what ``running()`` uses) or werkzeug's."""
    if request.param == "bgmock":
        with LiveServer(SETTINGS) as live:
            live.app.register_blueprint(sibling())
            yield live.url
        return
    server = make_server("127.0.0.1", 0, extended(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_transport_faults_and_the_users_routes_over_a_socket(served):
    assert requests.post(served + "/oss/upload", timeout=5).json()["url"] == "https://example.com/p.jpg"
    rule = requests.post(served + "/__admin/faults", json={"transport": "reset", "times": 1}, timeout=5)
    assert rule.ok, rule.text
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(served + SUBMIT, json={"requestParams": [submit_item()]}, timeout=5)
    truncated = {"Prefer": "transport=truncated"}
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.post(served + SUBMIT, json={"requestParams": [submit_item()]}, headers=truncated, timeout=5)
    assert requests.post(served + "/oss/upload", timeout=5).ok  # the user's route is untouched
    assert requests.post(served + SUBMIT, json={"requestParams": [submit_item()]}, timeout=5).json()["success"]
