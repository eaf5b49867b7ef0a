"""Retries a retryable code until it succeeds, however long that takes (with backoff, so it
looks polite). Caught by C7: more attempts than allowed, no result within the bound."""

import json
from typing import Any

from contracts.reference_client import SUBMIT, ApiError, BackgroundClient

from . import factory


class RetriesForever(BackgroundClient):
    def submit(self, items: list[dict[str, Any]]) -> str:
        body = {"requestParams": json.dumps(items, ensure_ascii=False)}
        attempt = 0
        while True:
            try:
                return self._post(SUBMIT, body)["result"]["taskId"]
            except ApiError as exc:
                if exc.code not in self.retryable:
                    raise
                self.sleep(self._backoff(min(attempt, 2), self.backoff_base))
                attempt += 1


make_adapter = factory(RetriesForever)
