"""The fake's route table, by concern: the vendor's API, served images, and the admin API.

Paths come from ``answers.urls`` (defined once); ``base.py`` is what a route is and what its
handler gets. The dispatcher imports this package; nothing here imports the dispatcher.
"""

from __future__ import annotations

from . import admin, api, assets
from .base import Context, Handler, Route


def route_table() -> list[Route]:
    """Every route of the fake, in one list."""
    return [*api.ROUTES, *assets.ROUTES, *admin.ROUTES]


__all__ = ["Context", "Handler", "Route", "route_table"]
