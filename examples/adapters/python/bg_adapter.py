#!/usr/bin/env python3
"""A command adapter (the kit's JSON-lines protocol) around a small standard-library client.

The client is written as a team would write one from the vendor's samples: every call is
``POST {base}/rest{api}?partner_id=aidge&sign_method=sha256&sign_ver=v2&app_key&timestamp&sign``
(v2: ``HMAC-SHA256(secret, secret + timestamp)``, upper-case hex), a JSON body with
``requestParams`` as a JSON string, the ``x-iop-trial`` header; retryable codes retried with
exponential backoff; polling with an interval and a deadline; a timeout on every request.

    bgmock contract --adapter-cmd 'python3 examples/adapters/python/bg_adapter.py'

``--bug swap-dims`` is its deliberately broken twin: it sends width and height swapped (a
750x1000 request goes out as 1000x750), which the kit reports under C1 and C2.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import io
import json
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
RETRYABLE = frozenset({500, 501, 801, 1001})
SUCCESS = 200  # the resCode of every successful answer


class ApiError(Exception):
    def __init__(self, code: int | str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class CommunicationError(Exception):
    """No usable answer (network, timeout, not JSON, an HTTP error page, a polling deadline)."""


class TaskFailedError(Exception):
    pass


class BackgroundClient:
    def __init__(self, base_url: str, app_key: str, app_secret: str, options: argparse.Namespace) -> None:
        self.base_url, self.app_key, self.app_secret = base_url.rstrip("/"), app_key, app_secret
        self.o = options

    def _url(self, api: str) -> str:
        timestamp = str(int(time.time() * 1000))
        sign = hmac.new(self.app_secret.encode(), (self.app_secret + timestamp).encode(), hashlib.sha256)
        query = {
            "partner_id": "aidge",
            "sign_method": "sha256",
            "sign_ver": "v2",
            "app_key": self.app_key,
            "timestamp": timestamp,
            "sign": sign.hexdigest().upper(),
        }
        return f"{self.base_url}/rest{api}?{urllib.parse.urlencode(query)}"

    def _post(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self._url(api),
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "x-iop-trial": "true"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.o.timeout) as response:  # noqa: S310
                raw = response.read()
        except (OSError, http.client.HTTPException) as exc:  # URLError, HTTPError, timeouts, resets, cut bodies
            raise CommunicationError(f"{type(exc).__name__}: {exc}") from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise CommunicationError(f"the answer is not JSON: {exc}") from exc
        if not isinstance(answer, dict):
            raise CommunicationError("the answer is not a JSON object")
        if "resCode" not in answer:
            raise ApiError(str(answer.get("code", "unknown")), str(answer.get("message", "")))
        try:
            code = int(str(answer["resCode"]).strip())
        except ValueError:
            raise CommunicationError(f"resCode {answer['resCode']!r} is not a number") from None
        if code != SUCCESS:
            raise ApiError(code, str(answer.get("resMessage", "")))
        data = answer.get("data")
        if not isinstance(data, dict):
            raise CommunicationError("a success answer without data")
        return data

    def _backoff(self, attempt: int, base: float) -> float:
        return base * 2**attempt * (0.75 + 0.25 * random.random())

    def submit(self, item: dict[str, Any]) -> str:
        if self.o.bug == "swap-dims" and "width" in item and "height" in item:
            item = {**item, "width": item["height"], "height": item["width"]}
        body = {"requestParams": json.dumps([item], ensure_ascii=False)}
        for attempt in range(self.o.max_attempts):
            try:
                data = self._post(SUBMIT, body)
            except ApiError as exc:
                if exc.code not in RETRYABLE or attempt + 1 == self.o.max_attempts:
                    raise
                print(f"submit: resCode {exc.code}, retrying", file=sys.stderr)
                time.sleep(self._backoff(attempt, self.o.backoff))
                continue
            result = data.get("result")
            if not isinstance(result, dict) or not isinstance(result.get("taskId"), str):
                raise CommunicationError("a success answer without data.result.taskId")
            return result["taskId"]
        raise AssertionError("unreachable")

    def wait(self, task_id: str) -> list[list[str]]:
        deadline = time.monotonic() + self.o.poll_timeout
        errors = 0
        while True:
            try:
                data = self._post(QUERY, {"taskId": task_id})
            except ApiError as exc:
                errors += 1
                if exc.code not in RETRYABLE or errors >= self.o.max_attempts:
                    raise
                pause = self._backoff(errors, self.o.poll_interval)
            else:
                errors = 0
                status = data.get("taskStatus")
                if status == "finished":
                    return [list(r.get("imageUrlList") or []) for r in data.get("taskResult") or []]
                if status == "failed":
                    raise TaskFailedError(str(data.get("taskMessage", "failed")))
                pause = self.o.poll_interval
            if time.monotonic() + pause > deadline:
                raise CommunicationError(f"task {task_id} did not end within {self.o.poll_timeout} s")
            time.sleep(pause)


def answer(client: BackgroundClient | None, message: dict[str, Any], options: argparse.Namespace) -> Any:
    """One protocol reply (the client's outcome in the protocol's words)."""
    op = message.get("op")
    if op == "open":
        return BackgroundClient(message["baseUrl"], message["appKey"], message["appSecret"], options), {
            "ok": True,
            "wait": True,
        }
    if op == "close":
        return None, {"ok": True}
    assert client is not None, "submit or wait before open"
    reply: dict[str, Any]
    try:
        if op == "submit":
            reply = {"taskId": client.submit(message["params"])}
        elif op == "wait":
            reply = {"urls": client.wait(message["taskId"])}
        else:
            reply = {"crash": f"unknown op {op!r}"}
    except ApiError as exc:
        reply = {"rejected": {"code": exc.code, "message": exc.message}}
    except CommunicationError as exc:
        reply = {"transport": str(exc)}
    except TaskFailedError as exc:
        reply = {"taskFailed": str(exc)}
    except Exception as exc:  # noqa: BLE001 - what the caller of the client would see as a crash
        reply = {"crash": f"{type(exc).__name__}: {exc}"}
    return client, reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per request")
    parser.add_argument("--max-attempts", type=int, default=4)
    parser.add_argument("--backoff", type=float, default=0.1, help="first retry wait, doubling")
    parser.add_argument("--poll-interval", type=float, default=0.25)
    parser.add_argument("--poll-timeout", type=float, default=4.0)
    parser.add_argument("--bug", choices=["swap-dims"], help="the deliberately broken twin")
    options = parser.parse_args()
    client = None
    # The protocol is UTF-8 whatever the platform's encoding: sys.stdin and sys.stdout follow
    # the locale, and under a Latin-1 one each character of a title such as "\u2018" would be read
    # as three and sent on so.
    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8")
    for line in lines:
        message = json.loads(line)
        client, reply = answer(client, message, options)
        out.write(json.dumps(reply, ensure_ascii=False) + "\n")
        out.flush()
        if message.get("op") == "close":
            break


if __name__ == "__main__":
    main()
