"""Swaps width and height for 3:4: the author read "3:4" as landscape, so a caller's
750x1000 goes out as 1000x750. Only 3:4 requests show it. Caught by C1 (the pair breaks the
schema) and C2 (the values changed)."""

from typing import Any

from contracts.reference_client import BackgroundClient

from . import factory


class SwappedDims(BackgroundClient):
    def submit(self, items: list[dict[str, Any]]) -> str:
        fixed = []
        for item in items:
            item = dict(item)
            if int(item.get("width", 0)) < int(item.get("height", 0)):  # "make it landscape"
                item["width"], item["height"] = item["height"], item["width"]
            fixed.append(item)
        return super().submit(fixed)


make_adapter = factory(SwappedDims)
