"""The strict reading: which of the fake's deliberate leniencies a client may not lean on.

The fake accepts more than the reference promises where the reference is ambiguous (README,
"Spec notes"), so that clients built from the vendor's samples work. The kit must not let
that hide a client that only works *because* of a leniency the real service may not share:
for each leniency a request leaned on, this module names it, and the check of the obligation
it belongs to (C1 for the request's form, C3 for the signature) reports it as broken even
though the fake answered 200.

Each decision is a row of the table in docs/contracts.md ("The strict reading").
The vendor samples' own habits (numbers and booleans as strings, ``requestParams`` as a JSON
string, form bodies of the IOP SDK) are not faults. Everything here reads the fake's journal
only, so some leniencies can be judged only when the journal shows the text as sent (it keeps
strings up to 256 characters, longer ones by their length: the abbreviation rule of
schemas/journal-entry.json, read through journal.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from mockserver.validation.coercion import scalar_types

from .journal import shortened_length
from .observation import is_submit, reached_api
from .strategies import ImageSpec, Request

FORM = "application/x-www-form-urlencoded"
_PLAIN_INTEGER = re.compile(r"^[0-9]+$")
_PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def _envelope_fields() -> frozenset[str]:
    """Top-level fields a submit body may carry: those of schemas/submit-request.strict.json."""
    from mockserver.spec import load_spec

    return frozenset(load_spec().schema("submit-request.strict.json")["properties"])


class Leaned(NamedTuple):
    """A leniency one request leaned on: the failure's title (stable words) and the reason."""

    title: str
    reason: str


def request_leniencies(
    entry: Mapping[str, Any], request: Request | None, item_schema: Mapping[str, Any]
) -> list[Leaned]:
    """What one request (a journal entry) leaned on in its form: C1's strict reading."""
    if not reached_api(entry):
        return []
    out = _content_type(entry)
    if is_submit(entry):
        out += _envelope(entry) + _spellings(entry, item_schema) + _image_encoding(entry, request)
    return out


def signing_leniencies(entry: Mapping[str, Any]) -> list[Leaned]:
    """What one request leaned on in its signature: C3's strict reading."""
    sign = (entry.get("signing") or {}).get("sign")
    if reached_api(entry) and isinstance(sign, str) and sign != sign.upper():
        return [Leaned("strict reading: sign in lower-case hex", f"sign={sign[:16]}…: the samples send upper-case hex")]
    return []


def _content_type(entry: Mapping[str, Any]) -> list[Leaned]:
    if not entry.get("bodyBytes"):
        return []  # a GET query, or an empty body: nothing to type
    given = str(entry.get("contentType") or "")
    media = given.split(";", 1)[0].strip().lower()
    if not media:
        return [Leaned("strict reading: no Content-Type", "a body with no Content-Type (the fake read it as JSON)")]
    if media not in ("application/json", FORM):
        return [Leaned("strict reading: Content-Type", f"Content-Type {given!r}: use application/json")]
    body = entry.get("body")
    if media == FORM and isinstance(body, dict) and any(not isinstance(v, str) for v in body.values()):
        return [Leaned("strict reading: JSON sent as a form", f"Content-Type {given!r} on a body with JSON values")]
    return []


def _envelope(entry: Mapping[str, Any]) -> list[Leaned]:
    body = entry.get("body")
    if not isinstance(body, dict):
        return []
    allowed = _envelope_fields()
    unknown = sorted(str(k) for k in body if k not in allowed)
    if unknown:
        return [Leaned("strict reading: unknown top-level field", f"the body also carries {', '.join(unknown)}")]
    return []


def _raw_items(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items as sent, when the journal shows them unparsed (else none)."""
    body = entry.get("body")
    raw = body.get("requestParams") if isinstance(body, dict) else None
    if isinstance(raw, str) and shortened_length(raw) is None:
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    return [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []


def _spellings(entry: Mapping[str, Any], item_schema: Mapping[str, Any]) -> list[Leaned]:
    declared_types = scalar_types(item_schema)  # the fields whose spellings the fake reads (its coercion)
    for item in _raw_items(entry):
        for key, value in item.items():
            declared = declared_types.get(key) if isinstance(key, str) else None
            if not isinstance(value, str) or declared is None:
                continue
            plain = {
                "integer": _PLAIN_INTEGER.match(value),
                "number": _PLAIN_NUMBER.match(value),
                "boolean": value in ("true", "false"),
            }[declared]
            if not plain:
                return [
                    Leaned(
                        "strict reading: loosely spelled number or boolean",
                        f"{key}={value!r}: as a string, only "
                        f"{'true/false' if declared == 'boolean' else 'plain digits'} is the samples' habit",
                    )
                ]
    return []


def _image_encoding(entry: Mapping[str, Any], request: Request | None) -> list[Leaned]:
    image = dict(request.fields).get("imgBase64") if request is not None else None
    params = entry.get("params") or []
    if not isinstance(image, ImageSpec) or len(params) != 1 or not isinstance(params[0], dict):
        return []
    sent = params[0].get("imgBase64")
    if not isinstance(sent, str):
        return []
    if (entry.get("images") or [{}])[0].get("crc32") != image.crc32:
        return []  # other bytes: C2's "image bytes changed" says it better
    shortened = shortened_length(sent)
    return _how_encoded(image.b64, len(sent) if shortened is None else shortened)


def _how_encoded(standard_text: str, length: int) -> list[Leaned]:
    """How a base64 text of ``length`` characters, of the same bytes, differs from the standard
    padded ``standard_text``, when it does: no padding, line breaks, a data: prefix, or else."""
    standard = len(standard_text)
    if length == standard:
        return []
    extra = length - standard
    shown = f"imgBase64 has {length} characters; the standard padded base64 of the caller's image has {standard}"
    if length == len(standard_text.rstrip("=")):
        return [Leaned("strict reading: imgBase64 without padding", shown)]
    if extra in _line_break_lengths(standard):
        return [Leaned("strict reading: imgBase64 with line breaks", f"{shown} (+{extra}: a break every 76)")]
    if extra in _DATA_PREFIX_LENGTHS:
        return [
            Leaned(
                "strict reading: imgBase64 with a data: prefix",
                f"{shown} (+{extra}, what a prefix such as 'data:image/png;base64,' adds)",
            )
        ]
    return [Leaned("strict reading: imgBase64 not plain base64", shown)]


#: What a ``data:`` URL prefix adds to base64 text: 'data:image/png;base64,' is 22 characters.
_DATA_PREFIX_LENGTHS = range(15, 41)


def _line_break_lengths(standard: int) -> set[int]:
    """How many characters MIME-style line breaks (every 76, LF or CRLF, with or without one
    at the end) add to a base64 text of ``standard`` characters."""
    lines = math.ceil(standard / 76)
    return {n * width for n in (lines - 1, lines) for width in (1, 2)}
