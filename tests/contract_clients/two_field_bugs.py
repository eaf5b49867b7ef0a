"""Two unrelated input bugs in one client: it drops ``imageNum`` and encodes the title to
ASCII. Caught by C2 twice; the report lists both, each with its own minimal example."""

from typing import Any

from contracts.reference_client import BackgroundClient

from . import factory


class TwoFieldBugs(BackgroundClient):
    def submit(self, items: list[dict[str, Any]]) -> str:
        out = []
        for item in items:
            item = {k: v for k, v in item.items() if k != "imageNum"}
            if "productTitle" in item:
                item["productTitle"] = item["productTitle"].encode("ascii", "ignore").decode()
            out.append(item)
        return super().submit(out)


make_adapter = factory(TwoFieldBugs)
