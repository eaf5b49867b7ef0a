"""Response latency as a distribution: fixed, uniform, or long-tailed (lognormal by p50/p99).

Real gateways are not instant and their slow answers come in a long tail; a client's timeouts
and retry budget are only tested when the fake is slow in the same way.  A latency is drawn
from the backend's seeded random source (same seed, same delays) and acted out by the
transport layer (the live server sleeps before answering; the dispatcher never sleeps).

Spellings (``--latency``, config ``latency``, a fault rule's ``latency``):

- ``200ms`` or ``1.5s``: fixed;
- ``50ms..2s``: uniform between the two;
- ``lognormal:p50=120ms,p99=2s``: lognormal with that median and 99th percentile
  (optionally ``,max=5s`` to cap the tail; without it the tail is capped at 600 s).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from .parsing import decimal_pattern

MAX_MS = 600_000.0  # the same ceiling as a fault rule's delayMs
#: An ASCII decimal of at most 9 digits a side (``parsing.decimal_pattern``: ``\d`` would take
#: "٣"; no exponent, as in every number written as text), JSON/HTTP whitespace only.
_DURATION = re.compile(
    rf"^[ \t]*({decimal_pattern(9)})[ \t]*(ms|s)?[ \t]*$", re.IGNORECASE | re.ASCII
)
_SPELLINGS = "a duration (200ms, 1.5s), a range (50ms..2s) or lognormal:p50=120ms,p99=2s[,max=5s]"
_Z99 = NormalDist().inv_cdf(0.99)
_STANDARD = NormalDist()
ENDPOINTS = ("submit", "query", "scenes", "any")


def parse_duration_ms(text: str | float | int) -> float:
    """``"200ms"``, ``"1.5s"``, ``"2"`` (seconds) or a number of milliseconds -> milliseconds."""
    if isinstance(text, bool):
        raise ValueError(f"duration {text!r}: expected e.g. 200ms or 1.5s")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        match = _DURATION.match(text) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"duration {str(text)[:40]!r}: expected e.g. 200ms or 1.5s")
        value = float(match.group(1)) * (1.0 if (match.group(2) or "s").lower() == "ms" else 1000.0)
    if not 0 <= value <= MAX_MS:
        raise ValueError(f"duration {text!r}: must be from 0 to {MAX_MS / 1000:g} s")
    return value


@dataclass(frozen=True)
class Latency:
    """A latency distribution; ``sample(u)`` maps a uniform draw in [0, 1) to milliseconds."""

    kind: str  # fixed | uniform | lognormal
    low_ms: float = 0.0
    high_ms: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = MAX_MS
    text: str = ""

    @classmethod
    def parse(cls, text: str | float | int) -> Latency:
        """One spelling (see the module doc) -> a Latency; ValueError says what is wrong."""
        if isinstance(text, str) and text.strip(" \t").lower().startswith("lognormal"):
            return cls._lognormal(text)
        if isinstance(text, str) and ".." in text:
            low_text, _, high_text = text.partition("..")
            low, high = parse_duration_ms(low_text), parse_duration_ms(high_text)
            if high < low:  # a typo, not a range: swapping it silently would hide what was meant
                raise ValueError(f"latency {text!r}: the range's second bound must not be below the first, "
                                 f"e.g. {high_text.strip()}..{low_text.strip()}")
            return cls("uniform", low_ms=low, high_ms=high, text=str(text).strip())
        try:
            fixed = parse_duration_ms(text)
        except ValueError as exc:
            if "expected" not in str(exc):
                raise
            raise ValueError(f"latency {str(text)[:40]!r}: expected {_SPELLINGS}") from None
        return cls("fixed", low_ms=fixed, high_ms=fixed, text=str(text).strip())

    @classmethod
    def _lognormal(cls, text: str) -> Latency:
        _, _, rest = text.partition(":")
        fields: dict[str, float] = {}
        for part in filter(None, (p.strip(" \t") for p in rest.split(","))):
            name, sep, value = part.partition("=")
            name = name.strip(" \t").lower()
            if not sep or name not in ("p50", "p99", "max"):
                raise ValueError(f"latency {text!r}: expected lognormal:p50=120ms,p99=2s[,max=5s]")
            if name in fields:
                raise ValueError(f"latency {text!r}: {name} is given twice")
            fields[name] = parse_duration_ms(value)
        if "p50" not in fields or "p99" not in fields:
            raise ValueError(f"latency {text!r}: lognormal needs p50 and p99, e.g. lognormal:p50=120ms,p99=2s")
        if fields["p99"] < fields["p50"]:
            raise ValueError(f"latency {text!r}: p99 must be at least p50 (99 % of answers are at most p99)")
        if fields.get("max", MAX_MS) < fields["p50"]:
            raise ValueError(f"latency {text!r}: max must be at least p50")
        # A zero median is as good as "almost always 0".
        p50, p99 = max(fields["p50"], 0.001), max(fields["p99"], 0.001)
        return cls("lognormal", p50_ms=p50, p99_ms=p99, max_ms=fields.get("max", MAX_MS), text=text.strip())

    def sample(self, u: float) -> float:
        """Milliseconds for a uniform draw ``u`` in [0, 1): inverse-CDF sampling, one draw each."""
        if self.kind == "fixed":
            return self.low_ms
        if self.kind == "uniform":
            return self.low_ms + (self.high_ms - self.low_ms) * u
        sigma = (math.log(self.p99_ms) - math.log(self.p50_ms)) / _Z99
        z = _STANDARD.inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
        return min(self.max_ms, self.p50_ms * math.exp(sigma * z))


class LatencyModel:
    """Latency per API endpoint (``any`` applies where an endpoint has none of its own)."""

    def __init__(self, by_endpoint: Mapping[str, Latency]) -> None:
        self.by_endpoint = dict(by_endpoint)

    def __bool__(self) -> bool:
        return bool(self.by_endpoint)

    @classmethod
    def from_config(cls, value: str | Mapping[str, Any] | None) -> LatencyModel:
        """Config ``latency``: one spelling for every API endpoint, or ``{endpoint: spelling}``."""
        if value is None:
            return cls({})
        if isinstance(value, Mapping):
            return cls({name: Latency.parse(text) for name, text in value.items()})
        return cls({"any": Latency.parse(value)})

    def draw_ms(self, endpoint: str, draw: Callable[[], float]) -> int:
        """Milliseconds to wait before answering this endpoint (0 when none is configured)."""
        latency = self.by_endpoint.get(endpoint) or self.by_endpoint.get("any")
        return 0 if latency is None else int(round(latency.sample(draw())))


def parse_latency_flag(text: str) -> tuple[str, str]:
    """``--latency 50ms..2s`` -> ("any", ...); ``--latency query=lognormal:p50=1s,p99=5s`` -> ("query", ...)."""
    name, sep, spec = text.partition("=")
    if sep and name.strip() in ENDPOINTS:
        endpoint, text = name.strip(), spec
    elif sep and re.fullmatch(r"[ \t]*[A-Za-z_]+[ \t]*", name):  # a word before '=' is meant as an endpoint
        raise ValueError(f"ENDPOINT {name.strip()[:20]!r} before '=' must be one of {', '.join(ENDPOINTS)}")
    else:
        endpoint = "any"
    Latency.parse(text)  # fail early with the spelling's own message
    return endpoint, text.strip()
