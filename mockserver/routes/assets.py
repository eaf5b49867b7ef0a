"""Images the fake serves: result images and scene covers, rendered in memory.

Nothing is read from disk by path, so no path traversal is possible: URL arguments are
matched by strict converters and looked up in the task store and the scene catalog.
"""

from __future__ import annotations

from ..dispatch import Context, Route
from ..errors import GatewayError
from ..http import Reply
from ..ui import ROUTES as DASHBOARD_ROUTES

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
    Route(
        "/__bgmock/results/<uuid:task_id>/<int:item>/<int:index>.<any(png, jpg):ext>", ("GET",),
        "result_image", result, kind="asset",
    ),
    # path, not string: a user catalog's modelNum may contain "/" (coverUrl quotes it as %2F).
    Route("/__bgmock/covers/<path:model_num>.png", ("GET",), "cover_image", cover, kind="asset"),
    *DASHBOARD_ROUTES,  # GET /__bgmock/ui: the dashboard (mockserver/ui/)
]
