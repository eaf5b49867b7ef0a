"""Polls the result query in a tight loop, with no pause between polls. Caught by C11."""

from contracts.reference_client import BackgroundClient

from . import factory


class BusyPoll(BackgroundClient):
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.poll_interval = 0.0


make_adapter = factory(BusyPoll)
