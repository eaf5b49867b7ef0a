"""``bgmock verify-provider``: check a provider's answers (the real service, or a fake)
against the same schemas the fake is built from, to detect drift between the two.

A small, safe, fixed set of calls: one scene query, one submit with a tiny valid image, the
result query of that task (polled, bounded, until it ends, so the finished answer with its
``imageUrlList`` is checked too, and one result image fetched and decoded), and one invalid
submit (which creates nothing). Every answer is validated against its response schema;
nothing else about its values is asserted, so a real service's values (IDs, URLs, scene
names) never make it fail.
"""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from PIL import Image, ImageDraw

from mockserver.parsing import parse_base_url, read_int
from mockserver.signing import signed_query
from mockserver.spec import load_spec

from .fake import INVALID_INPUT, QUERY, SCENES, SUBMIT, SUCCESS, gateway_error

#: Polling the result query: the first wait, how it grows, and its cap (the official samples
#: poll every 1-5 s). The overall bound is ``poll_timeout`` (``--poll-timeout``).
POLL_INTERVAL_S = 1.0
POLL_GROWTH = 1.5
POLL_CAP_S = 5.0
POLL_TIMEOUT_S = 120.0
#: Task states after which polling stops.
ENDED = ("finished", "failed")
_SHOWN_CHARS = 200  # of a string in an answer, or of a schema message, in the report


@dataclass
class Step:
    """One call and its verdict: ``ok``, ``drift`` (the answer breaks its schema), ``error``
    (no answer to judge: network failure, the gateway refused the key pair, a task that did not
    end in time) or ``skipped`` (an earlier step gave nothing to call it with; that step says why)."""

    name: str
    request: str
    status: str = "ok"
    schema: str = ""
    problems: list[str] = field(default_factory=list)
    answer: Any = None
    notes: list[str] = field(default_factory=list)  # what was seen, when it is not a problem

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "request": self.request,
            "status": self.status,
            "schema": self.schema,
            "problems": self.problems,
            "notes": self.notes,
            "answer": self.answer,
        }

    def worse(self, status: str, problem: str) -> None:
        """Add a problem; the status becomes the worse of the two (error > drift > ok)."""
        self.problems.append(problem)
        order = ("ok", "skipped", "drift", "error")
        if order.index(status) > order.index(self.status):
            self.status = status


@dataclass
class ProviderResult:
    base_url: str
    steps: list[Step]

    @property
    def exit_code(self) -> int:
        if any(s.status == "error" for s in self.steps):
            return 2
        return 1 if any(s.status == "drift" for s in self.steps) else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": "bgmock verify-provider",
            "baseUrl": self.base_url,
            "ok": self.exit_code == 0,
            "steps": [s.as_dict() for s in self.steps],
        }

    def text(self) -> str:
        lines = [f"bgmock verify-provider: {self.base_url}"]
        labels = {"ok": "ok", "drift": "DRIFT", "error": "ERROR", "skipped": "SKIP"}
        for s in self.steps:
            lines.append(
                f"  {labels.get(s.status, s.status):<6} {s.name:<14} {s.request}"
                + (f" (against {s.schema})" if s.schema else "")
            )
            lines += [f"         - {p}" for p in s.problems]
            lines += [f"           {n}" for n in s.notes]
        verdict = {
            0: "every answer matches the schemas",
            1: "DRIFT: some answers break the schemas",
            2: "could not verify (see the errors above)",
        }[self.exit_code]
        lines.append(f"result: {verdict}")
        return "\n".join(lines)


def tiny_image(side: int) -> str:
    """The smallest image the service accepts (``side`` x ``side``), as base64."""
    img = Image.new("RGB", (side, side), (236, 232, 224))
    ImageDraw.Draw(img).ellipse((side // 4, side // 4, side * 3 // 4, side * 3 // 4), fill=(180, 40, 40))
    out = io.BytesIO()
    img.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


class Provider:
    """Signed calls to a provider at ``base_url`` (v2 scheme on the ``/rest`` path)."""

    def __init__(self, base_url: str, app_key: str = "", app_secret: str = "", *, timeout: float = 30.0) -> None:
        self.base_url = parse_base_url(base_url, "--base-url", example="https://api.aidc-ai.com")
        self.app_key = app_key
        self.app_secret = app_secret
        self.timeout = timeout

    def path(self, api: str) -> str:
        """The path a call of ``api`` goes to: signed calls take the gateway's ``/rest`` path."""
        return f"{'/rest' if self.app_key else ''}{api}"

    def call(self, api: str, body: dict[str, Any]) -> tuple[int, Any]:
        query = signed_query(self.app_key, self.app_secret) if self.app_key else {}
        url = f"{self.base_url}{self.path(api)}?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(
            url, data=json.dumps(body).encode("utf-8"), method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - user's URL
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw[:300].decode("utf-8", "replace")


def _res_code(answer: Any) -> Any:
    """``resCode`` as a number when it spells one ("200" and 200 are the same code)."""
    code = answer.get("resCode") if isinstance(answer, dict) else None
    if isinstance(code, str) and (number := read_int(code, padded=True)) is not None:
        return number
    return code


def _task_id(answer: Any) -> str | None:
    """``data.result.taskId`` of a submit answer, however its resCode is spelled."""
    data = answer.get("data") if isinstance(answer, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    task_id = result.get("taskId") if isinstance(result, dict) else None
    return task_id if isinstance(task_id, str) and task_id else None


class _Verifier:
    """The fixed calls, each judged into a Step."""

    def __init__(self, provider: Provider, poll_interval: float, poll_timeout: float) -> None:
        self.provider = provider
        self.spec = load_spec()
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.steps: list[Step] = []

    def validate(self, step: Step, status: int, answer: Any, schema: str) -> None:
        """Judge one answer into ``step`` (its problems added once each)."""
        refused = gateway_error(answer)
        if refused:
            step.worse(
                "error",
                f"the gateway refused the call: {refused}: {answer.get('message')} (check --app-key and --app-secret)",
            )
            gateway = sorted(e.message for e in self.spec.validator("gateway-error.json").iter_errors(answer))
            for p in gateway:
                step.worse("error", f"and the gateway answer breaks gateway-error.json: {p}")
            return
        if not isinstance(answer, dict):
            step.worse("drift", f"HTTP {status}: the answer is not a JSON object: {answer!r}"[:300])
            return
        problems = sorted({_problem(e) for e in self.spec.validator(schema).iter_errors(answer)})
        spelled = answer.get("resCode")
        if isinstance(spelled, str):
            # One plain line instead of the schema's two ("not of type", "200 was expected").
            problems = [p for p in problems if not p.startswith("resCode:")]
            problems.insert(0, f"resCode: the string {spelled!r} where the schema documents a number")
        if status != HTTPStatus.OK:
            problems.insert(0, f"HTTP {status} (200 expected)")
        for p in problems:
            if p not in step.problems:
                step.worse("drift", p)

    def call(self, step: Step, api: str, body: dict[str, Any], schema: str) -> Any:
        """One call judged into ``step``; the answer (None when there was none).

        A documented error code where a success was expected (say 1001, rate limited) is not
        drift: that answer is checked against error-response.json and the step cannot verify."""
        try:
            status, answer = self.provider.call(api, body)
        except OSError as exc:
            step.worse("error", f"no answer: {exc}")
            return None
        step.answer = _short(answer)
        code = _res_code(answer)
        if schema != "error-response.json" and isinstance(code, int) and code != SUCCESS and code in self.spec.errors:
            self.validate(step, status, answer, "error-response.json")
            step.worse(
                "error",
                f"answered resCode {code} ({answer.get('resMessage')!r}) instead of a success: "
                "its success answer could not be checked",
            )
            return answer
        self.validate(step, status, answer, schema)
        return answer

    def judge(self, name: str, request: str, api: str, body: dict[str, Any], schema: str) -> tuple[Step, Any]:
        step = Step(name, request, schema=schema)
        self.steps.append(step)
        return step, self.call(step, api, body, schema)

    def poll(self, task_id: str, image_num: int) -> None:
        """The result query, polled until the task ends (bounded by ``poll_timeout``); every
        answer validated; then the finished answer's URLs counted and one image decoded."""
        step = Step(
            "result query", f"POST {self.provider.path(QUERY)} {{taskId: {task_id}}} until the task ends",
            schema="query-response.json",
        )
        self.steps.append(step)
        answer = self._until_ended(step, task_id)
        if answer is not None:
            self._check_result(step, answer["data"], image_num)

    def _until_ended(self, step: Step, task_id: str) -> Any:
        """Poll until the task ends: its last answer, or None once ``step`` says why it could not."""
        began = time.monotonic()
        wait = self.poll_interval
        seen: list[str] = []
        polls = 0
        while True:
            polls += 1
            try:
                status, answer = self.provider.call(QUERY, {"taskId": task_id})
            except OSError as exc:
                step.worse("error", f"no answer to poll {polls}: {exc}")
                return None
            step.answer = _short(answer)
            code = _res_code(answer)
            if isinstance(answer, dict) and code not in (None, SUCCESS) and not gateway_error(answer):
                if not self._retryable(step, status, answer, polls):
                    return None
                seen.append(f"resCode {code}")
            else:
                self.validate(step, status, answer, "query-response.json")
                if step.status == "error":
                    return None
                data = answer.get("data") if isinstance(answer, dict) else None
                task_status = data.get("taskStatus") if isinstance(data, dict) else None
                if not seen or seen[-1] != str(task_status):
                    seen.append(str(task_status))
                if task_status in ENDED:
                    step.notes.append(f"{polls} poll(s) over {time.monotonic() - began:.1f} s: {' -> '.join(seen)}")
                    return answer
            if time.monotonic() - began + wait > self.poll_timeout:
                step.worse(
                    "error",
                    f"the task did not end within --poll-timeout {self.poll_timeout:g} s ({polls} polls; "
                    f"last {seen[-1] if seen else 'nothing'}): its finished answer was not checked",
                )
                return None
            time.sleep(wait)
            wait = min(wait * POLL_GROWTH, max(POLL_CAP_S, self.poll_interval))

    def _retryable(self, step: Step, status: int, answer: dict[str, Any], polls: int) -> bool:
        """An error answer to a poll, checked against error-response.json: whether polling may go on."""
        self.validate(step, status, answer, "error-response.json")
        code = _res_code(answer)
        entry = self.spec.errors.get(code) if isinstance(code, int) else None
        if entry is None or not entry.retryable:
            step.worse("error", f"poll {polls} answered resCode {code} ({answer.get('resMessage')!r})")
            return False
        return True

    def _check_result(self, step: Step, data: dict[str, Any], image_num: int) -> None:
        """A finished task's URLs, one list of ``image_num`` for the one item; its first image decoded."""
        if data.get("taskStatus") == "failed":
            step.notes.append(f"the task failed ({data.get('taskMessage')!r}): no result image to check")
            return
        results = data.get("taskResult") if isinstance(data.get("taskResult"), list) else []
        urls = [list(item.get("imageUrlList") or []) for item in results if isinstance(item, dict)]
        if [len(u) for u in urls] != [image_num]:
            step.worse(
                "drift",
                f"finished with {[len(u) for u in urls]} URL(s) per item; one item with imageNum {image_num} was asked",
            )
        first = next((u[0] for u in urls if u), None)
        if first is None:
            step.worse("drift", "finished without a result image URL")
            return
        step.request += "; GET its first result image"
        self.fetch_image(step, first)

    def fetch_image(self, step: Step, url: Any) -> None:
        """GET one result image and decode it with Pillow."""
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            step.worse("drift", f"result image URL {str(url)[:200]!r} is not an http(s) URL")
            return
        try:
            with urllib.request.urlopen(url, timeout=self.provider.timeout) as response:  # noqa: S310 - its URL
                raw = response.read()
        except urllib.error.HTTPError as exc:
            step.worse("drift", f"result image {url}: HTTP {exc.code}")
            return
        except ValueError as exc:  # urllib's verdict on a URL it cannot use (a bad port, an open bracket)
            step.worse("drift", f"result image URL {url[:200]!r} is not a usable URL ({exc})")
            return
        except OSError as exc:
            step.worse("error", f"result image {url}: no answer: {exc}")
            return
        try:
            with Image.open(io.BytesIO(raw)) as img:
                img.load()
                step.notes.append(f"result image {url}: {img.format} {img.width}x{img.height}, {len(raw)} bytes")
        except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for a broken image
            step.worse("drift", f"result image {url}: does not decode as an image ({type(exc).__name__}: {exc})")


def verify_provider(  # noqa: PLR0913 - bgmock verify-provider's flags, the optional ones keyword-only
    base_url: str,
    app_key: str = "",
    app_secret: str = "",
    *,
    model_num: str | None = None,
    timeout: float = 30.0,
    poll_interval: float = POLL_INTERVAL_S,
    poll_timeout: float = POLL_TIMEOUT_S,
) -> ProviderResult:
    """Run the fixed calls and validate every answer."""
    for flag, value in (("--timeout", timeout), ("--poll-interval", poll_interval), ("--poll-timeout", poll_timeout)):
        if not value > 0:  # also false for NaN
            raise ValueError(f"{flag} {value}: must be more than 0 seconds")
    spec = load_spec()
    v = _Verifier(Provider(base_url, app_key, app_secret, timeout=timeout), poll_interval, poll_timeout)

    scenes, answer = v.judge(
        "scene query", f"POST {v.provider.path(SCENES)} {{count: 3}}", SCENES, {"count": 3}, "scene-query-response.json"
    )
    scene = model_num
    if scene is None and isinstance(answer, dict) and isinstance(answer.get("data"), list):
        scene = next((s.get("modelNum") for s in answer["data"] if isinstance(s, dict) and s.get("modelNum")), None)
    scene = scene or "mod001"
    low = int(spec.schema("config.json")["properties"]["image_min_side"]["default"]) + 1
    item = {"imgBase64": tiny_image(low), "modelNum": scene, "width": 800, "height": 800, "imageNum": 2}
    submitted, answer = v.judge(
        "submit",
        f"POST {v.provider.path(SUBMIT)} ({low}x{low} PNG, modelNum {scene!r}, 800x800, 2 images)",
        SUBMIT,
        {"requestParams": json.dumps([item])},
        "submit-response.json",
    )
    task_id = _task_id(answer) if submitted.status != "error" else None
    if task_id:
        v.poll(task_id, item["imageNum"])
    else:
        why = "the submit failed (see above)" if submitted.status == "error" else "the submit answered no task ID"
        skipped = Step("result query", f"POST {v.provider.path(QUERY)}", status="skipped", notes=[f"skipped: {why}"])
        v.steps.append(skipped)
    bad = dict(item, width=801)
    invalid, answer = v.judge(
        "invalid submit",
        f"POST {v.provider.path(SUBMIT)} (width 801: must answer resCode 700)",
        SUBMIT,
        {"requestParams": json.dumps([bad])},
        "error-response.json",
    )
    if invalid.status != "error" and isinstance(answer, dict) and _res_code(answer) != INVALID_INPUT:
        invalid.worse("drift", f"resCode {answer.get('resCode')!r} (700 expected)")
    return ProviderResult(base_url, v.steps)


def _problem(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    message = error.message if len(error.message) < _SHOWN_CHARS else error.message[:_SHOWN_CHARS] + "..."
    return f"{where}: {message}"


def _short(value: Any) -> Any:
    """The answer for the report, long strings shortened."""
    if isinstance(value, str):
        return value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + f"... ({len(value)} chars)"
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value[:20]]
    return value
