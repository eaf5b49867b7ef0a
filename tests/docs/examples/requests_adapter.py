# tests/docs/examples/requests_adapter.py
"""A contract-kit adapter for a small `requests` client of the background generation API."""

import hashlib
import hmac
import json
import time

import requests

from contracts import Rejected, TaskFailed, TransportError

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"


class BackgroundApi:
    """Your client: signs with v2, sends requestParams as a JSON string, polls with a timeout."""

    def __init__(self, base_url, app_key, app_secret, timeout=10.0, poll_interval=2.0, poll_timeout=300.0):
        self.base_url, self.app_key, self.app_secret = base_url.rstrip("/"), app_key, app_secret
        self.timeout, self.poll_interval, self.poll_timeout = timeout, poll_interval, poll_timeout
        self.session = requests.Session()

    def _call(self, api, body):
        ts = str(int(time.time() * 1000))
        sign = hmac.new(self.app_secret.encode(), (self.app_secret + ts).encode(), hashlib.sha256).hexdigest().upper()
        params = {"app_key": self.app_key, "timestamp": ts, "sign": sign, "sign_method": "sha256", "sign_ver": "v2"}
        response = self.session.post(self.base_url + "/rest" + api, params=params, json=body, timeout=self.timeout)
        response.raise_for_status()
        answer = response.json()
        if "resCode" not in answer:  # a gateway error: {"code": "IncompleteSignature", ...}
            raise Rejected(answer.get("code", "?"), answer.get("message", ""))
        if int(answer["resCode"]) != 200:  # "200" or 200
            raise Rejected(int(answer["resCode"]), answer.get("resMessage", ""))
        return answer["data"]

    def submit(self, item):
        return self._call(SUBMIT, {"requestParams": json.dumps([item], ensure_ascii=False)})["result"]["taskId"]

    def wait(self, task_id):
        deadline = time.monotonic() + self.poll_timeout
        while True:
            data = self._call(QUERY, {"taskId": task_id})
            if data["taskStatus"] == "finished":
                return [result["imageUrlList"] for result in data["taskResult"]]
            if data["taskStatus"] == "failed":
                raise TaskFailed(data["taskMessage"])
            if time.monotonic() + self.poll_interval > deadline:
                raise TransportError(f"task {task_id} did not end within {self.poll_timeout} s")
            time.sleep(self.poll_interval)


class Adapter:
    """What the kit calls: your client's errors mapped onto Rejected / TransportError."""

    def __init__(self, api):
        self.api = api

    def submit(self, params):
        try:
            return self.api.submit(params)
        except (requests.RequestException, ValueError) as exc:  # no answer, an HTML page, broken JSON
            raise TransportError(str(exc)) from exc

    def wait(self, task_id):
        try:
            return self.api.wait(task_id)
        except (requests.RequestException, ValueError) as exc:
            raise TransportError(str(exc)) from exc

    def close(self):
        self.api.session.close()


def make_adapter(base_url, app_key, app_secret, **tuning):
    """The kit's factory: your client in a test configuration, inside the kit's bounds (a 3 s
    timeout, polls every 0.5 s, a 5 s polling deadline; the kit allows 10 s and 15 s)."""
    settings = {"timeout": 3.0, "poll_interval": 0.5, "poll_timeout": 5.0, **tuning}
    return Adapter(BackgroundApi(base_url, app_key, app_secret, **settings))
