"""The whole async flow over real HTTP: submit -> poll -> finished -> fetch every image.

A live fake runs in a thread on 127.0.0.1 (``mockserver.running()``) and is driven with
``requests``, exactly as a client under development would drive it. Time never passes by
itself: the fake runs on a manual clock and the tests move it with ``POST /__admin/clock``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from mockserver import Handle, running
from mockserver.signing import signed_query
from mockserver.spec import load_spec
from tests.helpers import MISSING, QUERY, SCENES, SUBMIT, b64, submit_item

SPEC = load_spec()
QUERY_OK = SPEC.validator("query-response.json")
SCENES_OK = SPEC.validator("scene-query-response.json")
SUBMIT_OK = SPEC.validator("submit-response.json")
ERROR_OK = SPEC.validator("common.json#/$defs/businessError")


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _fake(**settings: Any) -> Handle:
    return running({"clock": "manual", "seed": 11, **settings})


def _submit(http: requests.Session, fake: Handle, *items: dict[str, Any]) -> str:
    """Submit as the official samples do (requestParams as a JSON string); the task ID."""
    body = {"requestParams": json.dumps(list(items))}
    answer = http.post(fake.url + SUBMIT, json=body, timeout=10).json()
    assert not list(SUBMIT_OK.iter_errors(answer)), answer
    return answer["data"]["result"]["taskId"]


def _query(http: requests.Session, fake: Handle, task_id: str, how: str = "get") -> dict[str, Any]:
    if how == "get":
        response = http.get(fake.url + QUERY, params={"taskId": task_id}, timeout=10)
    elif how == "json":
        response = http.post(fake.url + QUERY, json={"taskId": task_id}, timeout=10)
    else:
        response = http.post(fake.url + QUERY, data={"taskId": task_id}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def _advance(http: requests.Session, fake: Handle, seconds: float) -> float:
    response = http.post(fake.url + "/__admin/clock", json={"advance": seconds}, timeout=10)
    assert response.status_code == 200
    return response.json()["now"]


def _fetch_image(http: requests.Session, url: str) -> tuple[requests.Response, Image.Image]:
    response = http.get(url, timeout=10)
    assert response.status_code == 200, response.text[:200]
    image = Image.open(io.BytesIO(response.content))
    image.load()  # the whole file decodes, not only its header
    return response, image


@pytest.mark.parametrize(
    ("result_format", "pil_format", "mime", "ext"),
    [("PNG", "PNG", "image/png", ".png"), ("JPEG", "JPEG", "image/jpeg", ".jpg")],
)
def test_submit_poll_finish_and_fetch_every_image(
    http: requests.Session, result_format: str, pil_format: str, mime: str, ext: str
) -> None:
    items = [
        submit_item(width="800", height="800", imageNum="2", productTitle="ceramic coffee mug"),
        submit_item(
            imgBase64=MISSING, imageFileUrl="https://example.com/p.jpg",
            width=750, height=1000, imageNum=3, needLayout="true", modelNum="mod002",
        ),
    ]
    with _fake(task_duration=4, result_format=result_format) as fake:
        task_id = _submit(http, fake, *items)
        seen = []
        for step in (0, 1, 3):  # t = 0 submitted, 1 running (25 %), 4 finished
            _advance(http, fake, step)
            answer = _query(http, fake, task_id)
            assert not list(QUERY_OK.iter_errors(answer)), answer
            seen.append(answer["data"]["taskStatus"])
        assert seen == ["submitted", "running", "finished"]

        data = answer["data"]
        assert data["taskId"] == task_id and data["taskMessage"] == "success"
        assert [r["sceneTemplate"] for r in data["taskResult"]] == ["mod001", "mod002"]
        expected_sizes = [(800, 800), (750, 1000)]
        fetched = 0
        for result, item, size in zip(data["taskResult"], items, expected_sizes, strict=True):
            assert result["taskStatus"] == "finished" and result["taskMessage"] == "success"
            assert len(result["imageUrlList"]) == int(item["imageNum"])
            assert json.loads(result["recordContent"])["modelNum"] == item["modelNum"]
            for url in result["imageUrlList"]:
                assert url.startswith(fake.url + "/") and url.endswith(ext)
                response, image = _fetch_image(http, url)
                assert response.headers["Content-Type"] == mime
                assert image.format == pil_format
                assert image.size == size
                fetched += 1
        assert fetched == 5


def test_get_json_and_form_queries_answer_the_same_task(http: requests.Session) -> None:
    with _fake(task_duration=0) as fake:
        task_id = _submit(http, fake, submit_item())
        answers = [_query(http, fake, task_id, how)["data"] for how in ("get", "json", "form")]
        assert answers[0] == answers[1] == answers[2]
        assert answers[0]["taskStatus"] == "finished"
        # A POST to the GET-style URL (taskId only in the query string) is read too.
        response = http.post(fake.url + QUERY, params={"taskId": task_id}, timeout=10)
        assert response.json()["data"] == answers[0]


def test_scene_query_then_cover_then_submit_with_the_recommended_scene(http: requests.Session) -> None:
    with _fake(task_duration=0) as fake:
        answer = http.post(
            fake.url + SCENES, json={"productTitle": "running shoes", "sceneType": "Outdoor", "count": 3}, timeout=10
        ).json()
        assert not list(SCENES_OK.iter_errors(answer)), answer
        scenes = answer["data"]
        assert 1 <= len(scenes) <= 3 and all(s["sceneType"] == 2 for s in scenes)
        for scene in scenes:
            response, cover = _fetch_image(http, scene["coverUrl"])
            assert response.headers["Content-Type"] == "image/png" and cover.format == "PNG"
        task_id = _submit(http, fake, submit_item(modelNum=scenes[0]["modelNum"], imageNum=2))
        result = _query(http, fake, task_id)["data"]["taskResult"][0]
        assert result["sceneTemplate"] == scenes[0]["modelNum"]
        _, image = _fetch_image(http, result["imageUrlList"][0])
        assert image.size == (800, 800)


def test_signed_rest_routes_carry_the_whole_flow(http: requests.Session) -> None:
    """The official samples call /rest{apiName} with v2 system parameters on the query string."""
    with _fake(task_duration=0, app_keys={"k1": "s3cret"}) as fake:
        def signed() -> dict[str, str]:
            return signed_query("k1", "s3cret")

        body = {"requestParams": json.dumps([submit_item(imageNum=2)])}
        answer = http.post(fake.url + "/rest" + SUBMIT, params=signed(), json=body, timeout=10).json()
        task_id = answer["data"]["result"]["taskId"]
        by_get = http.get(fake.url + "/rest" + QUERY, params={**signed(), "taskId": task_id}, timeout=10).json()
        by_post = http.post(fake.url + "/rest" + QUERY, params=signed(), json={"taskId": task_id}, timeout=10).json()
        assert by_get["data"]["taskStatus"] == by_post["data"]["taskStatus"] == "finished"
        scenes = http.post(fake.url + "/rest" + SCENES, params=signed(), json={"count": 2}, timeout=10).json()
        assert [s["modelNum"] for s in scenes["data"]] == ["mod001", "mod002"]
        # Unsigned calls to the same routes are refused by the gateway, not answered.
        refused = http.get(fake.url + "/rest" + QUERY, params={"taskId": task_id}, timeout=10).json()
        assert refused["code"] == "MissingParameter"


def test_failed_task_over_http_has_no_images(http: requests.Session) -> None:
    with _fake(task_duration=2) as fake:
        task_id = _submit(http, fake, submit_item(modelNum="bgmock-task-fail"))
        url = f"{fake.url}/__bgmock/results/{task_id}/0/0.png"
        assert _query(http, fake, task_id)["data"]["taskStatus"] == "submitted"
        _advance(http, fake, 2)
        data = _query(http, fake, task_id)["data"]
        assert data["taskStatus"] == "failed" and data["taskMessage"] == "model failed"
        assert all(r["imageUrlList"] == [] for r in data["taskResult"])
        response = http.get(url, timeout=10)
        assert response.status_code == 404 and response.json()["code"] == "InvalidApiPath"


def test_query_errors_over_http_are_documented_envelopes(http: requests.Session) -> None:
    with _fake(task_duration=0) as fake:
        task_id = _submit(http, fake, submit_item(imageNum=2))
        rule = {"endpoint": "query", "resCode": 501, "times": 1}
        assert http.post(fake.url + "/__admin/faults", json=rule, timeout=10).status_code == 201
        limited = _query(http, fake, task_id)
        assert not list(ERROR_OK.iter_errors(limited)), limited
        assert (limited["resCode"], limited["resMessage"]) == (501, "rate limit exceed")
        assert _query(http, fake, task_id)["data"]["taskStatus"] == "finished"  # once, then fine
        unknown = _query(http, fake, "00000000-0000-4000-8000-000000000000")
        assert unknown["resCode"] == 700 and unknown["resMessage"].startswith("invalid input: taskId:")
        # A transport fault on the query endpoint reaches the client as a real 503 page.
        rule = {"endpoint": "query", "transport": "http503", "times": 1}
        http.post(fake.url + "/__admin/faults", json=rule, timeout=10)
        page = http.get(fake.url + QUERY, params={"taskId": task_id}, timeout=10)
        assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")


def test_submitted_product_reaches_the_images_over_http(http: requests.Session) -> None:
    """The base64 product travels through submit and comes back drawn into every result."""
    product = Image.new("RGB", (600, 600), (255, 255, 255))
    product.paste((255, 0, 255), (150, 150, 450, 450))
    buffer = io.BytesIO()
    product.save(buffer, "PNG")
    with _fake(task_duration=0) as fake:
        task_id = _submit(http, fake, submit_item(imgBase64=b64(buffer.getvalue()), imageNum=2))
        for url in _query(http, fake, task_id)["data"]["taskResult"][0]["imageUrlList"]:
            _, image = _fetch_image(http, url)
            assert image.convert("RGB").getpixel((400, 400)) == (255, 0, 255)


def test_many_clients_poll_their_own_tasks_concurrently(http: requests.Session) -> None:
    """Threads polling different tasks at once each see their own task, in polls mode."""
    from concurrent.futures import ThreadPoolExecutor

    with _fake(progression="polls", polls_to_finish=3) as fake:
        task_ids = [_submit(http, fake, submit_item(imageNum=2)) for _ in range(6)]

        def poll_to_end(task_id: str) -> list[str]:
            with requests.Session() as own:
                return [_query(own, fake, task_id)["data"]["taskStatus"] for _ in range(4)]

        with ThreadPoolExecutor(max_workers=6) as pool:
            histories = list(pool.map(poll_to_end, task_ids))
        assert histories == [["submitted", "running", "finished", "finished"]] * 6
        polls = {t["taskId"]: t["polls"] for t in http.get(fake.url + "/__admin/tasks", timeout=10).json()["tasks"]}
        assert polls == dict.fromkeys(task_ids, 4)


def test_result_url_host_follows_public_url(http: requests.Session) -> None:
    with _fake(task_duration=0, public_url="https://bgmock.example.test/base/") as fake:
        task_id = _submit(http, fake, submit_item(imageNum=2))
        url = _query(http, fake, task_id)["data"]["taskResult"][0]["imageUrlList"][0]
        assert url.startswith("https://bgmock.example.test/base/__bgmock/results/")
        # The path still serves the image on the fake's own address.
        _, image = _fetch_image(http, fake.url + urlsplit(url).path.removeprefix("/base"))
        assert image.size == (800, 800)
