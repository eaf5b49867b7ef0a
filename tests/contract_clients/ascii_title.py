"""Encodes the product title to ASCII, silently dropping what it cannot encode: Chinese
titles arrive empty or mangled. Only titles with non-ASCII characters show it; the kit
shrinks the example to a one-character title. Caught by C2."""

from typing import Any

from contracts.reference_client import BackgroundClient

from . import factory


class AsciiTitle(BackgroundClient):
    def submit(self, items: list[dict[str, Any]]) -> str:
        out = []
        for item in items:
            item = dict(item)
            if "productTitle" in item:
                item["productTitle"] = item["productTitle"].encode("ascii", "ignore").decode()
            out.append(item)
        return super().submit(out)


make_adapter = factory(AsciiTitle)
