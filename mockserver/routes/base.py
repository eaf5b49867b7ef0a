"""What a route is and what its handler gets (the dispatcher builds both; handlers only read)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..journal import Notes

if TYPE_CHECKING:
    from ..answers.envelopes import Envelopes
    from ..api import Backend
    from ..http import Incoming, Reply

Handler = Callable[["Context"], "Reply"]


@dataclass(frozen=True)
class Route:
    """One row of the route table. ``kind`` decides checks: api (signed), admin, asset."""

    rule: str
    methods: tuple[str, ...]
    endpoint: str
    handler: Handler
    kind: str = "api"
    api_name: str = ""


@dataclass
class Context:
    """What a handler gets: the request, URL arguments, the backend, and notes for the journal."""

    request: Incoming
    args: dict[str, Any]
    backend: Backend
    envelopes: Envelopes
    route: Route
    notes: Notes = field(default_factory=Notes)
