"""The kit's handle on a fake, through its public HTTP surface only.

Programming faults (``/__admin/faults``), reading the journal (``/__admin/requests``) and the
settings (``/__admin/config``), and the kit's own signed API calls all go over HTTP with the
standard library, so the kit works the same against a fake in this process, in another one,
or on another port someone started with ``bgmock serve``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from typing import Any

from mockserver.signing import signed_query

from .journal import entries

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
SCENES = "/ai/image/background/generation/scene/query"
#: The resCodes the kit's own logic names (the rest come from the spec's error catalog).
SUCCESS = 200  # every successful answer
RATE_LIMITED = 501  # "rate limit exceed": retryable, and a poll after it waits longer
INVALID_INPUT = 700  # the request's items failed validation
#: Seconds the kit waits for the fake to journal the requests it is still answering (``pending``)
#: before it reads the journal anyway; the first pause between two looks, doubling up to the
#: last (a fake that is slow because the machine is busy is not kept busier by the kit's reads).
SETTLE_LIMIT_S = 10.0
SETTLE_STEPS_S = (0.005, 0.1)


class FakeError(Exception):
    """The fake could not be reached or refused an admin call (a setup problem, not a verdict)."""


def gateway_error(answer: Any) -> str | None:
    """The code of a gateway refusal (``{"code": "MissingParameter", ...}`` without ``resCode``)."""
    if isinstance(answer, dict) and "resCode" not in answer and answer.get("code") not in (None, "0", 0):
        return str(answer["code"])
    return None


def _envelope_text(raw: bytes) -> str:
    """A refusal's body as one readable line: a gateway envelope's ``code: message``, else the
    start of the text itself (an HTML page, a proxy's answer), control characters escaped."""
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("code"):
        text = f"{answer['code']}: {answer.get('message', '')}".rstrip(": ")
    else:
        text = raw[:200].decode("utf-8", "replace").strip() or "(no body)"
    return "".join(c if c.isprintable() else " " for c in text)[:300]


class Fake:
    """Admin and API calls to one running fake at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        app_key: str = "",
        app_secret: str = "",
        admin_token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.admin_token = admin_token
        self.timeout = timeout
        self._mark = 0
        self._rules = True  # whether rules may be installed (unknown at first: a running fake may have some)

    # -- plumbing ---------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        url = self.base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode("utf-8") if body is not None else None
        head = {"Content-Type": "application/json", **(headers or {})}
        if self.admin_token and path.startswith("/__admin"):
            head["X-Bgmock-Admin-Token"] = self.admin_token
        try:  # the Request too: urllib refuses a URL it cannot use there (ValueError), not at the call
            request = urllib.request.Request(url, data=data, method=method, headers=head)
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - loopback/base URL
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            if path.startswith("/__admin"):
                raise FakeError(self._admin_refusal(method, path, exc.code, raw)) from None
        except (OSError, ValueError) as exc:
            raise FakeError(f"cannot reach the fake at {self.base_url}: {exc}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise FakeError(f"{method} {path}: the answer is not JSON: {raw[:200]!r}") from None

    def _admin_refusal(self, method: str, path: str, status: int, raw: bytes) -> str:
        """An admin call the fake refused, said as what to do: the token it wants, a fake that is
        not bgmock; else the gateway envelope's code and message (never the raw bytes)."""
        said = _envelope_text(raw)
        if status == HTTPStatus.UNAUTHORIZED:
            if not self.admin_token:
                return (
                    f"the fake at {self.base_url} requires an admin token ({method} {path}: HTTP 401 {said}): "
                    "pass the token it was started with, --admin-token TOKEN (admin_token= from Python)"
                )
            return (
                f"the fake at {self.base_url} refused the admin token given ({method} {path}: HTTP 401 {said}): "
                "pass the token it was started with, --admin-token TOKEN (admin_token= from Python)"
            )
        hint = (
            " (is it a bgmock fake? to check a real service, use bgmock verify-provider)"
            if status == HTTPStatus.NOT_FOUND
            else ""
        )
        return f"{method} {path}: HTTP {status} {said}{hint}"

    # -- admin --------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "/__admin/health")

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/__admin/config")

    def reset(self) -> None:
        """Forget tasks, rules and the journal (``POST /__admin/reset``); start-up rules
        (``faults`` in the fake's config) apply again."""
        self._call("POST", "/__admin/reset", {})
        self._rules = True

    def clear_faults(self) -> None:
        """Remove every fault rule; a call saved when the kit installed none since the last."""
        if self._rules:
            self._call("DELETE", "/__admin/faults")
            self._rules = False

    def add_faults(self, rules: list[dict[str, Any]]) -> None:
        if rules:
            self._rules = True
            answer = self._call("POST", "/__admin/faults", rules)
            if not isinstance(answer, dict) or "faults" not in answer:
                raise FakeError(f"the fake refused the fault rules {rules}: {answer}")

    def program(self, rules: list[dict[str, Any]]) -> None:
        """Exactly these rules, nothing left over from before."""
        self.clear_faults()
        self.add_faults(rules)

    def journal(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest ``limit`` API requests, oldest first, once the fake has journaled every
        request it had begun (its ``pending`` count is 0).

        A client that gave up on a request (its own timeout) ended its call while the fake was
        still answering it; on a loaded machine that entry appears later. Read at once, it would
        be missing from the call that sent it and taken for a request of the next call (a
        submit with the previous example's values: a C2 "changed" the client never made)."""
        deadline = time.monotonic() + SETTLE_LIMIT_S
        pause, longest = SETTLE_STEPS_S
        while True:
            answer = self._call("GET", "/__admin/requests", query={"limit": str(limit)})
            pending = answer.get("pending") if isinstance(answer, dict) else None
            if not isinstance(pending, int) or pending <= 0 or time.monotonic() >= deadline:
                break  # a fake that does not say (another release) is read as it is
            time.sleep(pause)
            pause = min(pause * 2, longest)
        return list(reversed(entries(answer)))  # read through the schema's promises (journal.py)

    def mark(self) -> int:
        """Remember where the journal is now (every request begun so far journaled, see
        ``journal``); ``since_mark`` returns what came after."""
        entries = self.journal(limit=1)
        self._mark = entries[-1]["id"] if entries else 0
        return self._mark

    def since_mark(self, limit: int = 500, *, first: int = 24) -> list[dict[str, Any]]:
        """The entries after the mark (at most ``limit``), moving the mark past them.

        Asks for the newest ``first`` entries, and for ``limit`` only when those do not reach
        back to the mark: most calls send a handful of requests, and the journal of a long run
        is large (serializing hundreds of entries per example cost seconds on a loaded machine)."""
        newest = self.journal(min(first, limit))
        if len(newest) >= min(first, limit) and newest and newest[0].get("id", 0) > self._mark + 1:
            newest = self.journal(limit)
        entries = [e for e in newest if e.get("id", 0) > self._mark]
        if entries:
            self._mark = entries[-1]["id"]
        return entries

    # -- the kit's own API calls (signed with v2 when a key pair is known) ----------------------
    def api(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        method: str = "POST",
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        params = dict(query or {})
        route = path
        if self.app_key:
            params.update(signed_query(self.app_key, self.app_secret))
            route = "/rest" + path
        answer = self._call(method, route, body if method == "POST" else None, query=params)
        refused = gateway_error(answer)
        if refused:
            raise FakeError(self._refusal(refused, answer))
        return answer

    def _refusal(self, code: str, answer: dict[str, Any]) -> str:
        """The gateway refused the kit's own signed call: a setup problem, said plainly."""
        said = f"{code}: {answer.get('message', '')}".strip()
        if not self.app_key:
            return (
                f"the fake at {self.base_url} requires signatures ({said}): pass one key pair it accepts "
                "with --app-key and --app-secret (app_key=/app_secret= from Python)"
            )
        return (
            f"the fake at {self.base_url} refused the key pair --app-key {self.app_key!r} ({said}): "
            "pass a key pair it accepts with --app-key and --app-secret"
        )

    def scene_ids(self, count: int = 20) -> list[str]:
        """Scene IDs the fake accepts (its scene query), for generating valid requests."""
        answer = self.api(SCENES, {"count": count})
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            raise FakeError(f"the scene query did not answer a list of scenes: {str(answer)[:200]}")
        return [scene["modelNum"] for scene in data if isinstance(scene, dict) and scene.get("modelNum")]

    def create_task(self, item: dict[str, Any]) -> str:
        """Submit one item as a well-behaved client would; the task ID."""
        answer = self.api(SUBMIT, {"requestParams": [item]})
        try:
            return answer["data"]["result"]["taskId"]
        except (KeyError, TypeError):
            raise FakeError(f"the fake did not create a task: {str(answer)[:300]}") from None

    def task_data(self, task_id: str) -> dict[str, Any]:
        """A task's ``data`` from the result query."""
        answer = self.api(QUERY, {"taskId": task_id})
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
            raise FakeError(f"the result query failed: {str(answer)[:300]}")
        return answer["data"]
