"""Retries the retryable codes at once, back to back, with no wait. Caught by C7."""

from contracts.reference_client import BackgroundClient

from . import factory


class NoBackoff(BackgroundClient):
    def _backoff(self, attempt: int, base: float) -> float:
        return 0.0


make_adapter = factory(NoBackoff)
