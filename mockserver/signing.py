"""The gateway's two signature schemes, computed and verified.

v2 (the official samples): ``sign = HEX(HMAC-SHA256(secret, secret + timestamp))`` with the
system parameters on the query string.  IOP form (the older SDKs):
``sign = HEX(HMAC-SHA256(secret, apiName + k1v1k2v2...))`` over every parameter but ``sign``,
sorted by name.  Comparisons are constant-time; secrets never leave this module in messages.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from .errors import GatewayError
from .parsing import read_int

SYSTEM_PARAMS = ("app_key", "timestamp", "sign", "sign_method")


def _hmac_hex(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest().upper()


def sign_v2(secret: str, timestamp: str) -> str:
    """The v2 signature of the official samples: the body and the path are not signed."""
    return _hmac_hex(secret, secret + timestamp)


def sign_iop(secret: str, api_name: str, params: Mapping[str, str]) -> str:
    """The IOP SDK signature over ``api_name`` and every parameter except ``sign``."""
    message = api_name + "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    return _hmac_hex(secret, message)


def signed_query(app_key: str, secret: str, *, timestamp_ms: int | None = None) -> dict[str, str]:
    """The v2 query parameters a client appends to ``/rest{apiName}`` (for tests and the kit)."""
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    return {
        "partner_id": "aidge", "sign_method": "sha256", "sign_ver": "v2",
        "app_key": app_key, "timestamp": ts, "sign": sign_v2(secret, ts),
    }


def verify(
    params: Mapping[str, str],
    api_name: str,
    secrets: Mapping[str, str],
    *,
    skew_s: float,
    now: Callable[[], float] = time.time,
) -> tuple[str, str]:
    """Check a call's system parameters; return (app_key, scheme) or raise a GatewayError.

    ``params`` are the query string merged with form fields (the IOP SDK puts its system
    parameters in either place).
    """
    missing = [name for name in SYSTEM_PARAMS if not params.get(name)]
    if missing:
        raise GatewayError("MissingParameter", f"Missing system parameter: {', '.join(missing)}")
    if params["sign_method"].lower() != "sha256":
        raise GatewayError("IncompleteSignature", "sign_method must be sha256")
    secret = secrets.get(params["app_key"])
    if secret is None:
        raise GatewayError("InvalidAppKey")
    stamp = read_int(params["timestamp"], max_digits=16)  # ASCII digits: int() takes "٣" and "1_000"
    if stamp is None:
        raise GatewayError("InvalidTimestamp", "timestamp must be epoch milliseconds (ASCII digits)")
    if abs(now() - stamp / 1000) > skew_s:
        raise GatewayError("InvalidTimestamp")
    given = params["sign"].upper().encode("ascii", "replace")
    if params.get("sign_ver") == "v2":
        scheme, expected = "v2", sign_v2(secret, params["timestamp"])
    else:
        scheme, expected = "iop", sign_iop(secret, api_name, params)
    if not hmac.compare_digest(given, expected.encode("ascii")):
        raise GatewayError("IncompleteSignature")
    return params["app_key"], scheme
