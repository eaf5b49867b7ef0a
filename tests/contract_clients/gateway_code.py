"""Reports the gateway's ``code`` field ("0") as the error code instead of ``resCode``: the
caller cannot tell a rate limit from a content refusal. Caught by C5."""

from typing import Any

from contracts.reference_client import ApiError, BackgroundClient

from . import factory


class GatewayCode(BackgroundClient):
    def _post(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return super()._post(api, body)
        except ApiError as exc:
            raise ApiError("0" if isinstance(exc.code, int) else exc.code, exc.message) from None


make_adapter = factory(GatewayCode)
