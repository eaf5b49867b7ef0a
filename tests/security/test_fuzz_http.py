"""A Hypothesis fuzz over raw HTTP: whatever arrives, the answer is a documented envelope.

Arbitrary methods, paths (traversal attempts included), query strings, headers, content types
and bodies (JSON values, random bytes, huge strings, 10 000 levels of nesting, invalid UTF-8,
base64 of things that are not images, images whose bytes lie about their format) go to the
lenient (default) fake, through Flask's test client and over a real socket. Every answer must
be one of the documented shapes (schemas/*-response.json, error-response.json,
gateway-error.json; images from the image routes), with a documented status (200, 201 from
the admin API, 404/405 from routing); never HTML, never a traceback, never the fake's own
"internal error" safety net; and the fake keeps serving afterwards.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from helpers import QUERY, SCENES, SUBMIT, b64, client, make_image, submit, submit_item
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.serving import make_server

from mockserver import running
from mockserver.backend import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.serving.wsgi import WsgiApp
from mockserver.spec import load_spec

SPEC = load_spec()
ENVELOPES = {
    name: SPEC.validator(name)
    for name in (
        "submit-response.json", "query-response.json", "scene-query-response.json",
        "error-response.json", "gateway-error.json",
    )
}
GATEWAY = ENVELOPES["gateway-error.json"]
FUZZ = settings(
    deadline=None,
    # no_errors_logged spans all examples on purpose: it collects every ERROR of the whole run.
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)

# -- what to send -------------------------------------------------------------------------------

API_PATHS = [SUBMIT, QUERY, SCENES]
KNOWN_PATHS = [
    *API_PATHS, *("/rest" + p for p in API_PATHS), "/", "/rest", "/ai/image/background/generation",
    "/__admin/health", "/__admin/faults", "/__admin/faults/rule-1", "/__admin/requests?limit=3",
    "/__admin/tasks", "/__admin/clock", "/__admin/config",
    "/__bgmock/covers/mod001.png", "/__bgmock/results/713f0cb3-f22f-490b-b3b7-3684f73bf2d6/0/0.png",
]
TRAVERSALS = [
    "/__bgmock/covers/../../../../etc/passwd", "/__bgmock/covers/..%2f..%2f..%2fetc%2fpasswd.png",
    "/__bgmock/covers/%2e%2e/%2e%2e/etc/passwd.png", "/__bgmock/covers/....//....//etc/passwd.png",
    "/__bgmock/results/..%2f..%2f..%2fetc%2fpasswd/0/0.png", "/__bgmock/../pyproject.toml",
    "/__bgmock/covers/%252e%252e%252fetc%252fpasswd.png", "//etc/passwd", "/..%5c..%5cwindows%5cwin.ini",
    "/__bgmock/covers/mod001.png%00.txt", "/static/../schemas/config.json", "/schemas/config.json",
    "/fixtures/scenes.json", "/mockserver/serving/app.py", "/.git/config", "/__bgmock/covers/%C0%AE%C0%AE/passwd.png",
]
CONTENT_TYPES = [
    None, "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "text/plain",
    "application/merge-patch+json", "image/png", "application/xml", "*/*", "application/json;;;",
]
HEADER_NAMES = [
    "Accept", "Accept-Encoding", "X-Forwarded-For", "X-Forwarded-Host", "Authorization", "Cookie",
    "X-Bgmock-Admin-Token", "User-Agent", "Origin", "X-Request-Id", "Content-Encoding", "Range",
]
segment = st.text(max_size=24).map(lambda s: quote(s, safe=""))
paths = st.one_of(
    st.sampled_from(KNOWN_PATHS),
    st.sampled_from(TRAVERSALS),
    st.lists(segment, max_size=5).map(lambda parts: "/" + "/".join(parts)),
    st.tuples(st.sampled_from(KNOWN_PATHS), segment).map(lambda t: t[0].split("?")[0] + "/" + t[1]),
)
methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "CONNECT"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-_", min_size=1, max_size=12),
)
header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)
#: Prism's Prefer header, but never a transport fault or a real delay (those misbehave on
#: purpose): codes and delays spelled in ways int() chokes on.
prefer = st.one_of(  # no letters after "code=", so no second key (a real delay) can form
    st.text(alphabet="0123456789\u00b2\u00b3\u00b9 ,;=\"", max_size=30).map(lambda t: "code=" + t),
    st.sampled_from(["\u00b2", "\u00bd", "-5", "1.5", "9" * 10, "9" * 5000, "", "abc"]).map(lambda t: "delay=" + t),
    st.just("code=" + "9" * 5000),
)
headers = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=4) | st.builds(
    lambda h, p: {**h, "Prefer": p}, st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=2), prefer
)
query_keys = st.sampled_from(["limit", "taskId", "app_key", "sign", "timestamp", "sign_method", "access_token"])
query_values = st.text(max_size=40) | st.sampled_from(["\u00b2", "9" * 5000, "-1", "1e999", "0x10"])
queries = st.dictionaries(query_keys | st.text(max_size=16), query_values, max_size=4)
#: Whole-number floats (5.0) are integers to JSON Schema: every reader after it must take them.
whole_floats = st.integers(-3, 3000).map(float) | st.sampled_from([5.0, 800.0, 1000.0, 750.0, 2.0, 1e20])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | whole_floats
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


def _lying_images() -> list[bytes]:
    """Bytes whose first bytes claim one format while the rest is another, or nothing at all."""
    jpeg, png = make_image("JPEG", 600, 600), make_image("PNG", 600, 600)
    return [
        b"\x89PNG\r\n\x1a\n" + jpeg[8:],  # PNG magic on a JPEG
        b"\xff\xd8\xff" + png[3:],  # JPEG magic on a PNG
        b"RIFF\x00\x00\x00\x00WEBP" + png,  # a WEBP container around a PNG
        b"BM" + b"\0" * 60,  # a BMP header of zeros
        b"GIF89a" + png[6:],
        png[:33],  # a PNG header with no pixels
        make_image("GIF", 600, 600), make_image("TIFF", 600, 600),
    ]


def _item(image: str | None = None, **fields: Any) -> dict[str, Any]:
    item = submit_item(**fields)
    if image is not None:
        item["imgBase64"] = image
    return item


def _submit_body(items: list[dict[str, Any]]) -> bytes:
    return json.dumps({"requestParams": items}).encode()


submit_bodies = st.one_of(
    # base64 of things that are not images, or not allowed ones, or lying ones
    st.binary(max_size=600).map(lambda raw: _submit_body([_item(b64(raw))])),
    st.sampled_from(range(8)).map(lambda i: _submit_body([_item(b64(_lying_images()[i]))])),
    st.sampled_from(range(8)).map(lambda i: _submit_body([_item("data:image/jpeg;base64," + b64(_lying_images()[i]))])),
    # item fields replaced by arbitrary JSON values
    st.dictionaries(st.sampled_from(["modelNum", "width", "height", "imageNum", "needLayout", "productTitle",
                                     "imageFileUrl", "imgBase64"]), json_values, max_size=4)
    .map(lambda over: _submit_body([{**submit_item(), **over}])),
    st.just(_submit_body([submit_item()])),
    # requestParams as a string that is not JSON, or too many items
    st.text(max_size=60).map(lambda t: json.dumps({"requestParams": t}).encode()),
    st.integers(11, 3000).map(lambda n: _submit_body([{"modelNum": "mod001"}] * n)),
)
bodies = st.one_of(
    st.just(b""),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.integers(1_000, 2_000_000).map(lambda n: b'{"requestParams": "' + b"A" * n + b'", "taskId": "x"}'),
    st.integers(1_000, 200_000).map(lambda n: b"taskId=" + b"%41" * n),
    st.integers(30, 10_000).map(lambda d: b"[" * d + b"]" * d),
    st.integers(30, 10_000).map(lambda d: b'{"requestParams": ' + b"[" * d + b"]" * d + b"}"),
    st.integers(30, 10_000).map(lambda d: json.dumps({"requestParams": "[" * d + "]" * d}).encode()),
    st.binary(max_size=40).map(lambda b: b'{"requestParams": "\xff\xfe\xc3' + b + b'"}'),
    st.binary(max_size=40).map(lambda b: b"requestParams=%ff%fe" + b),
    st.just(b'{"requestParams": NaN, "taskId": Infinity}'),
    st.just(b'{"count": 1e999, "sceneType": -1e999}'),
    st.just(b'{"taskId": ' + b"9" * 5000 + b"}"),
    # every integer the API reads, as a whole-number float
    st.fixed_dictionaries({}, optional={k: whole_floats for k in ("count", "sceneType", "categoryType")})
    .map(lambda d: json.dumps(d).encode()),
    st.fixed_dictionaries({}, optional={k: whole_floats for k in ("width", "height", "imageNum")})
    .map(lambda over: _submit_body([{**submit_item(), **over}])),
    st.just(b"\x0b\x0c"),
    submit_bodies,
)
requests_ = st.fixed_dictionaries({
    "method": methods, "path": paths, "query": queries, "headers": headers,
    "content_type": st.one_of(st.sampled_from(CONTENT_TYPES), header_values), "body": bodies,
})

# -- what must come back ------------------------------------------------------------------------


def check_answer(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """The answer is documented: a JSON envelope of a known shape, or an image from an image route."""
    where = f"{method} {path[:120]!r} -> {status} {content_type!r} {body[:200]!r}"
    assert b"Traceback" not in body and b"<html" not in body.lower() and b"<!doctype" not in body.lower(), where
    if content_type.startswith("image/"):
        assert status == 200 and path.startswith("/__bgmock/") and method in ("GET", "HEAD"), where
        assert body[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb") or method == "HEAD", where
        return
    assert content_type.startswith("application/json"), where
    assert status != 500, where
    if method != "HEAD":
        # The safety net's envelope is a bug whatever HTTP status carried it (it rides on 200).
        assert not _internal_error(body), where
    if method == "HEAD":
        assert status in (200, 201, 401, 403, 404, 405) or (status == 400 and path.startswith("/__admin/")), where
        return
    answer = json.loads(body)
    if status in (401, 404, 405):
        assert not list(GATEWAY.iter_errors(answer)), where
        return
    if status == 403:  # a web page's Origin on an admin change, or a Host not the fake's (origin.py)
        assert answer.get("code") in ("ForbiddenOrigin", "ForbiddenHost"), where
        assert not list(GATEWAY.iter_errors(answer)), where
        return
    if status == 400:  # the admin API refuses bad input with HTTP 400 and the 700 envelope
        assert path.startswith("/__admin/") and answer.get("resCode") == 700, where
        assert not list(ENVELOPES["error-response.json"].iter_errors(answer)), where
        return
    assert status in (200, 201), where
    assert isinstance(answer, dict), where
    if path.startswith("/__admin/") and "success" not in answer and "type" not in answer:
        return  # an admin answer (schemas/admin.json; its shapes are Schemathesis' business)
    shapes = [name for name, validator in ENVELOPES.items() if validator.is_valid(answer)]
    assert shapes, where


def _internal_error(body: bytes) -> bool:
    """Whether an answer is the fake's safety net (resMessage "system error: internal error in
    bgmock"); an injected 500 (a fault rule, ``Prefer: code=500``) says "system error" alone."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    message = answer.get("resMessage") if isinstance(answer, dict) else None
    return isinstance(message, str) and "internal error" in message


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def no_errors_logged() -> Iterator[None]:
    """The fake logs an ERROR only from its safety nets (a bug); the fuzz must not reach one."""
    handler = _Errors()
    logger = logging.getLogger("bgmock")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records[:3]]


# -- through Flask's test client ------------------------------------------------------------------

TEST_CLIENT_CASES = 300


@pytest.fixture(scope="module")
def fuzzed() -> FlaskClient:
    return client(max_body_bytes=1_048_576)


@settings(FUZZ, max_examples=TEST_CLIENT_CASES)
@given(request=requests_)
def test_any_request_through_the_test_client_gets_a_documented_answer(
    fuzzed: FlaskClient, no_errors_logged: None, request: dict[str, Any]
) -> None:
    path, _, inline = request["path"].partition("?")
    if path.startswith("//"):  # the test client would read it as a host name; the socket test sends it
        path = "/" + path.lstrip("/")
    query = urlencode(request["query"]) + ("&" + inline if inline else "")
    headers = dict(request["headers"])
    if request["content_type"] is not None:
        headers["Content-Type"] = request["content_type"]
    response = fuzzed.open(
        path + ("?" + query if query else ""), method=request["method"], headers=headers, data=request["body"]
    )
    check_answer(request["method"], path, response.status_code, response.content_type or "", response.data)


API_CASES = 200
api_requests = st.fixed_dictionaries({
    "method": st.sampled_from(["POST", "POST", "POST", "GET"]),
    "path": st.sampled_from([*API_PATHS, *API_PATHS, *("/rest" + p for p in API_PATHS), "/__admin/requests"]),
    "query": queries, "headers": headers,
    "content_type": st.sampled_from(["application/json", "application/x-www-form-urlencoded", None]),
    "body": submit_bodies | json_values.map(lambda v: json.dumps(v).encode())
    | st.dictionaries(st.sampled_from(["taskId", "productTitle", "categoryType", "sceneType", "count", "imageUrl"]),
                      json_values | query_values, max_size=4).map(lambda d: json.dumps(d).encode()),
})


@settings(FUZZ, max_examples=API_CASES)
@given(request=api_requests)
def test_requests_that_reach_the_api_get_a_documented_answer(
    fuzzed: FlaskClient, no_errors_logged: None, request: dict[str, Any]
) -> None:
    """The same, aimed past routing and body decoding, where the parameters are read."""
    test_any_request_through_the_test_client_gets_a_documented_answer.hypothesis.inner_test(  # type: ignore[attr-defined]
        fuzzed, no_errors_logged, request
    )


# Inputs the fuzz (or the probing around it) found to break the fake once, pinned so that they
# are tried on every run rather than when the dice fall right.
FOUND = [
    # int() of an over-long or non-ASCII digit string raised inside the request: a 500 envelope
    ("POST", SUBMIT, {"Prefer": "code=" + "9" * 5000}, _submit_body([submit_item()])),
    ("POST", SUBMIT, {"Prefer": "code=\u00b2"}, _submit_body([submit_item()])),
    ("POST", SCENES, {"Prefer": "delay=\u00b2"}, b"{}"),
    ("GET", "/__admin/requests?limit=%C2%B2", {}, b""),
    ("GET", "/__admin/tasks?limit=" + "9" * 5000, {}, b""),
    ("POST", SCENES, {}, json.dumps({"categoryType": "9" * 5000, "count": "1e999"}).encode()),
    # NaN, Infinity and overflowing numbers are not JSON (and came back as "Infinity")
    ("POST", SCENES, {}, b'{"count": NaN}'),
    ("POST", SCENES, {}, b'{"count": 1e999}'),
    # a whole-number float is an integer to JSON Schema: it sliced a list (issue 15, attack 1)
    ("POST", SCENES, {}, b'{"count": 5.0, "sceneType": 2.0, "categoryType": 1.0}'),
    ("POST", SUBMIT, {}, _submit_body([{**submit_item(), "width": 800.0, "height": 800.0, "imageNum": 2.0}])),
    ("POST", "/__admin/faults", {}, b'{"resCode": 501.0, "times": 2.0, "everyN": 1.0, "delayMs": 0.0}'),
    ("POST", "/__admin/clock", {}, b'{"advance": 5.0}'),
    ("GET", "/__admin/requests?limit=5.0", {}, b""),
    # JSON's whitespace is four characters: \x0b and \x0c make no empty body (attack 9)
    ("POST", SCENES, {}, b"\x0b\x0c"),
    ("POST", "/__admin/clock", {}, b"\x0b"),
    # deep nesting: a RecursionError in the journal made Flask answer its HTML 500 page
    ("POST", SUBMIT, {}, b'{"requestParams": "x", "a": ' + b"[" * 600 + b"]" * 600 + b"}"),
    # 100 000 items were each validated: minutes of work and a 13 MB answer
    ("POST", SUBMIT, {}, _submit_body([{"modelNum": "mod001"}] * 100_000)),
    # paths and methods Flask's own router answered with HTML (redirect, 404, 405)
    ("GET", "/a//b", {}, b""),
    ("GET", "/__bgmock/covers/a%0Ab.png", {}, b""),
    ("PROPFIND", SUBMIT, {}, b""),
]


@pytest.mark.parametrize(("method", "path", "sent", "body"), FOUND, ids=[f"{m} {p[:40]}" for m, p, _, _ in FOUND])
def test_inputs_that_once_broke_the_fake_get_a_documented_answer(
    no_errors_logged: None, method: str, path: str, sent: dict[str, str], body: bytes
) -> None:
    c = client()
    response = c.open(path, method=method, headers={"Content-Type": "application/json", **sent}, data=body)
    check_answer(method, path, response.status_code, response.content_type or "", response.data)
    assert len(response.data) < 10_000


BODY_ROUTES = [("POST", SUBMIT), ("POST", SCENES), ("POST", "/__admin/faults"), ("POST", "/__admin/clock"),
               ("POST", "/__admin/reset"), ("GET", "/__admin/requests")]


@pytest.mark.parametrize("unread", [False, True], ids=["read", "refused-unread"])
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_a_body_over_the_cap_is_the_documented_700_on_every_route(
    no_errors_logged: None, method: str, path: str, unread: bool
) -> None:
    """Every route refuses a body over ``max_body_bytes`` before anything reads it, read or
    refused on its declared length (an ``Oversized``, which holds no bytes: an admin route
    parsing one raised IndexError, a 500 and a traceback, found by the fuzz)."""
    from mockserver.http import Incoming
    from mockserver.transport import Oversized

    c = client(max_body_bytes=1024)
    headers = {"Content-Type": "application/json"}
    if unread:  # as the servers hand on a body over the cap: never read, only its declared length
        reply = c.application.extensions["bgmock"].dispatcher.handle(
            Incoming.build(method, path, headers=headers, body=Oversized(5000)))
        status, data = reply.status, reply.body
    else:
        response = c.open(path, method=method, headers=headers, data=b"{" + b" " * 5000 + b"}")
        status, data = response.status_code, response.data
    answer = json.loads(data)
    assert answer["resCode"] == 700, (status, answer)
    assert "body: larger than the 1024 bytes the fake accepts" in answer["resMessage"]


def test_the_fake_keeps_serving_after_the_test_client_fuzz(fuzzed: FlaskClient) -> None:
    assert submit(fuzzed, submit_item())["resCode"] == 200
    assert fuzzed.get("/__admin/health").get_json()["status"] == "ok"


# -- over a real socket --------------------------------------------------------------------------

SOCKET_CASES = 150  # per server: bgmock's threaded one and werkzeug's
socket_paths = paths.map(lambda p: quote(p, safe="/%?=&-._~:@!$'()*+,;"))
socket_methods = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=10) | st.sampled_from(
    ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]
)


class _Served:
    """Where a live fake listens: ``host`` and ``port``, whichever host program serves it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port


@pytest.fixture(scope="module", params=["threaded", "werkzeug"])
def live(request: pytest.FixtureRequest) -> Iterator[_Served]:
    """The fake behind both servers that can run it in one process: bgmock's own threaded
    server (``bgmock serve``, ``running()``, the pytest plugin) and werkzeug's
    (``--server werkzeug``)."""
    settings_ = {"max_body_bytes": 1_048_576, "task_duration": 0, "log_requests": False}
    if request.param == "threaded":
        with running(**settings_) as fake:
            where = urlsplit(fake.url)
            yield _Served(where.hostname, where.port)
        return
    server = make_server("127.0.0.1", 0, WsgiApp(Dispatcher(Backend(Config.from_mapping(settings_)))), threaded=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _Served("127.0.0.1", server.socket.getsockname()[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _send(fake: _Served, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value.encode("latin-1"))
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read() if method != "HEAD" else b""
        return response.status, response.getheader("Content-Type") or "", data
    finally:
        conn.close()


@settings(FUZZ, max_examples=SOCKET_CASES)
@given(
    method=socket_methods, path=socket_paths, headers=headers,
    content_type=st.sampled_from(CONTENT_TYPES), body=bodies,
)
def test_any_request_over_a_socket_gets_a_documented_answer(  # noqa: PLR0913, PLR0917 - fixtures and draws
    live: _Served, no_errors_logged: None, method: str, path: str, headers: dict[str, str],
    content_type: str | None, body: bytes,
) -> None:
    sent = dict(headers)
    if content_type is not None:
        sent["Content-Type"] = content_type
    status, answered_type, data = _send(live, method, path, sent, body)
    check_answer(method, path.split("?")[0], status, answered_type, data)


def test_the_live_fake_keeps_serving_after_the_socket_fuzz(live: _Served) -> None:
    status, _, data = _send(live, "POST", SUBMIT, {"Content-Type": "application/json"}, _submit_body([submit_item()]))
    assert status == 200 and json.loads(data)["resCode"] == 200


def test_a_body_over_the_cap_answers_700_over_a_socket(live: _Served) -> None:
    big = b'{"requestParams": "' + b"A" * 2_000_000 + b'"}'
    status, _, data = _send(live, "POST", SUBMIT, {"Content-Type": "application/json"}, big)
    answer = json.loads(data)
    assert status == 200 and answer["resCode"] == 700
    assert "larger than the 1048576 bytes" in answer["resMessage"]
    test_the_live_fake_keeps_serving_after_the_socket_fuzz(live)


def test_base64_of_a_real_image_in_a_lying_data_url_is_judged_by_its_bytes() -> None:
    c = client()
    jpeg = make_image("JPEG", 600, 600)
    answer = submit(c, submit_item(imgBase64="data:image/png;base64," + base64.b64encode(jpeg).decode()))
    assert answer["resCode"] == 200
    assert c.get("/__admin/tasks").get_json()["tasks"][0]["items"][0]["_image"]["format"] == "JPEG"
