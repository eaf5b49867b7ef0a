"""Returns only the first result URL of each item (written for a single-image API).
Caught by C10."""

from contracts.reference_client import BackgroundClient

from . import factory


class FirstUrlOnly(BackgroundClient):
    def wait(self, task_id: str) -> list[list[str]]:
        return [urls[:1] for urls in super().wait(task_id)]


make_adapter = factory(FirstUrlOnly)
