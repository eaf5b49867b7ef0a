"""The configured secrets, removed from whatever the fake records or sends back.

A client may send its app secret under any name (``?app_secret=``, an ``X-Api-Key`` header, a
form field, a string inside a JSON body, part of a longer value); masking known names alone
keeps those in clear in the journal, the log and a problem message quoted in an answer.  So
the fake redacts by *value*: every configured app secret and the admin token, wherever it
occurs, also inside a longer string, plus the values of the names that carry credentials.

A secret shorter than ``MIN_SUBSTRING`` characters is redacted only where it is a whole value:
a one-letter secret matched inside every word would leave nothing readable (and such a
secret protects nothing anyway).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SUBSTRING = 4
_MAX_DEPTH = 16  # nesting ``Redactor.value`` walks into; deeper values are kept as they are
#: Parameters (query, form, JSON body fields) and headers whose value is a credential whatever
#: it is: masked by name, before any value is looked at.
SECRET_PARAMS = frozenset({
    "access_token", "app_secret", "appsecret", "secret", "client_secret", "password", "admin_token", "api_key",
    "apikey", "token", "refresh_token",
})
SECRET_HEADERS = frozenset({
    "authorization", "cookie", "x-bgmock-admin-token", "proxy-authorization", "x-api-key", "x-app-secret",
    "x-auth-token", "x-access-token", "set-cookie",
})

#: Header names that carry credentials whatever the client calls them (``X-Api-Token``,
#: ``X-Session-Id``): the same reading the dashboard masks by, so a HAR or the journal never
#: holds what the page showed as hidden.
_SECRET_HEADER = re.compile(r"token|secret|password|passwd|session|cookie|auth|api[-_]?key", re.IGNORECASE)


def secret_header(name: str) -> bool:
    """Whether a request header's value is a credential the journal must not keep."""
    return name.lower() in SECRET_HEADERS or _SECRET_HEADER.search(name) is not None


class Redactor:
    """Replaces the configured secret values in strings, bytes and JSON-like values."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        values = {s for s in secrets if isinstance(s, str) and s}
        spelled = set(values)
        for secret in values:  # as they appear in a raw path or query string, and inside JSON text
            spelled |= {quote(secret, safe=""), quote_plus(secret, safe=""), json.dumps(secret)[1:-1]}
        self.whole = frozenset(spelled)
        long = sorted((s for s in spelled if len(s) >= MIN_SUBSTRING), key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, long))) if long else None
        self._needles = tuple(long)
        self._bytes_pattern = re.compile(b"|".join(re.escape(s.encode("utf-8")) for s in long)) if long else None
        self._byte_needles = tuple(s.encode("utf-8") for s in long)

    def __bool__(self) -> bool:
        return bool(self.whole)

    def text(self, value: str) -> str:
        """``value`` with every secret in it replaced by ``***``."""
        if value in self.whole:
            return MASK
        for needle in self._needles:  # (a loop of `in`: cheaper than a generator or a regex search)
            if needle in value:
                return self._pattern.sub(MASK, value)  # type: ignore[union-attr]
        return value

    def data(self, value: bytes) -> bytes:
        """The same for an encoded answer (its JSON text is UTF-8)."""
        for needle in self._byte_needles:
            if needle in value:
                return self._bytes_pattern.sub(MASK.encode(), value)  # type: ignore[union-attr]
        return value

    def value(self, value: Any, depth: int = 0) -> Any:
        """A JSON-like value with secrets replaced in every string, keys included; the values of
        credential names (``SECRET_PARAMS``, ``SECRET_HEADERS``) masked whatever they are.

        Returns ``value`` itself when nothing changes. With no secret configured only the names
        are looked at (strings are not scanned): the journal's hot path stays a dict walk.
        """
        kind = type(value)
        if kind is str:
            return self.text(value) if self.whole else value
        if depth > _MAX_DEPTH or (kind is not dict and kind is not list):
            return value
        if kind is list:
            items = [self.value(item, depth + 1) for item in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        return self._mapping(value, depth)

    def _mapping(self, value: dict[Any, Any], depth: int) -> dict[Any, Any]:
        """``value`` for a dict: copied only from the first entry that changes."""
        out = None
        for key, item in value.items():
            name = self.text(key) if self.whole and type(key) is str else key
            if type(key) is str and key.lower() in _CREDENTIALS and item not in (None, ""):
                new = MASK
            else:
                new = self.value(item, depth + 1)
            if out is None and (new is not item or name is not key):
                out = _entries_before(value, key)
            if out is not None:
                out[name] = new
        return value if out is None else out


def _entries_before(value: dict[Any, Any], key: Any) -> dict[Any, Any]:
    """The entries of ``value`` before ``key``'s, unchanged: the start of a copy that changes there."""
    out = {}
    for done, kept in value.items():
        if done is key:
            break
        out[done] = kept
    return out


_CREDENTIALS = SECRET_PARAMS | SECRET_HEADERS


def masked_names(values: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """A copy of a query or header mapping with credential names' values masked (no secrets configured)."""
    if type(values) is dict and not any(k.lower() in names for k in values):
        return values
    return {k: MASK if isinstance(k, str) and k.lower() in names else v for k, v in values.items()}
