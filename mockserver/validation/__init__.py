"""Every rule an input from outside must pass, and the words its problems are given in.

- ``body``: bytes -> a JSON object or form fields (media types, depth, surrogates);
- ``requests``: ``RequestRules``, the API's request rules behind one object (submit, result
  query, scene query, ``Prefer``), built with what they need, never calling the backend;
- ``submit``: ``requestParams`` items, their images and URLs;
- ``prefer``: the ``Prefer`` header;
- ``admin``: the admin API's bodies (fault rules, clock, reset) and ``limit``;
- ``coercion``: values made to the schema's types (string spellings, whole-number floats);
- ``problems``: schema errors in the API's words, for requests, config files and the scene catalog;
- ``order``: the order a refusal lists its problems in (by path, fields as the schema declares them).

The names below are loaded on first use (PEP 562): ``config.py`` reads ``problems`` and
``coercion`` at start-up, and must not pay for Pillow (``submit`` -> ``images``) to do so.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .body import FORM, MAX_JSON_DEPTH, FormBody, load_json, parse_body
    from .coercion import coerce, whole, whole_numbers
    from .prefer import Wish
    from .problems import schema_problems
    from .requests import RequestRules, validate_params
    from .submit import ImageResolver, SubmitItem, SubmitParams, SubmitValidator

_HOMES = {
    "FORM": "body", "MAX_JSON_DEPTH": "body", "FormBody": "body", "load_json": "body", "parse_body": "body",
    "coerce": "coercion", "whole": "coercion", "whole_numbers": "coercion",
    "Wish": "prefer",
    "schema_problems": "problems",
    "RequestRules": "requests", "validate_params": "requests",
    "ImageResolver": "submit", "SubmitItem": "submit", "SubmitParams": "submit", "SubmitValidator": "submit",
}

__all__ = [
    "FORM", "MAX_JSON_DEPTH", "FormBody", "ImageResolver", "RequestRules", "SubmitItem", "SubmitParams",
    "SubmitValidator", "Wish", "coerce", "load_json", "parse_body", "schema_problems", "validate_params",
    "whole", "whole_numbers",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
