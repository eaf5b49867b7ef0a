"""The vendor's endpoints: submit, result query, scene query (plain and ``/rest`` signed form)."""

from __future__ import annotations

from typing import Any

from ..dispatch import Context, Route
from ..errors import InvalidInput
from ..http import Reply
from ..validation import FormBody

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
SCENES = "/ai/image/background/generation/scene/query"


def _body(ctx: Context) -> dict[str, Any]:
    try:
        body = ctx.backend.requests.body(ctx.request.header("content-type"), ctx.request.body)
    except InvalidInput as exc:  # an unreadable body breaks the request schema: the journal says why
        ctx.notes.problems = exc.problems
        raise
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
    data = ctx.backend.query(
        _without_system(body), base_url=ctx.request.base_url, prefer=ctx.request.header("prefer"), notes=ctx.notes
    )
    ctx.notes.task_id = data["taskId"]
    ctx.notes.task_status = data["taskStatus"]  # journaled: what the client was told (the kit's evidence)
    return Reply.json(ctx.envelopes.success(data))


def scenes(ctx: Context) -> Reply:
    body = _body(ctx)
    data = ctx.backend.scene_query(
        _without_system(body), base_url=ctx.request.base_url, prefer=ctx.request.header("prefer"), notes=ctx.notes
    )
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
        Route("/rest" + path, methods, endpoint + "_rest", handler, api_name=path),
    ]


ROUTES: list[Route] = [
    *_both(SUBMIT, ("POST",), "submit", submit),
    *_both(QUERY, ("GET", "POST"), "query", query),
    *_both(SCENES, ("POST",), "scenes", scenes),
]

__all__ = ["QUERY", "ROUTES", "SCENES", "SUBMIT"]
