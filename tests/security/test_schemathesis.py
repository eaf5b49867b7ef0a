"""Schemathesis against the live fake, with the document ``bgmock openapi`` prints.

Every default check of Schemathesis runs (server errors, status codes, content types, response
schemas, headers, positive data accepted, negative data rejected, unsupported methods, the
Allow header, ignored auth, ...) over positive and negative data from its examples, coverage
and fuzzing phases, with a fixed seed and a fixed budget, and any finding fails the test.

One deliberate difference from a strict reading of HTTP, documented in the README's spec
notes: the vendor's API answers business errors (700 "invalid input" and the rest) with HTTP
200 and ``success: false``, as the real gateway does. So "negative data is rejected" also
counts a 200 *error envelope* as a rejection; a 200 that is not an error envelope, or any other
2xx, still fails through Schemathesis' own ``negative_data_rejection`` logic.

The fake runs ``strict`` here: the lenient default deliberately accepts the string spellings
("800") that a schema-typed negative case might produce. The lenient fake is fuzzed by
tests/security/test_fuzz_http.py. The admin API runs behind ``--admin-token``, so ``ignored_auth`` proves
the token is enforced.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis", reason="Schemathesis 4 needs Python 3.11 or newer")

from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, NegativeDataRejectionConfig  # noqa: E402
from schemathesis.specs.openapi.checks import negative_data_rejection  # noqa: E402

from mockserver import Handle, running  # noqa: E402
from mockserver.openapi import ADMIN_HEADER, build_document  # noqa: E402
from mockserver.signing import signed_query  # noqa: E402

TOKEN = "schemathesis-admin-token"
APP_KEY, APP_SECRET = "st-key", "st-secret"
#: The budget: fuzzing examples per operation. The examples and coverage phases add their own
#: deterministic cases (coverage: every boundary the schema defines); the total is in the README.
#: The signed /rest forms skip the coverage phase (their bodies are the plain forms', covered
#: there) and get more fuzzing instead.
MAX_EXAMPLES = 10
SIGNED_MAX_EXAMPLES = 25
SEED = 20240625


def _config(base_url: str, *, max_examples: int = MAX_EXAMPLES, coverage: bool = True) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "base-url": base_url,
        "headers": {ADMIN_HEADER: TOKEN},
        "request-timeout": 10,
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": coverage}},
        "checks": {
            # HTTP 200 is how the API says "invalid input"; envelope_rejects_negative_data below
            # holds such answers to being error envelopes.
            "negative_data_rejection": {"expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "200"]},
        },
    })


def _is_error_envelope(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    business = body.get("success") is False and isinstance(body.get("resCode"), int)
    gateway = isinstance(body.get("type"), str) and body.get("code") not in (None, "0")
    return business or gateway


def envelope_rejects_negative_data(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis' negative_data_rejection with the API's convention: a 200 must be an error envelope."""
    if response.status_code != 200 or _is_error_envelope(response):
        return None
    strict = copy.copy(ctx)
    strict.config = copy.copy(ctx.config)
    strict.config.negative_data_rejection = NegativeDataRejectionConfig()  # 200 is not a rejection here
    return negative_data_rejection(strict, response, case)


def no_internal_error(ctx: Any, response: Any, case: Any) -> None:
    """The fake's safety net answers a bug with the 500 envelope on HTTP 200 (the API's error
    convention), which Schemathesis' own ``not_a_server_error`` cannot see: any answer that is
    that envelope, or any HTTP 500, fails the run."""
    assert response.status_code != 500, f"HTTP 500 for {case.method} {case.path}"
    try:
        body = response.json()
    except ValueError:
        return
    message = body.get("resMessage") if isinstance(body, dict) else None
    assert not (isinstance(message, str) and "internal error" in message), f"{case.method} {case.path}: {message}"


CHECKS = [envelope_rejects_negative_data, no_internal_error]
CASES = {"plain": 0, "signed": 0}


@pytest.fixture(scope="module")
def plain_fake() -> Iterator[Handle]:
    with running(strict=True, task_duration=0, admin_token=TOKEN, seed=SEED) as fake:
        yield fake


@pytest.fixture(scope="module")
def signed_fake() -> Iterator[Handle]:
    with running(strict=True, task_duration=0, app_keys={APP_KEY: APP_SECRET}, seed=SEED) as fake:
        yield fake


@pytest.fixture(scope="module")
def plain_schema(plain_fake: Handle) -> Any:
    return schemathesis.openapi.from_dict(build_document(server=plain_fake.url), config=_config(plain_fake.url))


@pytest.fixture(scope="module")
def signed_schema(signed_fake: Handle) -> Any:
    config = _config(signed_fake.url, max_examples=SIGNED_MAX_EXAMPLES, coverage=False)
    return schemathesis.openapi.from_dict(build_document(server=signed_fake.url), config=config)


plain = schemathesis.pytest.from_fixture("plain_schema").exclude(path_regex="^/rest/")
signed = schemathesis.pytest.from_fixture("signed_schema").include(path_regex="^/rest/")


@plain.parametrize()
def test_plain_endpoints_and_admin_api(case: Any, plain_fake: Handle) -> None:
    CASES["plain"] += 1
    try:
        case.call_and_validate(additional_checks=CHECKS)
    finally:
        if case.method == "POST" and case.path.startswith("/__admin/faults"):
            # A stored rule would turn later calls into injected faults (resets, delays):
            # each case starts from no rules.
            requests.delete(plain_fake.url + "/__admin/faults", headers={ADMIN_HEADER: TOKEN}, timeout=10)


@signed.parametrize()
def test_signed_gateway_forms(case: Any) -> None:
    CASES["signed"] += 1
    if case.meta is not None and not case.meta.generation.mode.is_negative:
        # Positive data gets a real signature, so the call reaches the API behind the gateway;
        # negative cases keep what Schemathesis generated (a random sign is refused anyway).
        case.query = {**(case.query or {}), **signed_query(APP_KEY, APP_SECRET)}
    case.call_and_validate(additional_checks=CHECKS)
