"""When the caller gives both an image and its URL, sends only the URL "to keep the request
small"; the service would fetch the URL, not the image the caller meant. Caught by C2."""

from typing import Any

from contracts.reference_client import BackgroundClient

from . import factory


class UrlPreferred(BackgroundClient):
    def submit(self, items: list[dict[str, Any]]) -> str:
        slim = [{k: v for k, v in item.items() if not (k == "imgBase64" and "imageFileUrl" in item)} for item in items]
        return super().submit(slim)


make_adapter = factory(UrlPreferred)
