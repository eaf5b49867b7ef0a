"""The httpx examples of README.md and docs/pytest-plugin.md ("The in-process mode for httpx"), run as printed."""

import asyncio

import httpx
import pytest

import mockserver

SUBMIT = "/ai/image/background/generation/scenario"
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}


@pytest.mark.bgmock(fault="timeout")
def test_my_httpx_client_gives_up_on_a_silent_server(bgmock_httpx):
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(bgmock_httpx.url + SUBMIT, json={"requestParams": [ITEM]}, timeout=0.1)


def test_an_async_client(bgmock_httpx):
    async def first_answer():
        async with httpx.AsyncClient(base_url=bgmock_httpx.url, timeout=5) as client:
            return (await client.post(SUBMIT, json={"requestParams": [ITEM]})).json()

    bgmock_httpx.inject(501)
    assert asyncio.run(first_answer())["resCode"] == 501


def test_an_explicit_transport():
    transport = mockserver.httpx_transport(task_duration=0)   # nothing patched: this client only
    with httpx.Client(transport=transport, base_url=transport.fake.url) as client:
        answer = client.post(SUBMIT, json={"requestParams": [ITEM]}).json()
    assert answer["resCode"] == 200
    assert transport.fake.requests("submit")[0]["params"][0]["modelNum"] == "mod001"


def test_an_httpx_client(bgmock_httpx):                 # in-process: httpx, sync or async
    bgmock_httpx.inject(501)
    assert httpx.post(bgmock_httpx.url + SUBMIT, json={"requestParams": [ITEM]}).json()["resCode"] == 501
