"""Outside text -> numbers, and JSON's whitespace: the one grammar every entry point uses.

Python's own readers are too generous for text that comes from a client, a header or a
config file: ``int()`` takes ``"٣"`` (Arabic-Indic three), ``"²"`` passes ``str.isdigit()`` and
then fails ``int()``, ``"1_000"`` and ``" 5 "`` are ints, ``int()`` of 5 000 digits raises (the
4 300-digit limit), ``float()`` takes ``"nan"`` and ``"inf"``, and ``bytes.isspace()`` counts
``\\x0b`` and ``\\x0c``, which JSON does not.  A value read with a looser grammar in one place and
a stricter one in another is how an input passes one check and crashes the next, so every
place that turns outside text into a number calls one of the two readers here.
"""

from __future__ import annotations

import argparse
import math
import re

#: JSON's whitespace (RFC 8259: space, tab, line feed, carriage return); also HTTP's optional
#: whitespace, which is only space and tab.
JSON_WHITESPACE = " \t\n\r"
JSON_WHITESPACE_BYTES = JSON_WHITESPACE.encode("ascii")

#: Digits a whole number may have: far below Python's 4 300-digit int() limit, far above any
#: value the fake bounds (the largest is a 64-bit seed: 20 digits).
MAX_DIGITS = 32


def decimal_pattern(digits: int) -> str:
    """The regular expression of an ASCII decimal, as every number written as text is read
    (flags, ini options, fault, latency and rate spellings, lenient body spellings): digits,
    then optionally a point and digits (``2``, ``0.5``, ``.5``), at most ``digits`` on each side
    of the point. No sign (a caller allows one before it), no exponent (``1e3``: some flags took
    one and others did not), no ``_``, no other digits. A non-capturing group, to embed."""
    return rf"(?:[0-9]{{1,{digits}}}(?:\.[0-9]{{1,{digits}}})?|\.[0-9]{{1,{digits}}})"


_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_UNSIGNED = re.compile(r"[0-9]+", re.ASCII)
_DECIMAL = re.compile(decimal_pattern(MAX_DIGITS), re.ASCII)
_SIGNED_DECIMAL = re.compile(f"[+-]?{decimal_pattern(MAX_DIGITS)}", re.ASCII)


def is_json_blank(data: bytes | str) -> bool:
    """Empty or only JSON whitespace (not ``bytes.isspace()``, which also takes \\x0b and \\x0c)."""
    if not data:
        return True
    if not data.isspace():  # a C scan that stops at the first other character, and copies nothing
        return False
    if isinstance(data, str):
        return not data.strip(JSON_WHITESPACE)
    return not data.strip(JSON_WHITESPACE_BYTES)


def media_type(content_type: str | None) -> str:
    """``Application/JSON ; charset=utf-8`` -> ``application/json`` (HTTP's whitespace is space and tab)."""
    return (content_type or "").split(";", 1)[0].strip(" \t").lower()


def read_int(text: str, *, signed: bool = False, padded: bool = False, max_digits: int = MAX_DIGITS) -> int | None:
    """An ASCII decimal whole number, or None when ``text`` is not one.

    ``signed`` allows one leading ``+`` or ``-``; ``padded`` allows JSON whitespace around it
    (the lenient reading of a body's string spellings); never underscores, non-ASCII digits,
    other bases, or more than ``max_digits`` digits.
    """
    if padded:
        text = text.strip(JSON_WHITESPACE)
    if len(text) > max_digits + 1 or not (_INT if signed else _UNSIGNED).fullmatch(text):
        return None
    if len(text.lstrip("+-")) > max_digits:
        return None
    return int(text)


def read_number(
    text: str, *, signed: bool = False, padded: bool = False, max_chars: int = MAX_DIGITS
) -> float | None:
    """An ASCII decimal number (``decimal_pattern``: a fraction allowed, no exponent), or None.

    ``signed`` allows one leading ``+`` or ``-``; ``padded`` allows JSON whitespace around it.
    No ``nan``, ``inf``, ``1e3``, ``1_000``, hexadecimal or non-ASCII digits; at most
    ``max_chars`` characters, so a 5 000-digit string costs nothing to refuse.
    """
    if padded:
        text = text.strip(JSON_WHITESPACE)
    if len(text) > max_chars or not (_SIGNED_DECIMAL if signed else _DECIMAL).fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def parse_int(
    text: str, what: str, *, minimum: int | None = None, maximum: int | None = None, signed: bool = False
) -> int:
    """``read_int`` for an entry point that must refuse: ValueError names ``what`` and what is accepted."""
    value = read_int(text, signed=signed)
    low, high = minimum, maximum
    if value is None or (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{what}: must be {_accepted(low, high)} (ASCII digits), got {_clipped(text)!r}")
    return value


def parse_number(text: str, what: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """``read_number`` for an entry point that must refuse: ValueError names ``what`` and what is accepted."""
    value = read_number(text)
    if value is None or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        span = "" if minimum is None and maximum is None else f" {_span(minimum, maximum)}"
        raise ValueError(f"{what}: must be a decimal number{span} (ASCII digits and a point), got {_clipped(text)!r}")
    return value


def flag_int(text: str) -> int:
    """An argparse ``type`` for a whole-number flag: ASCII digits ("٣" and "1_000" are int() to
    Python, not to bgmock); the range is the setting's own, checked with the other settings."""
    number = read_int(text)
    if number is None:
        raise argparse.ArgumentTypeError(f"must be a whole number (ASCII digits), got {text[:40]!r}")
    return number


def flag_signed_int(text: str) -> int:
    """``flag_int`` with an optional sign (a seed)."""
    number = read_int(text, signed=True)
    if number is None:
        raise argparse.ArgumentTypeError(f"must be a whole number (ASCII digits, optional sign), got {text[:40]!r}")
    return number


def flag_number(text: str) -> float:
    """An argparse ``type`` for a decimal flag: ASCII digits and a point, nothing else
    (``float()`` takes "nan", "inf", "1e3", "+2" and "1_000")."""
    number = read_number(text)
    if number is None:
        raise argparse.ArgumentTypeError(
            f"must be a decimal number such as 2 or 0.5 (ASCII digits and a point; no sign or exponent), "
            f"got {text[:40]!r}"
        )
    return number


_CLIPPED_CHARS = 24


def _clipped(text: str) -> str:
    """The refused text as an error quotes it: its start, enough to recognise it."""
    return text if len(text) <= _CLIPPED_CHARS else text[:_CLIPPED_CHARS] + "..."


def _accepted(low: int | None, high: int | None) -> str:
    return "a whole number" + ("" if low is None and high is None else f" {_span(low, high)}")


def _span(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"from {_shown(low)} to {_shown(high)}"
    return f"of at least {_shown(low)}" if low is not None else f"of at most {_shown(high)}"


def _shown(bound: float | None) -> str:
    return str(bound) if isinstance(bound, int) else f"{bound:g}"
