"""Parses answers with ``json.loads(response.text)`` and only maps ``requests`` exceptions,
so a gateway's 502 HTML page (or a cut JSON body) escapes as a bare JSONDecodeError.
Caught by C9 (the adapter crashes instead of reporting a transport error)."""

import json
from typing import Any

import requests

from contracts.reference_client import ApiError, BackgroundClient, CommunicationError

from . import factory


class HtmlCrash(BackgroundClient):
    def _post(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.session.post(
                self.base_url + "/rest" + api, params=self._signed(), json=body, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise CommunicationError(str(exc)) from exc
        answer = json.loads(response.text)  # a 502 page is not JSON: JSONDecodeError escapes
        if int(answer["resCode"]) != 200:
            raise ApiError(int(answer["resCode"]), answer.get("resMessage", ""))
        return answer["data"]


make_adapter = factory(HtmlCrash)
