"""Off-schema answer shapes a fault rule may ask for (``shape``), for tolerance tests.

Real gateways add fields, reorder keys and spell numbers as strings; a client must not
break on any of that. The shapes are named in ``schemas/fault-rule.json``; each is one
function of ``SHAPES``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def _string_rescode(body: dict[str, Any]) -> dict[str, Any]:
    """``resCode`` sent as a string."""
    return {k: str(v) if k == "resCode" else v for k, v in body.items()}


def _reordered(value: Any) -> Any:
    """Key order reversed at every level."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def _extra_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Fields no schema documents, at the top level and inside ``data`` (and ``data.result``)."""
    extra = {"bgmockExtra": {"note": "a field no schema documents", "list": [1, "two", None]}, "traceLevel": 3}
    out = {**body, **extra}
    data = out.get("data")
    if isinstance(data, dict):
        out["data"] = {**data, "extInfo": {"region": "bgmock"}}
        result = data.get("result")
        if isinstance(result, dict):
            out["data"]["result"] = {**result, "expireSeconds": 86400}
    return out


SHAPES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "extra-fields": _extra_fields,
    "reordered": _reordered,
    "string-rescode": _string_rescode,
}


def reshape(body: dict[str, Any], shape: str) -> dict[str, Any]:
    """``body`` in the off-schema ``shape`` (an unknown shape leaves it as it is)."""
    shaped = SHAPES.get(shape)
    return shaped(body) if shaped else body


def reshape_body(encoded: bytes, shape: str) -> bytes | None:
    """An encoded JSON answer in another shape; None when it is no JSON object (left as it is)."""
    try:
        body = json.loads(encoded)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return json.dumps(reshape(body, shape), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
