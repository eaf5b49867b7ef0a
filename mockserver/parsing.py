"""Outside text -> numbers and base URLs, and JSON's whitespace: the one grammar every entry point uses.

Python's own readers are too generous for text that comes from a client, a header or a
config file: ``int()`` takes ``"٣"`` (Arabic-Indic three), ``"²"`` passes ``str.isdigit()`` and
then fails ``int()``, ``"1_000"`` and ``" 5 "`` are ints, ``int()`` of 5 000 digits raises (the
4 300-digit limit), ``float()`` takes ``"nan"`` and ``"inf"``, and ``bytes.isspace()`` counts
``\\x0b`` and ``\\x0c``, which JSON does not.  A value read with a looser grammar in one place and
a stricter one in another is how an input passes one check and crashes the next, so every
place that turns outside text into a number calls one of the two readers here.

The same holds for a base URL a user gives (``--base-url``, ``--server``, ``--public-url``, the
plugin's ``bgmock_base_urls``, ``base_url=`` of the contract kit and of the in-process fakes):
``urllib`` takes ``notaurl`` and ``http://[::1`` as far as the first request, then raises a
``ValueError`` with a traceback. Every one is checked by ``base_url_problem`` first.
"""

from __future__ import annotations

import argparse
import math
import re
from urllib.parse import urlsplit

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


def base_url_problem(text: object, *, path: bool = True) -> str | None:
    """What keeps ``text`` from being an http(s) base URL, or None when it is one: ``http://`` or
    ``https://``, a host, a port from 1 to 65535 if any, no user name or password (nothing here
    sends them), no query or fragment, and a path only when ``path`` allows one."""
    if not isinstance(text, str):
        return f"must be a string, not {type(text).__name__}"
    if not text:
        return "empty"
    if any(c.isspace() or not c.isprintable() for c in text):
        return "has a space or control character in it"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # an unclosed IPv6 bracket, a port that is not a number or too large
        return f"not a valid URL ({exc})"
    if "://" not in text or parts.scheme.lower() not in ("http", "https"):
        hint = f" (did you mean 'http://{text}'?)" if _HOST_PORT.fullmatch(text) else ""
        return f"must start with http:// or https://{hint}"
    checks = (
        ("@" in parts.netloc, "has a user name or password in it, which is never sent"),
        (not parts.hostname, "names no host"),
        (port == 0, "has port 0: the port must be a number from 1 to 65535"),
        ("?" in text or "#" in text, "has a query or fragment ('?' or '#'), which a base URL cannot have"),
        (not path and parts.path.strip("/"), "has a path after the host: only scheme://host[:port] is taken here"),
    )
    return next((problem for failed, problem in checks if failed), None)


def parse_base_url(text: object, what: str, *, path: bool = True, example: str = "http://127.0.0.1:8080") -> str:
    """``base_url_problem`` for an entry point that must refuse: ValueError names ``what`` and
    quotes ``text`` as given (a password masked); the URL without its trailing slashes."""
    problem = base_url_problem(text, path=path)
    if not isinstance(text, str):
        raise ValueError(f"{what}: {problem}; expected a URL such as {example}")
    if problem is not None:
        shown = _URL_PASSWORD.sub(r"\g<1>***@", text)
        shown = shown if len(shown) <= _URL_CHARS else shown[:_URL_CHARS] + "..."
        raise ValueError(f"{what} {shown!r}: {problem}; expected a URL such as {example}")
    return text.rstrip("/")


#: A host or IP address with a port, written without a scheme (``localhost:8080``).
_HOST_PORT = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}(?:/.*)?", re.ASCII)
#: The password of ``scheme://user:password@host`` (up to the authority's last ``@``), masked in a message.
_URL_PASSWORD = re.compile(r"^([^/]*//[^/@:]*:)[^/]*@")
_URL_CHARS = 200
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
