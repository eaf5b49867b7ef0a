"""The ``schemas/`` files as OpenAPI components, and references to them.

OpenAPI 3.1 schema objects are JSON Schema 2020-12, so each file is embedded as it is under
``components/schemas`` (named by its file stem), with its ``$ref``s rewritten to point there:
the shapes live once, in ``schemas/``. Only the files the paths reference, transitively, are
embedded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from ..spec import SCHEMA_BASE, Spec

JSON = "application/json"
COMPONENTS = "#/components/schemas/"


def _component(ref: str, base: str) -> str:
    """``common.json#/$defs/x`` (relative to the file ``base``) -> ``#/components/schemas/common/$defs/x``."""
    absolute = urljoin(base, ref)
    if not absolute.startswith(SCHEMA_BASE):
        raise ValueError(f"$ref {ref!r} in {base} points outside schemas/")
    name, _, pointer = absolute[len(SCHEMA_BASE) :].partition("#")
    return COMPONENTS + name.removesuffix(".json") + pointer


def _rewritten(node: Any, base: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("$schema", "$id"):
                continue  # the component's place in the document is its identity now
            out[key] = _component(value, base) if key == "$ref" and isinstance(value, str) else _rewritten(value, base)
        return out
    if isinstance(node, list):
        return [_rewritten(value, base) for value in node]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def ref(name: str, pointer: str = "") -> dict[str, str]:
    """A reference to ``schemas/<name>.json`` (optionally to a JSON pointer inside it)."""
    return {"$ref": COMPONENTS + name + pointer}


def json_answer(description: str, *schemas: dict[str, Any]) -> dict[str, Any]:
    """A response with a JSON body of one of ``schemas``."""
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": list(schemas)}
    return {"description": description, "content": {JSON: {"schema": schema}}}


def embedded_schemas(paths: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """Every schema file the paths reference, transitively, embedded with rewritten refs."""
    wanted = {r[len(COMPONENTS) :].split("/", 1)[0] for r in _refs(paths)}
    done: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name in done:
            continue
        file = name + ".json"
        if file not in spec.schemas:
            raise ValueError(f"the document references schemas/{file}, which does not exist")
        embedded = _rewritten(spec.schema(file), SCHEMA_BASE + file)
        done[name] = embedded
        wanted |= {r[len(COMPONENTS) :].split("/", 1)[0] for r in _refs(embedded)} - done.keys()
    return dict(sorted(done.items()))


__all__ = ["COMPONENTS", "JSON", "embedded_schemas", "json_answer", "ref"]
