"""Images the fake serves: result images and scene covers, rendered in memory.

Nothing is read from disk by path, so no path traversal is possible: URL arguments are
matched by strict converters and looked up in the task store and the scene catalog.
"""

from __future__ import annotations

from ..answers.urls import COVER_IMAGE, RESULT_IMAGE
from ..errors import GatewayError
from ..http import Reply
from ..ui import ROUTES as DASHBOARD_ROUTES
from .base import Context, Route

_TYPES = {"png": "image/png", "jpg": "image/jpeg"}


def result(ctx: Context) -> Reply:
    a = ctx.args
    if a["ext"] not in _TYPES:
        raise GatewayError("InvalidApiPath")
    data = ctx.backend.result_image(str(a["task_id"]), a["item"], a["index"], a["ext"])
    if data is None:
        raise GatewayError("InvalidApiPath", "No such result image (unknown task, not finished, or out of range)")
    return Reply(body=data, content_type=_TYPES[a["ext"]], headers={"Cache-Control": "max-age=3600"})


def cover(ctx: Context) -> Reply:
    data = ctx.backend.cover(ctx.args["model_num"])
    if data is None:
        raise GatewayError("InvalidApiPath", "No such scene cover")
    return Reply(body=data, content_type="image/png", headers={"Cache-Control": "max-age=86400"})


ROUTES: list[Route] = [
    Route(RESULT_IMAGE, ("GET",), "result_image", result, kind="asset"),
    Route(COVER_IMAGE, ("GET",), "cover_image", cover, kind="asset"),
    *DASHBOARD_ROUTES,  # GET /__bgmock/ui: the dashboard (mockserver/ui/)
]
