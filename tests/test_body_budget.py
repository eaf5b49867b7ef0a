"""``BodyBudget`` (bodies.py): bodies held at once are bounded, and the allocator is asked to
give memory back when the last large body leaves (the server-level tests are in test_httpd.py)."""

from __future__ import annotations

import threading

from mockserver.bodies import TRIM_AFTER_BYTES, BodyBudget


def test_a_charge_that_does_not_fit_waits_then_gives_up() -> None:
    budget = BodyBudget(100, on_idle=lambda: None)
    assert budget.acquire(60, 1) == 60
    assert budget.acquire(60, 0.05) is None  # no room before its deadline
    budget.release(60)
    assert budget.acquire(60, 0) == 60 and budget.used == 60


def test_a_waiting_charge_gets_in_when_room_is_released() -> None:
    budget = BodyBudget(100, on_idle=lambda: None)
    budget.acquire(100, 1)
    got: list[int | None] = []
    waiter = threading.Thread(target=lambda: got.append(budget.acquire(50, 10)))
    waiter.start()
    budget.release(100)
    waiter.join(10)
    assert got == [50] and budget.used == 50


def test_a_body_larger_than_the_budget_may_use_it_all_alone() -> None:
    budget = BodyBudget(100, on_idle=lambda: None)
    assert budget.acquire(1000, 0) == 100
    assert budget.acquire(1, 0) is None


def test_memory_is_given_back_when_the_last_large_body_leaves() -> None:
    trims: list[int] = []
    budget = BodyBudget(4 * TRIM_AFTER_BYTES, on_idle=lambda: trims.append(budget.used))
    first, second = budget.acquire(TRIM_AFTER_BYTES, 0), budget.acquire(10, 0)
    budget.release(first or 0)
    assert trims == []  # another body is still in flight
    budget.release(second or 0)
    assert trims == [0]  # once, with nothing in flight
    budget.release(budget.acquire(10, 0) or 0)
    assert trims == [0]  # small bodies do not trim each time
