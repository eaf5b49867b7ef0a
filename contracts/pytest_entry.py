"""Run the kit inside a user's own test suite.

.. code-block:: python

    # tests/test_contract.py
    from contracts import pytest_contract
    from myapp.bg_adapter import make_adapter

    test_background_client_contract = pytest_contract(make_adapter, examples=50)
    test_background_client_smoke = pytest_contract(make_adapter, profile="smoke")  # per commit

The test fails with the kit's terminal report (every broken obligation with its minimal
example) and passes when every obligation is kept or not applicable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .adapter import AdapterFactory


def pytest_contract(factory: AdapterFactory, **options: Any) -> Callable[[], None]:
    """A test function checking ``factory``'s client; ``options`` go to :func:`contracts.run`
    (settings such as ``examples`` and ``only``, or ``base_url`` for a fake already running)."""

    def test_contract() -> None:
        import pytest

        from .deps import is_kit_package, missing

        try:
            from .runner import run
        except ModuleNotFoundError as exc:
            if not is_kit_package(exc):
                raise
            raise missing(exc, "pytest_contract") from None

        result = run(factory, **options)
        if not result.ok:
            pytest.fail(result.text(), pytrace=False)

    test_contract.__doc__ = f"bgmock contract kit against {getattr(factory, '__qualname__', factory)!s}"
    return test_contract
