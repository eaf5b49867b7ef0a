"""The fake's behaviour and its state: ``Backend`` (submit, query, scenes, tasks, admin),
``Images`` (result images, covers, the fake's own image URLs), ``Parts`` (what the settings
build). Answers are shaped beside the routes (``answers/``)."""

from __future__ import annotations

from .backend import Backend
from .images import Images
from .parts import Parts

__all__ = ["Backend", "Images", "Parts"]
