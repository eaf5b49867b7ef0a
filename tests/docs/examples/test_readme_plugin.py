"""The pytest examples of README.md and docs/pytest-plugin.md, run as they are printed.

tests/docs/examples/test_docs_match.py checks that every example block of those documents is
found, word for word, in a file of this folder: the documentation cannot drift from code
that passes.
"""

import dataclasses
import hashlib
import hmac
import time

import pytest
import requests

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}


def submit(base_url, item=ITEM):
    return requests.post(base_url + SUBMIT, json={"requestParams": [item]}, timeout=5).json()


def status(base_url, task_id):
    return requests.get(base_url + QUERY, params={"taskId": task_id}, timeout=5).json()["data"]["taskStatus"]


def test_my_client_survives_a_rate_limit(bgmock):
    bgmock.inject(501)                                  # the next submit answers 501 "rate limit exceed"
    assert submit(bgmock.url)["resCode"] == 501
    assert submit(bgmock.url)["resCode"] == 200
    assert [call["resCode"] for call in bgmock.requests()] == [501, 200]


@pytest.mark.bgmock(fault="reset")
def test_a_dropped_connection(bgmock_responses):        # in-process: the requests library only
    with pytest.raises(requests.ConnectionError):
        submit(bgmock_responses.url)


@pytest.mark.bgmock(task_duration=5)
def test_the_settings_in_force(bgmock):
    assert bgmock.config.task_duration == 5             # attributes, not keys: a frozen mockserver.Config
    assert not bgmock.config.strict and bgmock.config.clock == "manual"
    assert bgmock.config.as_dict()["task_duration"] == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        bgmock.config.strict = True                     # frozen: change settings with configure()
    bgmock.configure(strict=True)
    assert bgmock.config.strict


@pytest.mark.bgmock(task_duration=5)
def test_polling_sees_every_state(bgmock):
    task_id = submit(bgmock.url)["data"]["result"]["taskId"]
    assert status(bgmock.url, task_id) == "submitted"
    bgmock.advance(2)                                   # no sleep: the fake's clock moves
    assert status(bgmock.url, task_id) == "running"
    bgmock.advance(3)
    assert status(bgmock.url, task_id) == "finished"


@pytest.mark.bgmock(strict=True)
def test_strict_mode_refuses_numbers_sent_as_strings(bgmock):
    answer = submit(bgmock.url, dict(ITEM, width="800", height="800"))
    assert answer["resCode"] == 700
    assert "width" in answer["resMessage"]


def test_what_the_fake_saw(bgmock_responses):
    submit(bgmock_responses.url, dict(ITEM, width=801))
    [call] = bgmock_responses.requests("submit")
    assert call["resCode"] == 700
    assert call["params"][0]["width"] == 801
    assert call["problems"] == ["requestParams[0].width/height: only 800x800 (1:1) and 750x1000 (3:4) are supported"]


@pytest.mark.bgmock(signatures=True)
def test_a_signed_call(bgmock):
    timestamp = str(int(time.time() * 1000))
    sign = hmac.new(bgmock.app_secret.encode(), (bgmock.app_secret + timestamp).encode(), hashlib.sha256)
    params = {"app_key": bgmock.app_key, "timestamp": timestamp, "sign": sign.hexdigest().upper(),
              "sign_method": "sha256", "sign_ver": "v2"}
    answer = requests.post(bgmock.url + "/rest" + SUBMIT, params=params, json={"requestParams": [ITEM]}, timeout=5)
    assert answer.json()["resCode"] == 200


@pytest.mark.bgmock(fault="failed")
def test_a_task_that_fails(bgmock):
    task_id = submit(bgmock.url)["data"]["result"]["taskId"]
    assert status(bgmock.url, task_id) == "failed"
