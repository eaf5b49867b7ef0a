"""The admin API: program faults, read the journal and tasks, move the clock, reset."""

from __future__ import annotations

from ..answers.urls import (
    ADMIN_CLOCK,
    ADMIN_CONFIG,
    ADMIN_FAULT,
    ADMIN_FAULTS,
    ADMIN_HEALTH,
    ADMIN_REQUESTS,
    ADMIN_RESET,
    ADMIN_TASKS,
)
from ..errors import GatewayError
from ..http import Reply
from ..journal import SCHEMA_VERSION
from ..validation import admin as rules
from .base import Context, Route


def _limit(ctx: Context) -> int:
    return rules.limit(ctx.backend.spec, ctx.request.query.get("limit"), 100)


def health(ctx: Context) -> Reply:
    state = ctx.backend.health()
    return Reply.json(state, status=200 if state["status"] == "ok" else 503)


def list_faults(ctx: Context) -> Reply:
    return Reply.json({"faults": ctx.backend.faults()})


def add_faults(ctx: Context) -> Reply:
    """One rule, or a list of rules (all validated before any is stored)."""
    checked, many = rules.fault_rules(ctx.backend.spec, ctx.request.body)
    added = [ctx.backend.add_fault(rule) for rule in checked]
    return Reply.json({"faults": added} if many else added[0], status=201)


def delete_faults(ctx: Context) -> Reply:
    removed = ctx.backend.delete_faults(ctx.args.get("rule_id"))
    if ctx.args.get("rule_id") and not removed:
        raise GatewayError("InvalidApiPath", f"No such fault rule: {ctx.args['rule_id']}")
    return Reply.json({"removed": removed})


def requests_(ctx: Context) -> Reply:
    return Reply.json({"schemaVersion": SCHEMA_VERSION, "requests": ctx.backend.journal(_limit(ctx))})


def tasks(ctx: Context) -> Reply:
    return Reply.json({"tasks": ctx.backend.tasks(_limit(ctx))})


def clock(ctx: Context) -> Reply:
    if ctx.request.method == "POST":
        body = rules.checked_body(ctx.backend.spec, ctx.request.body, "admin.json#/$defs/clockAdvance")
        ctx.backend.advance(float(body["advance"]))
    return Reply.json({"now": round(ctx.backend.clock.now(), 3), "mode": ctx.backend.clock.mode})


def reset(ctx: Context) -> Reply:
    rules.empty_body(ctx.request.body, "POST /__admin/reset")
    ctx.backend.reset()
    return Reply.json({"reset": True})


def config(ctx: Context) -> Reply:
    return Reply.json(ctx.backend.config.redacted())


ROUTES: list[Route] = [
    Route(ADMIN_HEALTH, ("GET",), "admin_health", health, kind="admin"),
    Route(ADMIN_FAULTS, ("GET",), "admin_faults", list_faults, kind="admin"),
    Route(ADMIN_FAULTS, ("POST",), "admin_add_fault", add_faults, kind="admin"),
    Route(ADMIN_FAULTS, ("DELETE",), "admin_delete_faults", delete_faults, kind="admin"),
    Route(ADMIN_FAULT, ("DELETE",), "admin_delete_fault", delete_faults, kind="admin"),
    Route(ADMIN_REQUESTS, ("GET",), "admin_requests", requests_, kind="admin"),
    Route(ADMIN_TASKS, ("GET",), "admin_tasks", tasks, kind="admin"),
    Route(ADMIN_CLOCK, ("GET", "POST"), "admin_clock", clock, kind="admin"),
    Route(ADMIN_RESET, ("POST",), "admin_reset", reset, kind="admin"),
    Route(ADMIN_CONFIG, ("GET",), "admin_config", config, kind="admin"),
]
