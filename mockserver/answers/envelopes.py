"""Answer bodies built from the error catalog: success, business error, gateway error.

Every body the fake sends is built here, so each one validates against the response schemas
(a property test holds us to it). The off-schema shapes a fault rule may ask for are
``faults/shapes.py``'s.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, GatewayError
from ..ids import Ids
from ..spec import Spec


class Envelopes:
    """Builds answer bodies with fresh IDs from the fake's seeded ID source."""

    def __init__(self, spec: Spec, ids: Ids) -> None:
        self.spec = spec
        self.ids = ids

    def _gateway_ids(self) -> dict[str, str]:
        trace = self.ids.request_id()
        return {"request_id": self.ids.gateway_id(), "_trace_id_": trace}

    def success(self, data: Any) -> dict[str, Any]:
        """The reference's sample shape around ``data``."""
        gateway = self._gateway_ids()
        return {
            "data": data,
            "requestId": gateway["_trace_id_"],
            "success": True,
            "resCode": 200,
            "resMessage": "success",
            "code": "0",
            **gateway,
        }

    def message_for(self, error: ApiError) -> str:
        if error.message:
            return error.message
        entry = self.spec.errors.get(error.res_code)
        base = entry.message if entry else "error"
        return f"{base}: {error.detail}" if error.detail else base

    def business_error(self, error: ApiError) -> dict[str, Any]:
        gateway = self._gateway_ids()
        return {
            "success": False,
            "resCode": error.res_code,
            "resMessage": self.message_for(error),
            "requestId": gateway["_trace_id_"],
            "code": "0",
            **gateway,
        }

    def gateway_error(self, error: GatewayError) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) for a gateway error, the catalog's message unless overridden."""
        entry = self.spec.gateway_errors.get(error.code, {})
        status = error.status or int(entry.get("httpStatus", 200))
        body = {
            "type": "ISV",
            "code": error.code,
            "message": error.message or entry.get("message", error.code),
            **self._gateway_ids(),
        }
        return status, body
