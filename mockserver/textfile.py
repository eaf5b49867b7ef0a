"""Text a user hands bgmock (a config file, a scene catalog, an adapter's reply line): UTF-8.

One reading for every such input, so that each says the same thing about the same mistake. A
UTF-8 byte-order mark (Windows Notepad writes one) is accepted and dropped. Anything else that
is not UTF-8 is a ``NotUtf8Error``: one line naming the input, what it is instead when that can
be told (UTF-16 from PowerShell 5's ``>`` or Notepad's "Unicode", UTF-32), where the first bad
byte is, and "save it as UTF-8"; never a ``UnicodeDecodeError`` traceback.

A user's JSON file (a config file, a scene catalog) is read by ``load_json``: a key given twice
in one object is a ``RepeatedKeys`` naming it, where ``json.loads`` keeps the last silently.
"""

from __future__ import annotations

import codecs
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["NotUtf8Error", "RepeatedKeys", "decode_text", "load_json", "read_text", "wide_encoding"]

#: Byte-order marks of the encodings that are not UTF-8 but say what they are; UTF-32 first
#: (its little-endian mark begins with UTF-16's).
_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


_NULS = " (it holds NUL bytes, as UTF-16 text without a byte-order mark does)"


class NotUtf8Error(ValueError):
    """Bytes that are not UTF-8 text; the message names their source and how to fix it."""


def read_text(path: str | os.PathLike[str], name: str) -> str:
    """The text of the user's file at ``path``: UTF-8, with or without a byte-order mark.

    ``name`` starts the message of a ``NotUtf8Error`` (``"config file g.json"``); an ``OSError``
    (missing, a directory, unreadable) is the caller's to word, with its flag."""
    return decode_text(Path(path).read_bytes(), name)


def decode_text(data: bytes, name: str, *, fix: str = "save it as UTF-8") -> str:
    """``data`` as UTF-8 text (a leading UTF-8 byte-order mark dropped), or a ``NotUtf8Error``
    starting with ``name`` and ending with ``fix`` (what to do about it)."""
    body = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start + len(data) - len(body)
        raise NotUtf8Error(f"{name} is not UTF-8 text{_why(data, start, exc.reason)}; {fix}") from None
    if "\x00" in text[:64]:  # ASCII saved as UTF-16 without a mark decodes, NULs and all
        raise NotUtf8Error(f"{name} is not UTF-8 text{_NULS}; {fix}")
    return text


def wide_encoding(data: bytes) -> str | None:
    """``"UTF-16"`` or ``"UTF-32"`` when ``data`` starts with that encoding's byte-order mark."""
    return next((kind for mark, kind in _MARKS if data.startswith(mark)), None)


def _why(data: bytes, start: int, reason: str) -> str:
    """What the bytes are instead, in a few words (to follow "is not UTF-8 text"); ``start``:
    the offset of the first byte that is not UTF-8."""
    kind = wide_encoding(data)
    if kind == "UTF-16":
        return (f": it is UTF-16 (it starts with the byte-order mark {data[0]:02X} {data[1]:02X}, as PowerShell 5's > "
                "and Notepad's \"Unicode\" write it)")
    if kind is not None:
        return f": it is {kind} (it starts with that encoding's byte-order mark)"
    if b"\x00" in data[:64]:
        return _NULS
    line = data.count(b"\n", 0, start) + 1
    return f" (byte 0x{data[start]:02X} on line {line}, offset {start}: {reason})"


_TIMES = {2: "twice"}


class RepeatedKeys(ValueError):
    """A JSON document that gives a key more than once in one object. The message names each
    such key by its path, in the document's order (``port: given twice; faults[0].times: given
    3 times``), for its caller to prefix with the file; ``repeats`` holds (path, count)."""

    def __init__(self, repeats: list[tuple[str, int]]) -> None:
        self.repeats = repeats
        named = "; ".join(f"{path}: given {_TIMES.get(count, f'{count} times')}" for path, count in repeats)
        super().__init__(f"{named} (only the last would count, silently: write each key once)")


def load_json(text: str) -> Any:
    """``json.loads`` of a user's file, except that a key given twice in one object (a setting
    written twice, the second silently winning) is a ``RepeatedKeys``; malformed JSON is
    ``json.JSONDecodeError`` as usual. Not for request bodies: there, as in most JSON readers
    (and the vendor's), the last value counts."""
    repeated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        found = dict(items)
        if len(found) == len(items):
            return found
        repeated = True
        twice = _Repeated(found)
        twice.counts = {key: count for key, count in Counter(key for key, _ in items).items() if count > 1}
        return twice

    value = json.loads(text, object_pairs_hook=pairs)
    if repeated:
        raise RepeatedKeys(list(_repeats(value, "")))
    return value


class _Repeated(dict):  # type: ignore[type-arg]
    """An object of ``load_json``'s that had keys given more than once (``counts``: how often)."""

    counts: dict[str, int]


def _repeats(value: Any, path: str) -> Any:
    """(path, count) of each repeated key under ``value``, in the document's order."""
    if isinstance(value, dict):
        counts = value.counts if isinstance(value, _Repeated) else {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in counts:
                yield where, counts[key]
            yield from _repeats(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _repeats(item, f"{path}[{index}]")
