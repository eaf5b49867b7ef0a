"""Every path of the fake, defined once: the vendor's API, the served images, the admin API.

The route table (``routes/``) and the OpenAPI document (``openapi/``, by ``template``) are
built from these rules; the answers build image URLs with
``result_url``/``cover_url``; and the behaviour recognises its own image URLs (a submit that
names a result or a cover of this fake, resolved in-process) with ``own_image``, which
matches the very same rules, so the three cannot drift.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, PathConverter, Rule

SUBMIT = "/ai/image/background/generation/scenario"
QUERY = "/ai/image/background/generation/query"
SCENES = "/ai/image/background/generation/scene/query"
#: The IOP SDK's signed form of each API path.
REST_PREFIX = "/rest"

#: The admin API (bgmock's own REST API: faults, journal, tasks, clock, reset, config, health),
#: every path below ``ADMIN``.
ADMIN = "/__admin/"
ADMIN_HEALTH = "/__admin/health"
ADMIN_FAULTS = "/__admin/faults"
ADMIN_FAULT = "/__admin/faults/<string(maxlength=64):rule_id>"
ADMIN_REQUESTS = "/__admin/requests"
ADMIN_TASKS = "/__admin/tasks"
ADMIN_TASK_PRODUCT = "/__admin/tasks/<uuid:task_id>/products/<int:item>"
ADMIN_CLOCK = "/__admin/clock"
ADMIN_RESET = "/__admin/reset"
ADMIN_CONFIG = "/__admin/config"

#: Below this prefix the fake serves its own images (never the vendor's paths).
ASSETS = "/__bgmock/"
DASHBOARD = "/__bgmock/ui"
RESULT_IMAGE = "/__bgmock/results/<uuid:task_id>/<int:item>/<int:index>.<any(png, jpg):ext>"
#: ``text``, not ``string``: a user catalog's modelNum may hold any character ("/", a newline),
#: which ``cover_url`` quotes.
COVER_IMAGE = "/__bgmock/covers/<text:model_num>.png"


class TextConverter(PathConverter):
    """A path argument of any characters (werkzeug's ``path`` stops at a newline)."""

    regex = r"[^/][\s\S]*?"


#: The converters the route table's rules use (``text`` above werkzeug's own).
CONVERTERS: dict[str, type[PathConverter]] = {"text": TextConverter}

_OWN_IMAGES = Map(
    [Rule(RESULT_IMAGE, endpoint="result_image"), Rule(COVER_IMAGE, endpoint="cover_image")],
    converters=CONVERTERS, strict_slashes=False,
).bind("fake", url_scheme="http")
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def result_url(base: str, task_id: str, item: int, index: int, ext: str) -> str:
    """The URL of one result image (``base`` without a trailing slash)."""
    return f"{base}/__bgmock/results/{task_id}/{item}/{index}.{ext}"


def cover_url(base: str, model_num: str) -> str:
    """The URL of a scene's cover (the modelNum quoted whole, "/" included)."""
    return f"{base}/__bgmock/covers/{quote(model_num, safe='')}.png"


def own_image(url: str, public_url: str | None) -> tuple[str, dict[str, Any]] | None:
    """Which of this fake's images ``url`` names: ``("result_image", args)``, ``("cover_image",
    args)``, ``("", {})`` for a path below ``/__bgmock/`` that names none; None when the URL is
    not the fake's (another host, or another path).
    """
    if "%" not in url and ASSETS not in url:
        return None  # the common case, unsplit: without escapes, a path below /__bgmock/ shows in the URL
    parts = urlsplit(url)  # once: splitting is a good part of a URL submit's cost
    host = (parts.hostname or "").lower()
    if host not in _LOCAL_HOSTS and not (public_url and urlsplit(public_url).hostname == host):
        return None
    path = unquote(parts.path)
    if not path.startswith(ASSETS):
        return None
    try:
        endpoint, args = _OWN_IMAGES.match(path, method="GET")
    except HTTPException:  # no rule, or a redirect (a trailing slash): no image
        return "", {}
    return str(endpoint), args


def template(rule: str, names: dict[str, str] | None = None) -> str:
    """A route rule as an OpenAPI path template: ``<uuid:task_id>`` -> ``{taskId}`` with
    ``names={"task_id": "taskId"}`` (an argument not named keeps its own name)."""
    names = names or {}
    return re.sub(r"<(?:[^:>]*:)?([A-Za-z_]+)>", lambda m: "{" + names.get(m[1], m[1]) + "}", rule)
