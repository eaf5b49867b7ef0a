"""The order a 700 lists its problems in: the body's, field by field, as the schema declares them.

A refused request names every failing field at once, and the same request always gets the same
list: by path, ``requestParams`` before its items, item 2 before item 10, and within an object
its fields in the order of the schema's ``properties`` (for a submit item: imageFileUrl,
imgBase64, modelNum, needLayout, productTitle, width, height, imageNum). A rule over several
fields (``width/height``) comes right after the problems of the last of them; a field the
schema does not declare (named in strict mode) after the declared ones, alphabetically.
Problems of one field are in alphabetical order.

The order is read from the schemas (``$ref``, ``allOf``/``anyOf``/``oneOf``, ``items``,
``contentSchema`` followed), once per schema and only when a problem is to be listed: valid
input never pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from referencing import Resolver

    from ..spec import Spec

#: A path's parts: ``[3]`` (an item) or a field name.
_PART = re.compile(r"\[([0-9]{1,9})\]|([^.\[]+)")
#: What stands for "an item of this array" and "a key the schema does not name" in a shape.
_ITEM, _ANY = "[]", "*"
#: Keywords whose subschemas describe the same value as their parent.
_SAME_VALUE = ("allOf", "anyOf", "oneOf")
_SAME_VALUE_ONE = ("if", "then", "else", "contentSchema")
#: Deeper than any schema of the fake nests fields (and a bound on a recursive ``$ref``).
_MAX_SHAPE = 12

Shape = tuple[str, ...]


class FieldOrder:
    """Sorts problem lines (``requestParams[0].width: is required``) by the field they name."""

    def __init__(self, fields: Callable[[], Mapping[Shape, Iterable[str]]] | None = None) -> None:
        """``fields``: builds, when first needed, each object's field names in declared order,
        by the object's shape (its path with ``[]`` for any item, ``*`` for an undeclared key)."""
        self._fields = fields

    @cached_property
    def _ranks(self) -> dict[Shape, dict[str, int]]:
        fields = self._fields() if self._fields is not None else {}
        return {shape: {name: rank for rank, name in enumerate(names)} for shape, names in fields.items()}

    def key(self, problem: str) -> tuple[list[tuple[int, int, int, str]], str]:
        """Where ``problem`` goes: its path's parts ranked, then its own words. A part is an
        item (by index) or a field (by declared rank; a joint ``a/b`` by its last field's)."""
        path = problem.split(": ", 1)[0] if ": " in problem else ""
        if path == BODY:  # the body as a whole (unreadable, too large, its fields counted): first
            return [], problem
        shape: Shape = ()
        parts = []
        for index, name in _PART.findall(path):
            if index:
                parts.append((0, int(index), 0, ""))
                shape = (*shape, _ITEM)
                continue
            ranks = self._ranks.get(shape, {})
            rank = max(ranks.get(field, len(ranks)) for field in name.split("/"))
            parts.append((1, rank, int("/" in name), name))
            shape = (*shape, name if name in ranks else _ANY)
        return parts, problem

    def ordered(self, problems: Iterable[str]) -> list[str]:
        """The problems de-duplicated, in this order."""
        return sorted(set(problems), key=self.key)


#: The path of a problem of the body as a whole.
BODY = "body"

#: Paths alone: item indices as numbers, field names alphabetically (no schema to read).
BY_PATH = FieldOrder()


@lru_cache(maxsize=64)
def field_order(spec: Spec, *refs: str, at: str = "") -> FieldOrder:
    """The order of the fields of the schemas ``refs`` (``name.json`` or ``name.json#/pointer``,
    read in turn, the first one's fields first), whose value sits at the path ``at`` (a
    dotted field path such as ``rule``: the prefix the problems carry)."""
    def build() -> dict[Shape, list[str]]:
        from ..spec import SCHEMA_BASE

        fields: dict[Shape, list[str]] = {}
        start: Shape = ()
        for name in filter(None, at.split(".")):
            fields.setdefault(start, []).append(name)
            start = (*start, name)
        resolver = spec.registry.resolver()
        for ref in refs:
            found = resolver.lookup(SCHEMA_BASE + ref)
            _Walk(fields, found.resolver).schema(found.contents, start)
        return fields

    return FieldOrder(build)


class _Walk:
    """Collects the declared field names of one schema, by shape, in document order."""

    def __init__(self, fields: dict[Shape, list[str]], resolver: Resolver[Any]) -> None:
        self.fields = fields
        self.resolver = resolver
        self.seen: set[tuple[int, Shape]] = set()

    def schema(self, schema: Any, shape: Shape) -> None:
        if not isinstance(schema, Mapping) or len(shape) > _MAX_SHAPE or (id(schema), shape) in self.seen:
            return
        self.seen.add((id(schema), shape))
        ref = schema.get("$ref")
        if isinstance(ref, str):
            self._ref(ref, shape)
        self._properties(schema.get("properties"), shape)
        for key in _SAME_VALUE:
            for sub in schema.get(key) or ():
                self.schema(sub, shape)
        for key in _SAME_VALUE_ONE:
            self.schema(schema.get(key), shape)
        self.schema(schema.get("items"), (*shape, _ITEM))
        for sub in schema.get("prefixItems") or ():
            self.schema(sub, (*shape, _ITEM))
        self.schema(schema.get("additionalProperties"), (*shape, _ANY))
        for sub in (schema.get("patternProperties") or {}).values():
            self.schema(sub, (*shape, _ANY))

    def _ref(self, ref: str, shape: Shape) -> None:
        outer = self.resolver
        found = outer.lookup(ref)
        self.resolver = found.resolver
        try:
            self.schema(found.contents, shape)
        finally:
            self.resolver = outer

    def _properties(self, properties: Any, shape: Shape) -> None:
        if not isinstance(properties, Mapping):
            return
        known = self.fields.setdefault(shape, [])
        for name, sub in properties.items():
            if name not in known:
                known.append(name)
            self.schema(sub, (*shape, name))
