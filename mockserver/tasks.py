"""A task's life as declared transitions, moto-style: progress decides the state.

Progress runs from 0 to 1, on the clock (elapsed / duration) or on polls: the first query of
a task sees progress 0 (``submitted``, as a client polling right after submitting would), the
Nth sees 1 (``finished``), the ones between are spread evenly. The state is derived from
progress every time it is read, never stored, so it cannot go stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: (state, progress at which it begins); the last one is where a task ends well.
TRANSITIONS: tuple[tuple[str, float], ...] = (("submitted", 0.0), ("running", 0.25), ("finished", 1.0))
#: What an outcome does to the last transition.
OUTCOMES = {"finished": "finished", "failed": "failed", "stuck": None}


@dataclass
class Task:
    """One submitted task. ``items`` holds each requestParams item as recorded."""

    task_id: str
    created: float
    items: list[dict[str, Any]]
    sources: list[str]
    outcome: str = "finished"  # finished | failed | stuck
    message: str = "success"
    progression: str = "time"
    duration: float = 3.0
    polls_to_finish: int = 3
    polls: int = 0
    app_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def progress(self, now: float) -> float:
        if self.progression == "polls":
            if self.polls_to_finish <= 1:
                return 1.0 if self.polls >= 1 else 0.0
            return min(1.0, max(0, self.polls - 1) / (self.polls_to_finish - 1))
        if self.duration <= 0:
            return 1.0
        return min(1.0, max(0.0, (now - self.created) / self.duration))

    def status(self, now: float) -> str:
        progress = self.progress(now)
        state = TRANSITIONS[0][0]
        for name, begins in TRANSITIONS:
            if progress >= begins:
                state = name
        if state == TRANSITIONS[-1][0]:
            final = OUTCOMES[self.outcome]
            return final if final is not None else TRANSITIONS[-2][0]
        return state

    def to_json(self, now: float) -> dict[str, Any]:
        """The admin view of a task (GET /__admin/tasks)."""
        return {
            "taskId": self.task_id,
            "taskStatus": self.status(now),
            "outcome": self.outcome,
            "taskMessage": self.message,
            "progression": self.progression,
            "polls": self.polls,
            "age": round(now - self.created, 3),
            "items": self.items,
            "sources": self.sources,
            "appKey": self.app_key,
        }
