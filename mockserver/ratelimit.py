"""Token-bucket rate limits, per ``app_key`` or global, per endpoint, as the gateway applies them.

A limit is a rate (tokens added per second) and a burst (the bucket's size).  A request takes
one token from every bucket that applies to it, all or none, in one atomic step of the store,
so limits stay exact when several threads or worker processes share the store.  Buckets fill
on the fake's injected clock: a test advances the clock to refill them instead of sleeping.

What the client sees when a bucket is empty is the documented business error 501
"rate limit exceed".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .parsing import decimal_pattern

#: Endpoints a limit can name; ``any`` means every API endpoint (not admin, not images).
ENDPOINTS = ("submit", "query", "scenes", "any")
#: An ASCII decimal of at most 9 digits a side (``parsing.decimal_pattern``: ``\d`` takes "٣";
#: no exponent, as in every number written as text), space or tab around.
_RATE = re.compile(
    rf"^[ \t]*({decimal_pattern(9)})[ \t]*(?:/[ \t]*(s|sec|second|m|min|minute|h|hour))?[ \t]*$",
    re.IGNORECASE | re.ASCII,
)
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}


def parse_rate(text: str | float | int) -> float:
    """``"20/s"``, ``"1200/min"``, ``"5/h"`` or a plain number (per second) -> requests per second."""
    if isinstance(text, bool):
        raise ValueError(f"rate {text!r}: expected a number of requests per second or N/s, N/min, N/h")
    if isinstance(text, (int, float)):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"rate {text!r}: must be a finite number")
    else:
        match = _RATE.match(text)
        if not match:
            raise ValueError(f"rate {text[:40]!r}: expected N/s, N/min or N/h, e.g. 20/s (ASCII digits)")
        value = float(match.group(1)) / _PER[(match.group(2) or "s").lower()]
    if value <= 0:
        raise ValueError(f"rate {text!r}: must be more than 0")
    return value


@dataclass(frozen=True)
class RateLimit:
    """One bucket definition: ``rate`` tokens per second, ``burst`` tokens at most."""

    rate: float
    burst: float
    scope: str = "app_key"
    endpoint: str = "any"

    @classmethod
    def from_json(cls, data: Mapping[str, Any], default_burst: float | None = None) -> RateLimit:
        """From a config entry (already checked by ``schemas/config.json``); ValueError names the problem."""
        rate = parse_rate(data["rate"])
        burst = data.get("burst", default_burst)
        # Without a burst, a bucket holds one second of traffic (at least one request).
        burst = float(burst) if burst is not None else max(1.0, rate)
        if burst < 1:
            raise ValueError(f"rate limit burst {burst:g}: must be at least 1")
        return cls(rate=rate, burst=burst, scope=data.get("scope", "app_key"), endpoint=data.get("endpoint", "any"))

    def applies_to(self, endpoint: str) -> bool:
        return self.endpoint in ("any", endpoint)

    def key(self, endpoint: str, app_key: str | None) -> str:
        """The bucket's name in the store: one per (scope subject, limit endpoint)."""
        who = "*" if self.scope == "global" else (app_key or "-")
        return f"{self.scope}:{who}:{self.endpoint}:{self.rate:g}:{self.burst:g}"

    def describe(self) -> str:
        subject = "all clients" if self.scope == "global" else "per app_key"
        where = "all endpoints" if self.endpoint == "any" else self.endpoint
        return f"{self.rate:g}/s, burst {self.burst:g}, {subject}, {where}"


@dataclass(frozen=True)
class Bucket:
    """What the store needs to take a token atomically: the bucket's key and shape."""

    key: str
    rate: float
    burst: float


class RateLimiter:
    """Decides, through the store, whether a request gets through all the limits that apply."""

    def __init__(self, limits: Sequence[RateLimit]) -> None:
        self.limits = tuple(limits)

    def __bool__(self) -> bool:
        return bool(self.limits)

    def buckets(self, endpoint: str, app_key: str | None) -> list[Bucket]:
        return [
            Bucket(limit.key(endpoint, app_key), limit.rate, limit.burst)
            for limit in self.limits
            if limit.applies_to(endpoint)
        ]

    def check(self, store: Any, endpoint: str, app_key: str | None, now: float) -> RateLimit | None:
        """None when every bucket had a token (all taken), else the first limit that was empty."""
        applicable = [limit for limit in self.limits if limit.applies_to(endpoint)]
        if not applicable:
            return None
        buckets = [Bucket(limit.key(endpoint, app_key), limit.rate, limit.burst) for limit in applicable]
        refused = store.take(buckets, now)
        return None if refused is None else applicable[refused]


def refill(tokens: float, last: float, now: float, rate: float, burst: float) -> float:
    """Tokens in a bucket at ``now`` (time never runs backwards for a bucket)."""
    return min(burst, tokens + max(0.0, now - last) * rate)


def limits_from_config(entries: Sequence[Mapping[str, Any]], default_burst: float | None = None) -> list[RateLimit]:
    return [RateLimit.from_json(entry, default_burst) for entry in entries]
