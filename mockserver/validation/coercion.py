"""Values made to the types the schema declares, before the schema judges them.

Two readings live here, both guided by the schema rather than by field names:

- ``coerce``: the lenient mode's string spellings ("800", "true") read as the declared
  integer, number or boolean (the vendor's own Java sample sends them);
- whole-number floats read as integers, in every mode and at every depth (``whole_numbers``).
  JSON Schema counts ``5.0`` as an integer, so a body, a fault rule or a config file that says
  ``5.0`` passes validation; code after it that slices, ranges or formats with the value must
  then get ``5``, not ``5.0``. One normalisation, at the point where a schema has just said
  the value is an integer, is what keeps every reader after it safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..parsing import read_int, read_number

if TYPE_CHECKING:
    from ..spec import Spec

#: The declared types whose string spellings ``coerce`` reads.
_COERCED = ("integer", "number", "boolean")
_TRUTH = {"true": True, "false": False}


def whole(value: Any) -> Any:
    """``5.0`` -> ``5``; anything else as it is (``5.5``, NaN, strings, bools)."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def scalar_types(schema: Mapping[str, Any]) -> dict[str, str]:
    """Property name -> the type ``coerce`` reads its string spellings as (integer, number, boolean).

    Computed once per schema by callers on a hot path (``SubmitValidator``), instead of once per
    property of every item.
    """
    out = {}
    for name, prop in schema.get("properties", {}).items():
        declared = _declared_scalar(prop)
        if declared in _COERCED:
            out[name] = declared
    return out


def coerce(
    instance: Any, schema: Mapping[str, Any], *, types: Mapping[str, str] | None = None, strings: bool = True
) -> Any:
    """The item with each top-level scalar read as the schema's type.

    ``strings`` (lenient mode): "800" -> 800, "1.5" -> 1.5, "true" -> True, in ASCII decimal
    only (``parsing``); anything that does not read cleanly is left alone for the schema to
    report by name. Always: a whole-number float where an integer is declared -> int.
    Returns a new dict (the input is not changed). ``types`` is ``scalar_types(schema)``,
    when the caller keeps it.
    """
    if not isinstance(instance, dict):
        return instance
    if types is None:
        types = scalar_types(schema)
    out = dict(instance)
    for key, value in instance.items():
        declared = types.get(key)
        if declared is None:
            continue
        kind = type(value)
        if kind is float and declared == "integer" and value.is_integer():
            out[key] = int(value)
        elif kind is str and strings:
            read = _read_scalar(value, declared)
            if read is not None:
                out[key] = read
    return out


def _read_scalar(text: str, declared: str) -> Any:
    """``text`` read as the declared integer, number or boolean; None when it does not read cleanly."""
    if declared == "integer":
        return read_int(text, signed=True, padded=True)
    if declared == "number":
        parsed = read_number(text, signed=True, padded=True)
        return whole(parsed) if parsed is not None else None
    return _TRUTH.get(text.strip(" \t\n\r").lower())  # boolean


def _declared_scalar(schema: Mapping[str, Any]) -> Any:
    """The property's type; for ``anyOf`` (``sceneType``: 1-4 or a name) its one non-string type.

    Form bodies (the IOP SDK) carry every value as a string, so ``"2"`` must read as 2 there.
    """
    if "type" in schema or "anyOf" not in schema:
        return schema.get("type")
    types = {b["type"] for b in schema["anyOf"] if isinstance(b, Mapping) and isinstance(b.get("type"), str)}
    return next(iter(types)) if len(types) == 1 and "string" not in types else None


# -- whole numbers at any depth ---------------------------------------------------------------------

#: Where integers sit in a schema: ``int`` (this value), ``props`` (name -> plan), ``extra``
#: (additionalProperties' plan), ``items`` (an array's items' plan). Empty plans are dropped.
Plan = dict[str, Any]
_MAX_SCHEMA_DEPTH = 16  # nested subschemas ``_plan`` follows: a bound, should a $ref lead back to itself


@lru_cache(maxsize=64)
def integer_plan(spec: Spec, ref: str) -> Plan:
    """The plan of ``schemas/<ref>`` (``name.json`` or ``name.json#/pointer``), built once."""
    name = ref.partition("#")[0]
    return _plan(_resolve(spec, ref, name), spec, name, 0) or {}


def whole_numbers(value: Any, plan: Plan) -> Any:
    """``value`` with every whole-number float that ``plan`` declares an integer made an int.

    Returns ``value`` itself when nothing changes (the common case costs a walk, no copies).
    """
    if not plan:
        return value
    if plan.get("int") and type(value) is float and value.is_integer():
        return int(value)
    props, extra, items = plan.get("props"), plan.get("extra"), plan.get("items")
    if isinstance(value, dict) and (props or extra):
        out = None
        for key, item in value.items():
            sub = (props or {}).get(key, extra)
            if sub:
                new = whole_numbers(item, sub)
                if new is not item:
                    out = dict(value) if out is None else out
                    out[key] = new
        return value if out is None else out
    if isinstance(value, list) and items:
        new_items = [whole_numbers(item, items) for item in value]
        return value if all(a is b for a, b in zip(new_items, value, strict=True)) else new_items
    return value


def _resolve(spec: Spec, ref: str, document: str) -> Mapping[str, Any]:
    """The schema ``ref`` names; a local ``#/...`` ref is in ``document``."""
    name, _sep, pointer = ref.removeprefix("https://schemas.bgmock.invalid/").partition("#")
    node: Any = spec.schema(name or document)
    for part in filter(None, pointer.split("/")):
        node = node[part]
    return node  # type: ignore[no-any-return]


def _plan(schema: Any, spec: Spec, document: str, depth: int) -> Plan | None:
    """Walk ``schema`` (following ``$ref``, ``anyOf``/``oneOf``/``allOf``) for integer places."""
    if not isinstance(schema, Mapping) or depth > _MAX_SCHEMA_DEPTH:
        return None
    plan: Plan = {}
    if _declares_integer(schema):
        plan["int"] = True
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, ()):
            _merge(plan, _plan(branch, spec, document, depth + 1))
    if "$ref" in schema:
        target = schema["$ref"].removeprefix("https://schemas.bgmock.invalid/").partition("#")[0] or document
        _merge(plan, _plan(_resolve(spec, schema["$ref"], document), spec, target, depth + 1))
    props = {name: sub for name, prop in schema.get("properties", {}).items()
             if (sub := _plan(prop, spec, document, depth + 1))}
    if props:
        plan["props"] = {**plan.get("props", {}), **props}
    for key, slot in (("additionalProperties", "extra"), ("items", "items")):
        sub = _plan(schema.get(key), spec, document, depth + 1)
        if sub:
            plan[slot] = sub
    return plan or None


def _declares_integer(schema: Mapping[str, Any]) -> bool:
    declared = schema.get("type")
    if declared == "integer" or (isinstance(declared, list) and "integer" in declared):
        return True
    values = schema.get("enum", [schema["const"]] if "const" in schema else [])
    return any(type(v) is int for v in values)


def _merge(plan: Plan, other: Plan | None) -> None:
    if not other:
        return
    if other.get("int"):
        plan["int"] = True
    if other.get("props"):
        merged = dict(plan.get("props", {}))
        for name, sub in other["props"].items():
            merged[name] = sub if name not in merged else {**merged[name], **sub}
        plan["props"] = merged
    for slot in ("extra", "items"):
        if other.get(slot):
            plan[slot] = other[slot]
