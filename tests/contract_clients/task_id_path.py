"""Reads the task ID from ``data.taskId`` (as one official sample of a sibling API does)
instead of ``data.result.taskId``. Caught by C4."""

import json
from typing import Any

from contracts.reference_client import SUBMIT, BackgroundClient

from . import factory


class TaskIdPath(BackgroundClient):
    def submit(self, items: list[dict[str, Any]]) -> str:
        data = self._post(SUBMIT, {"requestParams": json.dumps(items, ensure_ascii=False)})
        return data.get("taskId")  # None: the ID sits in data.result


make_adapter = factory(TaskIdPath)
