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


def _admin_operations() -> dict[str, dict[str, Any]]:
    def op(op_id: str, summary: str, ok: dict[str, Any], status: str = "200", **extra: Any) -> dict[str, Any]:
        error = ref("error-response")
        answers = {
            status: json_answer("Done.", ok),
            "400": json_answer("Bad input: the 700 envelope naming the field (HTTP 400 on the admin API).", error),
        }
        return {
            "operationId": op_id,
            "summary": summary,
            "tags": ["admin"],
            "security": [{"adminToken": []}],
            "responses": {
                **answers,
                "401": json_answer(
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
    product["404"] = json_answer(
        "Unknown or forgotten task, item out of range, or an item submitted by URL only.", ref("gateway-error")
    )
    del product["400"]
    paths[template(ADMIN_FAULT, {"rule_id": "ruleId"})]["delete"]["responses"]["404"] = json_answer(
        "No such rule (or an ID the route cannot hold): the gateway envelope InvalidApiPath.", ref("gateway-error")
    )
    return paths


def fake_paths() -> dict[str, dict[str, Any]]:
    """The images, the dashboard and the admin API, by path."""
    return {**_asset_operations(), **_admin_operations()}


__all__ = ["fake_paths"]
