"""One scenario, two transports: submit, a 501 once, the client retries, then polls to finished.

Written as a user of the plugin would write it: only the fixtures and the marker, a small
``requests`` client of their own, no import of ``mockserver``. The ``fake`` fixture runs each
test against the live fake (``bgmock``) and the in-process one (``bgmock_responses``); both
must pass unchanged, which is the promise that the two modes behave the same.

The client's ``sleep`` is the fake's ``advance``: its back-off and poll waits move the fake's
clock instead of real time, so the run takes milliseconds and never races the clock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
ITEM = {"imageFileUrl": "https://example.com/shoe.jpg", "modelNum": "mod001", "width": 800, "height": 800,
        "imageNum": 2}


class ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class TinyClient:
    """A user's client in a few lines: retries the retryable codes with a growing wait, polls."""

    RETRYABLE = frozenset({500, 501, 801, 1001})

    def __init__(self, base_url: str, *, sleep: Callable[[float], object], attempts: int = 4) -> None:
        self.base_url = base_url
        self.sleep = sleep
        self.attempts = attempts
        self.http = requests.Session()

    def submit(self, item: dict) -> str:
        wait = 0.5
        for attempt in range(self.attempts):
            answer = self.http.post(self.base_url + SUBMIT, json={"requestParams": [item]}, timeout=5).json()
            if answer.get("success"):
                return answer["data"]["result"]["taskId"]
            if answer["resCode"] not in self.RETRYABLE or attempt == self.attempts - 1:
                raise ApiError(answer["resCode"], answer["resMessage"])
            self.sleep(wait)
            wait *= 2
        raise AssertionError("unreachable")

    def wait(self, task_id: str, *, every: float = 1.0, limit: int = 30) -> list[list[str]]:
        for _ in range(limit):
            data = self.http.get(self.base_url + QUERY, params={"taskId": task_id}, timeout=5).json()["data"]
            if data["taskStatus"] == "finished":
                return [result["imageUrlList"] for result in data["taskResult"]]
            if data["taskStatus"] == "failed":
                raise ApiError(801, data["taskMessage"])
            self.sleep(every)
        raise TimeoutError(f"task {task_id} still {data['taskStatus']} after {limit} polls")


@pytest.fixture(params=["bgmock", "bgmock_responses"])
def fake(request):
    """The live fake, then the in-process one: the same handle either way."""
    return request.getfixturevalue(request.param)


@pytest.mark.bgmock(task_duration=3)
def test_a_501_is_retried_and_the_task_polled_to_finished(fake):
    fake.inject(501, times=1)
    client = TinyClient(fake.url, sleep=fake.advance)

    task_id = client.submit(ITEM)
    urls = client.wait(task_id)

    assert [call["resCode"] for call in fake.requests("submit")] == [501, 200]
    polled = [call["taskId"] for call in fake.requests("query")]
    assert set(polled) == {task_id}
    assert len(polled) > 1, "task_duration=3 on a 1 s poll: the client must have polled more than once"
    assert len(urls) == 1 and len(urls[0]) == ITEM["imageNum"]
    image = client.http.get(urls[0][0], timeout=5)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG\r\n\x1a\n")
    fake.assert_no_problems()


@pytest.mark.bgmock(fault=501, times=2)
def test_the_marker_programs_two_501s_before_success(fake):
    client = TinyClient(fake.url, sleep=fake.advance)

    task_id = client.submit(ITEM)

    assert [call["resCode"] for call in fake.requests("submit")] == [501, 501, 200]
    assert client.wait(task_id)[0], "task_duration defaults to 0 in the plugin: finished on the first poll"
    assert fake.now == pytest.approx(0.5 + 1.0), "the client's two back-off waits moved the fake's clock"


@pytest.mark.bgmock(fault=501, times=None)
def test_a_client_gives_up_when_the_fault_persists(fake):
    client = TinyClient(fake.url, sleep=fake.advance, attempts=3)

    with pytest.raises(ApiError) as caught:
        client.submit(ITEM)

    assert caught.value.code == 501
    assert len(fake.requests("submit")) == 3
