"""Sends every request without a timeout (requests waits forever by default): a reply that
never comes hangs the caller. Caught by C9 (the "timeout" probe)."""

from contracts.reference_client import BackgroundClient

from . import factory


class NoTimeout(BackgroundClient):
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.timeout = None  # "the service is fast enough"


make_adapter = factory(NoTimeout)
