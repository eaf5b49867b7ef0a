"""Retries every business error, 700 and 1000 included ("errors are transient, just retry").
Caught by C6."""

from contracts.reference_client import BackgroundClient

from . import factory


class RetriesEverything(BackgroundClient):
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.retryable = frozenset(range(100, 100000))  # every code counts as retryable


make_adapter = factory(RetriesEverything)
