"""Numbers read off the wire that frame a message: ``Content-Length`` and chunk sizes.

One strict parser for every place outside text becomes a byte count (the default server,
the WSGI host under werkzeug or granian, and the image fetcher), because Python's ``int`` is
the wrong tool here three ways: it accepts what HTTP does not (``+5``, ``1_0``, `` 5 ``,
non-ASCII digits such as ``²`` or ``٣`` that pass ``str.isdigit``), and it raises on a
5 000-digit number (the 4 300-digit conversion limit), which used to escape as a traceback.
RFC 9112: ``Content-Length = 1*DIGIT`` (ASCII), a chunk size is ``1*HEXDIG``; whitespace
around a header's value is not part of it (the caller strips it, as HTTP's OWS rule says).
"""

from __future__ import annotations

from collections.abc import Iterable

#: 10**18 bytes is past any cap; a longer number is refused before ``int`` sees it.
MAX_DIGITS = 18
#: 16**16 bytes, the same idea for chunk sizes.
MAX_HEX_DIGITS = 16
_DIGITS = frozenset("0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class FramingError(ValueError):
    """A framing number that cannot be trusted; ``str(exc)`` says which and why (for a 400)."""


def parse_length(text: str) -> int:
    """A ``Content-Length`` value as an int, or ``FramingError``."""
    if not text or not _DIGITS.issuperset(text):
        raise FramingError(f"malformed Content-Length {text[:20]!r} (ASCII digits only)")
    significant = text.lstrip("0")
    if len(significant) > MAX_DIGITS:
        raise FramingError(f"Content-Length has more than {MAX_DIGITS} digits")
    return int(significant or "0")


def content_length(values: Iterable[str]) -> int | None:
    """The length that every ``Content-Length`` header of a message agrees on (None: no header).

    Several headers are accepted only when they all say the same number (RFC 9110 8.6);
    disagreeing ones are a request-smuggling tool and are refused.
    """
    lengths = {parse_length(value.strip(" \t")) for value in values}
    if len(lengths) > 1:
        raise FramingError("conflicting Content-Length headers")
    return lengths.pop() if lengths else None


def parse_chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (extensions after ``;`` ignored), or ``FramingError``."""
    size = line.split(b";", 1)[0].strip(b" \t\r\n")
    if not size or not _HEX.issuperset(size):
        raise FramingError("malformed chunked body: a chunk size is not a hexadecimal number")
    significant = size.lstrip(b"0")
    if len(significant) > MAX_HEX_DIGITS:
        raise FramingError(f"malformed chunked body: a chunk size has more than {MAX_HEX_DIGITS} hex digits")
    return int(significant or b"0", 16)


__all__ = ["MAX_DIGITS", "FramingError", "content_length", "parse_chunk_size", "parse_length"]
