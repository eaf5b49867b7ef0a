"""The admin API: program faults, read the journal and tasks, move the clock, reset."""

from __future__ import annotations

from typing import Any

from ..coercion import integer_plan, whole_numbers
from ..dispatch import Context, Route
from ..errors import GatewayError, InvalidInput
from ..http import Reply
from ..parsing import is_json_blank, parse_int
from ..problems import json_type, schema_problems
from ..validation import load_json


def _json_body(ctx: Context) -> Any:
    if is_json_blank(ctx.request.body):
        return {}
    try:
        return load_json(ctx.request.body, "body")
    except ValueError:
        raise InvalidInput(["body: not valid JSON"]) from None


def _checked_body(ctx: Context, ref: str) -> dict[str, Any]:
    """The JSON body checked against ``schemas/admin.json``'s ``ref``: an unknown key is named
    (``set: is not a documented field``), never read as a missing one."""
    body = _json_body(ctx)
    spec = ctx.backend.spec
    if not isinstance(body, dict):
        name, _, pointer = ref.partition("#/$defs/")
        fields = ", ".join(spec.schema(name)["$defs"][pointer].get("properties", {}))
        raise InvalidInput([f"body: must be a JSON object with {fields}, got {json_type(body)}"])
    body = whole_numbers(body, integer_plan(spec, ref))
    problems = schema_problems(spec.validator(ref), body)
    if problems:
        raise InvalidInput(problems)
    return body


def _limit(ctx: Context, default: int) -> int:
    raw = ctx.request.query.get("limit")
    if raw is None:
        return default
    bounds = ctx.backend.spec.schema("admin.json")["$defs"]["limit"]  # the documented range
    try:
        return parse_int(raw, "limit", minimum=bounds["minimum"], maximum=bounds["maximum"])
    except ValueError as exc:
        raise InvalidInput([str(exc)]) from None


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
        body = _checked_body(ctx, "admin.json#/$defs/clockAdvance")
        ctx.backend.advance(float(body["advance"]))
    return Reply.json({"now": round(ctx.backend.clock.now(), 3), "mode": ctx.backend.clock.mode})


def reset(ctx: Context) -> Reply:
    body = _json_body(ctx)
    if body != {}:  # it takes nothing: a field sent is a field the caller expected to matter
        fields = ", ".join(str(k)[:64] for k in body) if isinstance(body, dict) else json_type(body)
        raise InvalidInput([f"body: POST /__admin/reset takes no fields (send nothing or {{}}), got {fields}"])
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
    Route(
        "/__admin/tasks/<uuid:task_id>/products/<int:item>", ("GET",), "admin_task_product", product, kind="admin",
    ),
    Route("/__admin/clock", ("GET", "POST"), "admin_clock", clock, kind="admin"),
    Route("/__admin/reset", ("POST",), "admin_reset", reset, kind="admin"),
    Route("/__admin/config", ("GET",), "admin_config", config, kind="admin"),
]
