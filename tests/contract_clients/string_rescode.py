"""Compares ``resCode`` with the number 200, so a gateway that spells it "200" makes every
success look like a failure. Caught by C8 (the string-rescode shape)."""

from typing import Any

import requests

from contracts.reference_client import ApiError, BackgroundClient, CommunicationError

from . import factory


class StringResCode(BackgroundClient):
    def _post(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.session.post(
                self.base_url + "/rest" + api, params=self._signed(), json=body, timeout=self.timeout
            )
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise CommunicationError(str(exc)) from exc
        if answer.get("resCode") != 200:
            raise ApiError(answer.get("resCode", "?"), str(answer.get("resMessage", "")))
        return answer["data"]


make_adapter = factory(StringResCode)
