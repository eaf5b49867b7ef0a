"""Transport faults that carry the real answer: a dribbled or truncated answer is the fake's
own answer to that request, so a client that survives the slow body gets a real task."""

from __future__ import annotations

import pytest
import requests

from mockserver import mocked
from mockserver.testing.live import running
from tests.helpers import MISSING, QUERY, SUBMIT, submit_item

ITEM = submit_item(imgBase64=MISSING, imageFileUrl="https://example.com/p.jpg")


@pytest.fixture(params=["live", "inprocess"])
def fake(request):
    settings = {"task_duration": 0, "dribble_s": 0.2, "log_requests": False}
    if request.param == "live":
        with running(**settings) as live:
            yield live.url, live.backend
    else:
        with mocked(**settings) as handle:
            yield handle.url, handle.backend


def test_a_dribbled_submit_creates_the_task_it_names(fake):
    url, backend = fake
    answer = requests.post(
        url + SUBMIT, json={"requestParams": [ITEM]}, headers={"Prefer": "transport=dribble"}, timeout=5
    )
    task_id = answer.json()["data"]["result"]["taskId"]
    polled = requests.get(url + QUERY, params={"taskId": task_id}, headers={"Prefer": "transport=dribble"}, timeout=5)
    data = polled.json()["data"]
    assert data["taskId"] == task_id and data["taskStatus"] == "finished"
    assert len(data["taskResult"][0]["imageUrlList"]) == ITEM["imageNum"]


def test_a_truncated_answer_is_cut_short_and_recorded_with_its_status(fake):
    url, backend = fake
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.post(
            url + SUBMIT, json={"requestParams": [ITEM]}, headers={"Prefer": "transport=truncated"}, timeout=5
        )
    entry = backend.journal(1)[0]
    assert (entry["status"], entry["transport"], entry["resCode"]) == (200, "truncated", 200)
    assert len(backend.tasks()) == 1  # the request was handled: its task exists


def test_a_load_balancer_page_is_journaled_with_its_status(fake):
    url, backend = fake
    answer = requests.post(
        url + SUBMIT, json={"requestParams": [ITEM]}, headers={"Prefer": "transport=http503"}, timeout=5
    )
    assert answer.status_code == 503 and "text/html" in answer.headers["Content-Type"]
    assert backend.journal(1)[0]["status"] == 503
