"""``bgmock verify-provider``: check a provider's answers (the real service, or a fake)
against the same schemas the fake is built from, to detect drift between the two.

A small, safe, fixed set of calls: one scene query, one submit with a tiny valid image, the
query of that task, and one invalid submit (which creates nothing). Every answer is validated
against its response schema; nothing else is asserted, so a real service's values (IDs, URLs,
scene names) never make it fail.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from mockserver.signing import signed_query
from mockserver.spec import load_spec

from .fake import QUERY, SCENES, SUBMIT


@dataclass
class Step:
    """One call and its verdict: ``ok``, ``drift`` (the answer breaks its schema) or ``error``
    (no answer to judge: network failure, or the gateway refused the key pair)."""

    name: str
    request: str
    status: str = "ok"
    schema: str = ""
    problems: list[str] = field(default_factory=list)
    answer: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "request": self.request,
            "status": self.status,
            "schema": self.schema,
            "problems": self.problems,
            "answer": self.answer,
        }


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
        for s in self.steps:
            lines.append(
                f"  {s.status.upper() if s.status != 'ok' else 'ok':<6} {s.name:<14} {s.request}"
                + (f" (against {s.schema})" if s.schema else "")
            )
            lines += [f"         - {p}" for p in s.problems]
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
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"--base-url {base_url!r}: expected an http(s) URL such as https://api.aidc-ai.com")
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.timeout = timeout

    def call(self, api: str, body: dict[str, Any]) -> tuple[int, Any]:
        query = signed_query(self.app_key, self.app_secret) if self.app_key else {}
        url = f"{self.base_url}{'/rest' if self.app_key else ''}{api}?{urllib.parse.urlencode(query)}"
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


def verify_provider(
    base_url: str, app_key: str = "", app_secret: str = "", *, model_num: str | None = None, timeout: float = 30.0
) -> ProviderResult:
    """Run the fixed calls and validate every answer."""
    spec = load_spec()
    provider = Provider(base_url, app_key, app_secret, timeout=timeout)
    steps: list[Step] = []

    def judge(name: str, request: str, api: str, body: dict[str, Any], schema: str) -> Step:
        step = Step(name, request, schema=schema)
        steps.append(step)
        try:
            status, answer = provider.call(api, body)
        except OSError as exc:
            step.status, step.problems = "error", [f"no answer: {exc}"]
            return step
        step.answer = _short(answer)
        if isinstance(answer, dict) and "resCode" not in answer and answer.get("code") not in (None, "0"):
            step.status = "error"
            step.problems = [
                f"the gateway refused the call: {answer.get('code')}: {answer.get('message')} "
                "(check --app-key and --app-secret)"
            ]
            gateway = sorted(e.message for e in spec.validator("gateway-error.json").iter_errors(answer))
            step.problems += [f"and the gateway answer breaks gateway-error.json: {p}" for p in gateway]
            return step
        if not isinstance(answer, dict):
            step.status, step.problems = "drift", [f"HTTP {status}: the answer is not a JSON object: {answer!r}"[:300]]
            return step
        problems = sorted({_problem(e) for e in spec.validator(schema).iter_errors(answer)})
        if status != 200:
            problems.insert(0, f"HTTP {status} (200 expected)")
        if problems:
            step.status, step.problems = "drift", problems
        return step

    scenes = judge("scene query", f"POST {SCENES} {{count: 3}}", SCENES, {"count": 3}, "scene-query-response.json")
    scene = model_num
    if scene is None and isinstance(scenes.answer, dict) and isinstance(scenes.answer.get("data"), list):
        scene = next(
            (s.get("modelNum") for s in scenes.answer["data"] if isinstance(s, dict) and s.get("modelNum")), None
        )
    scene = scene or "mod001"
    low = int(spec.schema("config.json")["properties"]["image_min_side"]["default"]) + 1
    item = {"imgBase64": tiny_image(low), "modelNum": scene, "width": 800, "height": 800, "imageNum": 2}
    submitted = judge(
        "submit",
        f"POST {SUBMIT} ({low}x{low} PNG, modelNum {scene!r}, 800x800, 2 images)",
        SUBMIT,
        {"requestParams": json.dumps([item])},
        "submit-response.json",
    )
    task_id = None
    if submitted.status == "ok":
        task_id = ((submitted.answer.get("data") or {}).get("result") or {}).get("taskId")
    if task_id:
        judge("result query", f"POST {QUERY} {{taskId: {task_id}}}", QUERY, {"taskId": task_id}, "query-response.json")
    else:
        steps.append(
            Step(
                "result query",
                f"POST {QUERY}",
                status=submitted.status if submitted.status == "error" else "drift",
                problems=["skipped: the submit returned no task ID"],
            )
        )
    bad = dict(item, width=801, imgBase64=item["imgBase64"])
    invalid = judge(
        "invalid submit",
        f"POST {SUBMIT} (width 801: must answer resCode 700)",
        SUBMIT,
        {"requestParams": json.dumps([bad])},
        "error-response.json",
    )
    if invalid.status == "ok" and invalid.answer.get("resCode") != 700:
        invalid.status, invalid.problems = "drift", [f"resCode {invalid.answer.get('resCode')} (700 expected)"]
    return ProviderResult(base_url, steps)


def _problem(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    message = error.message if len(error.message) < 200 else error.message[:200] + "..."
    return f"{where}: {message}"


def _short(value: Any) -> Any:
    """The answer for the report, long strings shortened."""
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + f"... ({len(value)} chars)"
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value[:20]]
    return value
