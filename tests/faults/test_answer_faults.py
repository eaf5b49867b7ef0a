"""Transport faults that carry the real answer: a dribbled or truncated answer is the fake's
own answer to that request, so a client that survives the slow body gets a real task."""

from __future__ import annotations

import pytest
import requests

from mockserver import mocked, running
from tests.helpers import MISSING, QUERY, SUBMIT, submit_item

ITEM = submit_item(imgBase64=MISSING, imageFileUrl="https://example.com/p.jpg")


@pytest.fixture(params=["live", "inprocess"])
def fake(request):
    """The same ``Handle`` on either transport: what a user's test holds."""
    start = running if request.param == "live" else mocked
    with start(dribble_s=0.2) as handle:
        yield handle


def test_a_dribbled_submit_creates_the_task_it_names(fake):
    answer = requests.post(
        fake.url + SUBMIT, json={"requestParams": [ITEM]}, headers={"Prefer": "transport=dribble"}, timeout=5
    )
    task_id = answer.json()["data"]["result"]["taskId"]
    polled = requests.get(
        fake.url + QUERY, params={"taskId": task_id}, headers={"Prefer": "transport=dribble"}, timeout=5
    )
    data = polled.json()["data"]
    assert data["taskId"] == task_id and data["taskStatus"] == "finished"
    assert len(data["taskResult"][0]["imageUrlList"]) == ITEM["imageNum"]


def test_a_truncated_answer_is_cut_short_and_recorded_with_its_status(fake):
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.post(
            fake.url + SUBMIT, json={"requestParams": [ITEM]}, headers={"Prefer": "transport=truncated"}, timeout=5
        )
    (entry,) = fake.requests()
    assert (entry["status"], entry["transport"], entry["resCode"]) == (200, "truncated", 200)
    assert len(fake.tasks()) == 1  # the request was handled: its task exists


def test_a_load_balancer_page_is_journaled_with_its_status(fake):
    answer = requests.post(
        fake.url + SUBMIT, json={"requestParams": [ITEM]}, headers={"Prefer": "transport=http503"}, timeout=5
    )
    assert answer.status_code == 503 and "text/html" in answer.headers["Content-Type"]
    (entry,) = fake.requests()
    assert entry["status"] == 503
