"""Bytes on the wire -> a JSON value or form fields, or a 700 naming ``body``.

Every body the fake reads (the API's, the admin API's) is decoded here, once: the media types
it accepts, JSON's whitespace, the depth bound and lone surrogates, so that what one endpoint
refuses no other endpoint lets through.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from ..errors import InvalidInput
from ..parsing import JSON_WHITESPACE_BYTES, is_json_blank, media_type
from .problems import json_type

FORM = "application/x-www-form-urlencoded"

#: Deepest JSON nesting the fake reads. Its own bodies nest 3 deep (body, requestParams, item);
#: anything much deeper is an attack on the parser or on what walks the value after it.
MAX_JSON_DEPTH = 32


class FormBody(dict):
    """A form-decoded body: every value is a string by nature of the encoding, so even strict
    mode reads numbers and booleans from it (strict is about the types JSON can carry)."""


def parse_body(content_type: str | None, body: bytes, *, strict: bool = False) -> dict[str, Any]:
    """Decode a JSON or form-encoded body into an object, or raise a 700 naming the problem."""
    media = media_type(content_type)
    if is_json_blank(body):  # JSON's four whitespace characters, not bytes.isspace()'s six
        return {}
    looks_json = body.lstrip(JSON_WHITESPACE_BYTES)[:1] == b"{"
    if media == FORM and not (looks_json and not strict):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(["body: form data is not valid UTF-8"]) from None
        return FormBody(parse_qsl(text, keep_blank_values=True))
    # Lenient: a JSON object sent as a form (``curl -d '{...}'``) or with no type is read as JSON.
    if media in ("application/json", FORM) or media.endswith("+json") or (not media and not strict):
        try:
            value = load_json(body, "body")
        except ValueError as exc:
            raise InvalidInput([f"body: not valid JSON ({str(exc)[:120]})"]) from None
        if not isinstance(value, dict):
            raise InvalidInput([f"body: must be a JSON object, got {json_type(value)}"])
        return value
    shown = media or "none"
    raise InvalidInput(
        [f"Content-Type: {shown[:80]} is not supported (use application/json or {FORM})"]
    )


def load_json(data: bytes | str, where: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses nesting deeper than ``max_depth`` with a 700 naming ``where``.

    Raises ValueError for malformed JSON. Python's parser recurses and gives up only near 1000
    levels, and every walk over the value afterwards recurses too, so depth is bounded here,
    once, for every body the fake reads.
    """
    text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(data, bytes) else data
    try:
        if text.startswith("\ufeff"):  # what json.loads says of a str with a BOM (bytes lose theirs above)
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except RecursionError:
        raise InvalidInput([f"{where}: JSON nested deeper than {max_depth} levels"]) from None
    # Walk the parsed containers (cheap: a base64 image is one leaf) rather than scanning
    # every character of a multi-megabyte body for brackets.
    problem = _unfit(value, max_depth)
    if problem:
        raise InvalidInput([f"{where}: {problem}"])
    return value


def _not_json(name: str) -> Any:
    """NaN and Infinity: Python's parser takes them, JSON does not (and neither may the fake's answers)."""
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:20]} is out of range")
    return number


#: One decoder for every body: ``json.loads`` with options builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)


def _unfit(value: Any, limit: int) -> str | None:
    """What the parser let through that the fake cannot keep: arrays and objects nested more
    than ``limit`` levels, or a lone surrogate (``"\\ud800"`` is JSON, but no Unicode text: it
    could not be written to the journal, a log or an answer).

    Iterative, a level at a time: the containers of one level are collected without building a
    (node, depth) pair per container, the cost that mattered on small bodies.  A string costs a
    look only when it is not ASCII (``isascii`` is a flag: a base64 image costs nothing).
    """
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    if isinstance(value, str) and _lone_surrogate(value):
        return _SURROGATE
    while level:
        depth += 1
        if depth > limit:
            return f"JSON nested deeper than {limit} levels"
        deeper = []
        for node in level:
            if isinstance(node, dict):
                if _lone_surrogate_key(node):
                    return _SURROGATE
                children: Iterable[Any] = node.values()
            else:
                children = node
            for child in children:
                if isinstance(child, (dict, list)):
                    deeper.append(child)
                elif isinstance(child, str) and not child.isascii() and _lone_surrogate(child):
                    return _SURROGATE
        level = deeper
    return None


_SURROGATE = "JSON text holds a lone surrogate (an unpaired \\ud800-\\udfff), which is not Unicode"


def _lone_surrogate_key(node: dict[str, Any]) -> bool:
    return any(not key.isascii() and _lone_surrogate(key) for key in node)


def _lone_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
