"""Loads the submit answer into a strict dataclass (``SubmitResult(**data["result"])``): a
field the service adds tomorrow raises TypeError. Caught by C8 (the extra-fields shape)."""

import json
from dataclasses import dataclass
from typing import Any

from contracts.reference_client import SUBMIT, BackgroundClient

from . import factory


@dataclass
class SubmitResult:
    taskId: str  # noqa: N815 - the wire name


class StrictModel(BackgroundClient):
    def submit(self, items: list[dict[str, Any]]) -> str:
        data = self._post(SUBMIT, {"requestParams": json.dumps(items, ensure_ascii=False)})
        return SubmitResult(**data["result"]).taskId


make_adapter = factory(StrictModel)
