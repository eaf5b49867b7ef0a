"""The fake's own endpoints: result images and covers, the dashboard's files, and the admin API
(``/__admin``, behind the admin token when the fake has one).
"""

from __future__ import annotations

from typing import Any

from ..answers.urls import (
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
    RESULT_IMAGE,
    template,
)
from .components import JSON, json_answer, ref


# long: a literal table of OpenAPI path items, read top to bottom like the document it becomes
def _asset_operations() -> dict[str, dict[str, Any]]:
    missing = json_answer(
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
                    "404": json_answer("No such scene.", ref("gateway-error")),
                },
            },
        },
    }


def _admin_op(op_id: str, summary: str, ok: dict[str, Any], status: str = "200", **extra: Any) -> dict[str, Any]:
    """An admin operation: ``ok`` answered with ``status``, the 700 envelope on bad input, 401
    without the admin token; ``extra`` adds its parameters or request body."""
    return {
        "operationId": op_id,
        "summary": summary,
        "tags": ["admin"],
        "security": [{"adminToken": []}],
        "responses": {
            status: json_answer("Done.", ok),
            "400": json_answer(
                "Bad input: the 700 envelope naming the field (HTTP 400 on the admin API).", ref("error-response")
            ),
            "401": json_answer(
                "The fake runs with --admin-token and the header is missing or wrong.", ref("gateway-error")
            ),
        },
        **extra,
    }


def _admin(pointer: str) -> dict[str, str]:
    """A reference to one of schemas/admin.json's definitions."""
    return ref("admin", "/$defs/" + pointer)


def _limit() -> list[dict[str, Any]]:
    return [{"name": "limit", "in": "query", "required": False, "schema": _admin("limit")}]


def _delete_fault() -> dict[str, Any]:
    """DELETE of one rule: a rule ID the route cannot hold is no path of the fake, hence the 404."""
    operation = _admin_op(
        "deleteFault",
        "Remove one fault rule",
        _admin("removed"),
        parameters=[
            {
                "name": "ruleId",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^/]+$"},
            }
        ],
    )
    operation["responses"]["404"] = json_answer(
        "No such rule (or an ID the route cannot hold): the gateway envelope InvalidApiPath.", ref("gateway-error")
    )
    return operation


def _task_product() -> dict[str, Any]:
    """GET of a submitted product image: an image, not JSON, and no input to refuse (no 400)."""
    operation = {
        **_admin_op("taskProduct", "The product image an item of a task was submitted with", {}),
        "parameters": [
            {"name": "taskId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
            {"name": "item", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
        ],
    }
    responses = operation["responses"]
    responses["200"] = {
        "description": "The image as uploaded (base64 in the submit), in its own format.",
        "content": {kind: {"schema": {"type": "string", "contentMediaType": kind}}
                    for kind in ("image/jpeg", "image/png", "image/bmp", "image/webp")},
    }
    del responses["400"]
    responses["404"] = json_answer(
        "Unknown or forgotten task, item out of range, or an item submitted by URL only.", ref("gateway-error")
    )
    return operation


def _admin_operations() -> dict[str, dict[str, Any]]:
    return {
        ADMIN_HEALTH: {"get": _admin_op("health", "Liveness and counters", _admin("health"))},
        ADMIN_FAULTS: {
            "get": _admin_op("listFaults", "The programmed fault rules with their counters", _admin("faultList")),
            "post": _admin_op(
                "addFaults",
                "Add a fault rule, or a list of rules",
                _admin("storedRules"),
                "201",
                requestBody={"required": True, "content": {JSON: {"schema": _admin("newRules")}}},
            ),
            "delete": _admin_op("deleteFaults", "Remove every fault rule", _admin("removed")),
        },
        template(ADMIN_FAULT, {"rule_id": "ruleId"}): {"delete": _delete_fault()},
        ADMIN_REQUESTS: {
            "get": _admin_op("journal", "The request journal, newest first", _admin("journal"), parameters=_limit())
        },
        ADMIN_TASKS: {
            "get": _admin_op("tasks", "Tasks with their state, newest first", _admin("tasks"), parameters=_limit())
        },
        template(ADMIN_TASK_PRODUCT, {"task_id": "taskId"}): {"get": _task_product()},
        ADMIN_CLOCK: {
            "get": _admin_op("clock", "The fake's clock", _admin("clockState")),
            "post": _admin_op(
                "advanceClock",
                "Move the fake's clock forward",
                _admin("clockState"),
                requestBody={"required": True, "content": {JSON: {"schema": _admin("clockAdvance")}}},
            ),
        },
        ADMIN_RESET: {"post": _admin_op("reset", "Forget tasks, rules and the journal", _admin("reset"))},
        ADMIN_CONFIG: {"get": _admin_op("config", "The settings in force, secrets masked", _admin("config"))},
    }


def fake_paths() -> dict[str, dict[str, Any]]:
    """The images, the dashboard and the admin API, by path."""
    return {**_asset_operations(), **_admin_operations()}


__all__ = ["fake_paths"]
