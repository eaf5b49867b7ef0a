"""Two bugs at once, as a hurried client has them: no timeout on requests *and* no mapping of
``requests``' own exceptions (a reset escapes as ``requests.ConnectionError``). Caught by C9
twice: the "reset" probe crashes and the "timeout" probe hangs; the report lists both."""

from typing import Any

from contracts.reference_client import ApiError, BackgroundClient

from . import factory


class CarelessTransport(BackgroundClient):
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.timeout = None  # "the service is fast enough"

    def _post(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(self.base_url + "/rest" + api, params=self._signed(), json=body)
        answer = response.json()  # requests' errors escape as they are
        code = int(str(answer["resCode"]))
        if code != 200:
            raise ApiError(code, str(answer.get("resMessage", "")))
        return answer["data"]


make_adapter = factory(CarelessTransport)
