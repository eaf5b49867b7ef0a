"""The vendor's three endpoints (submit, query, scene query), plain and in the signed gateway
form ``/rest{apiName}``; their answers are HTTP 200 for business and signature errors alike.
"""

from __future__ import annotations

import copy
from typing import Any

from ..answers.urls import QUERY, REST_PREFIX, SCENES, SUBMIT
from ..spec import Spec
from .components import JSON, json_answer, ref

FORM = "application/x-www-form-urlencoded"


def _json_body(schema: dict[str, Any], description: str, *, form: dict[str, Any] | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {JSON: {"schema": schema}}
    if form is not None:
        content[FORM] = {"schema": form}
    return {"required": False, "description": description, "content": content}


_ENVELOPE_NOTE = (
    "HTTP 200 for every answer of the API, success or not: a business error is "
    "`success: false` with a documented `resCode` (schemas/error-response.json), a gateway error "
    "(a signature problem, when signatures are on) is schemas/gateway-error.json."
)


def _submit_body(strict: bool) -> dict[str, Any]:
    """The submit's request schema; with ``strict``, the strict envelope and the strict item on
    top of the documented request (what a fake started with --strict accepts)."""
    if not strict:
        return ref("submit-request")
    return {
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


# long: a literal table of OpenAPI operations, read top to bottom like the document it becomes
def _api_operations(strict: bool) -> dict[str, dict[str, Any]]:
    """The vendor's three endpoints: (path -> method -> operation), plain form."""
    gateway = ref("gateway-error")
    error = ref("error-response")
    submit_body = _submit_body(strict)
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
                    "200": json_answer("The task ID, or an error envelope.", ref("submit-response"), error, gateway)
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
                    "200": json_answer("The task's state, or an error envelope.", ref("query-response"), error, gateway)
                },
            },
            "post": {
                "operationId": "queryPost",
                "summary": "Query a task's result (taskId in the body)",
                "description": _ENVELOPE_NOTE,
                "requestBody": _json_body(ref("query-request"), "The task ID.", form=ref("query-request")),
                "responses": {
                    "200": json_answer("The task's state, or an error envelope.", ref("query-response"), error, gateway)
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
                    "200": json_answer(
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


def vendor_paths(spec: Spec, *, strict: bool) -> dict[str, dict[str, Any]]:
    """Each endpoint at its plain path and at its ``/rest`` signed form."""
    paths: dict[str, dict[str, Any]] = {}
    for path, operations in _api_operations(strict).items():
        paths[path] = operations
        paths[REST_PREFIX + path] = {method: _signed(op, spec) for method, op in operations.items()}
    return paths


__all__ = ["vendor_paths"]
