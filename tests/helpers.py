"""Shared test helpers: images made with Pillow, submit items, and a fake behind Flask's test client.

Other test modules import this file, so its API is small and stable:

``make_image(fmt, width, height, *, pad_to=None) -> bytes``
    A real image in JPEG, PNG, BMP, WEBP, GIF or TIFF. ``pad_to`` makes it exactly that many
    bytes (PNG, JPEG and BMP only) while it still decodes, for the 4 MiB boundary.
``b64(data) -> str``
    Standard base64 text of bytes.
``submit_item(**overrides) -> dict``
    A valid ``requestParams`` item (a 600x600 PNG as ``imgBase64``, ``mod001``, 800x800, 2
    images); override any field, or pass ``MISSING`` to drop it.
``client(**settings) -> FlaskClient``
    A fresh fake (its own backend) behind Flask's test client; settings are keys of
    ``schemas/config.json``. Request logging is off and the clock is manual.
``submit(c, *items, encoding="json", as_string=False, headers=None, extra=None) -> dict``
    POST the items to the submit endpoint and return the JSON answer (asserting HTTP 200 and a
    JSON content type on the way, since every submit answer must be one).
``problems(answer) -> list[str]``
    The field problems of a 700 answer (``resMessage`` after ``invalid input: ``, split on ``; ``).
``tasks(c) -> list[dict]``
    ``GET /__admin/tasks``, newest first.

Nothing here asserts behaviour a test is about; helpers only build inputs and read answers.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import subprocess
import zlib
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient
from PIL import Image, ImageDraw

from mockserver.serving.app import create_app

__all__ = [
    "MISSING",
    "QUERY",
    "SCENES",
    "SUBMIT",
    "b64",
    "client",
    "make_image",
    "problems",
    "submit",
    "submit_item",
    "tasks",
]

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
SCENES = "/ai/image/background/generation/scene/query"

#: Pass as an override to ``submit_item`` to leave the field out.
MISSING: Any = object()

_PIL_NAMES = {"JPEG": "JPEG", "JPG": "JPEG", "PNG": "PNG", "BMP": "BMP", "WEBP": "WEBP", "GIF": "GIF", "TIFF": "TIFF"}


@lru_cache(maxsize=64)
def _encoded(fmt: str, width: int, height: int) -> bytes:
    """One encoding per (format, size): images are immutable bytes, so tests can share them."""
    img = Image.new("RGB", (width, height), (235, 232, 225))
    draw = ImageDraw.Draw(img)
    draw.rectangle((width // 4, height // 4, width * 3 // 4, height * 3 // 4), fill=(200, 40, 40))
    out = io.BytesIO()
    options: dict[str, Any] = {
        "PNG": {"compress_level": 1},
        "JPEG": {"quality": 80},
        "WEBP": {"quality": 50, "method": 0},
    }.get(fmt, {})
    img.save(out, fmt, **options)
    return out.getvalue()


def make_image(fmt: str, width: int, height: int, *, pad_to: int | None = None) -> bytes:
    """A decodable ``width`` x ``height`` image in ``fmt`` (case-insensitive; JPG means JPEG).

    ``pad_to`` grows the file to exactly that many bytes without changing its pixels: a PNG
    gets an ancillary ``bgPd`` chunk before ``IEND`` (decoders skip unknown ancillary chunks),
    a JPEG gets comment (COM) segments after SOI, a BMP gets trailing bytes counted in its
    header's file size. Raises ValueError when the target is smaller than the image itself
    (or too close to it to fit the padding's own framing).
    """
    name = _PIL_NAMES.get(fmt.upper())
    if name is None:
        raise ValueError(f"unsupported format {fmt!r}; use one of {sorted(set(_PIL_NAMES.values()))}")
    data = _encoded(name, width, height)
    if pad_to is None:
        return data
    gap = pad_to - len(data)
    if gap == 0:
        return data
    if name == "PNG":
        return _pad_png(data, gap)
    if name == "JPEG":
        return _pad_jpeg(data, gap)
    if name == "BMP":
        return _pad_bmp(data, gap)
    raise ValueError(f"pad_to supports PNG, JPEG and BMP, not {name}")


def _pad_png(data: bytes, gap: int) -> bytes:
    if gap < 12:
        raise ValueError(f"a PNG chunk needs at least 12 bytes; {gap} left")
    payload = b"\0" * (gap - 12)
    kind = b"bgPd"  # lower-case first letter: ancillary, safe to ignore
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + chunk + data[iend:]


def _pad_jpeg(data: bytes, gap: int) -> bytes:
    segments = []
    while gap:
        if gap < 4:
            raise ValueError("a JPEG comment segment needs at least 4 bytes; adjust pad_to")
        size = min(gap, 65535 + 2)  # marker (2) + length field covering itself (<= 65535)
        if 0 < gap - size < 4:  # never leave a remainder too small for one more segment
            size -= 4
        segments.append(b"\xff\xfe" + struct.pack(">H", size - 2) + b"\0" * (size - 4))
        gap -= size
    return data[:2] + b"".join(segments) + data[2:]


def _pad_bmp(data: bytes, gap: int) -> bytes:
    if gap < 0:
        raise ValueError(f"the image is already {len(data)} bytes, {-gap} more than pad_to")
    padded = bytearray(data + b"\0" * gap)
    padded[2:6] = struct.pack("<I", len(padded))
    return bytes(padded)


def b64(data: bytes) -> str:
    """Standard base64 (with padding), as a client would put it in ``imgBase64``."""
    return base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=1)
def _default_image_b64() -> str:
    return b64(make_image("PNG", 600, 600))


def submit_item(**overrides: Any) -> dict[str, Any]:
    """A valid requestParams item; ``field=MISSING`` removes a field, any other value sets it."""
    item: dict[str, Any] = {
        "imgBase64": _default_image_b64(),
        "modelNum": "mod001",
        "width": 800,
        "height": 800,
        "imageNum": 2,
    }
    for key, value in overrides.items():
        if value is MISSING:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def client(**settings: Any) -> FlaskClient:
    """A fresh fake behind Flask's test client (manual clock, no request log, task_duration 0)."""
    config = {"log_requests": False, "clock": "manual", "task_duration": 0, **settings}
    return create_app(config).test_client()


def submit(
    c: FlaskClient,
    *items: dict[str, Any],
    encoding: str = "json",
    as_string: bool = False,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """POST ``requestParams=[items]`` (``encoding`` "json" or "form"); the answer's JSON body.

    ``as_string`` sends requestParams as a JSON-encoded string (always so for "form", as the
    IOP SDK does); ``extra`` adds top-level fields beside it.
    """
    params: Any = list(items)
    if as_string or encoding == "form":
        params = json.dumps(params, ensure_ascii=False)
    body = {"requestParams": params, **(extra or {})}
    if encoding == "json":
        response = c.post(SUBMIT, json=body, headers=headers)
    elif encoding == "form":
        response = c.post(
            SUBMIT, data=urlencode(body), content_type="application/x-www-form-urlencoded", headers=headers
        )
    else:
        raise ValueError(f"encoding must be 'json' or 'form', not {encoding!r}")
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/json", response.mimetype
    return response.get_json()


def problems(answer: dict[str, Any]) -> list[str]:
    """The field problems of a 700 answer; [] for any other answer."""
    message = answer.get("resMessage", "")
    prefix = "invalid input: "
    if answer.get("resCode") != 700 or not message.startswith(prefix):
        return []
    return message[len(prefix):].split("; ")


def tasks(c: FlaskClient) -> list[dict[str, Any]]:
    """The fake's tasks, newest first, from ``GET /__admin/tasks``."""
    response = c.get("/__admin/tasks")
    assert response.status_code == 200
    return response.get_json()["tasks"]


def injected_message(code: int) -> str:
    """The ``resMessage`` of an injected error: the catalog's message; an injected 700 adds
    that no field is at fault (so it keeps the README's ``invalid input: <detail>`` form)."""
    from mockserver.spec import load_spec

    message = load_spec().errors[code].message
    return f"{message}: injected by bgmock (no field of this request is at fault)" if code == 700 else message


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM a child process (a fake, a server it needs), SIGKILL it if it is still there after
    ``grace`` seconds, and wait for it either way: no test leaves a process behind."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
