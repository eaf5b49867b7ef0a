"""A small ``requests`` client of the Image Background Generation API that keeps every
obligation of the kit, and its adapter.

What makes it correct (each line is an obligation the kit checks):

- signs every call with the v2 scheme (``HMAC-SHA256(secret, secret + timestamp)``) on the
  ``/rest`` path;
- sends the caller's item unchanged (``requestParams`` as the samples send it: a JSON string);
- reads the task ID from ``data.result.taskId`` and accepts ``resCode`` as a number or a string,
  extra fields and any key order;
- retries only the retryable codes (500, 501, 801, 1001, read from nothing but this list: a
  client ships its own), at most ``max_attempts`` times, with exponential backoff and bounded
  jitter (each wait 75-100 % of ``base * 2**n``, so waits still grow), and never resubmits after a
  transport failure (a submit is not idempotent: the first may have created a task);
- bounds every request (``timeout``) and every wait (``poll_timeout``), polls no faster than
  ``poll_interval`` and slows down (doubling the interval) after an error during polling.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import requests

from .adapter import Rejected, TaskFailed, TransportError

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
RETRYABLE = frozenset({500, 501, 801, 1001})
SUCCESS = 200  # the resCode of every successful answer
_CODE_DIGITS = 9  # at most, in a resCode read from a string


class ApiError(Exception):
    """A business error (``code`` the resCode) or a gateway error (``code`` its name)."""

    def __init__(self, code: int | str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class CommunicationError(Exception):
    """No usable answer: network failure, timeout, not JSON, an HTTP error page."""


class TaskFailedError(Exception):
    """The task ended ``failed``."""


class WaitTimeout(CommunicationError):
    """The task did not end within ``poll_timeout``."""


class BackgroundClient:
    """Submit generation tasks and wait for their results."""

    def __init__(  # noqa: PLR0913 - a client's key pair, then its tuning, keyword-only, each with a default
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        timeout: float | tuple[float, float] = (3.05, 30.0),
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        poll_interval: float = 2.0,
        poll_timeout: float = 300.0,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.session = session or requests.Session()
        self.retryable = RETRYABLE
        self.rng = rng or random.Random()
        self.sleep = sleep

    # -- wire ----------------------------------------------------------------------------------
    def _signed(self) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        digest = hmac.new(self.app_secret.encode(), (self.app_secret + timestamp).encode(), hashlib.sha256)
        return {
            "partner_id": "aidge",
            "sign_method": "sha256",
            "sign_ver": "v2",
            "app_key": self.app_key,
            "timestamp": timestamp,
            "sign": digest.hexdigest().upper(),
        }

    def _post(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        """One call: the answer's ``data`` on success, else ApiError / CommunicationError."""
        try:
            response = self.session.post(
                self.base_url + "/rest" + api, params=self._signed(), json=body, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise CommunicationError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != HTTPStatus.OK:
            raise CommunicationError(f"HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise CommunicationError(f"the answer is not JSON: {exc}") from exc
        if not isinstance(answer, dict):
            raise CommunicationError("the answer is not a JSON object")
        if "resCode" not in answer:  # the gateway's own errors carry "code" instead
            raise ApiError(str(answer.get("code", "unknown")), str(answer.get("message", "")))
        raw = answer["resCode"]
        text = str(raw).strip(" \t\n\r")
        # ASCII digits only, and few: int() takes "٣" and "1_000", and raises past 4 300 digits.
        if type(raw) is not int and not (text.isascii() and text.isdigit() and len(text) <= _CODE_DIGITS):
            raise CommunicationError(f"resCode {text[:40]!r} is not a whole number")
        code = int(text)
        if code != SUCCESS:
            raise ApiError(code, str(answer.get("resMessage", "")))
        data = answer.get("data")
        if not isinstance(data, dict):
            raise CommunicationError("a success answer without data")
        return data

    def _backoff(self, attempt: int, base: float) -> float:
        """``base * 2**attempt`` less up to a quarter of it at random: jittered, yet each wait
        is still longer than the one before (full jitter would let a retry come sooner)."""
        nominal = min(self.backoff_cap, base * 2**attempt)
        return nominal * (0.75 + 0.25 * self.rng.random())

    def _pause_after_error(self, errors: int) -> float:
        """After ``errors`` failed polls in a row: longer than the usual interval, growing."""
        return self._backoff(errors, self.poll_interval)

    # -- API -------------------------------------------------------------------------------------
    def submit(self, items: list[dict[str, Any]]) -> str:
        """Submit items (``requestParams``); the task ID. Retries the retryable codes only."""
        body = {"requestParams": json.dumps(items, ensure_ascii=False)}
        for attempt in range(self.max_attempts):
            try:
                data = self._post(SUBMIT, body)
            except ApiError as exc:
                if exc.code not in self.retryable or attempt + 1 == self.max_attempts:
                    raise
                self.sleep(self._backoff(attempt, self.backoff_base))
                continue
            result = data.get("result")
            if not isinstance(result, dict) or not isinstance(result.get("taskId"), str):
                raise CommunicationError("a success answer without data.result.taskId")
            return result["taskId"]
        raise AssertionError("unreachable")

    def query(self, task_id: str) -> dict[str, Any]:
        """One result query: the task's ``data``."""
        return self._post(QUERY, {"taskId": task_id})

    def wait(self, task_id: str) -> list[list[str]]:
        """Poll until the task ends; the result URLs per item. Raises TaskFailedError,
        WaitTimeout, ApiError (non-retryable, or retryable ones ``max_attempts`` times in a row)."""
        deadline = time.monotonic() + self.poll_timeout
        errors = 0
        last: ApiError | None = None
        while True:
            try:
                data = self.query(task_id)
            except ApiError as exc:
                errors, last = errors + 1, exc
                if exc.code not in self.retryable or errors >= self.max_attempts:
                    raise
                pause = self._pause_after_error(errors)
            else:
                errors, last = 0, None
                status = data.get("taskStatus")
                if status == "finished":
                    return [list(item.get("imageUrlList") or []) for item in data.get("taskResult") or []]
                if status == "failed":
                    raise TaskFailedError(str(data.get("taskMessage", "failed")))
                pause = self.poll_interval
            if time.monotonic() + pause > deadline:
                if last is not None:  # out of time while retrying an error: that error is the news
                    raise last
                raise WaitTimeout(f"task {task_id} did not end within {self.poll_timeout} s")
            self.sleep(pause)


class ReferenceAdapter:
    """Maps the client's results and exceptions onto the kit's protocol."""

    def __init__(self, client: BackgroundClient) -> None:
        self.client = client

    def submit(self, params: dict[str, Any]) -> str:
        try:
            return self.client.submit([params])
        except ApiError as exc:
            raise Rejected(exc.code, exc.message) from exc
        except CommunicationError as exc:
            raise TransportError(str(exc)) from exc

    def wait(self, task_id: str) -> list[list[str]]:
        try:
            return self.client.wait(task_id)
        except TaskFailedError as exc:
            raise TaskFailed(str(exc)) from exc
        except ApiError as exc:
            raise Rejected(exc.code, exc.message) from exc
        except CommunicationError as exc:
            raise TransportError(str(exc)) from exc

    def close(self) -> None:
        self.client.session.close()


def make_adapter(base_url: str, app_key: str, app_secret: str) -> ReferenceAdapter:
    """The adapter at settings that fit the kit's default bounds (as a test config would)."""
    return ReferenceAdapter(
        BackgroundClient(
            base_url,
            app_key,
            app_secret,
            timeout=(2.0, 3.0),
            max_attempts=4,
            backoff_base=0.1,
            poll_interval=0.25,
            poll_timeout=4.0,
        )
    )


def make_fast_adapter(base_url: str, app_key: str, app_secret: str) -> ReferenceAdapter:
    """The same client tuned for the kit's short test bounds (``transport_bound_s`` 2.5 s,
    ``poll_bound_s`` 3.5 s, ``call_bound_s`` 4 s).

    A run waits out its read timeout once (C9's ``timeout`` probe) and its polling deadline
    once (C10's ``stuck`` task), so both are short; but every other answer and wait must end
    within them on a starved machine too, where one answer can take 30 times its usual few
    milliseconds (a 0.5 s timeout and a 1.2 s deadline tripped under load). Each is still 1.5 s
    or more inside the bound that judges it, plus its 0.5 s of grace."""
    return ReferenceAdapter(
        BackgroundClient(
            base_url,
            app_key,
            app_secret,
            timeout=(1.5, 1.5),
            max_attempts=3,
            backoff_base=0.1,
            poll_interval=0.1,
            poll_timeout=2.0,
        )
    )
