"""Re-saves every image as JPEG before upload "to save bandwidth": the service gets other
bytes (and loses a PNG's transparency). Caught by C2 (the image digest differs)."""

import base64
import io
from typing import Any

from PIL import Image

from contracts.reference_client import BackgroundClient

from . import factory


class JpegReencode(BackgroundClient):
    def submit(self, items: list[dict[str, Any]]) -> str:
        out = []
        for item in items:
            item = dict(item)
            if "imgBase64" in item:
                img = Image.open(io.BytesIO(base64.b64decode(item["imgBase64"]))).convert("RGB")
                buf = io.BytesIO()
                img.save(buf, "JPEG", quality=90)
                item["imgBase64"] = base64.b64encode(buf.getvalue()).decode()
            out.append(item)
        return super().submit(out)


make_adapter = factory(JpegReencode)
