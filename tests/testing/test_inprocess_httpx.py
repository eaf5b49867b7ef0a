"""The in-process mode for httpx: no socket, the same answers as the live server, faults as httpx sees them.

Every fault is run against ``mockserver.running()`` (the real server, a real socket) and the
in-process mode, with ``httpx.Client`` and with ``httpx.AsyncClient``: what the client sees
must be the same.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys

import httpx
import pytest

import mockserver
from mockserver.testing.handle import Handle
from mockserver.testing.inprocess_httpx import httpx_transport, mocked_httpx
from mockserver.testing.intercept import DEFAULT_URL, VENDOR_URLS

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
SCENES = "/ai/image/background/generation/scene/query"
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}
BODY = {"requestParams": [ITEM]}
ORIGINAL = (httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request)


@pytest.fixture
def no_sockets(monkeypatch):
    """Any attempt to open a connection fails loudly."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"a socket connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def _flow(client: httpx.Client, url: str) -> tuple[str, bytes, int]:
    task_id = client.post(url + SUBMIT, json=BODY).json()["data"]["result"]["taskId"]
    data = client.get(url + QUERY, params={"taskId": task_id}).json()["data"]
    image = client.get(data["taskResult"][0]["imageUrlList"][0]).content
    scenes = client.post(url + SCENES, json={"count": 2}).json()["data"]
    return data["taskStatus"], image[:4], len(scenes)


async def _async_flow(client: httpx.AsyncClient, url: str) -> tuple[str, bytes, int]:
    task_id = (await client.post(url + SUBMIT, json=BODY)).json()["data"]["result"]["taskId"]
    data = (await client.get(url + QUERY, params={"taskId": task_id})).json()["data"]
    image = (await client.get(data["taskResult"][0]["imageUrlList"][0])).content
    scenes = (await client.post(url + SCENES, json={"count": 2})).json()["data"]
    return data["taskStatus"], image[:4], len(scenes)


def test_a_whole_flow_runs_without_a_socket_sync_and_async(no_sockets):
    with mocked_httpx() as fake:
        with httpx.Client() as client:
            assert _flow(client, fake.url) == ("finished", b"\x89PNG", 2)

        async def run() -> tuple[str, bytes, int]:
            async with httpx.AsyncClient() as client:
                return await _async_flow(client, fake.url)

        assert asyncio.run(run()) == ("finished", b"\x89PNG", 2)
        assert httpx.get(fake.url + "/__admin/health").json()["status"] == "ok"  # the module-level API too
    assert [e["endpoint"] for e in fake.requests()] == ["submit", "query", "scenes"] * 2


def test_the_socket_guard_would_catch_a_real_connection(no_sockets):
    with mockserver.running() as fake, pytest.raises(AssertionError, match="socket connection was attempted"):
        httpx.get(fake.url + QUERY, params={"taskId": "x"})


# -- same answers as the live server --------------------------------------------------------------
CALLS = [
    ("POST", SUBMIT, {"json": BODY}),
    ("POST", SUBMIT, {"json": {"requestParams": [dict(ITEM, width=100)]}}),
    ("POST", SUBMIT, {"data": {"requestParams": '[{"imageFileUrl":"https://e.com/a.png","modelNum":"mod001",'
                                                 '"width":"750","height":"1000","imageNum":"1"}]'}}),
    ("POST", SUBMIT, {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
    ("POST", SUBMIT, {"json": BODY, "headers": {"Prefer": "code=1001"}}),
    ("GET", SUBMIT, {}),
    ("POST", "/no/such/path", {"json": {}}),
    ("GET", QUERY + "?taskId=not-a-uuid&taskId=second", {}),
    ("POST", SCENES, {"json": {"productTitle": "red shoe", "sceneType": "Indoor", "count": 3}}),
    ("GET", "/__admin/health", {}),
]


def _answers(fake: Handle) -> list[tuple[int, str, str]]:
    out = []
    with httpx.Client() as client:
        for method, path, kwargs in CALLS:
            reply = client.request(method, fake.url + path, **kwargs)
            out.append((reply.status_code, reply.headers["Content-Type"], reply.text.replace(fake.url, "BASE")))
    return out


def test_the_same_calls_get_the_same_answers_live_and_in_process():
    with mockserver.running(seed=7, public_url=None) as live:
        expected = _answers(live)
    with mocked_httpx(seed=7, base_urls=["http://bgmock.test"], public_url=None) as inproc:
        got = _answers(inproc)

    assert got == expected
    assert {status for status, _, _ in got} >= {200, 404, 405}


def test_the_vendor_hosts_are_answered_by_the_fake(no_sockets):
    with mocked_httpx() as fake:
        for host in VENDOR_URLS:
            assert httpx.post(host + "/rest" + SUBMIT, json=BODY).json()["resCode"] == 200
    assert fake.url == DEFAULT_URL
    assert len(fake.requests("submit")) == len(VENDOR_URLS)


# -- transport faults, as httpx reports them -------------------------------------------------------
def _seen(call) -> tuple:
    try:
        reply = call()
    except httpx.HTTPError as exc:
        return ("raised", type(exc).__name__)
    return ("answered", reply.status_code, reply.headers.get("Content-Type"), reply.content)


def _outcome(fake: Handle, kind: str, timeout: float | None, client: str) -> tuple:
    fake.fault(kind)
    if client == "sync":
        return _seen(lambda: httpx.post(fake.url + SUBMIT, json=BODY, timeout=timeout))

    async def run() -> tuple:
        async with httpx.AsyncClient(timeout=timeout) as session:
            try:
                reply = await session.post(fake.url + SUBMIT, json=BODY)
            except httpx.HTTPError as exc:
                return ("raised", type(exc).__name__)
            return ("answered", reply.status_code, reply.headers.get("Content-Type"), reply.content)

    return asyncio.run(run())


def _hang_s(timeout: float | None) -> float:
    """How long the fake holds a ``timeout`` fault: briefly for a client with no timeout (it waits
    the hold out), far longer than the 0.1 s read timeout that must end the call first (the live
    fake's drop must not win on a loaded machine; the held thread costs the test nothing)."""
    return 0.3 if timeout is None else 10.0


FAULTS = [
    ("reset", 5, ("raised", "ReadError")),
    ("empty", 5, ("raised", "RemoteProtocolError")),
    ("truncated", 5, ("raised", "RemoteProtocolError")),
    ("timeout", 0.1, ("raised", "ReadTimeout")),
    ("timeout", None, ("raised", "ReadError")),
    ("malformed", 5, None),
    ("http502", 5, None),
    ("http503", 5, None),
    ("http504", 5, None),
    ("dribble", 5, None),
]


@pytest.mark.parametrize("client", ["sync", "async"])
@pytest.mark.parametrize(("kind", "timeout", "raised"), FAULTS, ids=[f"{k}-{t}" for k, t, _ in FAULTS])
def test_a_transport_fault_looks_the_same_to_httpx_in_both_modes(kind, timeout, raised, client):
    settings = {"hang_s": _hang_s(timeout), "dribble_s": 0.05, "seed": 7}  # same seed: the same IDs in both answers
    with mockserver.running(**settings) as live:
        expected = _outcome(live, kind, timeout, client)
    with mocked_httpx(**settings) as inproc:
        got = _outcome(inproc, kind, timeout, client)

    assert got == expected
    if raised:
        assert got == raised
    elif kind == "dribble":  # slow, but whole
        assert json.loads(got[3])["success"] is True
    else:  # a cut-off JSON body, or a load balancer's HTML page
        assert got[0] == "answered"
        with pytest.raises(ValueError):
            json.loads(got[3])


def test_a_truncated_body_fails_while_it_is_read_after_the_headers_came():
    with mocked_httpx() as fake, httpx.Client() as client:
        fake.fault("truncated")
        with client.stream("POST", fake.url + SUBMIT, json=BODY) as reply:
            assert reply.status_code == 200
            with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection"):
                reply.read()


@pytest.mark.parametrize("client", ["sync", "async"])
def test_a_delay_longer_than_the_read_timeout_is_a_read_timeout(client):
    with mocked_httpx() as fake:
        fake.inject(501, delay_ms=400)
        short = httpx.Timeout(1, read=0.05)
        if client == "sync":
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(fake.url + SUBMIT, json=BODY, timeout=short)
        else:
            async def run() -> None:
                async with httpx.AsyncClient(timeout=short) as session:
                    await session.post(fake.url + SUBMIT, json=BODY)

            with pytest.raises(httpx.ReadTimeout):
                asyncio.run(run())
        fake.inject(501, delay_ms=20)
        assert httpx.post(fake.url + SUBMIT, json=BODY, timeout=1).json()["resCode"] == 501


def test_an_async_client_goes_on_with_other_tasks_while_the_fake_holds_a_call():
    """The fake waits with the event loop's sleep: a held call does not block other tasks (held a
    second: a few milliseconds of work for the other, however slowly a busy machine runs them)."""
    with mocked_httpx() as fake:
        fake.inject(501, delay_ms=1000)
        order: list[str] = []

        async def slow(session: httpx.AsyncClient) -> None:
            await session.post(fake.url + SUBMIT, json=BODY)
            order.append("slow")

        async def quick(session: httpx.AsyncClient) -> None:
            await session.get(fake.url + "/__admin/health")
            order.append("quick")

        async def run() -> None:
            async with httpx.AsyncClient() as session:
                await asyncio.gather(slow(session), quick(session))

        asyncio.run(run())
    assert order == ["quick", "slow"]


# -- living beside other traffic -----------------------------------------------------------------
def test_other_urls_go_out_as_usual_unless_passthrough_is_off():
    with mockserver.running() as live:
        with mocked_httpx() as fake:
            assert httpx.get(live.url + "/__admin/health").json()["status"] == "ok"
            assert httpx.get(fake.url + "/__admin/health").json()["status"] == "ok"
        assert live.requests() == [] and fake.requests() == []  # admin calls are not journaled
        with mocked_httpx(passthrough=False), pytest.raises(httpx.ConnectError, match="passthrough is off"):
            httpx.get(live.url + "/__admin/health")


def test_leaving_the_block_stops_intercepting_and_nested_fakes_unwind():
    with mocked_httpx() as outer:
        with mocked_httpx(base_urls=["http://inner.test"]) as inner:
            httpx.post(inner.url + SUBMIT, json=BODY)
            httpx.post(outer.url + SUBMIT, json=BODY)  # the inner interceptor passes it to the outer
        assert (len(inner.requests()), len(outer.requests())) == (1, 1)
        assert (httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request) != ORIGINAL
    assert (httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request) == ORIGINAL


# -- the explicit transport ----------------------------------------------------------------------
def test_an_explicit_transport_answers_its_client_only_and_patches_nothing(no_sockets):
    transport = httpx_transport(task_duration=0)
    assert (httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request) == ORIGINAL
    with httpx.Client(transport=transport) as client:
        assert _flow(client, transport.fake.url) == ("finished", b"\x89PNG", 2)

    async def run() -> tuple[str, bytes, int]:
        async with httpx.AsyncClient(transport=transport) as client:
            return await _async_flow(client, transport.fake.url)

    assert asyncio.run(run()) == ("finished", b"\x89PNG", 2)
    seen = len(transport.fake.requests())
    with pytest.raises((httpx.ConnectError, AssertionError)):  # bgmock.local does not resolve, or no socket
        httpx.post(transport.fake.url + SUBMIT, json=BODY)  # a client without the transport is not answered
    assert len(transport.fake.requests()) == seen


def test_an_explicit_transport_on_an_existing_fake_shares_its_journal_and_faults():
    with mockserver.running() as live:
        live.inject(501)
        with httpx.Client(transport=httpx_transport(live)) as client:
            assert client.post(live.url + SUBMIT, json=BODY).json()["resCode"] == 501
        assert httpx.post(live.url + SUBMIT, json=BODY).json()["resCode"] == 200  # over the socket
    assert [(e["id"], e["resCode"]) for e in live.requests()] == [(1, 501), (2, 200)]


def test_an_explicit_transport_refuses_other_urls_when_passthrough_is_off():
    transport = httpx_transport(passthrough=False)
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError, match="refused"):
        client.get("http://elsewhere.test/")


def test_bad_explicit_transport_calls_say_what_is_wrong():
    with mocked_httpx() as fake, pytest.raises(ValueError, match="settings .*strict.* belong to the fake"):
        httpx_transport(fake, strict=True)
    with pytest.raises(ValueError, match="base URL"):
        httpx_transport(base_urls=["http://bgmock.local/api"])


# -- the decorator and the fixture ---------------------------------------------------------------
@mocked_httpx(task_duration=2)
def test_the_decorator_passes_a_fresh_fake_as_the_last_argument(fake):
    task_id = httpx.post(fake.url + SUBMIT, json=BODY).json()["data"]["result"]["taskId"]
    fake.advance(2)
    assert httpx.get(fake.url + QUERY, params={"taskId": task_id}).json()["data"]["taskStatus"] == "finished"


@pytest.mark.bgmock(fault="reset")
def test_the_fixture_is_set_up_from_the_marker(bgmock_httpx):
    assert bgmock_httpx.mode == "in-process httpx"
    with pytest.raises(httpx.ReadError):
        httpx.post(bgmock_httpx.url + SUBMIT, json=BODY)
    assert httpx.post(bgmock_httpx.url + SUBMIT, json=BODY).json()["resCode"] == 200


def test_the_fixture_intercepts_during_its_test_only(bgmock_httpx):
    assert (httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request) != ORIGINAL
    assert bgmock_httpx.requests() == []  # reset before each test


def test_a_failed_test_report_names_the_httpx_fake(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "import httpx\n"
        "def test_it(bgmock_httpx):\n"
        "    assert False\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "no API call reached the fake at http://bgmock.local (this in-process mode sees httpx only)" in (
        result.stdout.str()
    )


# -- without httpx ---------------------------------------------------------------------------------
def test_without_httpx_the_mode_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.setitem(sys.modules, "anyio", None)  # a machine without httpx has no anyio either
    monkeypatch.delitem(sys.modules, "mockserver.testing.inprocess_httpx", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"needs the package 'httpx': pip install httpx"):
        importlib.import_module("mockserver.testing.inprocess_httpx")
    assert mockserver.mocked is not None and mockserver.running is not None  # the rest still loads


def test_without_httpx_the_fixture_says_how_to_install_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "import sys\nsys.modules['httpx'] = sys.modules['anyio'] = None\n"
        "sys.modules.pop('mockserver.testing.inprocess_httpx', None)\n"
    )
    pytester.makepyfile("def test_it(bgmock_httpx):\n    pass\n\ndef test_live(bgmock):\n    pass\n")
    unused = [a for name in ("schemathesis", "benchmark", "anyio", "pytest_httpserver") for a in ("-p", f"no:{name}")]
    result = pytester.runpytest("-p", "no:cacheprovider", *unused)
    text = result.stdout.str() + result.stderr.str()
    assert "bgmock_httpx needs the 'httpx' package (missing: httpx)" in text and "pip install httpx" in text, text
