"""An OpenAPI 3.1 document of every public endpoint of the fake, built from ``schemas/``.

OpenAPI 3.1 schema objects are JSON Schema 2020-12, so the request and response schemas are
embedded as they are under ``components/schemas`` (one component per file in ``schemas/``,
named by its file stem) and their ``$ref``s are rewritten to point there: the shapes live once,
in ``schemas/``; this module only adds what OpenAPI itself needs (paths, methods, media
types, parameters, status codes). The route table (``routes/``) is the list of endpoints; a
test checks that the document and the table name the same (method, path) pairs.

``bgmock openapi`` prints the document; load it into Swagger UI, Prism, Postman or Schemathesis.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from .answers.urls import (
    ADMIN_CLOCK,
    ADMIN_CONFIG,
    ADMIN_FAULT,
    ADMIN_FAULTS,
    ADMIN_HEALTH,
    ADMIN_REQUESTS,
    ADMIN_RESET,
    ADMIN_TASK_PRODUCT,
    ADMIN_TASKS,
    COVER_IMAGE,
    DASHBOARD,
    QUERY,
    REST_PREFIX,
    RESULT_IMAGE,
    SCENES,
    SUBMIT,
    template,
)
from .spec import SCHEMA_BASE, Spec, load_spec

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
ADMIN_HEADER = "X-Bgmock-Admin-Token"
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


def _json_body(schema: dict[str, Any], description: str, *, form: dict[str, Any] | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {JSON: {"schema": schema}}
    if form is not None:
        content[FORM] = {"schema": form}
    return {"required": False, "description": description, "content": content}


def _answer(description: str, *schemas: dict[str, Any]) -> dict[str, Any]:
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": list(schemas)}
    return {"description": description, "content": {JSON: {"schema": schema}}}


_ENVELOPE_NOTE = (
    "HTTP 200 for every answer of the API, success or not: a business error is "
    "`success: false` with a documented `resCode` (schemas/error-response.json), a gateway error "
    "(a signature problem, when signatures are on) is schemas/gateway-error.json."
)


def _api_operations(strict: bool) -> dict[str, dict[str, Any]]:
    """The vendor's three endpoints: (path -> method -> operation), plain form."""
    gateway = ref("gateway-error")
    error = ref("error-response")
    submit_body: dict[str, Any] = ref("submit-request")
    if strict:  # the strict envelope and the strict item, on top of the documented request
        submit_body = {
            "allOf": [
                ref("submit-request"),
                ref("submit-request.strict"),
                {
                    "properties": {
                        "requestParams": {
                            "anyOf": [
                                {"type": "string"},
                                {"type": "array", "items": ref("submit-request-item.strict")},
                            ]
                        }
                    }
                },
            ]
        }
    return {
        SUBMIT: {
            "post": {
                "operationId": "submit",
                "summary": "Submit an image background generation task",
                "description": "JSON, or form-encoded as the IOP SDK sends it (requestParams as a JSON string). "
                + _ENVELOPE_NOTE,
                "requestBody": _json_body(
                    submit_body,
                    "requestParams: an array of items or a JSON-encoded string of one.",
                    form={"allOf": [submit_body], "properties": {"requestParams": {"type": "string"}}},
                ),
                "responses": {
                    "200": _answer("The task ID, or an error envelope.", ref("submit-response"), error, gateway)
                },
            },
        },
        QUERY: {
            "get": {
                "operationId": "query",
                "summary": "Query a task's result",
                "description": _ENVELOPE_NOTE,
                "parameters": [
                    {
                        "name": "taskId",
                        "in": "query",
                        "required": True,
                        "schema": ref("query-request", "/properties/taskId"),
                    }
                ],
                "responses": {
                    "200": _answer("The task's state, or an error envelope.", ref("query-response"), error, gateway)
                },
            },
            "post": {
                "operationId": "queryPost",
                "summary": "Query a task's result (taskId in the body)",
                "description": _ENVELOPE_NOTE,
                "requestBody": _json_body(ref("query-request"), "The task ID.", form=ref("query-request")),
                "responses": {
                    "200": _answer("The task's state, or an error envelope.", ref("query-response"), error, gateway)
                },
            },
        },
        SCENES: {
            "post": {
                "operationId": "sceneQuery",
                "summary": "Recommend and query scenes (modelNum values for submit)",
                "description": _ENVELOPE_NOTE,
                "requestBody": _json_body(
                    ref("scene-query-request"), "Every field is optional.", form=ref("scene-query-request")
                ),
                "responses": {
                    "200": _answer(
                        "Matching scenes, or an error envelope.", ref("scene-query-response"), error, gateway
                    )
                },
            },
        },
    }


def _signed(operation: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """The ``/rest`` form of an operation: the v2 system parameters on the query string."""
    signed = copy.deepcopy(operation)
    signed["operationId"] += "Signed"
    signed["summary"] += " (signed gateway form)"
    signed["description"] = (
        "The gateway form `/rest{apiName}` with the v2 signature's system parameters on the query "
        "string (schemas/signing-params.json). Checked only when the fake has an app key "
        "(`--app-key`); then a bad or missing signature answers a gateway error. " + _ENVELOPE_NOTE
    )
    system = spec.schema("signing-params.json")
    params = [
        {
            "name": name,
            "in": "query",
            "required": name in system["required"],
            "schema": ref("signing-params", f"/properties/{name}"),
        }
        for name in system["properties"]
    ]
    signed["parameters"] = [*signed.get("parameters", []), *params]
    return signed


def _asset_operations() -> dict[str, dict[str, Any]]:
    missing = _answer(
        "No such image: an unknown task, one not finished, or an index out of range.", ref("gateway-error")
    )
    return {
        template(RESULT_IMAGE, {"task_id": "taskId"}): {
            "get": {
                "operationId": "resultImage",
                "summary": "A result image (drawn in memory on first fetch)",
                "parameters": [
                    {"name": "taskId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
                    {"name": "item", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "index", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "ext", "in": "path", "required": True, "schema": {"enum": ["png", "jpg"]}},
                ],
                "responses": {
                    "200": {
                        "description": "The image.",
                        "content": {
                            "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
                            "image/jpeg": {"schema": {"type": "string", "contentMediaType": "image/jpeg"}},
                        },
                    },
                    "404": missing,
                },
            },
        },
        **{
            path: {"get": {
                "operationId": op_id, "summary": summary, "tags": ["dashboard"],
                "responses": {"200": {"description": "The file.", "content": {media: {"schema": {"type": "string"}}}}},
            }}
            for path, op_id, summary, media in (
                (DASHBOARD, "dashboard", "The dashboard page (docs/dashboard.md)", "text/html"),
                (f"{DASHBOARD}/app.js", "dashboardScript", "The dashboard's script", "text/javascript"),
                (f"{DASHBOARD}/style.css", "dashboardStyle", "The dashboard's style sheet", "text/css"),
            )
        },
        template(COVER_IMAGE, {"model_num": "modelNum"}): {
            "get": {
                "operationId": "sceneCover",
                "summary": "A scene's cover image (drawn in memory)",
                "parameters": [
                    {
                        "name": "modelNum",
                        "in": "path",
                        "required": True,
                        "schema": ref("submit-request-item", "/properties/modelNum"),
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The cover.",
                        "content": {
                            "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
                        },
                    },
                    "404": _answer("No such scene.", ref("gateway-error")),
                },
            },
        },
    }


def _admin_operations() -> dict[str, dict[str, Any]]:
    def op(op_id: str, summary: str, ok: dict[str, Any], status: str = "200", **extra: Any) -> dict[str, Any]:
        error = ref("error-response")
        answers = {
            status: _answer("Done.", ok),
            "400": _answer("Bad input: the 700 envelope naming the field (HTTP 400 on the admin API).", error),
        }
        return {
            "operationId": op_id,
            "summary": summary,
            "tags": ["admin"],
            "security": [{"adminToken": []}],
            "responses": {
                **answers,
                "401": _answer(
                    "The fake runs with --admin-token and the header is missing or wrong.", ref("gateway-error")
                ),
            },
            **extra,
        }

    def admin(pointer: str) -> dict[str, str]:
        return ref("admin", "/$defs/" + pointer)

    def limit() -> list[dict[str, Any]]:
        return [{"name": "limit", "in": "query", "required": False, "schema": admin("limit")}]

    paths = {
        ADMIN_HEALTH: {"get": op("health", "Liveness and counters", admin("health"))},
        ADMIN_FAULTS: {
            "get": op("listFaults", "The programmed fault rules with their counters", admin("faultList")),
            "post": op(
                "addFaults",
                "Add a fault rule, or a list of rules",
                admin("storedRules"),
                "201",
                requestBody={"required": True, "content": {JSON: {"schema": admin("newRules")}}},
            ),
            "delete": op("deleteFaults", "Remove every fault rule", admin("removed")),
        },
        template(ADMIN_FAULT, {"rule_id": "ruleId"}): {
            "delete": op(
                "deleteFault",
                "Remove one fault rule",
                admin("removed"),
                parameters=[
                    {
                        "name": "ruleId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^/]+$"},
                    }
                ],
            ),
        },
        ADMIN_REQUESTS: {
            "get": op("journal", "The request journal, newest first", admin("journal"), parameters=limit())
        },
        ADMIN_TASKS: {
            "get": op("tasks", "Tasks with their state, newest first", admin("tasks"), parameters=limit())
        },
        template(ADMIN_TASK_PRODUCT, {"task_id": "taskId"}): {
            "get": {
                **op("taskProduct", "The product image an item of a task was submitted with", {}),
                "parameters": [
                    {"name": "taskId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
                    {"name": "item", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
                ],
            },
        },
        ADMIN_CLOCK: {
            "get": op("clock", "The fake's clock", admin("clockState")),
            "post": op(
                "advanceClock",
                "Move the fake's clock forward",
                admin("clockState"),
                requestBody={"required": True, "content": {JSON: {"schema": admin("clockAdvance")}}},
            ),
        },
        ADMIN_RESET: {"post": op("reset", "Forget tasks, rules and the journal", admin("reset"))},
        ADMIN_CONFIG: {"get": op("config", "The settings in force, secrets masked", admin("config"))},
    }
    product = paths[template(ADMIN_TASK_PRODUCT, {"task_id": "taskId"})]["get"]["responses"]
    product["200"] = {
        "description": "The image as uploaded (base64 in the submit), in its own format.",
        "content": {kind: {"schema": {"type": "string", "contentMediaType": kind}}
                    for kind in ("image/jpeg", "image/png", "image/bmp", "image/webp")},
    }
    product["404"] = _answer(
        "Unknown or forgotten task, item out of range, or an item submitted by URL only.", ref("gateway-error")
    )
    del product["400"]
    paths[template(ADMIN_FAULT, {"rule_id": "ruleId"})]["delete"]["responses"]["404"] = _answer(
        "No such rule (or an ID the route cannot hold): the gateway envelope InvalidApiPath.", ref("gateway-error")
    )
    return paths


def build_document(
    spec: Spec | None = None, *, server: str = "http://127.0.0.1:8080", strict: bool = False
) -> dict[str, Any]:
    """The OpenAPI 3.1 document; ``strict`` describes a fake started with ``--strict``."""
    spec = spec or load_spec()
    paths: dict[str, dict[str, Any]] = {}
    for path, operations in _api_operations(strict).items():
        paths[path] = operations
        paths[REST_PREFIX + path] = {method: _signed(op, spec) for method, op in operations.items()}
    paths.update(_asset_operations())
    paths.update(_admin_operations())

    components = _schemas_used(paths, spec)
    try:
        from importlib.metadata import version

        release = version("bgmock")
    except Exception:  # noqa: BLE001 - a checkout that is not installed
        release = "0"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bgmock: Aidge Image Background Generation API (offline fake)",
            "version": release,
            "description": (
                "Every public endpoint of the fake, generated by `bgmock openapi` from the "
                "JSON Schemas in schemas/ (components keep their file names). The vendor's endpoints "
                "answer HTTP 200 for business and signature errors, as the real gateway does; unknown "
                "paths answer 404 and wrong methods 405 with the gateway error shape. "
                + (
                    "This document describes a fake started with --strict."
                    if strict
                    else "Without --strict the fake also accepts the string spellings of numbers and booleans "
                    '("800", "true") that the vendor\'s samples send; the document gives the documented types.'
                )
            ),
        },
        "servers": [{"url": server, "description": "the fake"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "adminToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": ADMIN_HEADER,
                    "description": "Required on /__admin only when the fake runs with --admin-token "
                    "(and it must, when bound beyond loopback).",
                },
            },
        },
        "tags": [{"name": "admin", "description": "The fake's own control API (schemas/admin.json)."}],
    }


def _schemas_used(paths: dict[str, Any], spec: Spec) -> dict[str, Any]:
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


# -- bgmock openapi ---------------------------------------------------------------------------
def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", metavar="FILE", help="write the document to FILE instead of standard output")
    parser.add_argument(
        "--server",
        metavar="URL",
        default="http://127.0.0.1:8080",
        help="the fake's base URL written into the document (default http://127.0.0.1:8080)",
    )
    parser.add_argument("--strict", action="store_true", help="describe a fake started with --strict")


def run(args: argparse.Namespace) -> int:
    from .config import ConfigError

    parts = urlsplit(args.server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"--server {args.server!r}: expected an http or https URL")
    text = (
        json.dumps(build_document(server=args.server.rstrip("/"), strict=args.strict), indent=2, ensure_ascii=False)
        + "\n"
    )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


COMMANDS = {"openapi": (add_args, run)}
HELP = {"openapi": "print an OpenAPI 3.1 document of the fake (from schemas/) for Swagger UI, Prism or Schemathesis"}
