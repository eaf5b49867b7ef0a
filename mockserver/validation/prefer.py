"""The ``Prefer`` header: what a test asks of one request (``code=501``, ``transport=reset``,
``delay=200``), read and checked like any other input from outside.

A value the fake cannot act on is a mistake in the test, so it is refused with a 700 naming
it, not ignored: a typo such as ``code=5001`` would otherwise run the happy path unnoticed.
What the fake does with a valid wish (the fault decision) is ``faults.decision.Injector.decide``'s;
the transport kinds a header may name are those of ``faults.kinds.KINDS`` (read here from the
fault rule's schema, whose enum a test holds equal to that table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidInput
from ..parsing import read_int

if TYPE_CHECKING:
    from ..spec import Spec

#: One ``name=value`` of a Prefer header; around it only HTTP's whitespace (space, tab).
_PREFER_ITEM = re.compile(r"[ \t]*([A-Za-z_-]+)[ \t]*=[ \t]*\"?([^\",;]*)\"?[ \t]*")


@dataclass(frozen=True)
class Wish:
    """A checked ``Prefer`` header: a documented code or a transport fault (or neither), and a delay."""

    code: int | None = None
    transport: str | None = None
    delay_ms: int | None = None  # None: no delay asked for (``delay=0`` is one: no wait, whatever the latency)


NO_WISH = Wish()


def parse_prefer(header: str | None) -> dict[str, str]:
    """``Prefer: code=501, delay=200`` -> ``{"code": "501", "delay": "200"}`` (Prism's convention).

    A preference given twice counts once, the first time (RFC 7240, section 2)."""
    if not header:
        return {}
    out: dict[str, str] = {}
    for part in re.split(r"[,;]", header):
        match = _PREFER_ITEM.fullmatch(part)
        if match:
            out.setdefault(match.group(1).lower(), match.group(2).strip(" \t"))
    return out


class PreferReader:
    """Reads ``Prefer`` against the spec: the documented codes, and the fault rule's own transport
    kinds and delay maximum (``schemas/fault-rule.json``), so a header asks no more than a rule may."""

    def __init__(self, spec: Spec) -> None:
        rule = spec.schema("fault-rule.json")["properties"]
        self.transports: tuple[str, ...] = tuple(rule["transport"]["enum"])
        self.max_delay_ms = int(rule["delayMs"]["maximum"])
        self.codes = frozenset(spec.errors)
        self.documented = ", ".join(str(c) for c in spec.documented_codes)

    def read(self, header: str | None) -> Wish:
        """The wish, or InvalidInput naming every value the fake cannot act on."""
        wish = parse_prefer(header)
        if not wish:
            return NO_WISH
        # ASCII digits only, and few ("²".isdigit() is true; int() of 5000 digits raises), and a
        # delay no longer than a fault rule's own maximum: a header must not hold a thread for days.
        bad: list[str] = []
        delay = self._delay(wish["delay"], bad) if "delay" in wish else None
        code = wish.get("code")
        number = read_int(code, max_digits=9) if code is not None else None
        if code is not None and number not in self.codes:
            bad.append(f"Prefer: code={code[:16]} is not a documented resCode ({self.documented})")
        transport = wish.get("transport")
        if transport is not None and transport not in self.transports:
            bad.append(f"Prefer: transport={transport[:16]} is not one of {', '.join(self.transports)}")
        if code is not None and transport is not None:  # as a rule: exactly one of the two
            bad.append("Prefer: code and transport together: one request can get one of them; "
                       "ask for one (a fault rule with times=2 gives two requests one each)")
        if bad:
            raise InvalidInput(bad)
        return Wish(code=number, transport=transport, delay_ms=delay)

    def _delay(self, text: str, bad: list[str]) -> int | None:
        """``delay=``'s milliseconds (0 is a delay: no wait); a problem added to ``bad`` otherwise."""
        delay = read_int(text, max_digits=9)
        if delay is None and text.isascii() and text.isdigit():
            delay = self.max_delay_ms + 1  # a run of digits too long to read is too long a delay
        if delay is None:
            bad.append(f"Prefer: delay={text[:16]} must be milliseconds (ASCII digits)")
        elif delay > self.max_delay_ms:
            bad.append(f"Prefer: delay={text[:16]} is longer than the {self.max_delay_ms} ms a delay may be")
        return delay
