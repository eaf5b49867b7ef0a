"""Schema errors in the API's words: one short line per problem, naming the field and what it accepts.

jsonschema's own messages quote the value and the schema (``'short' is not valid under any of
the given schemas``), which tells a user neither which rule failed nor what would pass.  Every
body, fault rule, admin call, config file and scene catalog the fake checks is explained here, so each kind of
schema error has one wording everywhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .order import BY_PATH, FieldOrder

if TYPE_CHECKING:
    from jsonschema import ValidationError

_ALTERNATIVES = ("anyOf", "oneOf")
#: Keywords worded by ``_bound_words`` and by ``_size_words``.
_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_SIZES = frozenset({"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"})
#: A failure of an ``anyOf`` branch's own keyword has the relative schema path [branch, keyword].
_BRANCH_KEYWORD_PATH = 2
_MESSAGE_CHARS = 200  # of jsonschema's own message, for a keyword not worded here
_VALUE_CHARS = 40  # of a value quoted in a message
#: Python types and their JSON names; bool before int, which it subclasses.
_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"))


class Foreign:
    """A value JSON has no type for (a set, a Decimal, bytes) given in settings built in Python,
    as a schema check sees it: of no JSON type, so every ``type`` keyword refuses it, and named
    by its Python type in the message (``got set``). Its value is never shown (it may be a secret)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return type(self.value).__name__


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for messages; NaN and the infinities by their
    names (JSON has no such number: ``got NaN``, not ``got number``); a ``Foreign`` by its
    Python type's."""
    if value is None:
        return "null"
    if isinstance(value, Foreign):
        return repr(value)
    if _non_finite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "object")


def _non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def field_path(path: Iterable[Any], prefix: str = "") -> str:
    """``['requestParams', 0, 'width']`` -> ``requestParams[0].width``."""
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(error: ValidationError, prefix: str = "") -> str:
    """One short problem line; never echoes a long instance (an image's base64) back."""
    return "; ".join(explain(error, prefix))


def explain(error: ValidationError, prefix: str = "") -> list[str]:
    """The problem lines of one error: usually one; an ``anyOf`` whose fitting branch failed
    several of its rules gives each of them."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    path = field_path(error.absolute_path, prefix)
    if "x-field" in schema:
        path = f"{path}.{schema['x-field']}" if path else schema["x-field"]
    kind = error.validator
    if "x-message" in schema and kind not in ("required", "type"):
        message = schema["x-message"]
    elif kind in _ALTERNATIVES:
        return _alternatives(error, prefix, path)
    elif kind == "required":
        return _missing(error, prefix)
    else:
        message = _keyword_words(error, schema)
    return [f"{path}: {message}" if path else message]


def _missing(error: ValidationError, prefix: str) -> list[str]:
    """Every field a ``required`` keyword misses, each on its own line. jsonschema gives one
    error per missing field but names the field only in its message; the schema's list, read
    against the object, names them all (the duplicates the other errors give are merged)."""
    names = error.validator_value if isinstance(error.validator_value, list) else []
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    missing = [name for name in names if name not in instance] or ["?"]
    return [f"{field_path([*error.absolute_path, name], prefix)}: is required" for name in missing]


def _keyword_words(error: ValidationError, schema: Mapping[str, Any]) -> str:
    """What the one failed keyword asks for, and what came instead."""
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "type":
        names = [str(n) for n in expected] if isinstance(expected, list) else [str(expected)]
        words = [_article(n, finite=_non_finite(value)) for n in names]
        message = f"must be {_either(words)}, got {json_type(value)}"
    elif kind in _BOUNDS:
        message = _bound_words(kind, expected, value, schema)
    elif kind in _SIZES:
        message = _size_words(kind, expected, value)
    elif kind == "enum" and "propertyNames" in error.relative_schema_path:
        message = f"key {_shown(value)} is not accepted: keys must be one of {_listed(expected)}"
    elif kind == "enum":
        message = f"must be one of {_listed(expected)}"
    elif kind == "const":
        message = f"must be {json.dumps(expected)}"
    elif kind == "pattern":
        message = f"must match the pattern {expected}"
    else:
        message = _cut(error.message, _MESSAGE_CHARS)
    return message


def _bound_words(kind: str, expected: Any, value: Any, schema: Mapping[str, Any]) -> str:
    """A number's bound; both of them when the schema has both."""
    if kind in ("exclusiveMinimum", "exclusiveMaximum"):
        return f"must be {'more' if kind == 'exclusiveMinimum' else 'less'} than {expected}, got {_shown(value)}"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"must be between {low} and {high}, got {_shown(value)}"
    return f"must be {'at least' if kind == 'minimum' else 'at most'} {expected}, got {_shown(value)}"


def _size_words(kind: str, expected: Any, value: Any) -> str:
    """A string's length, an array's items, an object's fields."""
    if kind == "minLength":
        return "must not be empty" if expected == 1 else f"must be at least {expected} characters"
    if kind == "maxLength":
        return f"must be at most {expected} characters, got {len(value)}"
    side = "at least" if kind.startswith("min") else "at most"
    things = "items" if kind.endswith("Items") else "fields"
    return f"must hold {side} {expected} {things}, got {len(value)}"


def _alternatives(error: ValidationError, prefix: str, path: str) -> list[str]:
    """An ``anyOf``/``oneOf`` failure in words: when the value has the type one branch declares,
    that branch's own problems (``admin_token: must be at least 8 characters``); otherwise every
    branch's shape (``seed: must be an integer or null, got string``)."""
    branches: Sequence[Any] = error.validator_value if isinstance(error.validator_value, list) else []
    failures: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        failures.setdefault(sub.relative_schema_path[0], []).append(sub)
    for index, branch in enumerate(branches):
        subs = failures.get(index, [])
        fits = isinstance(branch, Mapping) and "type" in branch and not any(
            s.validator == "type" and len(s.relative_schema_path) == _BRANCH_KEYWORD_PATH for s in subs
        )
        if fits and subs:
            lines = [line for sub in subs for line in explain(sub, prefix)]
            return list(dict.fromkeys(lines))
    shapes = [_accepts(branch, finite=_non_finite(error.instance)) for branch in branches]
    message = f"must be {_either(shapes)}, got {json_type(error.instance)}"
    return [f"{path}: {message}" if path else message]


def _accepts(schema: Any, *, finite: bool = False) -> str:
    """What one branch accepts, in a few words (``a string of at least 8 characters``);
    ``finite``: a number is called a finite one (the value was NaN or an infinity)."""
    if not isinstance(schema, Mapping):
        return "a valid value"
    if "x-accepts" in schema:
        return str(schema["x-accepts"])
    if "enum" in schema:
        return f"one of {_listed(schema['enum'])}"
    if "const" in schema:
        return json.dumps(schema["const"])
    declared = schema.get("type")
    if not isinstance(declared, str):
        return "a valid value"
    words = _ACCEPTS_OF_TYPE.get(declared)
    return words(schema, finite) if words is not None else _article(declared)


def _string_accepts(schema: Mapping[str, Any], _finite: bool = False) -> str:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low and high:
        return f"a string of {low} to {high} characters"
    if low and low > 1:
        return f"a string of at least {low} characters"
    return "a non-empty string" if low else "a string"


def _number_accepts(schema: Mapping[str, Any], finite: bool = False) -> str:
    words = _article(schema["type"], finite=finite)
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{words} from {low} to {high}"
    return f"{words} of at least {low}" if low is not None else words


def _object_accepts(schema: Mapping[str, Any], _finite: bool = False) -> str:
    keys = schema.get("propertyNames")
    names = keys.get("enum") if isinstance(keys, Mapping) else None
    return f"an object with keys among {_listed(names)}" if names else "an object"


#: What ``_accepts`` adds to a type's name, by type (the others are their name alone); the flag
#: says the value was NaN or an infinity (a number is then called a finite one).
_ACCEPTS_OF_TYPE: dict[str, Callable[[Mapping[str, Any], bool], str]] = {
    "string": _string_accepts, "integer": _number_accepts, "number": _number_accepts, "object": _object_accepts,
}


def _article(name: str, *, finite: bool = False) -> str:
    """``a string``, ``an integer``; ``a finite number`` when ``finite`` (said to NaN or an
    infinity, which Python calls numbers and JSON does not have)."""
    if name == "null":
        return "null"
    if finite and name == "number":
        return "a finite number"
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _listed(values: Iterable[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def _shown(value: Any) -> str:
    """A value quoted in a message, cut short (a message never carries a long string back)."""
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (str, int, float, bool)) else repr(value)
    return _cut(text, _VALUE_CHARS)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def schema_problems(
    validator: Any,
    instance: Any,
    prefix: str = "",
    *,
    fast: Callable[[Any], bool] | None = None,
    order: FieldOrder | None = None,
) -> list[str]:
    """Every problem the compiled validator finds, as de-duplicated lines in ``order``
    (``order.field_order`` of the validator's schema; without one, by path alone).

    ``fast`` (``Spec.fast_check``) answers valid input without walking the full validator;
    only input it refuses is explained (and judged) by ``validator``, and so is input it cannot
    take (jsonschema-rs raises ``ValueError: Unsupported type`` on a value JSON has no type for,
    a ``Foreign`` in settings built in Python): jsonschema names the field it is in.
    """
    if fast is not None and _fast_says_valid(fast, instance):
        return []
    found: list[str] = []
    for err in validator.iter_errors(instance):
        found += _unexpected_fields(err, prefix) or explain(err, prefix)
    return (order or BY_PATH).ordered(found)


def _fast_says_valid(fast: Callable[[Any], bool], instance: Any) -> bool:
    try:
        return bool(fast(instance))
    except (ValueError, TypeError):  # not JSON: the full validator says where
        return False


#: Undocumented fields named one by one per object; the rest are counted, so a body of 200 000
#: unknown keys is refused in milliseconds with a short answer (it once took a minute and 2 MB).
MAX_NAMED_FIELDS = 20


def _unexpected_fields(error: ValidationError, prefix: str) -> list[str]:
    """One line per field a closed schema refuses, named by its path (``requestParams[0].foo``),
    up to ``MAX_NAMED_FIELDS``, then one line counting the others.

    jsonschema reports all of them in one message that names only the parent object; the
    fields are recovered from that message (``_listed_keys``), so an odd key cannot make us
    name the wrong field (we then keep the plain message).
    """
    if error.validator not in ("additionalProperties", "unevaluatedProperties") or error.validator_value is not False:
        return []
    if not isinstance(error.instance, dict):
        return []
    extras = _listed_keys(error.message, error.instance)
    parent = field_path(error.absolute_path, prefix)
    lines = [f"{parent}.{key[:64]}: is not a documented field" if parent else f"{key[:64]}: is not a documented field"
             for key in extras[:MAX_NAMED_FIELDS]]
    if len(extras) > MAX_NAMED_FIELDS:
        more = len(extras) - MAX_NAMED_FIELDS
        count = f"{len(extras)} fields are not documented (the first {MAX_NAMED_FIELDS} are named, {more} more are not)"
        lines.append(f"{parent or 'body'}: {count}")
    return lines


def _listed_keys(message: str, instance: Mapping[str, Any]) -> list[str]:
    """The keys of ``instance`` that jsonschema's message lists as unexpected, in its order.

    The message reads ``(... 'a', 'b' were unexpected)``, the keys sorted as text. It is read in
    one pass against the instance's keys in that same order: a key's ``repr`` is a whole quoted
    token, so one key's cannot be taken for part of another's. (Searching the message for each
    key's ``repr`` instead was quadratic: a minute for 200 000 keys.) ``[]`` when the message
    is not such a list."""
    at = message.find("(") + 1
    if at == 0:
        return []
    found = []
    for key in sorted(instance, key=str):
        text = repr(key)
        if message.startswith(text, at):
            found.append(key)
            at += len(text)
            if not message.startswith(", ", at):
                break
            at += 2
    return found if message.startswith((" was unexpected)", " were unexpected)"), at) else []
