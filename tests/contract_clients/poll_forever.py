"""Polls until the task is finished or failed, with no overall timeout: a task that never
ends keeps it polling forever. Caught by C10 (the stuck-task probe)."""

from contracts.reference_client import BackgroundClient

from . import factory


class PollForever(BackgroundClient):
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.poll_timeout = float("inf")


make_adapter = factory(PollForever)
