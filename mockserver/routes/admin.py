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
    ADMIN_TASK_PRODUCT,
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
    """The journal, and how many requests are still being answered (``pending``), counted
    first: when it reads 0, every request the fake had begun is among the entries."""
    pending = ctx.backend.pending.count
    return Reply.json(
        {"schemaVersion": SCHEMA_VERSION, "pending": pending, "requests": ctx.backend.journal(_limit(ctx))}
    )


def tasks(ctx: Context) -> Reply:
    return Reply.json({"tasks": ctx.backend.tasks(_limit(ctx))})


#: Media types of the upload formats the fake accepts (images.sniff_format's names).
_PRODUCT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp", "WEBP": "image/webp"}


def product(ctx: Context) -> Reply:
    """The product image a submit uploaded (base64) for one item of a task, as received: the
    dashboard's thumbnail. 404 for an unknown or expired task, an item out of range, a URL-only
    item, or a product the fake no longer holds (``product_cache_bytes``, ``task_ttl_s``)."""
    from ..images import sniff_format

    data = ctx.backend.product_image(str(ctx.args["task_id"]), ctx.args["item"])
    kind = _PRODUCT_TYPES.get(sniff_format(data) or "") if data is not None else None
    if data is None or kind is None:
        raise GatewayError("InvalidApiPath", "No such product image (unknown task, no uploaded image, or forgotten)")
    # Bytes a client sent: never sniffed as anything but the image they are, never a document.
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}
    return Reply(body=data, content_type=kind, headers=headers)


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
    Route(ADMIN_TASK_PRODUCT, ("GET",), "admin_task_product", product, kind="admin"),
    Route(ADMIN_CLOCK, ("GET", "POST"), "admin_clock", clock, kind="admin"),
    Route(ADMIN_RESET, ("POST",), "admin_reset", reset, kind="admin"),
    Route(ADMIN_CONFIG, ("GET",), "admin_config", config, kind="admin"),
]
