"""The admin API: program faults, read the journal and tasks, move the clock, reset."""

from __future__ import annotations

import re
from typing import Any

from ..dispatch import Context, Route
from ..errors import GatewayError, InvalidInput
from ..http import Reply
from ..validation import load_json


def _json_body(ctx: Context) -> Any:
    if not ctx.request.body.strip():
        return {}
    try:
        return load_json(ctx.request.body, "body")
    except ValueError:
        raise InvalidInput(["body: not valid JSON"]) from None


def _limit(ctx: Context, default: int) -> int:
    raw = ctx.request.query.get("limit", str(default))
    if not re.fullmatch(r"[0-9]{1,9}", raw):  # ASCII ("²".isdigit() is true) and short enough for int()
        raise InvalidInput(["limit: must be a whole number"])
    return int(raw)


def health(ctx: Context) -> Reply:
    state = ctx.backend.health()
    return Reply.json(state, status=200 if state["status"] == "ok" else 503)


def list_faults(ctx: Context) -> Reply:
    return Reply.json({"faults": ctx.backend.faults()})


def add_faults(ctx: Context) -> Reply:
    """One rule, or a list of rules (all validated before any is stored)."""
    body = _json_body(ctx)
    rules = body if isinstance(body, list) else [body]
    from ..faults import FaultRule

    for index, rule in enumerate(rules):
        try:
            FaultRule.from_json(ctx.backend.spec, rule, "check")
        except InvalidInput as exc:
            prefix = f"[{index}] " if isinstance(body, list) else ""
            raise InvalidInput([prefix + p for p in exc.problems]) from None
    added = [ctx.backend.add_fault(rule) for rule in rules]
    return Reply.json({"faults": added} if isinstance(body, list) else added[0], status=201)


def delete_faults(ctx: Context) -> Reply:
    removed = ctx.backend.delete_faults(ctx.args.get("rule_id"))
    if ctx.args.get("rule_id") and not removed:
        raise GatewayError("InvalidApiPath", f"No such fault rule: {ctx.args['rule_id']}")
    return Reply.json({"removed": removed})


def requests_(ctx: Context) -> Reply:
    return Reply.json({"requests": ctx.backend.journal(_limit(ctx, 100))})


def tasks(ctx: Context) -> Reply:
    return Reply.json({"tasks": ctx.backend.tasks(_limit(ctx, 100))})


def clock(ctx: Context) -> Reply:
    if ctx.request.method == "POST":
        body = _json_body(ctx)
        seconds = body.get("advance") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 10**9:
            raise InvalidInput(["advance: must be a number of seconds, 0 or more"])
        ctx.backend.advance(float(seconds))
    return Reply.json({"now": round(ctx.backend.clock.now(), 3), "mode": ctx.backend.clock.mode})


def reset(ctx: Context) -> Reply:
    ctx.backend.reset()
    return Reply.json({"reset": True})


def config(ctx: Context) -> Reply:
    return Reply.json(ctx.backend.config.redacted())


ROUTES: list[Route] = [
    Route("/__admin/health", ("GET",), "admin_health", health, kind="admin"),
    Route("/__admin/faults", ("GET",), "admin_faults", list_faults, kind="admin"),
    Route("/__admin/faults", ("POST",), "admin_add_fault", add_faults, kind="admin"),
    Route("/__admin/faults", ("DELETE",), "admin_delete_faults", delete_faults, kind="admin"),
    Route(
        "/__admin/faults/<string(maxlength=64):rule_id>", ("DELETE",), "admin_delete_fault", delete_faults,
        kind="admin",
    ),
    Route("/__admin/requests", ("GET",), "admin_requests", requests_, kind="admin"),
    Route("/__admin/tasks", ("GET",), "admin_tasks", tasks, kind="admin"),
    Route("/__admin/clock", ("GET", "POST"), "admin_clock", clock, kind="admin"),
    Route("/__admin/reset", ("POST",), "admin_reset", reset, kind="admin"),
    Route("/__admin/config", ("GET",), "admin_config", config, kind="admin"),
]
