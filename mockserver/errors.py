"""Typed errors the backend raises; the HTTP layers turn them into envelopes.

Keeping them free of HTTP lets the same backend serve the live server, the in-process mode
and direct calls from tests.
"""

from __future__ import annotations

from collections.abc import Sequence


class ApiError(Exception):
    """A business error: answered as ``success: false`` with a documented ``resCode``.

    ``detail`` is appended to the catalog message (``invalid input: <detail>``); ``message``
    replaces the catalog message altogether (a fault rule's ``resMessage``).
    """

    def __init__(
        self, res_code: int, detail: str | None = None, *, message: str | None = None, delay_ms: int = 0
    ):
        super().__init__(f"{res_code}: {message or detail or ''}")
        self.res_code = res_code
        self.detail = detail
        self.message = message
        self.delay_ms = delay_ms


class InvalidInput(ApiError):
    """resCode 700 with one problem per failing field, e.g. ``requestParams[0].width: ...``."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(700, "; ".join(self.problems))


class GatewayError(Exception):
    """An error of the API gateway, answered before the call reaches the API."""

    def __init__(self, code: str, message: str | None = None, *, status: int | None = None):
        super().__init__(f"{code}: {message or ''}")
        self.code = code
        self.message = message
        self.status = status
