"""Builds the request from a fixed set of fields and forgets ``imageNum``: the service then
generates its default 4 images, whatever the caller asked for. Caught by C2."""

from typing import Any

from contracts.reference_client import BackgroundClient

from . import factory

FIELDS = ("imgBase64", "imageFileUrl", "modelNum", "width", "height", "needLayout", "productTitle")


class DefaultImageNum(BackgroundClient):
    def submit(self, items: list[dict[str, Any]]) -> str:
        return super().submit([{k: item[k] for k in FIELDS if k in item} for item in items])


make_adapter = factory(DefaultImageNum)
