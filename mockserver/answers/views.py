"""What the API's ``data`` looks like: a task as the result query shows it, scenes as the scene
query lists them. The behaviour (``api/``) returns its state; these shape it, URLs included."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .urls import cover_url, result_url

if TYPE_CHECKING:
    from ..config import Config
    from ..scenes import Scene
    from ..tasks import Task


def public_base(config: Config, base_url: str) -> str:
    """The base of the fake's own URLs: ``public_url`` when set, else the request's."""
    return (config.public_url or base_url).rstrip("/")


def task_view(task: Task, now: float, config: Config, base_url: str) -> dict[str, Any]:
    """The ``data`` of a result query for ``task`` at ``now``."""
    status = task.status(now)
    ext = "png" if config.result_format == "PNG" else "jpg"
    base = public_base(config, base_url)
    message = task.message if status in ("finished", "failed") else status
    results = []
    for index, item in enumerate(task.items):
        urls = []
        if status == "finished":
            urls = [result_url(base, task.task_id, index, n, ext) for n in range(int(item["imageNum"]))]
        record = {k: v for k, v in item.items() if not k.startswith("_")}
        results.append({
            "imageUrlList": urls,
            "sceneTemplate": str(item["modelNum"]),
            "recordContent": json.dumps(record, ensure_ascii=False, sort_keys=True),
            "taskStatus": status,
            "taskMessage": message,
        })
    return {"taskId": task.task_id, "taskStatus": status, "taskMessage": message, "taskResult": results}


def scene_views(
    scenes: Iterable[Scene], type_names: Mapping[int, str], config: Config, base_url: str
) -> list[dict[str, Any]]:
    """The ``data`` of a scene query: one entry per scene, its cover's URL on this fake."""
    base = public_base(config, base_url)
    return [
        {
            "modelNum": s.model_num, "name": s.name, "sceneName": s.scene_name,
            "sceneType": s.scene_type, "sceneTypeName": type_names.get(s.scene_type, ""),
            "categoryType": list(s.category_types), "categoryNameList": list(s.category_names),
            "coverUrl": cover_url(base, s.model_num),
        }
        for s in scenes
    ]
