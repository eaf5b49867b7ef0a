"""Treats an error during polling as "try again now": after a 501 (or any retryable code)
it queries again at once, speeding up exactly when the service asks it to slow down.
Caught by C11 (the 501 probe) and C12 (back-to-back retries of the query)."""

from contracts.reference_client import BackgroundClient

from . import factory


class HurryAfterError(BackgroundClient):
    def _pause_after_error(self, errors: int) -> float:
        return 0.0


make_adapter = factory(HurryAfterError)
