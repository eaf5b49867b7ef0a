"""The vendor's endpoints: submit, result query, scene query (plain and ``/rest`` signed form)."""

from __future__ import annotations

from typing import Any

from ..answers.urls import QUERY, REST_PREFIX, SCENES, SUBMIT
from ..answers.views import scene_views, task_view
from ..errors import InvalidInput
from ..http import Reply
from ..validation import FormBody
from .base import Context, Route


def _body(ctx: Context) -> dict[str, Any]:
    try:
        body = ctx.backend.requests.body(ctx.request.header("content-type"), ctx.request.body)
    except InvalidInput as exc:  # an unreadable body breaks the request schema: the journal says why
        # every problem of the request at once: a bad Prefer header beside the body's
        ctx.notes.problems = [*exc.problems, *ctx.backend.prefer_problems(ctx.request.header("prefer"))]
        raise InvalidInput(ctx.notes.problems) from None
    ctx.notes.body = body
    return body


def submit(ctx: Context) -> Reply:
    body = _body(ctx)
    task_id = ctx.backend.submit(
        body, prefer=ctx.request.header("prefer"), app_key=ctx.notes.app_key, notes=ctx.notes
    )
    ctx.notes.task_id = task_id
    return Reply.json(ctx.envelopes.success({"result": {"taskId": task_id}}))


def query(ctx: Context) -> Reply:
    if ctx.request.method == "GET":
        body: dict[str, Any] = FormBody((k, v) for k, v in ctx.request.query.items() if k == "taskId")
    else:
        body = _body(ctx)
        body.pop("requestParams", None)
        if "taskId" not in body and "taskId" in ctx.request.query:  # POST to the GET-style URL
            body["taskId"] = ctx.request.query["taskId"]
    task, now = ctx.backend.poll(_without_system(body), prefer=ctx.request.header("prefer"), notes=ctx.notes)
    data = task_view(task, now, ctx.backend.config, ctx.request.base_url)
    ctx.notes.task_id = data["taskId"]
    ctx.notes.task_status = data["taskStatus"]  # journaled: what the client was told (the kit's evidence)
    return Reply.json(ctx.envelopes.success(data))


def scenes(ctx: Context) -> Reply:
    body = _body(ctx)
    found = ctx.backend.find_scenes(_without_system(body), prefer=ctx.request.header("prefer"), notes=ctx.notes)
    data = scene_views(found, ctx.backend.catalog.scene_type_names, ctx.backend.config, ctx.request.base_url)
    return Reply.json(ctx.envelopes.success(data))


_SYSTEM = frozenset(
    {"app_key", "timestamp", "sign", "sign_method", "sign_ver", "partner_id", "access_token", "format", "simplify"}
)


def _without_system(body: dict[str, Any]) -> dict[str, Any]:
    """Drop the IOP SDK's system parameters that sit beside API parameters in a form body."""
    return type(body)((k, v) for k, v in body.items() if k not in _SYSTEM)


def _both(path: str, methods: tuple[str, ...], endpoint: str, handler: Any) -> list[Route]:
    return [
        Route(path, methods, endpoint, handler, api_name=path),
        Route(REST_PREFIX + path, methods, endpoint + "_rest", handler, api_name=path),
    ]


ROUTES: list[Route] = [
    *_both(SUBMIT, ("POST",), "submit", submit),
    *_both(QUERY, ("GET", "POST"), "query", query),
    *_both(SCENES, ("POST",), "scenes", scenes),
]

__all__ = ["QUERY", "ROUTES", "SCENES", "SUBMIT"]
