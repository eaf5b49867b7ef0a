# tests/docs/examples/urllib_adapter.py
"""A contract-kit adapter for a client written with the standard library only (urllib)."""

import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from contracts import Rejected, TaskFailed, TransportError

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"


class ApiError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def call(base_url, app_key, app_secret, api, body, timeout):
    ts = str(int(time.time() * 1000))
    sign = hmac.new(app_secret.encode(), (app_secret + ts).encode(), hashlib.sha256).hexdigest().upper()
    query = urllib.parse.urlencode(
        {"app_key": app_key, "timestamp": ts, "sign": sign, "sign_method": "sha256", "sign_ver": "v2"}
    )
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/rest{api}?{query}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    code = answer.get("resCode", answer.get("code"))
    if str(code) != "200":
        raise ApiError(int(code) if str(code).isdigit() else code, answer.get("resMessage", answer.get("message", "")))
    return answer["data"]


class Adapter:
    def __init__(self, base_url, app_key, app_secret, timeout=10.0, poll_interval=2.0, poll_timeout=300.0):
        self.args = (base_url, app_key, app_secret)
        self.timeout, self.poll_interval, self.poll_timeout = timeout, poll_interval, poll_timeout

    def _call(self, api, body):
        try:
            return call(*self.args, api, body, self.timeout)
        except ApiError as exc:
            raise Rejected(exc.code, exc.message) from exc
        except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError, HTTPError, timeouts,
            raise TransportError(str(exc)) from exc  # resets, broken JSON, a body cut short (IncompleteRead)

    def submit(self, params):
        data = self._call(SUBMIT, {"requestParams": json.dumps([params], ensure_ascii=False)})
        return data["result"]["taskId"]

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


def make_adapter(base_url, app_key, app_secret, **tuning):
    """The kit's factory: your client in a test configuration, inside the kit's bounds (a 3 s
    timeout, polls every 0.5 s, a 5 s polling deadline; the kit allows 10 s and 15 s)."""
    settings = {"timeout": 3.0, "poll_interval": 0.5, "poll_timeout": 5.0, **tuning}
    return Adapter(base_url, app_key, app_secret, **settings)
