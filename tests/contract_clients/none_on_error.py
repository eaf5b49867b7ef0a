"""Reads the task ID with ``.get()`` all the way down and never looks at ``resCode``: an error
answer (no ``data``) makes ``submit`` return None instead of raising, and the caller stores a
task that does not exist. Caught by C5 ("returned None instead of raising Rejected(700)")."""

import json
from typing import Any

from contracts.reference_client import BackgroundClient

from . import factory


class NoneOnError(BackgroundClient):
    def _post(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(
            self.base_url + "/rest" + api, params=self._signed(), json=body, timeout=self.timeout
        )
        return response.json().get("data") or {}

    def submit(self, items: list[dict[str, Any]]) -> str:
        data = self._post("/ai/image/background/generation/scenario", {"requestParams": json.dumps(items)})
        return (data.get("result") or {}).get("taskId")  # type: ignore[return-value]


make_adapter = factory(NoneOnError)
